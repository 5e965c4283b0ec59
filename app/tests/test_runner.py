"""The agent loop's budgets (pure logic: a scripted provider and a fake clock)."""
from __future__ import annotations

import pytest
from app.agents.providers import FinalStep, HistoryItem, ToolStep
from app.agents.registry import AGENTS
from app.agents.runner import run_agent

pytestmark = pytest.mark.no_services


class Scripted:
    name = "scripted"

    def __init__(self, steps: list[ToolStep | FinalStep]) -> None:
        self.steps = steps
        self.seen: list[int] = []

    def next_step(self, agent: object, user_input: str, history: list[HistoryItem]) -> ToolStep | FinalStep:
        self.seen.append(len(history))
        return self.steps[len(history)]


def test_time_budget_stops_the_loop() -> None:
    ticks = iter([0.0, 0.0, 5.0, 11.0])
    provider = Scripted([ToolStep("calculator", {"expression": "1+1"})] * 5)
    result = run_agent(AGENTS["calculator"], "x", provider, max_steps=5, time_budget_s=10, clock=lambda: next(ticks))
    assert result.status == "timeout" and "time budget of 10s" in result.error
    assert len(result.tool_calls) == 2


def test_final_answer_and_history() -> None:
    provider = Scripted([ToolStep("calculator", {"expression": "2*3"}), FinalStep("six")])
    result = run_agent(AGENTS["calculator"], "x", provider, max_steps=5, time_budget_s=10)
    assert (result.status, result.answer) == ("succeeded", "six")
    assert provider.seen == [0, 1] and result.tool_calls[0].output == {"expression": "2*3", "value": 6}


def test_unknown_tool_is_a_tool_error() -> None:
    provider = Scripted([ToolStep("rm_rf", {}), FinalStep("gave up", ok=False)])
    result = run_agent(AGENTS["assistant"], "x", provider, max_steps=5, time_budget_s=10)
    assert result.tool_calls[0].status == "error" and "no tool 'rm_rf'" in result.tool_calls[0].error
    assert result.status == "failed"
