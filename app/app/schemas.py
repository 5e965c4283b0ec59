"""API request and response models (the OpenAPI spec is generated from these)."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


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

    @field_validator("input")
    @classmethod
    def _storable_text(cls, value: str) -> str:
        return storable(value)

    @field_validator("metadata")
    @classmethod
    def _storable_metadata(cls, value: dict[str, str]) -> dict[str, str]:
        return {storable(key): storable(item) for key, item in value.items()}


def storable(text: str) -> str:
    """PostgreSQL text cannot hold NUL and UTF-8 cannot encode lone surrogates: both are
    stored as U+FFFD (the replacement character) rather than failing the request."""
    if "\x00" in text or any("\ud800" <= ch <= "\udfff" for ch in text):
        return "".join("\ufffd" if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text


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
