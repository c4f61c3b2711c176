"""The FastAPI application: /api/v1 routers, /healthz, /metrics, the console at /."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import text

from netwarden import __version__
from netwarden.api import (
    alerts,
    audit,
    configs,
    devices,
    discovery,
    interfaces,
    ipam,
    links,
    metrics,
    problems,
    security,
    sites,
    topology,
    users,
    vlans,
)
from netwarden.api import credentials as credentials_api
from netwarden.api import logs as logs_api
from netwarden.api import porting as porting_api
from netwarden.api import risks as risks_api
from netwarden.context import Context
from netwarden.errors import StoreError
from netwarden.jobs import scheduler

ROUTERS = [
    sites,
    devices,
    interfaces,
    ipam,
    vlans,
    links,
    credentials_api,
    porting_api,
    topology,
    discovery,
    metrics,
    alerts,
    configs,
    security,
    logs_api,
    risks_api,
    users,
    audit,
]


def create_app(ctx: Context) -> FastAPI:
    """Build the app for an opened store."""
    app = FastAPI(
        title="netwarden",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=scheduler.lifespan,
    )
    app.state.ctx = ctx
    problems.install(app)
    metrics.install(app, ctx)
    for module in ROUTERS:
        app.include_router(module.router, prefix="/api/v1")

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        try:
            with ctx.db() as db:
                db.execute(text("SELECT 1"))
        except Exception as exc:
            raise StoreError("store unreachable") from exc
        return {"status": "ok", "version": __version__}

    from netwarden.web import app as web

    web.install(app, ctx)
    return app
