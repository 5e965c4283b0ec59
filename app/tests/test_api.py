"""API behaviour in process (real PostgreSQL and Redis): probes, typed errors, request
ids, rate limiting and the fault switch."""
from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from app.metrics import render
from fastapi.testclient import TestClient


def make_client(monkeypatch: pytest.MonkeyPatch, **env: str) -> Iterator[TestClient]:
    from app.core.config import get_settings
    from app.main import create_app

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    with TestClient(create_app()) as client:
        yield client


def sample(name: str, **labels: str) -> float | None:
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(render()[0].decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return None


def test_health_depends_on_nothing(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok", "version": "1.2.3-test"}


def test_ready(client: TestClient) -> None:
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgresql": "ok", "redis": "ok"}}


def test_list_agents_with_tool_schemas(client: TestClient) -> None:
    agents = {a["name"]: a for a in client.get("/v1/agents").json()["agents"]}
    assert set(agents) == {"assistant", "calculator", "diagnostics"}
    tools = {t["name"]: t for t in agents["assistant"]["tools"]}
    assert set(tools) == {"calculator", "clock", "lookup", "http_get"}
    assert tools["http_get"]["input_schema"]["properties"]["url"]["type"] == "string"
    assert agents["calculator"]["max_steps"] == 4


def test_typed_errors(client: TestClient) -> None:
    missing = client.post("/v1/agents/nobody/invocations", json={"input": "hi"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert missing.json()["error"]["request_id"] == missing.headers["x-request-id"]
    bad = client.post("/v1/agents/assistant/invocations", json={"input": ""})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert bad.json()["error"]["details"][0]["loc"] == ["body", "input"]
    assert client.get("/v1/invocations/not-a-uuid").json()["error"]["code"] == "validation_error"
    unknown = client.get("/v1/invocations/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    assert client.delete("/health").json()["error"]["code"] == "method_not_allowed"


def test_openapi_documents_typed_errors(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    post = spec["paths"]["/v1/agents/{agent}/invocations"]["post"]
    assert post["operationId"] == "invocations-create_invocation"
    for status in ("404", "422", "429", "503"):
        assert post["responses"][status]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorResponse")
    assert set(post["responses"]) >= {"200", "202"}


def test_routes_sit_on_the_app_router_with_tag_operation_ids(client: TestClient) -> None:
    """Every API route is matched by the app's own router (no included-router level, which costs
    each request a pass) and keeps its ``<tag>-<function>`` operation id and its router's
    dependencies (the rate limit)."""
    from app.api.deps import rate_limit
    from app.api.main import ROUTERS
    from fastapi.routing import APIRoute

    routes = {route.path: route for route in client.app.router.routes if isinstance(route, APIRoute)}
    assert {route.path for router in ROUTERS for route in router.routes} <= set(routes)
    assert all(isinstance(route, APIRoute) or route.path in ("/openapi.json", "/docs", "/docs/oauth2-redirect",
                                                               "/redoc") for route in client.app.router.routes)
    spec = client.get("/openapi.json").json()
    ids = {path: op["operationId"] for path, ops in spec["paths"].items() for op in ops.values()}
    assert ids == {"/health": "health-health", "/ready": "health-ready", "/v1/agents": "agents-list_agents",
                   "/v1/agents/{agent}/invocations": "invocations-create_invocation",
                   "/v1/invocations/{invocation_id}": "invocations-get_invocation"}
    limited = {path for path, route in routes.items()
               if any(dep.call is rate_limit for dep in route.dependant.dependencies)}
    assert limited == {"/v1/agents", "/v1/agents/{agent}/invocations", "/v1/invocations/{invocation_id}"}


def test_http_metrics_per_handler_and_status(client: TestClient) -> None:
    """The middleware keeps its labelled children: each request still counts under its own route
    template, method and status, and the in-progress gauge comes back to 0."""
    cases = [("GET", "/health", "/health", "200"), ("GET", "/health", "/health", "200"),
             ("DELETE", "/health", "/health", "405"),
             ("GET", "/v1/invocations/00000000-0000-0000-0000-000000000000", "/v1/invocations/{invocation_id}", "404"),
             ("GET", "/v1/invocations/00000000-0000-0000-0000-000000000001", "/v1/invocations/{invocation_id}", "404"),
             ("GET", "/nowhere", "unmatched", "404")]
    keys = {(method, handler, status) for method, _, handler, status in cases}
    before = {key: sample("http_requests_total", method=key[0], handler=key[1], status=key[2]) or 0 for key in keys}
    seen = {key: sample("http_request_duration_seconds_count", method=key[0], handler=key[1]) or 0 for key in keys}
    for method, path, _, status in cases:
        assert str(client.request(method, path).status_code) == status
    for key in keys:
        expected = sum(1 for method, _, handler, status in cases if (method, handler, status) == key)
        assert sample("http_requests_total", method=key[0], handler=key[1], status=key[2]) == before[key] + expected
        durations = sum(1 for method, _, handler, _ in cases if (method, handler) == key[:2])
        assert sample("http_request_duration_seconds_count", method=key[0], handler=key[1]) == seen[key] + durations
        assert sample("http_requests_in_progress", method=key[0], handler=key[1]) == 0


def test_request_id_is_echoed_or_generated(client: TestClient) -> None:
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    other = client.get("/health").headers["x-request-id"]
    assert len(other) == 32 and other != generated


def test_structured_json_access_log(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    import json

    from app.core.logging import JsonFormatter

    with caplog.at_level("INFO", logger="app.access"):
        client.get("/v1/agents", headers={"X-Request-ID": "log-test-1"})
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "app.access"]
    assert lines and lines[-1]["path"] == "/v1/agents" and lines[-1]["status"] == 200
    assert lines[-1]["level"] == "info" and "duration_ms" in lines[-1] and lines[-1]["msg"] == "request"


def test_a_server_error_is_an_error_line(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """A 5xx answer's request line is at level error (the log store counts those per version),
    a 2xx one at info, and the probes stay at debug even when they fail."""
    import json
    import logging

    from app.core.logging import JsonFormatter

    for client in make_client(monkeypatch, FAULT_ERROR_RATE="1.0"):
        # create_app's configure_logging replaced the root handlers, caplog's among them
        logging.getLogger().addHandler(caplog.handler)
        try:
            with caplog.at_level("DEBUG", logger="app.access"):
                client.get("/v1/agents")
                client.get("/health")
        finally:
            logging.getLogger().removeHandler(caplog.handler)
        # by path: the request id is a context variable, gone by the time caplog's records are formatted
        lines = {entry["path"]: entry for entry in
                 (json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "app.access")}
        assert (lines["/v1/agents"]["level"], lines["/v1/agents"]["status"]) == ("error", 500), lines
        assert (lines["/health"]["level"], lines["/health"]["status"]) == ("debug", 200), lines


def test_api_process_logs_json_from_its_first_line(base_env: dict[str, str], migrated: object) -> None:
    """The API as the image starts it (docker-entrypoint.sh api): every line it prints is one JSON
    object, uvicorn's start-up lines included, which come before the app configures logging."""
    import json

    import httpx

    from tests.conftest import start_api

    proc = start_api("api-json-log", base_env, port=58004)
    try:
        assert httpx.get("http://127.0.0.1:58004/health", timeout=5).status_code == 200
    finally:
        proc.stop()
    lines = [json.loads(line) for line in proc.output().splitlines()]
    messages = [line["msg"] for line in lines]
    assert messages[0].startswith("Started server process"), messages[:3]
    assert "Application startup complete." in messages and "Shutting down" in messages, messages
    assert not [line for line in lines if "color_message" in line]


def test_rate_limit_per_client(monkeypatch: pytest.MonkeyPatch) -> None:
    for client in make_client(monkeypatch, RATE_LIMIT_PER_MINUTE="3"):
        if int(time.time()) % 60 > 57:  # stay inside one fixed window
            time.sleep(3)
        remaining = [client.get("/v1/agents", headers={"X-Client-ID": "alice"}).headers["x-ratelimit-remaining"]
                     for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        assert sample("rate_limit_remaining", scope="client") == 0
        limited = client.get("/v1/agents", headers={"X-Client-ID": "alice"})
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1 and limited.headers["x-ratelimit-limit"] == "3"
        other = client.get("/v1/agents", headers={"X-Client-ID": "bob"})
        assert other.status_code == 200 and other.headers["x-ratelimit-remaining"] == "2"
        assert client.get("/health").status_code == 200  # probes are never limited
        assert client.get("/health").status_code == 200


def test_fault_switch_off_by_default(client: TestClient) -> None:
    from app.core.config import get_settings

    assert get_settings().FAULT_ERROR_RATE == 0 and get_settings().FAULT_LATENCY_MS == 0
    assert all(client.get("/v1/agents").status_code == 200 for _ in range(20))


def test_fault_switch_fails_requests_but_not_probes(monkeypatch: pytest.MonkeyPatch) -> None:
    for client in make_client(monkeypatch, FAULT_ERROR_RATE="1.0"):
        before = sample("http_requests_total", handler="/v1/agents", status="500") or 0
        response = client.get("/v1/agents")
        assert response.status_code == 500 and response.json()["error"]["code"] == "fault_injected"
        assert client.post("/v1/agents/assistant/invocations", json={"input": "x"}).status_code == 500
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert sample("http_requests_total", handler="/v1/agents", status="500") == before + 1


def test_fault_switch_error_rate_is_a_share(monkeypatch: pytest.MonkeyPatch) -> None:
    for client in make_client(monkeypatch, FAULT_ERROR_RATE="0.5"):
        statuses = [client.get("/v1/agents").status_code for _ in range(200)]
        assert 60 < statuses.count(500) < 140 and set(statuses) == {200, 500}


def test_fault_switch_latency(monkeypatch: pytest.MonkeyPatch) -> None:
    for client in make_client(monkeypatch, FAULT_LATENCY_MS="300"):
        start = time.perf_counter()
        assert client.get("/v1/agents").status_code == 200
        assert time.perf_counter() - start >= 0.3
        start = time.perf_counter()
        client.get("/health")
        assert time.perf_counter() - start < 0.3


def test_settings_refuse_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.config import Settings
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="FAULT_ERROR_RATE"):
        Settings(FAULT_ERROR_RATE=1.5)
    with pytest.raises(ValidationError, match="CELERY_VISIBILITY_TIMEOUT must be above"):
        Settings(CELERY_TASK_TIME_LIMIT=300, CELERY_VISIBILITY_TIMEOUT=100)
    with pytest.raises(ValidationError, match="unknown"):
        Settings(CELERY_QUEUES="agents,bogus")
    with pytest.raises(ValidationError, match="needs OPENAI_API_KEY"):
        Settings(AGENT_PROVIDER="openai", OPENAI_API_KEY="")
    monkeypatch.setenv("CELERY_QUEUES", "agents, priority")
    monkeypatch.setenv("HTTP_TOOL_ALLOWLIST", "Example.COM,10.0.0.1:8080")
    settings = Settings()
    assert settings.CELERY_QUEUES == ["agents", "priority"]
    assert settings.HTTP_TOOL_ALLOWLIST == ["example.com", "10.0.0.1:8080"]
    assert settings.visibility_timeout == settings.CELERY_TASK_TIME_LIMIT + 60
