"""Worker hooks: task metrics, the metrics exporter, heartbeat and ready files (app.worker.consumer), and
per-child clean-up (database connections are not shared across fork)."""
from __future__ import annotations

import logging
import os
import time
from typing import Any

from celery import signals

from app import metrics
from app.agents.registry import AGENTS
from app.agents.tools import TOOLS
from app.core.config import QUEUES, get_settings
from app.core.db import reset_engines
from app.core.logging import configure_logging
from app.core.redis import reset_clients
from app.core.tracing import configure_tracing, shutdown_tracing
from app.worker import exporter, state
from app.worker.celery_app import TASK_QUEUES, celery_app
from app.worker.consumer import ConsumerState

log = logging.getLogger(__name__)
_started: dict[str, float] = {}


def _queue(task: Any) -> str:
    info = getattr(task.request, "delivery_info", None) or {}
    return info.get("routing_key") or info.get("queue") or "unknown"


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    configure_logging(get_settings().LOG_LEVEL)


@signals.worker_init.connect
def _worker_init(**_: Any) -> None:
    # Zero-valued series, so that rate() and absent() work from the first scrape.
    for task, queue in TASK_QUEUES.items():
        for q in {queue, *QUEUES}:
            metrics.CELERY_TASK_RUNTIME.labels(task=task, queue=q)
            metrics.CELERY_TASKS_FAILED.labels(task=task, queue=q)
            for status in ("succeeded", "failed", "retried"):
                metrics.CELERY_TASKS.labels(task=task, queue=q, status=status)
    for agent in AGENTS:
        metrics.AGENT_RESPONSE_TIME.labels(agent=agent)
        for status in ("succeeded", "failed", "timeout"):
            metrics.AGENT_INVOCATIONS.labels(agent=agent, status=status)
    for tool in TOOLS:
        for status in ("ok", "error"):
            metrics.TOOL_INVOCATIONS.labels(tool=tool, status=status)


@signals.worker_ready.connect
def _worker_ready(sender: Any = None, **_: Any) -> None:
    settings = get_settings()
    exporter.start(settings)
    log.info("worker ready", extra={"queues": settings.CELERY_QUEUES})


@signals.worker_shutdown.connect
def _worker_shutdown(**_: Any) -> None:
    settings = get_settings()
    state.remove(state.path(settings, state.READY))
    state.remove(state.path(settings, state.HEARTBEAT))


@signals.worker_process_init.connect
def _child_init(**_: Any) -> None:
    # Tracing first: the engines and clients made after it are instrumented.
    configure_tracing(get_settings(), "worker")
    reset_engines()
    reset_clients()


@signals.worker_process_shutdown.connect
def _child_shutdown(pid: int | None = None, **_: Any) -> None:
    metrics.mark_process_dead(pid or os.getpid())
    shutdown_tracing()


@signals.beat_init.connect
def _beat_init(**_: Any) -> None:
    configure_tracing(get_settings(), "beat")


@signals.task_prerun.connect
def _task_prerun(task_id: str | None = None, **_: Any) -> None:
    if task_id:
        _started[task_id] = time.monotonic()


@signals.task_postrun.connect
def _task_postrun(task_id: str | None = None, task: Any = None, state: str | None = None, **_: Any) -> None:
    begin = _started.pop(task_id or "", None)
    if task is None:
        return
    queue = _queue(task)
    if begin is not None:
        metrics.CELERY_TASK_RUNTIME.labels(task=task.name, queue=queue).observe(time.monotonic() - begin)
    if state == "SUCCESS":
        metrics.CELERY_TASKS.labels(task=task.name, queue=queue, status="succeeded").inc()


@signals.task_failure.connect
def _task_failure(sender: Any = None, **_: Any) -> None:
    if sender is None:
        return
    queue = _queue(sender)
    metrics.CELERY_TASKS.labels(task=sender.name, queue=queue, status="failed").inc()
    metrics.CELERY_TASKS_FAILED.labels(task=sender.name, queue=queue).inc()


@signals.task_retry.connect
def _task_retry(sender: Any = None, **_: Any) -> None:
    if sender is not None:
        metrics.CELERY_TASKS.labels(task=sender.name, queue=_queue(sender), status="retried").inc()


celery_app.steps["consumer"].add(ConsumerState)
