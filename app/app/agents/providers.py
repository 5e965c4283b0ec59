"""LLM providers. A provider looks at the input and the steps so far and proposes the next
step: a tool call, or the final answer.

* ``OfflineProvider`` (default): deterministic, no network. It splits the input into
  requests ("what is 2+3*4; time in Europe/Paris; lookup celery; fetch http://host/")
  and proposes one tool call per request, then a final answer built from the outputs.
* ``OpenAIProvider``: any OpenAI-compatible ``/chat/completions`` endpoint with tool calling.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from app.agents.registry import AgentSpec
from app.agents.tools import TOOLS, TransientToolError
from app.core.config import Settings
from app.metrics import RATE_LIMIT_REMAINING


@dataclass
class ToolStep:
    tool: str
    arguments: dict[str, Any]
    call_id: str = ""


@dataclass
class FinalStep:
    answer: str
    ok: bool = True


@dataclass
class HistoryItem:
    tool: str
    arguments: dict[str, Any]
    status: str  # ok | error
    output: Any = None
    error: str | None = None
    call_id: str = ""


class Provider(Protocol):
    name: str

    def next_step(self, agent: AgentSpec, user_input: str, history: list[HistoryItem]) -> ToolStep | FinalStep: ...


class ProviderTransientError(TransientToolError):
    """The provider could not answer now (network, 429, 5xx)."""


# --- offline -------------------------------------------------------------------------------

_SPLIT = re.compile(r"\s*(?:;|\bthen\b|\n)\s*", re.IGNORECASE)
_CALC = re.compile(
    r"^(?:what\s+is|what's|calculate|compute|calc|eval(?:uate)?)\s+(?P<expr>[-+*/().%^\d\s×÷]+?)\s*\??$", re.I
)
_BARE_EXPR = re.compile(r"^(?P<expr>[-+(]*\d[-+*/().%^\d\s×÷]*)\??$")
_TIME = re.compile(r"\b(?:time|date|clock|now)\b(?:.*?\bin\s+(?P<tz>[A-Za-z_]+(?:/[A-Za-z_+-]+)*))?", re.I)
_LOOKUP = re.compile(r"^(?:look\s*up|lookup|define|what\s+is\s+the\s+entry\s+for)\s+(?P<key>.+?)\s*\??$", re.I)
_FETCH = re.compile(r"^(?:fetch|get|download|open)\s+(?P<url>https?://\S+)\s*$", re.I)
_SLEEP = re.compile(r"^(?:sleep|wait)\s+(?:for\s+)?(?P<s>\d+(?:\.\d+)?)\s*(?:s|sec|seconds?)?\s*$", re.I)


def parse_requests(text: str) -> list[ToolStep | str]:
    """Each part of the input becomes a tool step, or stays a string when nothing matches."""
    plan: list[ToolStep | str] = []
    for part in filter(None, (p.strip() for p in _SPLIT.split(text))):
        if m := _FETCH.match(part):
            plan.append(ToolStep("http_get", {"url": m["url"]}))
        elif m := _SLEEP.match(part):
            plan.append(ToolStep("sleep", {"seconds": float(m["s"])}))
        elif m := (_CALC.match(part) or _BARE_EXPR.match(part)):
            plan.append(ToolStep("calculator", {"expression": m["expr"].strip()}))
        elif m := _LOOKUP.match(part):
            plan.append(ToolStep("lookup", {"key": m["key"]}))
        elif m := _TIME.search(part):
            plan.append(ToolStep("clock", {"timezone": m["tz"] or "UTC"}))
        else:
            plan.append(part)
    return plan


def _describe(item: HistoryItem) -> str:
    out = item.output if isinstance(item.output, dict) else {}
    if item.tool == "calculator":
        return f"{out.get('expression')} = {out.get('value')}"
    if item.tool == "clock":
        return f"the time in {out.get('timezone')} is {out.get('iso')}"
    if item.tool == "lookup":
        return f"{out.get('key')}: {out.get('value')}"
    if item.tool == "http_get":
        return f"GET {out.get('url')} -> {out.get('status')} ({len(out.get('body', ''))} bytes)"
    if item.tool == "sleep":
        return f"slept {out.get('slept')}s"
    return json.dumps(out)


class OfflineProvider:
    name = "offline"

    def next_step(self, agent: AgentSpec, user_input: str, history: list[HistoryItem]) -> ToolStep | FinalStep:
        if history and history[-1].status == "error":
            last = history[-1]
            return FinalStep(f"tool {last.tool} failed: {last.error}", ok=False)
        tool_steps = [s for s in parse_requests(user_input) if isinstance(s, ToolStep)]
        if not tool_steps:
            return FinalStep(f"I could not find a request for my tools ({', '.join(agent.tools)}) in the input.")
        if len(history) < len(tool_steps):
            step = tool_steps[len(history)]
            if step.tool not in agent.tools:
                return FinalStep(f"agent {agent.name} has no tool {step.tool}", ok=False)
            return ToolStep(step.tool, dict(step.arguments), call_id=f"call_{len(history)}")
        return FinalStep("; ".join(_describe(item) for item in history))


# --- OpenAI-compatible ---------------------------------------------------------------------

@dataclass
class OpenAIProvider:
    settings: Settings
    name: str = "openai"
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(
            base_url=self.settings.OPENAI_BASE_URL.rstrip("/"),
            timeout=self.settings.OPENAI_TIMEOUT,
            headers={"Authorization": f"Bearer {self.settings.OPENAI_API_KEY.get_secret_value()}"},
        )

    def _messages(self, agent: AgentSpec, user_input: str, history: list[HistoryItem]) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": f"You are the '{agent.name}' agent. {agent.description} "
             "Use the tools when they help, then answer briefly."},
            {"role": "user", "content": user_input},
        ]
        for item in history:
            messages.append({"role": "assistant", "content": None, "tool_calls": [{
                "id": item.call_id, "type": "function",
                "function": {"name": item.tool, "arguments": json.dumps(item.arguments)},
            }]})
            content = item.output if item.status == "ok" else {"error": item.error}
            messages.append({"role": "tool", "tool_call_id": item.call_id, "content": json.dumps(content)})
        return messages

    def next_step(self, agent: AgentSpec, user_input: str, history: list[HistoryItem]) -> ToolStep | FinalStep:
        body = {
            "model": self.settings.OPENAI_MODEL,
            "messages": self._messages(agent, user_input, history),
            "tools": [
                {"type": "function", "function": {
                    "name": name, "description": TOOLS[name].description, "parameters": TOOLS[name].schema()}}
                for name in agent.tools
            ],
        }
        try:
            response = self.client.post("/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise ProviderTransientError(f"provider unreachable: {exc.__class__.__name__}") from None
        remaining = response.headers.get("x-ratelimit-remaining-requests")
        if remaining and remaining.isdigit():
            RATE_LIMIT_REMAINING.labels(scope="provider").set(int(remaining))
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderTransientError(f"provider returned {response.status_code}")
        if response.status_code >= 400:
            return FinalStep(f"provider rejected the request: {response.status_code} {response.text[:200]}", ok=False)
        try:
            message = response.json()["choices"][0]["message"]
            calls = message.get("tool_calls") or []
            if calls:
                call = calls[0]
                arguments = json.loads(call["function"].get("arguments") or "{}")
                return ToolStep(call["function"]["name"], arguments, call_id=call.get("id") or f"call_{len(history)}")
            return FinalStep(message.get("content") or "")
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            return FinalStep(f"provider sent an unreadable answer: {exc.__class__.__name__}", ok=False)


def get_provider(settings: Settings) -> Provider:
    if settings.AGENT_PROVIDER == "openai":
        return OpenAIProvider(settings)
    return OfflineProvider()
