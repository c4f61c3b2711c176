"""Turns a console session cookie into ``request.state.web_actor`` for pages and the JSON API.

A cookie is sent by the browser on its own (ambient authority), so an unsafe API
call (POST, PUT, PATCH, DELETE) authorised only by the cookie must also carry the
session's CSRF token in ``X-CSRF-Token``. A call with a Bearer header is
authorised by the header alone and needs no CSRF token.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from netwarden.api.problems import problem
from netwarden.context import Context
from netwarden.errors import NetwardenError
from netwarden.web import session as web_session

COOKIE = "nw_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class SessionMiddleware:
    """Pure ASGI middleware (no response buffering), installed by ``web.app.install``."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    def _resolve(self, key: str, address: str) -> web_session.SessionInfo | None:
        with self.ctx.db() as db:
            return web_session.resolve(db, key, address)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Static assets need no actor; skipping them saves a store round trip per file.
        if scope["type"] != "http" or scope.get("path", "").startswith("/static/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        key = cookie_parser(headers.get("cookie", "")).get(COOKIE, "")
        if key:
            client = scope.get("client")
            address = client[0] if client else "unknown"
            try:
                info = await run_in_threadpool(self._resolve, key, address)
            except NetwardenError as exc:
                await problem(exc.status, type(exc).__name__, str(exc), exc.code)(scope, receive, send)
                return
            if info is not None:
                state = scope.setdefault("state", {})
                state["web_actor"] = info.actor
                state["web_session"] = info
                if _needs_api_csrf(scope, headers) and not web_session.csrf_matches(
                    info.csrf, headers.get(CSRF_HEADER)
                ):
                    response = problem(
                        403,
                        "PermissionDenied",
                        "missing or wrong X-CSRF-Token header: a console session must send its CSRF token "
                        "on unsafe requests (or use 'Authorization: Bearer <token>')",
                        "csrf",
                    )
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _needs_api_csrf(scope: Scope, headers: dict[str, str]) -> bool:
    """An unsafe API call that only the cookie authorises."""
    path: str = scope.get("path", "")
    if not path.startswith("/api/") or scope.get("method", "GET") in SAFE_METHODS:
        return False
    return not headers.get("authorization", "").lower().startswith("bearer ")
