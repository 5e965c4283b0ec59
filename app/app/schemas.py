"""API request and response models (the OpenAPI spec is generated from these)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    code: str = Field(..., description="Stable machine-readable error code", examples=["not_found"])
    message: str = Field(..., description="Human-readable explanation")
    request_id: str | None = Field(None, description="The X-Request-ID of the request")
    details: list[dict[str, Any]] | None = Field(None, description="Validation problems, when any")


class ErrorResponse(BaseModel):
    error: ErrorBody


class InvocationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = Field(..., min_length=1, max_length=4000, description="The request for the agent",
                       examples=["what is 2+3*4; time in Europe/Paris"])
    priority: Literal["normal", "high"] = Field("normal", description="`high` goes to the `priority` queue")
    metadata: dict[str, str] = Field(default_factory=dict, max_length=20, description="Free key/value labels")


class InvocationAccepted(BaseModel):
    id: uuid.UUID
    agent: str
    status: Literal["queued", "running", "succeeded", "failed", "timeout"]
    queue: str
    location: str = Field(..., description="URL of the invocation")


class ToolCallOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    step: int
    tool: str
    arguments: dict[str, Any]
    status: Literal["ok", "error"]
    output: Any = None
    error: str | None = None
    started_at: datetime
    duration_ms: int


class InvocationOut(BaseModel):
    id: uuid.UUID
    agent: str
    input: str
    metadata: dict[str, Any]
    queue: str
    status: Literal["queued", "running", "succeeded", "failed", "timeout"]
    result: str | None
    error: str | None
    steps: list[dict[str, Any]]
    tool_calls: list[ToolCallOut]
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class ToolOut(BaseModel):
    name: str
    description: str
    input_schema: dict[str, Any]


class AgentOut(BaseModel):
    name: str
    description: str
    max_steps: int
    tools: list[ToolOut]


class AgentList(BaseModel):
    agents: list[AgentOut]


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class Readiness(BaseModel):
    status: Literal["ready", "not_ready"]
    checks: dict[str, str] = Field(..., description="Per dependency: `ok` or the error")
