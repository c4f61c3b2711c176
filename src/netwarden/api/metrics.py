"""netwarden's own counters in Prometheus exposition format at /metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlalchemy import func, select

from netwarden.context import Context

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "netwarden_http_requests_total", "HTTP requests served", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram("netwarden_http_request_seconds", "HTTP request latency", ["route"], registry=REGISTRY)
INVENTORY = Gauge("netwarden_inventory_objects", "Objects in the inventory", ["kind"], registry=REGISTRY)
BUILD = Gauge("netwarden_build_info", "netwarden version", ["version"], registry=REGISTRY)


def _template(request: Request) -> str:
    """The URL path with parameter values put back as {names}, so labels stay few."""
    path = request.url.path
    for name, value in request.path_params.items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


def install(app: FastAPI, ctx: Context) -> None:
    from netwarden import __version__

    BUILD.labels(__version__).set(1)

    @app.middleware("http")
    async def _count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        path = _template(request) if request.scope.get("route") is not None else "unmatched"
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        LATENCY.labels(path).observe(time.perf_counter() - start)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        from netwarden.inventory.models import Device, Interface, Prefix, Site

        with ctx.db() as db:
            for kind, model in (
                ("site", Site),
                ("device", Device),
                ("interface", Interface),
                ("prefix", Prefix),
            ):
                INVENTORY.labels(kind).set(db.scalar(select(func.count()).select_from(model)) or 0)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
