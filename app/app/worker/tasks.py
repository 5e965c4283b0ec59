"""Celery tasks: run an agent invocation, and the beat's periodic clean-up."""
from __future__ import annotations

import logging
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import delete, update

from app.agents.providers import get_provider
from app.agents.registry import AGENTS
from app.agents.runner import AgentResult, run_agent
from app.agents.tools import TransientToolError
from app.core.config import get_settings
from app.core.db import session_scope
from app.metrics import AGENT_INVOCATIONS, AGENT_RESPONSE_TIME
from app.models import Invocation, InvocationStatus, ToolCall
from app.worker.celery_app import TASK_EXPIRE_INVOCATIONS, TASK_RUN_INVOCATION, celery_app

log = logging.getLogger(__name__)
TERMINAL = (InvocationStatus.succeeded, InvocationStatus.failed, InvocationStatus.timeout)


def retry_countdown(retries: int, cap: int) -> float:
    """Exponential backoff with full jitter: 1, 2, 4 ... seconds, capped."""
    return random.uniform(0.5, 1.0) * min(cap, 2**retries)


def _start(invocation_id: uuid.UUID, hostname: str) -> tuple[str, str, int] | None:
    """Mark the invocation running; None when it is unknown or already finished."""
    with session_scope() as session:
        inv = session.get(Invocation, invocation_id, with_for_update=True)
        if inv is None:
            log.warning("invocation not found", extra={"invocation_id": str(invocation_id)})
            return None
        if inv.status in TERMINAL:
            log.info("invocation already finished", extra={"invocation_id": str(invocation_id)})
            return None
        inv.status = InvocationStatus.running
        inv.attempts += 1
        inv.worker = hostname
        inv.started_at = inv.started_at or datetime.now(UTC)
        return inv.agent, inv.input, inv.attempts


def _finish(invocation_id: uuid.UUID, attempt: int, result: AgentResult, elapsed: float) -> bool:
    """Store the result once; False when another delivery already stored one."""
    with session_scope() as session:
        inv = session.get(Invocation, invocation_id, with_for_update=True)
        if inv is None or inv.status in TERMINAL:
            return False
        inv.status = InvocationStatus(result.status)
        inv.result = result.answer
        inv.error = result.error
        inv.steps = result.steps
        inv.finished_at = datetime.now(UTC)
        inv.duration_ms = int(elapsed * 1000)
        session.add_all(
            ToolCall(
                invocation_id=invocation_id, attempt=attempt, step=c.step, tool=c.tool, arguments=c.arguments,
                status=c.status, output=c.output, error=c.error, started_at=c.started_at, duration_ms=c.duration_ms,
            )
            for c in result.tool_calls
        )
        return True


def _requeue(invocation_id: uuid.UUID, error: str) -> None:
    with session_scope() as session:
        session.execute(
            update(Invocation)
            .where(Invocation.id == invocation_id, Invocation.status == InvocationStatus.running)
            .values(status=InvocationStatus.queued, error=f"retrying: {error}")
        )


@celery_app.task(bind=True, name=TASK_RUN_INVOCATION)
def run_invocation(self: Task, invocation_id: str) -> dict[str, Any]:
    settings = get_settings()
    inv_id = uuid.UUID(invocation_id)  # a malformed id fails the task (ValueError)
    started = _start(inv_id, self.request.hostname or "")
    if started is None:
        return {"id": invocation_id, "skipped": True}
    agent_name, user_input, attempt = started
    spec = AGENTS[agent_name]
    budget = min(settings.AGENT_TIME_BUDGET_SECONDS, max(1.0, settings.CELERY_TASK_SOFT_TIME_LIMIT - 1.0))
    begin = time.monotonic()
    try:
        result = run_agent(
            spec, user_input, get_provider(settings),
            max_steps=spec.max_steps or settings.AGENT_MAX_STEPS, time_budget_s=budget,
        )
    except SoftTimeLimitExceeded:
        result = AgentResult("timeout", None, f"soft time limit of {settings.CELERY_TASK_SOFT_TIME_LIMIT}s exceeded")
    except TransientToolError as exc:
        if self.request.retries < settings.CELERY_MAX_RETRIES:
            _requeue(inv_id, str(exc))
            countdown = retry_countdown(self.request.retries, settings.CELERY_RETRY_BACKOFF_MAX)
            log.info("transient error, retrying", extra={"invocation_id": invocation_id, "countdown": countdown})
            raise self.retry(exc=exc, countdown=countdown, max_retries=settings.CELERY_MAX_RETRIES) from None
        result = AgentResult("failed", None, f"gave up after {self.request.retries} retries: {exc}")
    elapsed = time.monotonic() - begin
    stored = _finish(inv_id, attempt, result, elapsed)
    if stored:
        AGENT_INVOCATIONS.labels(agent=agent_name, status=result.status).inc()
        AGENT_RESPONSE_TIME.labels(agent=agent_name).observe(elapsed)
    log.info("invocation finished", extra={
        "invocation_id": invocation_id, "agent": agent_name, "status": result.status, "stored": stored,
        "attempt": attempt, "duration_ms": int(elapsed * 1000),
    })
    return {"id": invocation_id, "status": result.status, "stored": stored}


@celery_app.task(name=TASK_EXPIRE_INVOCATIONS)
def expire_invocations() -> dict[str, int]:
    """Time out invocations that never finished, and delete old finished ones."""
    settings = get_settings()
    now = datetime.now(UTC)
    stale_before = now - timedelta(seconds=settings.stale_after_seconds)
    with session_scope() as session:
        expired = session.execute(
            update(Invocation)
            .where(Invocation.status.in_([InvocationStatus.queued, InvocationStatus.running]),
                   Invocation.created_at < stale_before)
            .values(status=InvocationStatus.timeout, finished_at=now,
                    error=f"expired: no result within {settings.stale_after_seconds}s")
            .returning(Invocation.agent)
        ).scalars().all()
        deleted = session.execute(
            delete(Invocation).where(
                Invocation.finished_at < now - timedelta(hours=settings.INVOCATION_RETENTION_HOURS)
            ).returning(Invocation.id)
        ).scalars().all()
    for agent in expired:
        AGENT_INVOCATIONS.labels(agent=agent, status="timeout").inc()
    log.info("expired invocations", extra={"expired": len(expired), "deleted": len(deleted)})
    return {"expired": len(expired), "deleted": len(deleted)}
