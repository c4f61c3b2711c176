"""/api/v1/security: detections (read: viewers; run: operators), incidents, breach reports."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from netwarden.api.deps import CurrentActor, Db, get_ctx
from netwarden.security import correlate, report
from netwarden.security.detect import service
from netwarden.security.detect.schemas import DetectionOut, DetectResult, IncidentDetail, IncidentOut, IncidentPatch

router = APIRouter(tags=["security"])


class DetectionPage(BaseModel):
    items: list[DetectionOut]
    total: int


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int


class DetectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    save: bool = True


@router.get("/security/detections")
def list_detections(
    db: Db,
    actor: CurrentActor,
    since: Annotated[dt.datetime | None, Query()] = None,
    until: Annotated[dt.datetime | None, Query()] = None,
    rule: Annotated[str | None, Query(max_length=255)] = None,
    source_ip: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> DetectionPage:
    """Recorded detections whose span meets the period, oldest first."""
    items = correlate.list_detections(db, actor, since=since, until=until, rule=rule, source_ip=source_ip, limit=limit)
    return DetectionPage(items=items, total=len(items))


@router.post("/security/detect")
async def detect(request: Request, actor: CurrentActor, body: DetectIn | None = None) -> DetectResult:
    """Run the detections over the stored events of the period (operators); records detections and incidents."""
    ctx = get_ctx(request)
    spec = body or DetectIn()

    def run() -> DetectResult:
        with ctx.db() as db:
            return service.detect(db, actor, ctx.settings, since=spec.since, until=spec.until, save=spec.save)

    return await asyncio.to_thread(run)


@router.get("/security/incidents")
def list_incidents(
    db: Db,
    actor: CurrentActor,
    status: Annotated[str | None, Query(pattern="^(open|investigating|closed|active|all)$")] = None,
    since: Annotated[dt.datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> IncidentPage:
    items = correlate.list_incidents(db, actor, status=status, limit=limit, since=since)
    return IncidentPage(items=items, total=len(items))


@router.get("/security/incidents/{incident_id}")
def get_incident(incident_id: int, db: Db, actor: CurrentActor) -> IncidentDetail:
    return correlate.get_incident(db, actor, incident_id)


@router.patch("/security/incidents/{incident_id}")
def update_incident(incident_id: int, body: IncidentPatch, db: Db, actor: CurrentActor) -> IncidentDetail:
    """Status (open, investigating, closed) and note; operators; audited."""
    return correlate.update_incident(db, actor, incident_id, body)


@router.get("/security/incidents/{incident_id}/report")
async def incident_report(
    incident_id: int,
    request: Request,
    actor: CurrentActor,
    fmt: Annotated[str, Query(alias="format", pattern="^(md|html|pdf)$")] = "md",
) -> Response:
    """The breach report as Markdown, HTML or PDF."""
    ctx = get_ctx(request)

    def render() -> bytes:
        with ctx.db() as db:
            detail = correlate.get_incident(db, actor, incident_id)
        return report.render(detail, fmt)

    data = await asyncio.to_thread(render)
    name = f"incident-{incident_id}.{fmt}"
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(data, media_type=report.MEDIA_TYPES[fmt], headers=headers)
