"""Agent types: which tools an agent may use and its step budget."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AgentSpec:
    name: str
    description: str
    tools: tuple[str, ...]
    max_steps: int | None = None  # None: AGENT_MAX_STEPS


AGENTS: dict[str, AgentSpec] = {
    spec.name: spec
    for spec in (
        AgentSpec(
            "assistant",
            "General assistant: arithmetic, time, reference lookups and allow-listed web pages.",
            ("calculator", "clock", "lookup", "http_get"),
        ),
        AgentSpec("calculator", "Arithmetic only.", ("calculator",), max_steps=4),
        AgentSpec(
            "diagnostics", "Waits and reads the clock; used to test shutdown and redelivery.", ("sleep", "clock")
        ),
    )
}
