"""/api/v1/risks: the risk register (findings of exposure scans, scored), read by viewers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel

from netwarden.api.deps import CurrentActor, Db
from netwarden.security.scan import service
from netwarden.security.scan.schemas import Level, RiskOut

router = APIRouter(tags=["risks"])

StatusFilter = Literal["open", "resolved", "all"]


class RiskPage(BaseModel):
    items: list[RiskOut]
    total: int


@router.get("/risks")
def list_risks(
    db: Db,
    actor: CurrentActor,
    status: Annotated[StatusFilter, Query(description="open (default), resolved or all")] = "open",
    min_level: Annotated[
        Level | None, Query(description="this level and above: critical, high, medium, low, info")
    ] = None,
) -> RiskPage:
    """The register, open entries first, highest score first."""
    items = service.list_risks(db, actor, status=None if status == "all" else status, min_level=min_level)
    return RiskPage(items=items, total=len(items))


@router.get("/risks/{risk_id}")
def get_risk(
    db: Db,
    actor: CurrentActor,
    risk_id: Annotated[str, Path(max_length=64, description="the entry's id or a unique prefix (4+ characters)")],
) -> RiskOut:
    """One register entry: where, why (evidence), how bad and how to fix it."""
    return service.show_risk(db, actor, risk_id)
