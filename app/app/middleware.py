"""Pure ASGI middlewares, outermost first: request id + access log, metrics, fault switch.

The fault switch sits inside the metrics middleware, so injected 500s are counted in
``http_requests_total{status="500"}`` like real ones, and it never touches the probe and
scrape paths (``/health``, ``/ready``, ``/metrics``): a faulty release stays Ready."""
from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import Settings
from app.core.logging import request_id_var
from app.metrics import HTTP_DURATION, HTTP_IN_PROGRESS, HTTP_REQUESTS

log = logging.getLogger("app.access")
UNFAULTED = frozenset({"/health", "/ready", "/metrics"})
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def _incoming_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """A well-formed X-Request-ID of the request (ASGI servers lower-case header names)."""
    for name, value in headers:
        if name == b"x-request-id":
            incoming = value.decode("latin-1")
            return incoming if _VALID_ID.match(incoming) else None
    return None


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope["headers"]) or os.urandom(16).hex()
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # probes and scrapes arrive every few seconds: logged only at DEBUG; a server error is
            # an error line, which the log store counts per version (the deploy report shows it)
            level = (logging.DEBUG if scope["path"] in UNFAULTED
                     else logging.ERROR if status >= 500 else logging.INFO)
            if log.isEnabledFor(level):
                client = scope.get("client")
                log.log(level, "request", extra={
                    "method": scope["method"], "path": scope["path"], "status": status,
                    "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                    "client": client[0] if client else None,
                })
            request_id_var.reset(token)


def route_templates(routes: list, prefix: str = "") -> Iterator[str]:
    """Path templates of every route, through included routers (FastAPI wraps them)."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            context = getattr(route, "include_context", None)
            yield from route_templates(included.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif isinstance(getattr(route, "path", None), str):
            yield prefix + route.path


class MetricsMiddleware:
    """http_requests_total / http_request_duration_seconds / http_requests_in_progress.
    ``handler`` is the route template (``/v1/invocations/{invocation_id}``), or ``unmatched``.

    The labelled children are looked up once per (method, handler[, status]) and kept: a
    ``labels()`` call costs a lock and a tuple build on every request otherwise. The label
    values are bounded (the methods the HTTP parser knows, route templates, statuses), and so
    are the caches."""

    def __init__(self, app: ASGIApp, routes: Callable[[], list]) -> None:
        self.app = app
        self.routes = routes
        self._static: dict[str, str] | None = None
        self._templates: list[tuple[re.Pattern[str], str]] = []
        self._timers: dict[tuple[str, str], tuple[Any, Any]] = {}
        self._counters: dict[tuple[str, str, int], Any] = {}

    def handler(self, scope: Scope) -> str:
        if self._static is None:
            templates = dict.fromkeys(route_templates(self.routes()))
            self._templates = [(compile_path(t)[0], t) for t in templates if "{" in t]
            self._static = {t: t for t in templates if "{" not in t}
        path = scope["path"]
        template = self._static.get(path)
        if template is not None:
            return template
        for regex, template in self._templates:
            if regex.match(path):
                return template
        return "unmatched"

    def _timer(self, method: str, handler: str) -> tuple[Any, Any]:
        """(in-progress gauge, duration histogram) children of a method and handler."""
        key = (method, handler)
        children = self._timers.get(key)
        if children is None:
            children = self._timers[key] = (HTTP_IN_PROGRESS.labels(method=method, handler=handler),
                                            HTTP_DURATION.labels(method=method, handler=handler))
        return children

    def _counter(self, method: str, handler: str, status: int) -> Any:
        key = (method, handler, status)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = HTTP_REQUESTS.labels(method=method, handler=handler, status=str(status))
        return child

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        method, handler = scope["method"], self.handler(scope)
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        in_progress, duration = self._timer(method, handler)
        in_progress.inc()
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_status)
        finally:
            duration.observe(time.perf_counter() - start)
            self._counter(method, handler, status).inc()
            in_progress.dec()


class FaultMiddleware:
    """FAULT_ERROR_RATE (0..1) share of requests answer 500; FAULT_LATENCY_MS is added to each."""

    def __init__(self, app: ASGIApp, settings: Callable[[], Settings]) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNFAULTED:
            await self.app(scope, receive, send)
            return
        settings = self.settings()
        if settings.FAULT_LATENCY_MS:
            await asyncio.sleep(settings.FAULT_LATENCY_MS / 1000)
        if settings.FAULT_ERROR_RATE and random.random() < settings.FAULT_ERROR_RATE:
            body = json.dumps({"error": {
                "code": "fault_injected", "message": "fault switch: injected error (FAULT_ERROR_RATE)",
                "request_id": request_id_var.get(), "details": None,
            }}).encode()
            await send({"type": "http.response.start", "status": 500, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)
