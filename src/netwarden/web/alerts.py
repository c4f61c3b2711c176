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
from pydantic import BaseModel, Field

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


class MapMark(BaseModel):
    """The alert state of one device or link on the map."""

    severity: str = Field(description="the worst severity of its active root alerts ('' when only folded)")
    state: str = Field(description="open when any of them is open, else acknowledged")
    alert_id: int = Field(description="its worst (then newest) root alert, or the root alert it is folded under")
    summary: str
    count: int = Field(description="active root alerts on it")
    folded_under: str = Field(default="", description="the device or link ('A--B') whose failure cuts it off")


class MapAlerts(BaseModel):
    """What the map colours: devices and links with their own active alerts, and devices cut off by another's."""

    devices: dict[str, MapMark]
    links: dict[str, MapMark] = Field(description="by 'A--B' with the names sorted")
    severities: list[str] = Field(description="worst first (the legend's order)")


def _rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def _link_key(device: str) -> str:
    a, b = link_ends(device)
    return "--".join(sorted((a, b)))


def map_alerts(request: Request, actor: Actor) -> MapAlerts:
    """Active alerts as map marks: a root alert colours its device or link by severity; the devices in its
    impact, and those of alerts folded under it, are marked as cut off by its device or link.

    Silenced alerts (maintenance windows) colour nothing.
    """
    with get_ctx(request).db() as db:
        active = service.list_alerts(db, actor, state="active", include_folded=True, limit=100_000)
    devices: dict[str, MapMark] = {}
    links: dict[str, MapMark] = {}
    roots = [a for a in active if a.parent_id is None and not a.suppressed]
    for a in roots:
        is_link = "--" in a.device
        marks = links if is_link else devices
        key = _link_key(a.device) if is_link else a.device
        old = marks.get(key)
        if old is None or _rank(a.severity) < _rank(old.severity):
            marks[key] = MapMark(
                severity=a.severity,
                state="open" if a.state == "open" or (old is not None and old.state == "open") else a.state,
                alert_id=a.id,
                summary=a.summary,
                count=(old.count if old else 0) + 1,
            )
        else:
            old.count += 1
            if a.state == "open":
                old.state = "open"
    by_id = {a.id: a for a in roots}
    cut_off: dict[str, tuple[str, int]] = {}
    for a in roots:
        for name in a.impact:
            cut_off.setdefault(name, (a.root_cause or a.device, a.id))
    for a in active:
        root = by_id.get(a.parent_id) if a.parent_id is not None else None
        if root is not None and "--" not in a.device:
            cut_off.setdefault(a.device, (root.root_cause or root.device, root.id))
    for name, (cause, alert_id) in cut_off.items():
        if name in devices or name == cause:
            continue
        devices[name] = MapMark(
            severity="",
            state="open",
            alert_id=alert_id,
            summary=f"unreachable because of {cause}",
            count=0,
            folded_under=cause,
        )
    return MapAlerts(devices=devices, links=links, severities=list(SEVERITY_ORDER))
