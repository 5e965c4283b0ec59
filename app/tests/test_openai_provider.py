"""The OpenAI-compatible provider against a real local HTTP server speaking the
/chat/completions protocol: tool calls drive the real tools, the provider's rate-limit
header feeds rate_limit_remaining{scope="provider"}, 429/5xx are transient."""
from __future__ import annotations

import json

import pytest
from app.agents.providers import OpenAIProvider, ProviderTransientError
from app.agents.registry import AGENTS
from app.agents.runner import run_agent
from app.core.config import Settings
from app.metrics import RATE_LIMIT_REMAINING
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

pytestmark = pytest.mark.no_services
PORT = 58040
COMPLETIONS = "/v1/chat/completions"


def settings() -> Settings:
    return Settings(AGENT_PROVIDER="openai", OPENAI_API_KEY="sk-test", OPENAI_BASE_URL=f"http://127.0.0.1:{PORT}/v1",
                    OPENAI_MODEL="test-model")


def chat(server: HTTPServer) -> None:
    """Answers the first request with a calculator tool call and the next with the tool's result;
    the rate-limit header counts down from 99 with each request."""

    def answer(request: Request) -> Response:
        messages = request.get_json()["messages"]
        headers = {"x-ratelimit-remaining-requests": str(100 - len(server.log) - 1)}
        if not any(m["role"] == "tool" for m in messages):
            message = {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_abc", "type": "function",
                "function": {"name": "calculator", "arguments": json.dumps({"expression": "6*7"})}}]}
        else:
            result = json.loads(messages[-1]["content"])
            message = {"role": "assistant", "content": f"The answer is {result['value']}."}
        body = {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}
        return Response(json.dumps(body), headers=headers, content_type="application/json")

    server.expect_request(COMPLETIONS, method="POST").respond_with_handler(answer)


def test_openai_provider_drives_tools() -> None:
    with HTTPServer("127.0.0.1", PORT) as server:
        chat(server)
        result = run_agent(AGENTS["calculator"], "what is six times seven?", OpenAIProvider(settings()),
                           max_steps=4, time_budget_s=10)
    assert (result.status, result.answer) == ("succeeded", "The answer is 42.")
    assert [c.tool for c in result.tool_calls] == ["calculator"]
    (first_request, _), (second_request, _) = server.log
    first, second = first_request.get_json(), second_request.get_json()
    assert first_request.path == COMPLETIONS
    assert first_request.headers["Authorization"] == "Bearer sk-test"
    assert first["model"] == "test-model"
    assert first["tools"][0]["function"]["parameters"]["required"] == ["expression"]
    assert second["messages"][-1] == {"role": "tool", "tool_call_id": "call_abc",
                                      "content": json.dumps({"expression": "6*7", "value": 42})}
    assert RATE_LIMIT_REMAINING.labels(scope="provider")._value.get() == 98


@pytest.mark.parametrize("status", [429, 500, 503])
def test_openai_provider_transient_errors(status: int) -> None:
    with HTTPServer("127.0.0.1", PORT) as server:
        server.expect_request(COMPLETIONS).respond_with_data("{}", status=status)
        with pytest.raises(ProviderTransientError, match=str(status)):
            OpenAIProvider(settings()).next_step(AGENTS["calculator"], "x", [])


def test_openai_provider_unreachable_is_transient() -> None:
    with pytest.raises(ProviderTransientError, match="unreachable"):
        OpenAIProvider(settings()).next_step(AGENTS["calculator"], "x", [])


def test_openai_provider_bad_answers_fail_cleanly() -> None:
    with HTTPServer("127.0.0.1", PORT) as server:
        server.expect_request(COMPLETIONS).respond_with_data('{"choices": []}')
        step = OpenAIProvider(settings()).next_step(AGENTS["calculator"], "x", [])
    assert step.ok is False and "unreadable" in step.answer
    with HTTPServer("127.0.0.1", PORT) as server:
        server.expect_request(COMPLETIONS).respond_with_data('{"error": "bad key"}', status=401)
        step = OpenAIProvider(settings()).next_step(AGENTS["calculator"], "x", [])
    assert step.ok is False and "401" in step.answer
