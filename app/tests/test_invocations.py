"""Invocations end to end: API (in process) -> Redis -> real Celery worker -> PostgreSQL."""
from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from pytest_httpserver import HTTPServer
from sqlalchemy import func, select

from tests.conftest import Proc, wait_for

pytestmark = pytest.mark.usefixtures("worker")


def invoke(client: TestClient, agent: str, text: str, wait: float = 20, **body: object) -> dict:
    response = client.post(f"/v1/agents/{agent}/invocations", params={"wait": wait}, json={"input": text, **body})
    assert response.status_code == 200, response.text
    return response.json()


def test_invocation_end_to_end_with_wait(client: TestClient) -> None:
    data = invoke(client, "assistant", "what is 2+3*4; time in Europe/Paris; lookup celery")
    assert data["status"] == "succeeded"
    assert data["agent"] == "assistant" and data["queue"] == "agents" and data["attempts"] == 1
    assert "2+3*4 = 14" in data["result"]
    assert "Europe/Paris" in data["result"] and "Distributed task queue" in data["result"]
    assert [c["tool"] for c in data["tool_calls"]] == ["calculator", "clock", "lookup"]
    assert all(c["status"] == "ok" and c["attempt"] == 1 for c in data["tool_calls"])
    assert [s["type"] for s in data["steps"]] == ["tool", "tool", "tool", "final"]
    assert data["duration_ms"] is not None and data["started_at"] and data["finished_at"]
    again = client.get(f"/v1/invocations/{data['id']}")
    assert again.status_code == 200 and again.json()["result"] == data["result"]


def test_invocation_accepted_then_polled(client: TestClient) -> None:
    response = client.post("/v1/agents/calculator/invocations", json={"input": "calculate (1+2)**3",
                                                                      "metadata": {"team": "qa"}})
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status"] == "queued" and response.headers["location"] == accepted["location"]
    done = wait_for(lambda: (r := client.get(accepted["location"]).json())["status"] == "succeeded" and r,
                    timeout=20, message="invocation to finish")
    assert done["result"] == "(1+2)**3 = 27"
    assert done["metadata"] == {"team": "qa"}


def test_high_priority_goes_to_priority_queue(client: TestClient) -> None:
    data = invoke(client, "calculator", "what is 6*7", priority="high")
    assert data["queue"] == "priority" and data["result"] == "6*7 = 42"


def test_tool_error_fails_the_invocation(client: TestClient) -> None:
    data = invoke(client, "assistant", "lookup no-such-key")
    assert data["status"] == "failed"
    assert "no entry for key 'no-such-key'" in data["error"]
    assert data["tool_calls"][0]["status"] == "error"


def test_tool_outside_the_agent_is_refused(client: TestClient) -> None:
    data = invoke(client, "calculator", "lookup celery")
    assert data["status"] == "failed" and "has no tool lookup" in data["error"]
    assert data["tool_calls"] == []


def test_step_budget_is_enforced(client: TestClient) -> None:
    data = invoke(client, "calculator", "; ".join(f"what is {i}+1" for i in range(6)))
    assert data["status"] == "failed" and "step budget of 4 steps" in data["error"]
    assert len(data["tool_calls"]) == 4


def test_input_without_a_tool_request_is_answered(client: TestClient) -> None:
    data = invoke(client, "assistant", "hello there")
    assert data["status"] == "succeeded" and "could not find a request" in data["result"]


def test_transient_tool_error_is_retried_with_backoff(client: TestClient) -> None:
    with HTTPServer("127.0.0.1", 58011) as server:
        server.expect_oneshot_request("/page").respond_with_data("busy", status=503)
        server.expect_request("/page").respond_with_data("hello", content_type="text/plain")
        data = invoke(client, "assistant", "fetch http://127.0.0.1:58011/page", wait=25)
    assert data["status"] == "succeeded", data
    assert data["attempts"] == 2 and len(server.log) == 2
    assert [c["attempt"] for c in data["tool_calls"]] == [2]
    assert data["tool_calls"][0]["output"]["body"] == "hello"


def test_transient_errors_give_up_after_max_retries(client: TestClient) -> None:
    with HTTPServer("127.0.0.1", 58012) as server:
        server.expect_request("/").respond_with_data("down", status=502)
        data = invoke(client, "assistant", "fetch http://127.0.0.1:58012/", wait=28)
    assert data["status"] == "failed" and "gave up after 3 retries" in data["error"]
    assert len(server.log) == 4 and data["attempts"] == 4


def test_the_database_holds_every_invocation(client: TestClient) -> None:
    from app.core.db import session_scope
    from app.models import Invocation, ToolCall

    first = invoke(client, "assistant", "what is 1+1")
    second = invoke(client, "assistant", "time")
    with session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Invocation)) == 2
        assert session.scalar(select(func.count()).select_from(ToolCall)) == 2
        row = session.get(Invocation, uuid.UUID(first["id"]))
        assert row is not None and row.input == "what is 1+1" and row.worker and row.worker.startswith("w1@")
    assert second["tool_calls"][0]["tool"] == "clock"


def test_worker_is_still_alive(worker: Proc) -> None:
    assert worker.alive(), worker.output()[-3000:]
