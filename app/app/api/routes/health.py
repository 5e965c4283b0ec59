"""Liveness, readiness and the Prometheus scrape endpoint (never rate limited or faulted)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from fastapi import Response
from fastapi.responses import JSONResponse

from app import metrics
from app.api.deps import SettingsDep
from app.api.routing import api_router
from app.core.config import get_settings
from app.core.db import ping_database
from app.core.redis import get_redis
from app.schemas import Health, Readiness

router = api_router(tags=["health"])
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ready")
CHECK_TIMEOUT_S = 2.0


@router.get("/health", response_model=Health, summary="Liveness: the process answers; checks nothing else")
async def health() -> Health:
    # No dependencies: a sync Depends() would cost a thread-pool hop on every probe.
    return Health(status="ok", version=get_settings().APP_VERSION)


def _redis_ping(settings: SettingsDep) -> None:
    if not get_redis(settings).ping():
        raise RuntimeError("PING failed")


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness, "description": "not ready"}},
            summary="Readiness: PostgreSQL and Redis answer within short timeouts")
def ready(settings: SettingsDep) -> Response:
    checks = {
        "postgresql": _pool.submit(ping_database, CHECK_TIMEOUT_S),
        "redis": _pool.submit(_redis_ping, settings),
    }
    results: dict[str, str] = {}
    for name, future in checks.items():
        try:
            future.result(timeout=CHECK_TIMEOUT_S + 0.5)
            results[name] = "ok"
        except FutureTimeout:
            results[name] = "timeout"
        except Exception as exc:  # any failure means not ready; report it
            results[name] = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
    ok = all(value == "ok" for value in results.values())
    body = Readiness(status="ready" if ok else "not_ready", checks=results)
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


@router.get("/metrics", include_in_schema=False)
def scrape() -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
