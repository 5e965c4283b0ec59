"""Redis clients with short timeouts (rate limiter, readiness, queue lengths)."""
from __future__ import annotations

import redis

from app.core.config import Settings, get_settings

_CLIENTS: dict[str, redis.Redis] = {}


def get_redis(settings: Settings | None = None) -> redis.Redis:
    settings = settings or get_settings()
    url = settings.redis_url
    client = _CLIENTS.get(url)
    if client is None:
        client = _CLIENTS[url] = redis.Redis.from_url(
            url, socket_connect_timeout=2.0, socket_timeout=2.0, health_check_interval=10
        )
    return client


def reset_clients() -> None:
    while _CLIENTS:
        _, client = _CLIENTS.popitem()
        client.close()
