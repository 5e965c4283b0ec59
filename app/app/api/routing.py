"""The routers of the API: operation ids ``<tag>-<function name>`` (``invocations-get_invocation``)."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute


def operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def api_router(**options: Any) -> APIRouter:
    return APIRouter(generate_unique_id_function=operation_id, **options)
