"""The agent loop: the provider proposes a step, a tool runs it, until the provider gives
the final answer or the step or time budget runs out. Pure of Celery and of the database
(except through the tools), so it is easy to test and to reuse."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from app.agents.providers import FinalStep, HistoryItem, Provider, ToolStep
from app.agents.registry import AgentSpec
from app.agents.tools import TOOLS, ToolError, TransientToolError
from app.metrics import TOOL_INVOCATIONS

log = logging.getLogger(__name__)
# A no-op tracer unless tracing is on (app.core.tracing): one span per agent step, one per tool call.
tracer = trace.get_tracer("app.agents")


@dataclass
class ToolCallRecord:
    step: int
    tool: str
    arguments: dict[str, Any]
    status: str
    output: Any
    error: str | None
    started_at: datetime
    duration_ms: int


@dataclass
class AgentResult:
    status: str  # succeeded | failed | timeout
    answer: str | None
    error: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    tool_calls: list[ToolCallRecord] = field(default_factory=list)


def run_agent(
    agent: AgentSpec,
    user_input: str,
    provider: Provider,
    *,
    max_steps: int,
    time_budget_s: float,
    clock: Callable[[], float] = time.monotonic,
) -> AgentResult:
    """Run one agent. A TransientToolError propagates (the Celery task retries the run)."""
    deadline = clock() + time_budget_s
    history: list[HistoryItem] = []
    result = AgentResult(status="failed", answer=None, error=None)
    for step_no in range(1, max_steps + 1):
        if clock() > deadline:
            result.status, result.error = "timeout", f"time budget of {time_budget_s:g}s exhausted"
            return result
        with tracer.start_as_current_span(
            "agent.step", attributes={"agent.name": agent.name, "agent.step": step_no}
        ) as span:
            proposal = provider.next_step(agent, user_input, history)
            if isinstance(proposal, FinalStep):
                span.set_attribute("agent.step.type", "final")
                result.steps.append({"step": step_no, "type": "final", "ok": proposal.ok, "answer": proposal.answer})
                result.status = "succeeded" if proposal.ok else "failed"
                result.answer = proposal.answer
                result.error = None if proposal.ok else proposal.answer
                return result
            assert isinstance(proposal, ToolStep)
            span.set_attribute("agent.step.type", "tool")
            record = _call_tool(agent, step_no, proposal)
        result.tool_calls.append(record)
        result.steps.append({
            "step": step_no, "type": "tool", "tool": record.tool, "arguments": record.arguments,
            "status": record.status, "output": record.output, "error": record.error,
            "duration_ms": record.duration_ms,
        })
        history.append(HistoryItem(record.tool, record.arguments, record.status, record.output, record.error,
                                   proposal.call_id or f"call_{step_no}"))
    if clock() > deadline:
        result.status, result.error = "timeout", f"time budget of {time_budget_s:g}s exhausted"
    else:
        result.status, result.error = "failed", f"step budget of {max_steps} steps exhausted"
    return result


def _call_tool(agent: AgentSpec, step_no: int, proposal: ToolStep) -> ToolCallRecord:
    with tracer.start_as_current_span(
        f"tool {proposal.tool}",
        attributes={"tool.name": proposal.tool, "agent.name": agent.name, "agent.step": step_no},
    ) as span:
        record = _run_tool(agent, step_no, proposal)
        span.set_attribute("tool.status", record.status)
        if record.status != "ok":
            span.set_status(Status(StatusCode.ERROR, record.error))
        return record


def _run_tool(agent: AgentSpec, step_no: int, proposal: ToolStep) -> ToolCallRecord:
    started_at = datetime.now(UTC)
    start = time.perf_counter()
    output: Any = None
    error: str | None = None
    tool = TOOLS.get(proposal.tool)
    try:
        if tool is None or proposal.tool not in agent.tools:
            raise ToolError(f"agent {agent.name} has no tool {proposal.tool!r}")
        output = tool.run(proposal.arguments)
        status = "ok"
    except TransientToolError:
        TOOL_INVOCATIONS.labels(tool=proposal.tool, status="error").inc()
        raise
    except ToolError as exc:
        status, error = "error", str(exc)
    duration_ms = int((time.perf_counter() - start) * 1000)
    TOOL_INVOCATIONS.labels(tool=proposal.tool if tool else "unknown", status=status).inc()
    log.info("tool call", extra={"tool": proposal.tool, "status": status, "duration_ms": duration_ms})
    return ToolCallRecord(step_no, proposal.tool, proposal.arguments, status, output, error, started_at, duration_ms)
