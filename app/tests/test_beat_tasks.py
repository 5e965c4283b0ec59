"""The beat's periodic task: stale invocations time out, old finished ones are deleted."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.core.db import session_scope
from app.models import Invocation, InvocationStatus
from sqlalchemy import select


def add(status: InvocationStatus, created_ago: timedelta, finished_ago: timedelta | None = None) -> uuid.UUID:
    now = datetime.now(UTC)
    inv = Invocation(id=uuid.uuid4(), agent="assistant", input="x", metadata_={}, queue="agents", status=status,
                     steps=[], attempts=0, created_at=now - created_ago,
                     finished_at=now - finished_ago if finished_ago else None)
    with session_scope() as session:
        session.add(inv)
    return inv.id


def test_expire_invocations(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.core.config import get_settings
    from app.worker.tasks import expire_invocations

    monkeypatch.setenv("INVOCATION_STALE_SECONDS", "600")
    monkeypatch.setenv("INVOCATION_RETENTION_HOURS", "24")
    get_settings.cache_clear()
    stale_queued = add(InvocationStatus.queued, timedelta(hours=1))
    stale_running = add(InvocationStatus.running, timedelta(minutes=11))
    fresh = add(InvocationStatus.queued, timedelta(minutes=1))
    old_done = add(InvocationStatus.succeeded, timedelta(days=3), timedelta(days=2))
    recent_done = add(InvocationStatus.failed, timedelta(hours=2), timedelta(hours=1))

    assert expire_invocations.run() == {"expired": 2, "deleted": 1}
    with session_scope() as session:
        rows = {r.id: r for r in session.execute(select(Invocation)).scalars()}
    assert old_done not in rows
    assert rows[stale_queued].status == rows[stale_running].status == InvocationStatus.timeout
    assert "expired: no result within 600s" in rows[stale_queued].error
    assert rows[fresh].status == InvocationStatus.queued
    assert rows[recent_done].status == InvocationStatus.failed
    assert expire_invocations.run() == {"expired": 0, "deleted": 0}


def test_a_finished_invocation_is_not_run_again(worker, client) -> None:  # type: ignore[no-untyped-def]
    """A redelivered task for an invocation that has its result stores nothing new."""
    from app.worker.celery_app import TASK_RUN_INVOCATION, celery_app

    from tests.conftest import wait_for

    done = add(InvocationStatus.succeeded, timedelta(seconds=5), timedelta(seconds=1))
    result = celery_app.send_task(TASK_RUN_INVOCATION, args=[str(done)], queue="agents")
    assert wait_for(lambda: result.ready(), timeout=20, message="the task result")
    assert result.get(timeout=5) == {"id": str(done), "skipped": True}
    with session_scope() as session:
        assert session.get(Invocation, done).attempts == 0
