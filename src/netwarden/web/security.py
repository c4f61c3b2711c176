"""/security (incidents), /security/incidents/{id} (timeline, evidence, status, breach reports) and
/security/detections (recorded detections, "Run detections now").

The log search (/security/logs) and the risk register (/security/risks) are in :mod:`.logsearch` and
:mod:`.risks`; the four share the tabs of ``_security_tabs.html``. Every page reads through the
security services (``correlate``, ``detect.service``, ``report``); nothing here touches their tables.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import NetwardenError
from netwarden.security import correlate, report
from netwarden.security.detect import service as detect_service
from netwarden.security.detect.engine import BUILTIN
from netwarden.security.detect.schemas import DetectResult, IncidentDetail, IncidentOut, IncidentPatch
from netwarden.web.common import PageRoute, check_csrf, get_ctx, is_htmx, page_actor, render
from netwarden.web.logsearch import parse_address, parse_since

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
StatusFilter = Literal["active", "open", "investigating", "closed", "all"]
STATUS_FILTERS: tuple[str, ...] = ("active", "open", "investigating", "closed", "all")
STATUSES: tuple[str, ...] = ("open", "investigating", "closed")
Period = Literal["1h", "24h", "7d", "30d", "all"]
PERIODS: tuple[str, ...] = ("1h", "24h", "7d", "30d", "all")
ReportFormat = Literal["md", "html", "pdf"]
INCIDENT_LIMIT = 500  # rows shown; the page says when there are more (narrow the filter)
DETECTION_LIMIT = 1000
# The breach report's HTML is served from the console's origin: it may style itself, nothing more.
_REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def _tabs(tab: str, title: str) -> dict[str, Any]:
    return {"active": "security", "tab": tab, "title": title}


# ---------------------------------------------------------------- incidents


@dataclass
class AssetLinks:
    """Which names and addresses of an incident are inventory devices: for links to their device pages."""

    by_key: dict[str, str]

    @classmethod
    def of(cls, incident: IncidentOut) -> AssetLinks:
        keys: dict[str, str] = {}
        for asset in incident.assets:
            keys[asset.device] = asset.device
            if asset.address:
                keys[asset.address] = asset.device
        if incident.attacker and incident.attacker_device:
            keys[incident.attacker] = incident.attacker_device
            keys[incident.attacker_device] = incident.attacker_device
        return cls(keys)

    def device(self, key: str | None) -> str | None:
        return self.by_key.get(key) if key else None


@router.get("/security")
def incidents_page(request: Request, actor: PageActor, status: Annotated[StatusFilter, Query()] = "active") -> Response:
    """Security incidents, most recently active first (open and investigating by default)."""
    with get_ctx(request).db() as db:
        rows = correlate.list_incidents(db, actor, status=status, limit=INCIDENT_LIMIT + 1)
    incidents = rows[:INCIDENT_LIMIT]
    return render(
        request,
        "security.html",
        incidents=incidents,
        links={i.id: AssetLinks.of(i) for i in incidents},
        more=len(rows) > INCIDENT_LIMIT,
        limit=INCIDENT_LIMIT,
        status_filter=status,
        statuses=STATUS_FILTERS,
        **_tabs("incidents", "Security incidents"),
    )


def _detail_values(incident: IncidentDetail, actor: Actor) -> dict[str, Any]:
    return {
        "incident": incident,
        "links": AssetLinks.of(incident),
        "can_change": actor.can(Role.operator),
        "statuses": STATUSES,
        "duration": _duration(incident.last_seen - incident.first_seen),
        "evidence_open": True,  # here the evidence is the point: unfolded
        **_tabs("incidents", f"Incident {incident.id}"),
    }


def _duration(span: dt.timedelta) -> str:
    seconds = int(span.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} days"


@router.get("/security/incidents/{incident_id:int}")
def incident_page(request: Request, actor: PageActor, incident_id: int) -> Response:
    """One incident: summary, scope, timeline across sources, detections with evidence, status history."""
    with get_ctx(request).db() as db:
        incident = correlate.get_incident(db, actor, incident_id)
    return render(request, "incident.html", **_detail_values(incident, actor))


@router.post("/security/incidents/{incident_id:int}")
def update_incident(
    request: Request,
    actor: PageActor,
    incident_id: int,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    status: Annotated[Literal["", "open", "investigating", "closed"], Form()] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Change the status and/or the note (operators; the service refuses others with 403); back to the page."""
    check_csrf(request, csrf_token)
    with get_ctx(request).db() as db:
        current = correlate.get_incident(db, actor, incident_id)
        text = note.strip()
        patch = IncidentPatch(
            status=status or None,
            # The form shows the current note: sent back unchanged, it is no new note for the history.
            note=text if text != current.note else None,
        )
        correlate.update_incident(db, actor, incident_id, patch)
    return RedirectResponse(f"/security/incidents/{incident_id}", status_code=303)


@router.get("/security/incidents/{incident_id:int}/report.{fmt}")
async def incident_report(request: Request, actor: PageActor, incident_id: int, fmt: ReportFormat) -> Response:
    """The breach report (what, when, scope, vector, evidence, actions) as Markdown, HTML or PDF."""
    ctx = get_ctx(request)

    def build() -> bytes:
        with ctx.db() as db:
            detail = correlate.get_incident(db, actor, incident_id)
        return report.render(detail, fmt)

    data = await asyncio.to_thread(build)  # PDF: Chromium prints it, seconds
    headers = {
        "Content-Disposition": f'inline; filename="incident-{incident_id}.{fmt}"',
        "X-Content-Type-Options": "nosniff",
    }
    if fmt == "html":
        headers["Content-Security-Policy"] = _REPORT_CSP
    return Response(data, media_type=report.MEDIA_TYPES[fmt], headers=headers)


# ---------------------------------------------------------------- detections


@dataclass
class DetectRun:
    """What a "Run detections now" did: the result, or the one-line reason it could not run."""

    period: str
    result: DetectResult | None = None
    error: str = ""
    status: int = 200


def _since(period: str) -> dt.datetime | None:
    return None if period == "all" else parse_since(period)


def _detection_values(request: Request, actor: Actor, rule: str, source_ip: str, period: str) -> dict[str, Any]:
    filters = {"rule": rule, "source_ip": source_ip, "period": period}
    with get_ctx(request).db() as db:
        rows = correlate.list_detections(
            db,
            actor,
            since=_since(period),
            rule=rule or None,
            source_ip=parse_address(source_ip, "source IP"),
            limit=DETECTION_LIMIT + 1,
            newest_first=True,
        )
    detections = rows[:DETECTION_LIMIT]
    kept = {k: v for k, v in filters.items() if v and not (k == "period" and v == "7d")}
    return {
        "detections": detections,
        "more": len(rows) > DETECTION_LIMIT,
        "limit": DETECTION_LIMIT,
        "filters": filters,
        "query": urlencode(kept),
        "rules": sorted(BUILTIN),
        "periods": PERIODS,
        "can_run": actor.can(Role.operator),
        **_tabs("detections", "Detections"),
    }


@router.get("/security/detections")
def detections_page(
    request: Request,
    actor: PageActor,
    rule: Annotated[str, Query(max_length=255)] = "",
    source_ip: Annotated[str, Query(max_length=64)] = "",
    period: Annotated[Period, Query()] = "7d",
) -> Response:
    """Recorded detections (newest first) whose span meets the period, by rule and source address."""
    values = _detection_values(request, actor, rule.strip(), source_ip.strip(), period)
    return render(request, "security_detections.html", **values)


@router.post("/security/detect")
async def run_detections(
    request: Request,
    actor: PageActor,
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    period: Annotated[Period, Form()] = "24h",
) -> Response:
    """Run every rule over the stored logs of the period now (operators), record what they find, show it."""
    check_csrf(request, csrf_token)
    require(actor, Role.operator, "run detections")
    ctx = get_ctx(request)
    run = DetectRun(period)

    def detect() -> DetectResult:
        with ctx.db() as db:
            return detect_service.detect(db, actor, ctx.settings, since=_since(period), save=True)

    try:
        run.result = await asyncio.to_thread(detect)
    except NetwardenError as exc:
        run.error, run.status = str(exc), exc.status
    values = await asyncio.to_thread(_detection_values, request, actor, "", "", "7d")
    # htmx swaps only successful answers: it gets 200 with the reason; a plain form the error's status.
    code = 200 if is_htmx(request) or not run.error else run.status
    return render(request, "security_detections.html", code, run=run, **values)
