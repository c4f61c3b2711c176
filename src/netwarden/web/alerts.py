"""/alerts (list, filters, acknowledge) and /alerts/{id} (one alert with its folded alerts and events).

The page stays live through ``static/live.js``: it listens to the server-sent events of
``/api/v1/alerts/stream`` (the API accepts the console's session cookie on safe requests) and, when an
alert changes, fires ``nw:alerts-changed`` on the page body; the result table re-fetches itself with
its filters on that event (htmx). The server renders every row, so filtering lives in one place (the
alerts service) and a missed event costs nothing: the next refresh shows the current state.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from netwarden.access.schemas import Actor, Role
from netwarden.alerts import service
from netwarden.alerts.schemas import SEVERITIES, AlertOut
from netwarden.web.common import PageRoute, check_csrf, get_ctx, is_htmx, page_actor, render, safe_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
StateFilter = Literal["active", "open", "acknowledged", "resolved", "all"]
SeverityFilter = Literal["", "critical", "major", "minor", "warning", "info"]
STATES: tuple[str, ...] = ("active", "open", "acknowledged", "resolved", "all")
SEVERITY_ORDER: tuple[str, ...] = tuple(reversed(SEVERITIES))  # critical first
# The page shows this many rows; the summary says when there are more (narrow the filters).
ALERT_LIMIT = 500
GLOB_CHARS = frozenset("*?[")


def device_glob(text: str) -> str | None:
    """The service's device glob for what was typed: plain text matches anywhere in the name."""
    text = text.strip()
    if not text:
        return None
    return text if GLOB_CHARS & set(text) else f"*{text}*"


def link_ends(device: str) -> list[str]:
    """The devices an alert's ``device`` names: one, or both ends of a link (``A--B``)."""
    return device.split("--", 1) if "--" in device else [device]


def list_filtered(
    request: Request, actor: Actor, state: str, severity: str, device: str, folded: bool
) -> tuple[list[AlertOut], bool]:
    """The alerts the filters select (newest first) and whether there were more than the page shows."""
    with get_ctx(request).db() as db:
        rows = service.list_alerts(
            db,
            actor,
            state=state,
            severity=severity or None,
            device=device_glob(device),
            include_folded=folded,
            limit=ALERT_LIMIT + 1,
        )
    return rows[:ALERT_LIMIT], len(rows) > ALERT_LIMIT


def _filters(state: str, severity: str, device: str, folded: bool) -> dict[str, str]:
    return {"state": state, "severity": severity, "device": device, "folded": "1" if folded else ""}


def _query(filters: dict[str, str]) -> str:
    kept = {k: v for k, v in filters.items() if v and not (k == "state" and v == "active")}
    return urlencode(kept)


def _table_values(request: Request, actor: Actor, filters: dict[str, str]) -> dict[str, Any]:
    alerts, more = list_filtered(
        request, actor, filters["state"], filters["severity"], filters["device"], bool(filters["folded"])
    )
    return {
        "alerts": alerts,
        "more": more,
        "limit": ALERT_LIMIT,
        "filters": filters,
        "query": _query(filters),
        "can_ack": actor.can(Role.operator),
        "link_ends": link_ends,
    }


@router.get("/alerts")
def alerts_page(
    request: Request,
    actor: PageActor,
    state: Annotated[StateFilter, Query()] = "active",
    severity: Annotated[SeverityFilter, Query()] = "",
    device: Annotated[str, Query(max_length=128)] = "",
    folded: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    """Alerts, newest first (active root alerts by default); an htmx request for the results gets the table only."""
    filters = _filters(state, severity, device.strip(), bool(folded))
    values = _table_values(request, actor, filters)
    if is_htmx(request) and request.headers.get("hx-target") == "alert-results":
        return render(request, "_alert_table.html", **values)
    return render(
        request,
        "alerts.html",
        states=STATES,
        severities=SEVERITY_ORDER,
        active="alerts",
        title="Alerts",
        **values,
    )


@router.get("/alerts/{alert_id:int}")
def alert_page(request: Request, actor: PageActor, alert_id: int) -> Response:
    """One alert: what, where, why (root cause), impact, the alerts folded under it and its events."""
    with get_ctx(request).db() as db:
        alert = service.get_alert(db, actor, alert_id)
    return render(
        request,
        "alert.html",
        alert=alert,
        can_ack=actor.can(Role.operator),
        link_ends=link_ends,
        active="alerts",
        title=f"Alert {alert.id}",
    )


@router.post("/alerts/{alert_id:int}/ack")
def acknowledge(
    request: Request,
    actor: PageActor,
    alert_id: int,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    back: Annotated[str, Form(max_length=2048)] = "",
    state: Annotated[StateFilter, Form()] = "active",
    severity: Annotated[SeverityFilter, Form()] = "",
    device: Annotated[str, Form(max_length=128)] = "",
    folded: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """Acknowledge (operators; a viewer gets the 403 page). htmx gets the refreshed table, a plain form a redirect."""
    check_csrf(request, csrf_token)
    with get_ctx(request).db() as db:
        service.acknowledge(db, actor, alert_id, note.strip())
    if is_htmx(request) and request.headers.get("hx-target") == "alert-results":
        values = _table_values(request, actor, _filters(state, severity, device.strip(), bool(folded)))
        return render(request, "_alert_table.html", **values)
    return RedirectResponse(safe_next(back or f"/alerts/{alert_id}"), status_code=303)


def alerts_for_device(request: Request, actor: Actor, device: str) -> list[AlertOut]:
    """Active alerts about the device, its parts (``r1:eth2``) or a link it ends (``r1--r2``), folded ones too."""
    with get_ctx(request).db() as db:
        rows = service.list_alerts(db, actor, state="active", include_folded=True, limit=ALERT_LIMIT)
    return [a for a in rows if device in link_ends(a.device) or a.subject.split(":", 1)[0] == device]
