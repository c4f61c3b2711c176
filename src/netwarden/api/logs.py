"""/api/v1/logs: search the stored log events (viewers)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query

from netwarden.api.deps import CurrentActor, Db
from netwarden.security.logs import service
from netwarden.security.logs.schemas import LogEventOut, LogEventPage

router = APIRouter(tags=["logs"])


@router.get("/logs")
def list_logs(
    db: Db,
    actor: CurrentActor,
    kind: Annotated[list[str] | None, Query(description="event kind; repeat for several")] = None,
    host: Annotated[str | None, Query(max_length=255)] = None,
    source_ip: Annotated[str | None, Query(max_length=64)] = None,
    user: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[str | None, Query(max_length=40, description="30m, 1h, 7d or an ISO time")] = None,
    until: Annotated[dt.datetime | None, Query(description="ISO time (exclusive)")] = None,
    search: Annotated[str | None, Query(max_length=500, description='words or "a phrase", any case')] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 100,
) -> LogEventPage:
    """The newest ``limit`` events matching every filter, oldest of them first."""
    flt = service.EventFilter(
        kinds=kind,
        host=host,
        source_ip=source_ip,
        user=user,
        since=service.parse_since(since) if since else None,
        until=until if until is None or until.tzinfo else until.replace(tzinfo=dt.UTC),
        search=search,
        limit=limit,
    )
    items = [LogEventOut.of(e) for e in service.list_events(db, actor, flt)]
    return LogEventPage(items=items, total=len(items))
