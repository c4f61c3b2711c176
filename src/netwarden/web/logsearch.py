"""/security/logs: search the stored log events (free text, kind, host, source address, user, period).

A GET form, so a search is a link to paste in a ticket. The store's search is the one of
``netwarden logs events`` and ``GET /api/v1/logs`` (:func:`netwarden.security.logs.service.list_events`):
every word or ``"quoted phrase"`` must occur in the raw line, any case.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response

from netwarden.access.schemas import Actor
from netwarden.errors import InvalidInput
from netwarden.security.logs import service
from netwarden.security.logs.model import KINDS, LogEvent
from netwarden.web.common import PageRoute, get_ctx, page_actor, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
LIMITS: tuple[int, ...] = (100, 200, 500, 1000, 5000)
DEFAULT_LIMIT = 200
DEFAULT_SINCE = "24h"
SINCE_CHOICES: tuple[str, ...] = ("30m", "1h", "24h", "7d", "30d")
FILTERS = ("q", "kind", "host", "source_ip", "user", "since", "limit")


def parse_since(text: str) -> dt.datetime:
    """A duration back from now (30m, 1h, 7d) or an ISO time; InvalidInput in the page's words otherwise."""
    try:
        return service.parse_since(text)
    except InvalidInput:
        raise InvalidInput(f"bad since {text!r}: give a duration (30m, 1h, 24h, 7d) or an ISO time") from None


def parse_address(text: str, what: str) -> str | None:
    """An IP address in its canonical text (as the parsers store it), None when empty; InvalidInput otherwise."""
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise InvalidInput(f"bad {what} {text!r}: give one address, such as 10.1.20.2 or 2001:db8::1") from None


def _search(request: Request, actor: Actor, filters: dict[str, str], limit: int) -> tuple[list[LogEvent], bool]:
    """The newest ``limit`` matching events, newest first, and whether more matched."""
    if filters["kind"] and filters["kind"] not in KINDS:
        raise InvalidInput(f"unknown event kind {filters['kind']!r}: choose one of the list")
    flt = service.EventFilter(
        kinds=[filters["kind"]] if filters["kind"] else None,
        host=filters["host"] or None,
        source_ip=parse_address(filters["source_ip"], "source IP"),
        user=filters["user"] or None,
        since=parse_since(filters["since"]) if filters["since"] else None,
        search=filters["q"] or None,
        limit=limit + 1,
    )
    with get_ctx(request).db() as db:
        events = service.list_events(db, actor, flt)  # the newest limit+1, oldest of them first
    more = len(events) > limit
    return events[::-1][:limit], more


def _linker(filters: dict[str, str]) -> Any:
    """A URL builder: this search with some filters changed (empty and default values left out)."""

    def url(**changes: str) -> str:
        params = {**filters, **changes}
        kept = {
            k: v
            for k, v in params.items()
            if v and not (k == "limit" and v == str(DEFAULT_LIMIT)) and not (k == "since" and v == DEFAULT_SINCE)
        }
        if params.get("since") == "":
            kept["since"] = ""  # "any time" differs from the default period: keep it in the link
        return "/security/logs" + (f"?{urlencode(kept)}" if kept else "")

    return url


@router.get("/security/logs")
def logs_page(
    request: Request,
    actor: PageActor,
    q: Annotated[str, Query(max_length=500)] = "",
    kind: Annotated[str, Query(max_length=32)] = "",
    host: Annotated[str, Query(max_length=255)] = "",
    source_ip: Annotated[str, Query(max_length=64)] = "",
    user: Annotated[str, Query(max_length=255)] = "",
    since: Annotated[str, Query(max_length=40)] = DEFAULT_SINCE,
    limit: Annotated[int, Query(ge=1, le=10000)] = DEFAULT_LIMIT,
) -> Response:
    """Matching log events, newest first; a bad filter keeps the form and says what is wrong (400)."""
    filters = {
        "q": q.strip(),
        "kind": kind.strip(),
        "host": host.strip(),
        "source_ip": source_ip.strip(),
        "user": user.strip(),
        "since": since.strip(),
        "limit": str(limit),
    }
    values: dict[str, Any] = {
        "filters": filters,
        "kinds": KINDS,
        "limits": sorted({*LIMITS, limit}),
        "since_choices": SINCE_CHOICES,
        "url": _linker(filters),
        "active": "security",
        "tab": "logs",
        "title": "Log search",
    }
    try:
        events, more = _search(request, actor, filters, limit)
    except InvalidInput as exc:
        return render(request, "logs.html", exc.status, error=str(exc), events=[], more=False, **values)
    return render(request, "logs.html", events=events, more=more, **values)
