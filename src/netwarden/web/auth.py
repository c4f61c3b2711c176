"""/login and /logout.

The login form itself is protected by a double-submit token (a short-lived
cookie plus the same value in a hidden field), so another site cannot log a
browser into an account of its choosing.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from netwarden.errors import AuthenticationFailed
from netwarden.web import session as web_session
from netwarden.web.common import (
    PageRoute,
    check_csrf,
    client_address,
    current_actor,
    get_ctx,
    render,
    safe_next,
)
from netwarden.web.middleware import COOKIE

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_COOKIE = "nw_login"
LOGIN_FIELD = "login_token"


def _login_form(request: Request, next_url: str, status: int = 200, error: str = "", username: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status,
        next_url=next_url,
        login_field=LOGIN_FIELD,
        login_token=token,
        error=error,
        username=username,
        title="Log in",
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=get_ctx(request).settings.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    """The login form; a logged-in user goes straight on."""
    if current_actor(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, safe_next(next))


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=512)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
    login_token: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    """Check the credentials; on success set the session cookie and go to ``next``."""
    next_url = safe_next(next)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not web_session.csrf_matches(expected, login_token):
        return _login_form(request, next_url, 403, "the login form expired; it has been reloaded, try again", username)
    ctx = get_ctx(request)
    try:
        with ctx.db() as db:
            made = web_session.login(db, username, password, client_address(request), ctx.settings.session_ttl_hours)
    except AuthenticationFailed as exc:
        return _login_form(request, next_url, 401, str(exc), username)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        COOKIE,
        made.key,
        max_age=ctx.settings.session_ttl_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=ctx.settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.get("/logout")
def logout_page(request: Request) -> Response:
    """Logging out changes state, so GET only offers the button (a link cannot log anyone out)."""
    if current_actor(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "logout.html", title="Log out")


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """End the session and forget the cookie."""
    check_csrf(request, csrf_token)
    with get_ctx(request).db() as db:
        web_session.logout(db, request.cookies.get(COOKIE, ""), client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
