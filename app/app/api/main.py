"""All routers, and how their routes get into the app."""
from __future__ import annotations

from fastapi import APIRouter, FastAPI

from app.api.routes import agents, health, invocations

# Matching order: the probes first.
ROUTERS: tuple[APIRouter, ...] = (health.router, agents.router, invocations.router)


def add_routes(app: FastAPI, routers: tuple[APIRouter, ...] = ROUTERS) -> None:
    """Put the routers' routes on the app's own router. ``include_router`` keeps an included
    router as one more level that FastAPI matches level by level, a pass that costs every
    request several microseconds (bench/results/api_profile.md). The routes already carry
    their router's prefix, tags, dependencies and operation id (app.api.routing), so the
    app and its OpenAPI document are the same either way."""
    app.router.routes.extend(route for router in routers for route in router.routes)
