"""/api/v1/audit (admins only)"""

from __future__ import annotations

from fastapi import APIRouter

from netwarden.access import audit as audit_log
from netwarden.access.schemas import AuditOut
from netwarden.api.deps import CurrentActor, Db, Limit, Offset
from netwarden.inventory.schemas import Page

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
def list_audit(
    db: Db,
    actor: CurrentActor,
    object_type: str | None = None,
    object: str | None = None,
    actor_name: str | None = None,
    action: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AuditOut]:
    rows, total = audit_log.list_entries(
        db,
        actor,
        object_type=object_type,
        obj=object,
        who=actor_name,
        action=action,
        limit=limit,
        offset=offset,
    )
    return Page(items=rows, total=total)
