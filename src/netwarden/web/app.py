"""The web console: server-rendered pages (Jinja2 + htmx), login sessions, CSRF, static assets."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from netwarden.context import Context
from netwarden.web import alerts, auth, configs, devices, graphs, logsearch, pages, risks, security, status, topology
from netwarden.web.common import HERE
from netwarden.web.middleware import SessionMiddleware


def install(app: FastAPI, ctx: Context) -> None:
    """Mount the console on ``app``: pages, /static, and the session middleware (also used by the API)."""
    app.add_middleware(SessionMiddleware, ctx=ctx)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for module in (auth, alerts, graphs, status, devices, topology, configs, security, logsearch, risks, pages):
        app.include_router(module.router)
    pages.install_placeholders(app)
