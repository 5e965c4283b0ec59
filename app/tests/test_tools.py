"""Every tool and its errors, called directly (lookup against the real PostgreSQL, http_get
against a real local HTTP server), and the offline provider's parsing."""
from __future__ import annotations

import pytest
from app.agents.providers import OfflineProvider, ToolStep, parse_requests
from app.agents.registry import AGENTS
from app.agents.tools import TOOLS, ToolError, TransientToolError
from pytest_httpserver import HTTPServer


def run(tool: str, **arguments: object) -> object:
    return TOOLS[tool].run(arguments)


@pytest.mark.parametrize(("expression", "value"), [
    ("2+3*4", 14), ("(1+2)**3", 27), ("7/2", 3.5), ("-5 % 3", 1), ("2^10", 1024), ("10//4", 2), ("6×7", 42),
])
def test_calculator(expression: str, value: float) -> None:
    assert run("calculator", expression=expression) == {"expression": expression, "value": value}


@pytest.mark.parametrize(("expression", "message"), [
    ("1/0", "division by zero"),
    ("2+", "not an arithmetic expression"),
    ("__import__('os')", "unsupported expression element"),
    ("9**99999", "exponent too large"),
    ("'a'*3", "unsupported expression element"),
])
def test_calculator_errors(expression: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        run("calculator", expression=expression)


def test_invalid_arguments_are_tool_errors() -> None:
    with pytest.raises(ToolError, match="invalid arguments for calculator: expression"):
        run("calculator")
    with pytest.raises(ToolError, match="invalid arguments for clock: extra"):
        run("clock", timezone="UTC", extra=1)
    with pytest.raises(ToolError, match="seconds"):
        run("sleep", seconds=99)


def test_clock() -> None:
    out = run("clock", timezone="Asia/Tokyo")
    assert out["timezone"] == "Asia/Tokyo" and out["iso"].endswith("+09:00")
    assert run("clock")["iso"].endswith("+00:00")  # type: ignore[index]
    with pytest.raises(ToolError, match="unknown time zone"):
        run("clock", timezone="Mars/Olympus")


def test_lookup_reads_postgresql() -> None:
    assert run("lookup", key="Redis")["key"] == "redis"  # type: ignore[index]
    from app.core.db import get_engine
    from sqlalchemy import text

    with get_engine().begin() as conn:
        conn.execute(text("INSERT INTO lookup_entries (key, value) VALUES ('answer', '42')"))
    assert run("lookup", key="answer") == {"key": "answer", "value": "42"}
    with pytest.raises(ToolError, match="no entry for key 'missing'"):
        run("lookup", key="missing")


def test_lookup_entries_do_not_leak_between_tests() -> None:
    with pytest.raises(ToolError, match="no entry"):
        run("lookup", key="answer")


def test_lookup_database_down_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.config import get_settings
    from app.core.db import reset_engines

    monkeypatch.setenv("POSTGRES_PORT", "58013")  # nothing listens there
    get_settings.cache_clear()
    reset_engines()
    with pytest.raises(TransientToolError, match="lookup database unavailable"):
        run("lookup", key="redis")


def test_http_get_allowed_host() -> None:
    with HTTPServer("127.0.0.1", 58014) as server:
        server.expect_request("/index").respond_with_data("<h1>hi</h1>", content_type="text/html")
        out = run("http_get", url="http://127.0.0.1:58014/index")
    assert out == {"url": "http://127.0.0.1:58014/index", "status": 200, "content_type": "text/html",
                   "body": "<h1>hi</h1>"}
    assert [request.method for request, _ in server.log] == ["GET"]


def test_http_get_4xx_is_a_result_and_5xx_is_transient() -> None:
    with HTTPServer("127.0.0.1", 58015) as server:
        server.expect_request("/a").respond_with_data("x", status=404)
        server.expect_request("/b").respond_with_data("x", status=503)
        assert run("http_get", url="http://127.0.0.1:58015/a")["status"] == 404  # type: ignore[index]
        with pytest.raises(TransientToolError, match="returned 503"):
            run("http_get", url="http://127.0.0.1:58015/b")


def test_http_get_connection_refused_is_transient() -> None:
    with pytest.raises(TransientToolError, match="ConnectError"):
        run("http_get", url="http://127.0.0.1:58016/")


@pytest.mark.parametrize(("url", "message"), [
    ("http://example.com/", "not in HTTP_TOOL_ALLOWLIST"),
    ("http://localhost:58014/", "not in HTTP_TOOL_ALLOWLIST"),
    ("ftp://127.0.0.1/file", "only absolute http"),
    ("http://user:pw@127.0.0.1/", "credentials"),
])
def test_http_get_refuses(url: str, message: str) -> None:
    with pytest.raises(ToolError, match=message):
        run("http_get", url=url)


def test_sleep() -> None:
    assert run("sleep", seconds=0.01) == {"slept": 0.01}


def test_registry_publishes_json_schemas() -> None:
    schema = TOOLS["calculator"].schema()
    assert schema["type"] == "object" and schema["required"] == ["expression"]
    assert schema["additionalProperties"] is False
    for spec in AGENTS.values():
        assert set(spec.tools) <= set(TOOLS)


@pytest.mark.no_services
def test_offline_provider_parses_requests() -> None:
    plan = parse_requests("What is 2+3*4?; time in America/New_York then lookup Celery\n"
                          "fetch https://example.org/x; sleep 2s; 5*5; hello")
    assert plan == [
        ToolStep("calculator", {"expression": "2+3*4"}),
        ToolStep("clock", {"timezone": "America/New_York"}),
        ToolStep("lookup", {"key": "Celery"}),
        ToolStep("http_get", {"url": "https://example.org/x"}),
        ToolStep("sleep", {"seconds": 2.0}),
        ToolStep("calculator", {"expression": "5*5"}),
        "hello",
    ]


@pytest.mark.no_services
def test_offline_provider_is_deterministic() -> None:
    provider, agent = OfflineProvider(), AGENTS["assistant"]
    first = provider.next_step(agent, "what is 1+1; what time is it", [])
    assert first == provider.next_step(agent, "what is 1+1; what time is it", [])
    assert first == ToolStep("calculator", {"expression": "1+1"}, call_id="call_0")
