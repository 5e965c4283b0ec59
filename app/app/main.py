"""FastAPI application: wiring only (routers, error handlers, middleware)."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app import errors, metrics
from app.api.main import add_routes
from app.api.routing import operation_id
from app.core.config import get_settings
from app.core.logging import configure_logging
from app.core.tracing import configure_tracing, instrument_fastapi, shutdown_tracing, tracing_active
from app.middleware import FaultMiddleware, MetricsMiddleware, RequestIdMiddleware

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = get_settings()
    configure_logging(settings.LOG_LEVEL)
    metrics.RATE_LIMIT_REMAINING.labels(scope="client").set(settings.RATE_LIMIT_PER_MINUTE)
    if settings.fault_enabled:
        log.warning("fault switch is ON", extra={"fault_error_rate": settings.FAULT_ERROR_RATE,
                                                 "fault_latency_ms": settings.FAULT_LATENCY_MS})
    log.info("api started", extra={"version": settings.APP_VERSION, "env": settings.APP_ENV,
                                   "tracing": tracing_active()})
    yield
    shutdown_tracing()


def create_app() -> FastAPI:
    configure_tracing(get_settings(), "api")
    app = FastAPI(
        title="Agent Service",
        version=get_settings().APP_VERSION,
        description="Runs agents (an LLM provider proposes steps, tools run them) on Celery workers.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # FastAPI's own OpenTelemetry hooks stay off: traces come from the instrumentation in
        # app.core.tracing (probes excluded) and metrics from app.metrics; left on, they look
        # up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    add_routes(app)
    errors.install(app)
    app.add_middleware(FaultMiddleware, settings=get_settings)
    app.add_middleware(MetricsMiddleware, routes=lambda: app.router.routes)
    app.add_middleware(RequestIdMiddleware)
    instrument_fastapi(app)
    return app
