"""The append-only audit log: every write records who, when, what changed and from where."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from netwarden.access.models import AuditEntry
from netwarden.access.schemas import Actor, AuditOut, Role
from netwarden.access.service import require

# Field names whose values never enter the audit log.
_SECRET_KEYS = {"secret", "password", "token", "community", "auth_key", "priv_key", "private_key", "hash"}


def record(
    db: Session,
    actor: Actor,
    action: str,
    object_type: str,
    obj: str,
    changes: dict[str, Any] | None = None,
    note: str = "",
) -> None:
    """Add an audit entry in the caller's transaction (so it commits or rolls back with the change)."""
    db.add(
        AuditEntry(
            actor=actor.name,
            role=actor.role.value,
            address=actor.address,
            action=action,
            object_type=object_type,
            object=obj,
            changes=scrub(changes or {}),
            note=note,
        )
    )


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for fields that changed."""
    return {k: [before.get(k), after.get(k)] for k in sorted(set(before) | set(after)) if before.get(k) != after.get(k)}


def scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("***" if k.lower() in _SECRET_KEYS else scrub(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def list_entries(
    db: Session,
    actor: Actor,
    *,
    object_type: str | None = None,
    obj: str | None = None,
    who: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditOut], int]:
    """Audit entries, newest first. Admins only."""
    require(actor, Role.admin, "read the audit log")
    q = select(AuditEntry)
    if object_type:
        q = q.where(AuditEntry.object_type == object_type)
    if obj:
        q = q.where(AuditEntry.object == obj)
    if who:
        q = q.where(AuditEntry.actor == who)
    if action:
        q = q.where(AuditEntry.action == action)
    total = db.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = db.scalars(q.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).all()
    return [AuditOut.model_validate(r, from_attributes=True) for r in rows], total
