"""/api/v1/alerts, /api/v1/events, /api/v1/maintenance: read alerts (viewers), acknowledge them (operators).

``/api/v1/alerts/stream`` is a server-sent event stream: an ``alert`` event with the alert's JSON each
time one changes, for the console's live alerts page.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from netwarden.alerts import service
from netwarden.alerts.schemas import AckResult, AlertDetail, AlertEventOut, AlertOut, MaintenanceIn, MaintenanceOut
from netwarden.api.deps import CurrentActor, Db, get_ctx

router = APIRouter(tags=["alerts"])


class AlertPage(BaseModel):
    items: list[AlertOut]
    total: int


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(default="", max_length=2000)


State = Annotated[str | None, Query(pattern="^(open|acknowledged|resolved|active|all)$", description="default: active")]


@router.get("/alerts")
def list_alerts(
    db: Db,
    actor: CurrentActor,
    state: State = None,
    severity: Annotated[str | None, Query(pattern="^(critical|major|minor|warning|info)$")] = None,
    device: Annotated[str | None, Query(max_length=255, description="glob over device or subject")] = None,
    include_folded: Annotated[bool, Query(description="also alerts folded under a root, and silenced ones")] = False,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> AlertPage:
    """Active root alerts by default, newest first."""
    items = service.list_alerts(
        db, actor, state=state, severity=severity, device=device, include_folded=include_folded, limit=limit
    )
    return AlertPage(items=items, total=len(items))


@router.get("/alerts/stream")
async def stream(
    request: Request,
    actor: CurrentActor,
    max_seconds: Annotated[float, Query(gt=0, le=86400, description="close the stream after this")] = 3600,
) -> StreamingResponse:
    """Server-sent events: ``event: alert`` with the alert's JSON whenever an alert changes."""
    ctx = get_ctx(request)
    with ctx.db() as db:
        service.list_alerts(db, actor, limit=1)  # the role check, before the stream starts

    def _changed(since: dt.datetime) -> list[AlertOut]:
        with ctx.db() as db:
            return service.list_alerts(db, actor, state="all", include_folded=True, changed_since=since)

    async def events() -> AsyncIterator[str]:
        since = dt.datetime.now(dt.UTC)
        deadline = asyncio.get_running_loop().time() + max_seconds
        yield "retry: 2000\n\n"
        while asyncio.get_running_loop().time() < deadline and not await request.is_disconnected():
            checked = dt.datetime.now(dt.UTC)
            changed = await asyncio.to_thread(_changed, since - dt.timedelta(seconds=1))
            for alert in reversed(changed):
                yield f"id: {alert.id}\nevent: alert\ndata: {json.dumps(alert.model_dump(mode='json'))}\n\n"
            since = checked
            await asyncio.sleep(1.0)  # the stream's polling period, not a wait for a condition
        yield "event: end\ndata: {}\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/alerts/{alert_id}")
def get_alert(alert_id: int, db: Db, actor: CurrentActor) -> AlertDetail:
    return service.get_alert(db, actor, alert_id)


@router.post("/alerts/{alert_id}/ack")
async def ack(alert_id: int, request: Request, actor: CurrentActor, body: AckIn | None = None) -> AckResult:
    """Acknowledge (operators): stops escalation; one-off alerts (reboot, config change) resolve.

    Under ``serve``, routes that want the ``acknowledged`` transition are told.
    """
    ctx = get_ctx(request)

    def run() -> AckResult:
        with ctx.db() as db:
            return service.acknowledge(db, actor, alert_id, body.note if body else "")

    result = await asyncio.to_thread(run)
    pipeline = getattr(request.app.state, "alerts", None)
    if result.changed and pipeline is not None and result.alert.parent_id is None:
        from netwarden.alerts.notify import Notice

        pipeline.announce([Notice(alert=result.alert, transition="acknowledged")])
    return result


@router.post("/alerts/{alert_id}/resolve")
def resolve(alert_id: int, db: Db, actor: CurrentActor, body: AckIn | None = None) -> AlertOut:
    return service.resolve(db, actor, alert_id, body.note if body else "")


@router.get("/events")
def list_events(
    db: Db,
    actor: CurrentActor,
    device: Annotated[str | None, Query(max_length=255)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 200,
) -> list[AlertEventOut]:
    """Events the alert engine recorded, newest first."""
    return service.list_events(db, actor, device=device, kind=kind, limit=limit)


@router.get("/maintenance")
def list_windows(db: Db, actor: CurrentActor, include_past: Annotated[bool, Query()] = False) -> list[MaintenanceOut]:
    return service.list_windows(db, actor, include_past)


@router.post("/maintenance", status_code=status.HTTP_201_CREATED)
def add_window(body: MaintenanceIn, db: Db, actor: CurrentActor) -> MaintenanceOut:
    return service.add_window(db, actor, body)


@router.delete("/maintenance/{window_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_window(window_id: int, db: Db, actor: CurrentActor) -> None:
    service.delete_window(db, actor, window_id)
