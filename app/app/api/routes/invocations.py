"""Create agent invocations and read them back."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Annotated

from fastapi import Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.agents.registry import AGENTS
from app.api.deps import RateLimited, SessionDep, SettingsDep
from app.api.routing import api_router
from app.errors import ApiError, responses
from app.models import Invocation, InvocationStatus
from app.schemas import InvocationAccepted, InvocationCreate, InvocationOut, ToolCallOut
from app.worker.tasks import run_invocation

log = logging.getLogger(__name__)
router = api_router(tags=["invocations"], dependencies=[RateLimited])
WAIT_MAX = 30.0
TERMINAL = (InvocationStatus.succeeded, InvocationStatus.failed, InvocationStatus.timeout)
_LINKS = {"GetInvocation": {"operationId": "invocations-get_invocation",
                            "parameters": {"invocation_id": "$response.body#/id"}}}


def to_out(inv: Invocation) -> InvocationOut:
    return InvocationOut(
        id=inv.id, agent=inv.agent, input=inv.input, metadata=inv.metadata_ or {}, queue=inv.queue,
        status=inv.status.value, result=inv.result, error=inv.error, steps=inv.steps or [],
        tool_calls=[ToolCallOut.model_validate(c) for c in inv.tool_calls], attempts=inv.attempts,
        created_at=inv.created_at, started_at=inv.started_at, finished_at=inv.finished_at,
        duration_ms=inv.duration_ms,
    )


def _load(session: Session, invocation_id: uuid.UUID) -> Invocation | None:
    session.expire_all()
    return session.execute(
        select(Invocation).options(selectinload(Invocation.tool_calls)).where(Invocation.id == invocation_id)
    ).scalar_one_or_none()


@router.post(
    "/v1/agents/{agent}/invocations",
    status_code=202,
    response_model=InvocationAccepted,
    responses={
        200: {"model": InvocationOut, "description": "finished within `wait` seconds", "links": _LINKS},
        202: {"description": "queued (or still running after `wait` seconds)", "links": _LINKS},
        **responses(400, 404, 422, 429, 503),
    },
    summary="Start an agent; with `wait`, return the finished invocation if it ends in time",
)
def create_invocation(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    agent: Annotated[str, Path(max_length=64, description="Agent type, see GET /v1/agents",
                               examples=["assistant"])],
    body: InvocationCreate,
    wait: Annotated[float, Query(ge=0, le=WAIT_MAX, description="Seconds to wait for the result (0: return at once)")]
    = 0,
) -> JSONResponse:
    if agent not in AGENTS:
        raise ApiError(404, "not_found", f"unknown agent {agent!r}; see GET /v1/agents")
    queue = "priority" if body.priority == "high" else "agents"
    inv = Invocation(
        id=uuid.uuid4(), agent=agent, input=body.input, metadata_=body.metadata, queue=queue,
        status=InvocationStatus.queued, steps=[], attempts=0,
        request_id=getattr(request.state, "request_id", None),
    )
    session.add(inv)
    session.commit()
    try:
        run_invocation.apply_async(args=[str(inv.id)], queue=queue, routing_key=queue, task_id=str(inv.id))
    except (KombuOperationalError, RedisError, OSError) as exc:
        inv.status, inv.error = InvocationStatus.failed, f"could not enqueue: {exc.__class__.__name__}"
        session.commit()
        log.error("enqueue failed", extra={"invocation_id": str(inv.id), "error": str(exc)})
        raise ApiError(503, "unavailable", "the task queue is unavailable, try again later") from None
    location = f"/v1/invocations/{inv.id}"
    deadline = time.monotonic() + min(wait, settings.INVOCATION_WAIT_MAX)
    delay = 0.02
    while wait and time.monotonic() < deadline:
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.25)
        current = _load(session, inv.id)
        if current is not None and current.status in TERMINAL:
            return JSONResponse(jsonable_encoder(to_out(current)), status_code=200, headers={"Location": location})
    accepted = InvocationAccepted(id=inv.id, agent=agent, status="queued", queue=queue, location=location)
    return JSONResponse(jsonable_encoder(accepted), status_code=202, headers={"Location": location})


@router.get(
    "/v1/invocations/{invocation_id}",
    response_model=InvocationOut,
    responses=responses(404, 422, 429, 503),
    summary="An invocation with its steps, tool calls, result, timings and status",
)
def get_invocation(session: SessionDep, invocation_id: uuid.UUID) -> InvocationOut:
    inv = _load(session, invocation_id)
    if inv is None:
        raise ApiError(404, "not_found", f"no invocation {invocation_id}")
    return to_out(inv)
