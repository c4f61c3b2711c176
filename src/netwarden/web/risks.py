"""/security/risks (the risk register: what to fix, where, how bad) and /security/risks/{id} (one entry)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from netwarden.access.schemas import Actor
from netwarden.security.scan import service
from netwarden.security.scan.schemas import LEVELS
from netwarden.web.common import PageRoute, get_ctx, page_actor, page_links, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
StatusFilter = Literal["open", "resolved", "all"]
LevelFilter = Literal["", "critical", "high", "medium", "low", "info"]
PAGE_SIZE = 100


@router.get("/security/risks")
def risks_page(
    request: Request,
    actor: PageActor,
    status: Annotated[StatusFilter, Query()] = "open",
    min_level: Annotated[LevelFilter, Query()] = "",
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> Response:
    """The register, open entries first and highest score first, filtered by status and level."""
    with get_ctx(request).db() as db:
        entries = service.list_risks(
            db,
            actor,
            status=None if status == "all" else status,
            min_level=min_level or None,
        )
    offset = (page - 1) * PAGE_SIZE
    filters: dict[str, str] = {"status": "" if status == "open" else status, "min_level": min_level}
    counts = {level: sum(1 for e in entries if e.level == level) for level in LEVELS}
    return render(
        request,
        "risks.html",
        risks=entries[offset : offset + PAGE_SIZE],
        paging=page_links(len(entries), PAGE_SIZE, offset, filters),
        counts=counts,
        filters={"status": status, "min_level": min_level},
        levels=LEVELS,
        active="security",
        tab="risks",
        title="Risk register",
    )


@router.get("/security/risks/{risk_id}")
def risk_page(request: Request, actor: PageActor, risk_id: Annotated[str, Path(max_length=64)]) -> Response:
    """One entry: where, why (evidence), how bad (severity x exposure) and how to fix it."""
    with get_ctx(request).db() as db:
        entry = service.show_risk(db, actor, risk_id)
    return render(request, "risk.html", risk=entry, active="security", tab="risks", title=entry.title)
