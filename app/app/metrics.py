"""Every metric of the seed's Metrics Reference, with the labels fixed in docs/interfaces.md.

When PROMETHEUS_MULTIPROC_DIR is set before the process starts (the container entrypoint
does that and wipes the directory), prometheus_client writes values to per-process files,
so counters incremented in Celery's prefork children are summed at scrape time.
``celery_queue_length`` and ``celery_workers_active`` are computed at scrape time by the
worker's exporter (app.worker.exporter), not stored.
"""
from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RUNTIME_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled by the API.", ["method", "handler", "status"]
)
HTTP_DURATION = Histogram(
    "http_request_duration_seconds", "HTTP request latency.", ["method", "handler"], buckets=LATENCY_BUCKETS
)
HTTP_IN_PROGRESS = Gauge(
    "http_requests_in_progress", "HTTP requests being handled.", ["method", "handler"], multiprocess_mode="livesum"
)

CELERY_TASKS = Counter(
    "celery_task_total", "Celery tasks processed, by outcome.", ["task", "queue", "status"]
)
CELERY_TASKS_FAILED = Counter("celery_task_failed_total", "Celery tasks that failed.", ["task", "queue"])
CELERY_TASK_RUNTIME = Histogram(
    "celery_task_runtime_seconds", "Celery task execution time.", ["task", "queue"], buckets=RUNTIME_BUCKETS
)

AGENT_INVOCATIONS = Counter(
    "agent_invocation_total", "Agent invocations finished, by outcome.", ["agent", "status"]
)
AGENT_RESPONSE_TIME = Histogram(
    "agent_response_time_seconds", "Agent run time from start to final answer.", ["agent"], buckets=RUNTIME_BUCKETS
)
TOOL_INVOCATIONS = Counter("tool_invocation_total", "Tool calls made by agents.", ["tool", "status"])
RATE_LIMIT_REMAINING = Gauge(
    "rate_limit_remaining",
    "Requests left in the current window (scope=client: lowest across clients; scope=provider: LLM provider).",
    ["scope"],
    multiprocess_mode="livemin",
)

# Names and label sets, used by tests and the README.
METRIC_LABELS: dict[str, tuple[str, ...]] = {
    "http_requests_total": ("method", "handler", "status"),
    "http_request_duration_seconds": ("method", "handler"),
    "http_requests_in_progress": ("method", "handler"),
    "celery_workers_active": (),
    "celery_queue_length": ("queue",),
    "celery_task_total": ("task", "queue", "status"),
    "celery_task_failed_total": ("task", "queue"),
    "celery_task_runtime_seconds": ("task", "queue"),
    "agent_invocation_total": ("agent", "status"),
    "agent_response_time_seconds": ("agent",),
    "tool_invocation_total": ("tool", "status"),
    "rate_limit_remaining": ("scope",),
}


def multiprocess_dir() -> str | None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    return path if path and os.path.isdir(path) else None


def render(extra: list[Collector] | None = None) -> tuple[bytes, str]:
    """The exposition text for this process (or all processes in multiprocess mode)."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    elif extra:
        registry = CollectorRegistry()
        registry.register(_Delegate(REGISTRY))
    else:
        registry = REGISTRY
    for collector in extra or ():
        registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Delegate(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self):  # type: ignore[no-untyped-def]
        return self._registry.collect()


def mark_process_dead(pid: int) -> None:
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
