"""What every console page shares: templates, the navigation, the page route class, auth and CSRF checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from netwarden import __version__, log
from netwarden.access.schemas import Actor, Role
from netwarden.context import Context
from netwarden.errors import InvalidInput, NetwardenError, PermissionDenied
from netwarden.web import session as web_session

_log = log.get("web")
HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class NavItem:
    """One entry of the top navigation; ``built`` is False until its capability lands."""

    key: str
    label: str
    path: str
    built: bool = True
    needs: Role = Role.viewer
    blurb: str = ""


NAV: tuple[NavItem, ...] = (
    NavItem("dashboard", "Dashboard", "/"),
    NavItem("devices", "Devices", "/devices"),
    NavItem("map", "Map", "/map", blurb="The topology map of sites, devices and links, coloured by state."),
    NavItem("monitoring", "Monitoring", "/monitoring", False, blurb="Polling, interface graphs, SLA probes."),
    NavItem("alerts", "Alerts", "/alerts"),
    NavItem("configs", "Configs", "/configs"),
    NavItem("security", "Security", "/security"),
    NavItem("incidents", "Incidents", "/incidents", False, blurb="Tickets, timelines and post-incident reports."),
    NavItem("ipam", "IPAM", "/ipam"),
    NavItem("reports", "Reports", "/reports", False, blurb="Health checks, capacity and SLA reports."),
    NavItem("audit", "Audit", "/audit", needs=Role.admin),
    NavItem("admin", "Admin", "/admin", False, Role.admin, blurb="Users, tokens and settings."),
)


class LoginRequired(Exception):
    """Raised by a page that needs a session; the route class turns it into a redirect to /login."""


def _fmt_time(value: dt.datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _fmt_speed(value: int | None) -> str:
    """Interface speed in bit/s as a short label (1G, 100M)."""
    if not value:
        return "—"
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if value >= size:
            number = value / size
            return f"{number:g}{unit}" if number == int(number) else f"{number:.1f}{unit}"
    return str(value)


def _fmt_rate(value: float | None) -> str:
    """A rate in bit/s as a short label (1.25 Gb/s, 830 kb/s)."""
    if value is None:
        return "—"
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g} {unit}b/s"
    return f"{value:.3g} b/s"


def _fmt_count(value: int) -> str:
    """Address counts: IPv6 sizes such as 2^80 stay readable."""
    if value >= 2**32 and value & (value - 1) == 0:
        return f"2^{value.bit_length() - 1}"
    return f"{value:.3g}" if value >= 10**9 else str(value)


TEMPLATES.env.filters["count"] = _fmt_count
TEMPLATES.env.filters["when"] = _fmt_time
TEMPLATES.env.filters["speed"] = _fmt_speed
TEMPLATES.env.filters["rate"] = _fmt_rate
TEMPLATES.env.globals["version"] = __version__


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def current_actor(request: Request) -> Actor | None:
    actor = getattr(request.state, "web_actor", None)
    return actor if isinstance(actor, Actor) else None


def page_actor(request: Request) -> Actor:
    """The logged-in actor of a page request (a FastAPI dependency); LoginRequired otherwise."""
    actor = current_actor(request)
    if actor is None:
        raise LoginRequired()
    return actor


def check_csrf(request: Request, form_token: str | None) -> None:
    """Refuse an unsafe console request whose CSRF token (form field or header) is not the session's."""
    info = getattr(request.state, "web_session", None)
    if not isinstance(info, web_session.SessionInfo):
        raise LoginRequired()
    given = form_token or request.headers.get("x-csrf-token")
    if not web_session.csrf_matches(info.csrf, given):
        raise PermissionDenied("the form's security token is missing or stale; reload the page and try again")


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (other hosts, '//x') becomes '/'."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """Render a page with the values every template expects (user, csrf, navigation)."""
    actor = current_actor(request)
    info = getattr(request.state, "web_session", None)
    nav = [item for item in NAV if actor is None or actor.can(item.needs)]
    values = {
        "user": actor,
        "csrf": info.csrf if isinstance(info, web_session.SessionInfo) else "",
        "csrf_field": CSRF_FIELD,
        "nav": nav,
        "active": context.pop("active", ""),
        **context,
    }
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status)


def validation_message(exc: ValidationError | RequestValidationError) -> str:
    """The first problem of a validation error as one line: 'field: message'."""
    errors = exc.errors()
    if not errors:
        return "invalid input"
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form")]
    msg = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{'.'.join(loc)}: {msg}" if loc else msg


def error_page(request: Request, exc: NetwardenError) -> HTMLResponse:
    return render(request, "error.html", exc.status, error=exc, title=type(exc).__name__)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    url = "/login?" + urlencode({"next": target}) if target != "/" else "/login"
    if is_htmx(request):
        # A redirect would be followed by htmx and the login page swapped into a fragment.
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


class PageRoute(APIRoute):
    """A console route: errors become friendly pages with the right status, never problem+json or tracebacks."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except NetwardenError as exc:
                return error_page(request, exc)
            except (RequestValidationError, ValidationError) as exc:
                return error_page(request, InvalidInput(validation_message(exc)))

        return page_handler


def page_links(total: int, limit: int, offset: int, params: dict[str, str]) -> dict[str, Any]:
    """Paging values for a list template: current page, page count, previous and next URLs' queries."""
    pages = max(1, (total + limit - 1) // limit)
    current = offset // limit + 1
    kept = {k: v for k, v in params.items() if v}

    def query(page: int) -> str:
        return urlencode({**kept, "page": str(page)}, quote_via=quote)

    return {
        "page": current,
        "pages": pages,
        "total": total,
        "first": offset + 1 if total else 0,
        "last": min(offset + limit, total),
        "prev": query(current - 1) if current > 1 else None,
        "next": query(current + 1) if current < pages else None,
    }
