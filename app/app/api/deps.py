"""Dependencies and their Annotated aliases."""
from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request, Response
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from app.core.config import Settings, get_settings
from app.core.db import get_sessionmaker
from app.core.redis import get_redis
from app.errors import ApiError
from app.metrics import RATE_LIMIT_REMAINING

log = logging.getLogger(__name__)
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:@-]{1,64}$")


def get_db() -> Iterator[Session]:
    session = get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_db)]


async def current_settings() -> Settings:
    """``get_settings()`` as a dependency. A coroutine, so FastAPI calls it on the event loop:
    a plain function would cost each request a hop through the thread pool."""
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


class _LowestRemaining:
    """Lowest remaining count seen in the current window, for rate_limit_remaining{scope="client"}."""

    def __init__(self) -> None:
        self.window = -1
        self.lowest = 0

    def update(self, window: int, remaining: int) -> int:
        if window != self.window:
            self.window, self.lowest = window, remaining
        else:
            self.lowest = min(self.lowest, remaining)
        return self.lowest


_lowest = _LowestRemaining()


def client_id(request: Request) -> str:
    """The X-Client-ID header when it is well formed, otherwise the peer address."""
    header = request.headers.get("x-client-id", "")
    if _CLIENT_ID.match(header):
        return f"id:{header}"
    return f"ip:{request.client.host if request.client else 'unknown'}"


def rate_limit(request: Request, response: Response, settings: SettingsDep) -> None:
    """Fixed one-minute window per client in Redis. Fails open when Redis is unreachable
    (the request then fails on its own dependencies, or succeeds without a limit)."""
    limit = settings.RATE_LIMIT_PER_MINUTE
    now = time.time()
    window = int(now // 60)
    key = f"ratelimit:{client_id(request)}:{window}"
    try:
        pipe = get_redis(settings).pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 61)
        count = int(pipe.execute()[0])
    except (RedisError, OSError, ValueError) as exc:
        # Fail open: a slow or broken Redis must not turn every request into a 500
        # (redis-py can surface a timed-out handshake as ValueError on a closed buffer).
        log.warning("rate limiter unavailable, request allowed", extra={"error": repr(exc)})
        return
    remaining = max(0, limit - count)
    RATE_LIMIT_REMAINING.labels(scope="client").set(_lowest.update(window, remaining))
    reset = str(int((window + 1) * 60 - now) + 1)
    headers = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": reset}
    if count > limit:
        raise ApiError(429, "rate_limited", f"rate limit of {limit} requests per minute exceeded",
                       headers={**headers, "Retry-After": reset})
    response.headers.update(headers)


RateLimited = Depends(rate_limit)
