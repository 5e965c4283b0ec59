"""At-least-once delivery with exactly one stored result: SIGKILL a worker mid-task and the
task completes once on another worker (acks_late + Redis visibility timeout), and SIGKILL a
pool child and the task is re-queued at once (task_reject_on_worker_lost).

These workers use their own Redis database (1) and short time limits, so the session's
worker never sees their tasks."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import select

from tests.conftest import Proc, start_worker, wait_for

ENV = {"REDIS_DB": "1", "CELERY_TASK_SOFT_TIME_LIMIT": "8", "CELERY_TASK_TIME_LIMIT": "10",
       "CELERY_VISIBILITY_TIMEOUT": "12", "CELERY_RESTORE_INTERVAL": "2"}


@pytest.fixture()
def publisher(base_env: dict[str, str]) -> Iterator[Celery]:
    from app.core.config import Settings
    from app.worker.celery_app import celery_config

    app = Celery("delivery-test")
    app.conf.update(celery_config(Settings(**{**base_env, **ENV})))
    yield app
    app.close()


def create(text: str) -> str:
    from app.core.db import session_scope
    from app.models import Invocation, InvocationStatus

    inv_id = uuid.uuid4()
    with session_scope() as session:
        session.add(Invocation(id=inv_id, agent="diagnostics", input=text, metadata_={}, queue="agents",
                               status=InvocationStatus.queued, steps=[], attempts=0))
    return str(inv_id)


def row(inv_id: str):  # type: ignore[no-untyped-def]
    from app.core.db import session_scope
    from app.models import Invocation, ToolCall

    with session_scope() as session:
        inv = session.get(Invocation, uuid.UUID(inv_id))
        calls = session.execute(select(ToolCall).where(ToolCall.invocation_id == inv.id)).scalars().all()
        return inv, calls


def send(publisher: Celery, inv_id: str) -> None:
    from app.worker.celery_app import TASK_RUN_INVOCATION

    publisher.send_task(TASK_RUN_INVOCATION, args=[inv_id], queue="agents", task_id=inv_id)


def running_on(inv_id: str, prefix: str) -> bool:
    inv, _ = row(inv_id)
    return inv.status.value == "running" and (inv.worker or "").startswith(prefix)


def test_sigkill_worker_mid_task_completes_once_on_another(base_env: dict[str, str], publisher: Celery) -> None:
    env = {**base_env, **ENV}
    a = start_worker("killA", env, metrics_port=58092, concurrency=1)
    b: Proc | None = None
    try:
        inv_id = create("sleep 5")
        send(publisher, inv_id)
        wait_for(lambda: running_on(inv_id, "killA@"), timeout=20, message="the task to start on worker A")
        a.kill_group()  # main process and pool child, mid-task: the message is never acknowledged
        b = start_worker("killB", env, metrics_port=58093, concurrency=1)
        wait_for(lambda: row(inv_id)[0].status.value == "succeeded", timeout=60, interval=0.5,
                 message="redelivery to worker B after the visibility timeout")
        inv, calls = row(inv_id)
        assert inv.worker.startswith("killB@") and inv.attempts == 2
        assert inv.result == "slept 5.0s"
        assert [(c.attempt, c.tool) for c in calls] == [(2, "sleep")]  # one stored result, from the 2nd run
    finally:
        if b:
            b.stop()
        a.stop()


def test_sigkill_pool_child_requeues_the_task(base_env: dict[str, str], publisher: Celery) -> None:
    w = start_worker("child", {**base_env, **ENV}, metrics_port=58094, concurrency=1)
    try:
        inv_id = create("sleep 2")
        send(publisher, inv_id)
        wait_for(lambda: running_on(inv_id, "child@"), timeout=20, message="the task to start")
        children = _children(_celery_main(w))
        assert children, "no pool child found"
        for pid in children:
            os.kill(pid, 9)
        wait_for(lambda: row(inv_id)[0].status.value == "succeeded", timeout=40, interval=0.3,
                 message="the re-queued task to finish")
        inv, calls = row(inv_id)
        assert inv.attempts == 2 and [c.attempt for c in calls] == [2]
        assert w.alive()
    finally:
        w.stop()


def _children(pid: int) -> list[int]:
    """PIDs whose parent is ``pid`` (from /proc, no procps needed)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _celery_main(proc: Proc) -> int:
    """The entrypoint execs celery, so the process we started is the celery main process."""
    return proc.popen.pid


def test_soft_time_limit_times_the_invocation_out(base_env: dict[str, str], publisher: Celery) -> None:
    """The soft limit interrupts a running tool; the invocation is stored as `timeout` and
    the worker child survives (the hard limit, 2 s later, is not reached)."""
    w = start_worker("soft", {**base_env, **ENV, "CELERY_TASK_SOFT_TIME_LIMIT": "2", "CELERY_TASK_TIME_LIMIT": "4"},
                     metrics_port=58095, concurrency=1)
    try:
        inv_id = create("sleep 6")
        send(publisher, inv_id)
        wait_for(lambda: row(inv_id)[0].status.value == "timeout", timeout=30, interval=0.3,
                 message="the soft time limit")
        inv, calls = row(inv_id)
        assert "soft time limit of 2s exceeded" in inv.error and inv.attempts == 1
        assert inv.duration_ms is not None and 1000 <= inv.duration_ms < 4000
        assert calls == []
    finally:
        w.stop()


def test_broker_outage_flips_readiness_not_liveness(base_env: dict[str, str], redis_server) -> None:  # type: ignore[no-untyped-def]
    """Redis stops: the worker keeps its heartbeat (it is retrying, a restart would not
    help) but drops its ready file; Redis returns: ready again, and it consumes."""
    import time

    from tests.services import Redis

    own = Redis(58032, password=redis_server.password)
    own.start()
    w = start_worker("outage", {**base_env, "REDIS_PORT": "58032"}, metrics_port=58097, concurrency=1)
    ready = w.workdir / "state" / "worker_ready"
    heartbeat = w.workdir / "state" / "worker_heartbeat"
    try:
        own.stop()
        wait_for(lambda: not ready.exists(), timeout=20, message="the ready file to go")
        for _ in range(8):  # through several reconnection attempts (2, 4, 6 s apart)
            time.sleep(1)
            assert time.time() - heartbeat.stat().st_mtime < 5, "heartbeat went stale while retrying"
        own.start()
        wait_for(ready.exists, timeout=30, interval=0.3, message="the ready file to come back")
        time.sleep(2.5)
        assert time.time() - heartbeat.stat().st_mtime < 5, "heartbeat not resumed after reconnecting"
        from app.core.config import Settings
        from app.worker.celery_app import celery_config

        publisher = Celery("outage-test")
        publisher.conf.update(celery_config(Settings(**{**base_env, "REDIS_PORT": "58032"})))
        inv_id = create("sleep 0.1")
        send(publisher, inv_id)
        wait_for(lambda: row(inv_id)[0].status.value == "succeeded", timeout=20, message="a task after reconnect")
        publisher.close()
    finally:
        w.stop()
        own.stop()
