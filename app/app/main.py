"""FastAPI application: wiring only (routers, error handlers, middleware)."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from app import errors, metrics
from app.api.main import api_router
from app.core.config import get_settings
from app.core.logging import configure_logging
from app.core.tracing import configure_tracing, instrument_fastapi, shutdown_tracing, tracing_active
from app.middleware import FaultMiddleware, MetricsMiddleware, RequestIdMiddleware

log = logging.getLogger(__name__)


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


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
        generate_unique_id_function=_operation_id,
    )
    app.include_router(api_router)
    errors.install(app)
    app.add_middleware(FaultMiddleware, settings=get_settings)
    app.add_middleware(MetricsMiddleware, routes=lambda: app.router.routes)
    app.add_middleware(RequestIdMiddleware)
    instrument_fastapi(app)
    return app
