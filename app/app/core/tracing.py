"""OpenTelemetry tracing, off unless ``TRACING_ENABLED`` is true.

Off: nothing of the SDK is imported, no exporter exists, and the ``opentelemetry.trace``
API hands out its no-op tracers (the agent-step spans in app.agents.runner cost a
function call). On: one tracer provider per process, a parent-based trace-id-ratio
sampler, a batch span processor and an OTLP exporter (``http/protobuf`` or ``grpc``),
and the instrumentations of FastAPI, Celery, SQLAlchemy, Redis and httpx.

Where it is called:
- ``api``: ``app.main.create_app`` (uvicorn's factory), ``instrument_fastapi`` on the app;
- ``worker``: every prefork pool child, from ``worker_process_init`` (app.worker.signals):
  the batch processor's export thread does not survive a fork, so the parent never
  initialises tracing and its own Redis polling is not traced;
- ``beat``: ``beat_init``.

The trace context of an API request travels into the task through the Celery message
headers (opentelemetry-instrumentation-celery: publish span in the API, run span in the
worker), so one invocation is one trace.
"""
from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING, Any

from app.core.config import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

log = logging.getLogger(__name__)

ROLES = ("api", "worker", "beat")
# Probes and scrapes arrive every few seconds: never traced.
EXCLUDED_URLS = "/health,/ready,/metrics"
_state: dict[str, Any] = {}


def service_name(settings: Settings, role: str) -> str:
    return settings.OTEL_SERVICE_NAME or f"agent-service-{role}"


def traces_endpoint(settings: Settings) -> str:
    """The exporter's URL: OTLP/HTTP posts to ``<endpoint>/v1/traces`` (as the SDK does with
    ``OTEL_EXPORTER_OTLP_ENDPOINT``), gRPC uses ``host:port`` of the endpoint."""
    endpoint = settings.otlp_endpoint.rstrip("/")
    if settings.OTEL_EXPORTER_OTLP_PROTOCOL == "http/protobuf" and not endpoint.endswith("/v1/traces"):
        endpoint += "/v1/traces"
    return endpoint


def _exporter(settings: Settings) -> Any:
    endpoint = traces_endpoint(settings)
    if settings.OTEL_EXPORTER_OTLP_PROTOCOL == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    return HttpExporter(endpoint=endpoint)


def configure_tracing(settings: Settings, role: str) -> bool:
    """Set up tracing for this process once; False (and nothing done) when it is off."""
    if role not in ROLES:
        raise ValueError(f"unknown process role {role!r}; expected one of {', '.join(ROLES)}")
    if not settings.TRACING_ENABLED:
        return False
    if _state.get("pid") == os.getpid():
        return True

    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create({
        "service.name": service_name(settings, role),
        "service.namespace": "agent-service",
        "service.version": settings.APP_VERSION,
        "service.instance.id": f"{socket.gethostname()}-{os.getpid()}",
        "deployment.environment.name": settings.APP_ENV,
        "process.role": role,
    })
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.TRACING_SAMPLER_RATIO)))
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    trace.set_tracer_provider(provider)

    instrumentors = {
        # opentelemetry-instrumentation-sqlalchemy 0.66b2 declares "sqlalchemy < 2.1" but its engine
        # events work with 2.1 (app/tests/test_tracing.py asserts the SQL spans): skip that check.
        "sqlalchemy": (SQLAlchemyInstrumentor(), {"skip_dep_check": True}),
        "redis": (RedisInstrumentor(), {}),
        "httpx": (HTTPXClientInstrumentor(), {}),
        "celery": (CeleryInstrumentor(), {}),
    }
    for name, (instrumentor, options) in instrumentors.items():
        instrumentor.instrument(tracer_provider=provider, **options)
        if not instrumentor.is_instrumented_by_opentelemetry:
            log.warning("tracing: %s is not instrumented (version conflict?)", name)
    _state.update(pid=os.getpid(), provider=provider, role=role)
    log.info("tracing on", extra={
        "service": service_name(settings, role), "otlp_endpoint": traces_endpoint(settings),
        "otlp_protocol": settings.OTEL_EXPORTER_OTLP_PROTOCOL, "sampler_ratio": settings.TRACING_SAMPLER_RATIO,
    })
    return True


def instrument_fastapi(app: FastAPI) -> None:
    """Server spans for every request but the probes (after ``configure_tracing``)."""
    provider = _state.get("provider")
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS,
                                       exclude_spans=["receive", "send"])


def shutdown_tracing() -> None:
    """Flush and stop the exporter (end of a pool child, of beat, of the API)."""
    provider = _state.pop("provider", None)
    _state.clear()
    if provider is not None:
        provider.shutdown()


def tracing_active() -> bool:
    return _state.get("provider") is not None
