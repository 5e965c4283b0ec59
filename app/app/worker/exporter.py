"""The worker's Prometheus endpoint (port METRICS_PORT, default 9808), served by a thread
of the worker's main process. It returns the metrics of every prefork child (multiprocess
mode) plus two values computed at scrape time:

* ``celery_queue_length{queue}``: length of each queue's Redis list (with its priority lists);
* ``celery_workers_active``: 1 while this worker is ready and its heartbeat is fresh, so
  ``sum(celery_workers_active)`` counts the active workers.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app import metrics
from app.core.config import QUEUES, Settings
from app.core.redis import get_redis
from app.worker import state

log = logging.getLogger(__name__)
PRIORITY_SEP = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)


def queue_keys(queue: str) -> list[str]:
    return [queue] + [f"{queue}{PRIORITY_SEP}{step}" for step in PRIORITY_STEPS]


class CeleryStateCollector(Collector):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[GaugeMetricFamily]:
        lengths = GaugeMetricFamily("celery_queue_length", "Messages waiting in each Celery queue.", labels=["queue"])
        try:
            client = get_redis(self.settings)
            pipe = client.pipeline(transaction=False)
            for queue in QUEUES:
                for key in queue_keys(queue):
                    pipe.llen(key)
            values = pipe.execute()
            per_queue = len(PRIORITY_STEPS) + 1
            for i, queue in enumerate(QUEUES):
                lengths.add_metric([queue], float(sum(values[i * per_queue:(i + 1) * per_queue])))
        except Exception as exc:  # the broker is down: report no samples rather than fail the scrape
            log.warning("queue length unavailable", extra={"error": str(exc)})
        yield lengths
        active = GaugeMetricFamily("celery_workers_active", "1 while this Celery worker is ready and alive.")
        active.add_metric([], 1.0 if state.is_ready(self.settings) and state.is_alive(self.settings) else 0.0)
        yield active


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        pass


def wsgi_app(settings: Settings) -> Callable[..., Iterable[bytes]]:
    collector = CeleryStateCollector(settings)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = environ.get("PATH_INFO", "/")
        if route == "/metrics":
            body, content_type = metrics.render(extra=[collector])
            start_response("200 OK", [("Content-Type", content_type)])
            return [body]
        if route == "/health":
            ok = state.is_alive(settings)
            start_response("200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"ok\n" if ok else b"heartbeat stale\n"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found\n"]

    return app


def start(settings: Settings) -> _Server:
    server = make_server(settings.METRICS_HOST, settings.METRICS_PORT, wsgi_app(settings), server_class=_Server,
                         handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="metrics-exporter", daemon=True)
    thread.start()
    log.info("metrics exporter listening", extra={"port": settings.METRICS_PORT})
    return server
