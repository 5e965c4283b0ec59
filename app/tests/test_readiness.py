"""/ready flips to 503 when Redis or PostgreSQL stops, and back when they return;
/health stays 200 throughout."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.services import Postgres, Redis


def test_ready_flips_when_redis_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.config import get_settings
    from app.main import create_app

    own = Redis(58031)
    own.start()
    try:
        monkeypatch.setenv("REDIS_PORT", "58031")
        monkeypatch.setenv("REDIS_PASSWORD", own.password)
        get_settings.cache_clear()
        with TestClient(create_app()) as client:
            assert client.get("/ready").status_code == 200
            own.stop()
            down = client.get("/ready")
            assert down.status_code == 503 and down.json()["status"] == "not_ready"
            assert down.json()["checks"]["postgresql"] == "ok"
            assert "ConnectionError" in down.json()["checks"]["redis"]
            assert client.get("/health").status_code == 200
            own.start()
            assert client.get("/ready").status_code == 200
    finally:
        own.stop()


def test_ready_flips_when_postgresql_stops(client: TestClient, pg: Postgres) -> None:
    assert client.get("/ready").status_code == 200
    pg.stop()
    try:
        down = client.get("/ready")
        assert down.status_code == 503
        assert down.json()["checks"]["redis"] == "ok" and down.json()["checks"]["postgresql"] != "ok"
        assert client.get("/health").status_code == 200
        unavailable = client.post("/v1/agents/assistant/invocations", json={"input": "what is 1+1"})
        assert unavailable.status_code == 503 and unavailable.json()["error"]["code"] == "unavailable"
        assert unavailable.headers["retry-after"] == "5"
    finally:
        pg.start()
    assert client.get("/ready").status_code == 200
