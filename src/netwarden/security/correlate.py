"""Security incidents: correlated detections stored, extended, listed, changed and reported on.

:func:`record` stores detections (a detection continuing a recorded one updates it) and the
incidents :func:`~netwarden.security.detect.correlation.correlate` groups them into, extending an
open incident of the same attacker instead of opening another; the ``*_incident(s)`` and
:func:`list_detections` functions are the service the CLI and API call. Status changes are audited
and kept in the incident's history.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import InvalidInput, NotFound
from netwarden.security.detect.correlation import (
    DEFAULT_WINDOW,
    Assets,
    Draft,
    capped,
    correlate,
    correlation_window,
    source_of,
    timeline_order,
    vector_of,
)
from netwarden.security.detect.model import MAX_EVIDENCE, SEVERITIES, Detection
from netwarden.security.detect.schemas import (
    Asset,
    DetectionOut,
    HistoryEntry,
    IncidentDetail,
    IncidentOut,
    IncidentPatch,
    TimelineEntry,
)
from netwarden.security.logs.model import LogEvent
from netwarden.security.tables import SecurityDetection, SecurityIncident

__all__ = [
    "DEFAULT_WINDOW",
    "Assets",
    "Recorded",
    "correlate",
    "correlation_window",
    "detection_out",
    "get_incident",
    "list_detections",
    "list_incidents",
    "record",
    "source_of",
    "update_incident",
]

log = logging.getLogger(__name__)

# ---------------------------------------------------------------- storing


@dataclass
class Recorded:
    detections: list[tuple[Detection, SecurityDetection]]
    new: int
    updated: int
    incidents: list[int]


def _overlaps(row: SecurityDetection, d: Detection, gap: dt.timedelta) -> bool:
    return row.first_seen <= d.last + gap and row.last_seen >= d.first - gap


def _store_detection(db: Session, d: Detection, gap: dt.timedelta) -> tuple[SecurityDetection, bool]:
    """The row for ``d``: an earlier row of the same rule, host, source, user and target whose span
    meets this one is updated; otherwise a new row."""
    candidates = db.scalars(
        select(SecurityDetection).where(
            SecurityDetection.rule == d.rule[:255],
            SecurityDetection.host == d.host[:255],
            SecurityDetection.source_ip.is_(None)
            if d.source_ip is None
            else SecurityDetection.source_ip == d.source_ip,
            SecurityDetection.username.is_(None) if d.user is None else SecurityDetection.username == d.user[:255],
            SecurityDetection.target.is_(None) if d.target is None else SecurityDetection.target == d.target[:255],
        )
    )
    row = next((r for r in candidates if _overlaps(r, d, gap)), None)
    if row is None:
        row = SecurityDetection(
            rule=d.rule[:255],
            host=d.host[:255],
            source_ip=d.source_ip,
            username=d.user[:255] if d.user else None,
            target=d.target[:255] if d.target else None,
            severity=d.severity,
            summary=d.summary,
            first_seen=d.first,
            last_seen=d.last,
            count=d.count,
            evidence=d.evidence,
            evidence_total=len(d.events),
            users=d.users,
            details=d.details,
        )
        db.add(row)
        return row, True
    grew = d.first < row.first_seen or d.last > row.last_seen or d.count > row.count
    if grew:
        row.first_seen, row.last_seen = min(row.first_seen, d.first), max(row.last_seen, d.last)
        row.count = max(row.count, d.count)
        row.evidence = list(dict.fromkeys([*row.evidence, *d.evidence]))[:MAX_EVIDENCE]
        row.evidence_total = max(row.evidence_total, len(d.events))
        row.summary, row.severity = d.summary, max(row.severity, d.severity, key=_rank)
        row.users = sorted({*row.users, *d.users})
        row.details = {**row.details, **d.details}
    return row, False


def _rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


def record(
    db: Session,
    actor: Actor,
    detections: Sequence[Detection],
    events: Sequence[LogEvent],
    assets: Assets | None = None,
    window: float = DEFAULT_WINDOW,
) -> Recorded:
    """Store detections (updating the rows they continue) and the incidents they correlate into."""
    require(actor, Role.operator, "record detections and incidents")
    gap = dt.timedelta(seconds=window)
    stored: list[tuple[Detection, SecurityDetection]] = []
    new = updated = 0
    for d in detections:
        row, created = _store_detection(db, d, gap)
        stored.append((d, row))
        new += created
        updated += not created
    db.flush()
    rows = {id(d): row for d, row in stored}
    touched: list[int] = []
    for draft in correlate(detections, events, assets, window):
        drows = [rows[id(d)] for d in draft.detections]
        incident = _incident_for(db, draft, drows, gap)
        if incident is None:
            incident = _new_incident(db, actor, draft)
        else:
            _extend(incident, draft)
        for row in drows:
            row.incident_id = incident.id
        touched.append(incident.id)
    db.flush()
    return Recorded(detections=stored, new=new, updated=updated, incidents=sorted(set(touched)))


def _incident_for(
    db: Session, draft: Draft, rows: Sequence[SecurityDetection], gap: dt.timedelta
) -> SecurityIncident | None:
    """The open incident this draft continues: one its detections already belong to, else the latest
    open incident of the same attacker (or user) active within the window."""
    for row in rows:
        if row.incident_id is not None:
            inc = db.get(SecurityIncident, row.incident_id)
            if inc is not None and inc.status != "closed":
                return inc
    if draft.key[0] == "host":
        return None
    q = select(SecurityIncident).where(
        SecurityIncident.status != "closed", SecurityIncident.last_seen >= draft.first - gap
    )
    q = (
        q.where(SecurityIncident.attacker == draft.key[1])
        if draft.key[0] == "ip"
        else q.where(SecurityIncident.attacker.is_(None), SecurityIncident.actor == draft.key[1])
    )
    candidates = [
        i for i in db.scalars(q.order_by(SecurityIncident.last_seen.desc())) if i.first_seen - gap <= draft.last
    ]
    return candidates[0] if candidates else None


def _dump(entries: Iterable[TimelineEntry]) -> list[dict[str, Any]]:
    return [t.model_dump(mode="json", exclude_none=True) for t in entries]


def _new_incident(db: Session, actor: Actor, draft: Draft) -> SecurityIncident:
    now = dt.datetime.now(dt.UTC)
    inc = SecurityIncident(
        title=draft.title()[:255],
        status="open",
        severity=draft.severity,
        vector=draft.vector[:64],
        attacker=draft.attacker,
        attacker_device=draft.attacker_device,
        actor=draft.actor,
        summary=draft.summary(),
        first_seen=draft.first,
        last_seen=draft.last,
        rules=draft.rules,
        sources=draft.sources,
        users=draft.users,
        targets=draft.targets,
        assets=[a.model_dump() for a in draft.assets],
        sites=draft.sites,
        event_count=len(draft.events),
        timeline=_dump(draft.timeline),
        history=[
            HistoryEntry(at=now, actor=actor.name, status="open", note="opened by detection").model_dump(mode="json")
        ],
    )
    db.add(inc)
    db.flush()
    audit.record(
        db, actor, "create", "security-incident", str(inc.id),
        {"title": inc.title, "severity": inc.severity, "attacker": inc.attacker, "rules": inc.rules},
    )  # fmt: skip
    log.info("security incident opened id=%d title=%r", inc.id, inc.title)
    return inc


def _extend(inc: SecurityIncident, draft: Draft) -> None:
    old = [TimelineEntry.model_validate(t) for t in inc.timeline]
    keys = {(t.time, t.host, t.raw, t.rule) for t in old}
    added = [t for t in draft.timeline if (t.time, t.host, t.raw, t.rule) not in keys]
    if not added and draft.first >= inc.first_seen and draft.last <= inc.last_seen:
        return
    inc.timeline = _dump(capped(sorted([*old, *added], key=timeline_order)))
    inc.event_count += sum(1 for t in added if t.source != "detection")
    inc.first_seen, inc.last_seen = min(inc.first_seen, draft.first), max(inc.last_seen, draft.last)
    inc.rules = sorted({*inc.rules, *draft.rules})
    inc.sources = sorted({*inc.sources, *draft.sources})
    inc.users = sorted({*inc.users, *draft.users})
    inc.targets = sorted({*inc.targets, *draft.targets})
    known = {a["device"] for a in inc.assets}
    inc.assets = [*inc.assets, *(a.model_dump() for a in draft.assets if a.device not in known)]
    inc.sites = sorted({*inc.sites, *draft.sites})
    inc.severity = max(inc.severity, draft.severity, key=_rank)
    inc.vector = vector_of(inc.rules)[:64]
    inc.attacker_device = inc.attacker_device or draft.attacker_device
    if draft.summary() not in inc.summary:
        inc.summary = f"{inc.summary}; {draft.summary()}" if inc.summary else draft.summary()


# ---------------------------------------------------------------- the service


def detection_out(row: SecurityDetection) -> DetectionOut:
    return DetectionOut(
        id=row.id,
        incident_id=row.incident_id,
        rule=row.rule,
        host=row.host,
        source_ip=row.source_ip,
        user=row.username,
        target=row.target,
        first=row.first_seen,
        last=row.last_seen,
        count=row.count,
        evidence=list(row.evidence),
        evidence_total=row.evidence_total,
        severity=row.severity,
        summary=row.summary,
        users=list(row.users),
        details=dict(row.details),
    )


def _incident_out(inc: SecurityIncident, detections: int) -> IncidentOut:
    return IncidentOut(
        id=inc.id,
        title=inc.title,
        status=inc.status,
        severity=inc.severity,
        vector=inc.vector,
        attacker=inc.attacker,
        attacker_device=inc.attacker_device,
        actor=inc.actor,
        first_seen=inc.first_seen,
        last_seen=inc.last_seen,
        targets=list(inc.targets),
        assets=[Asset.model_validate(a) for a in inc.assets],
        sites=list(inc.sites),
        sources=list(inc.sources),
        users=list(inc.users),
        rules=list(inc.rules),
        detections=detections,
        event_count=inc.event_count,
        summary=inc.summary,
    )


def _counts(db: Session, ids: Sequence[int]) -> dict[int, int]:
    if not ids:
        return {}
    q = (
        select(SecurityDetection.incident_id, func.count())
        .where(SecurityDetection.incident_id.in_(ids))
        .group_by(SecurityDetection.incident_id)
    )
    return {int(i): int(n) for i, n in db.execute(q) if i is not None}


def list_incidents(
    db: Session, actor: Actor, status: str | None = None, limit: int = 1000, since: dt.datetime | None = None
) -> list[IncidentOut]:
    """Incidents, most recently active first; ``status`` open, investigating, closed, active (not closed) or all."""
    require(actor, Role.viewer, "read security incidents")
    q = select(SecurityIncident)
    if status in (None, "all"):
        pass
    elif status == "active":
        q = q.where(SecurityIncident.status != "closed")
    elif status in ("open", "investigating", "closed"):
        q = q.where(SecurityIncident.status == status)
    else:
        raise InvalidInput(f"unknown incident status {status!r}: use open, investigating, closed, active or all")
    if since is not None:
        q = q.where(SecurityIncident.last_seen >= since)
    rows = list(db.scalars(q.order_by(SecurityIncident.last_seen.desc(), SecurityIncident.id.desc()).limit(limit)))
    counts = _counts(db, [r.id for r in rows])
    return [_incident_out(r, counts.get(r.id, 0)) for r in rows]


def _get(db: Session, incident_id: int) -> SecurityIncident:
    inc = db.get(SecurityIncident, incident_id)
    if inc is None:
        raise NotFound(f"no security incident {incident_id}; 'netwarden security incidents' lists them")
    return inc


def get_incident(db: Session, actor: Actor, incident_id: int) -> IncidentDetail:
    """One incident with its timeline, detections and status history."""
    require(actor, Role.viewer, "read security incidents")
    inc = _get(db, incident_id)
    rows = list(
        db.scalars(
            select(SecurityDetection)
            .where(SecurityDetection.incident_id == inc.id)
            .order_by(SecurityDetection.first_seen, SecurityDetection.id)
        )
    )
    return IncidentDetail(
        **_incident_out(inc, len(rows)).model_dump(),
        timeline=[TimelineEntry.model_validate(t) for t in inc.timeline],
        detection_list=[detection_out(r) for r in rows],
        history=[HistoryEntry.model_validate(h) for h in inc.history],
        note=inc.note,
        closed_at=inc.closed_at,
        closed_by=inc.closed_by,
    )


def update_incident(db: Session, actor: Actor, incident_id: int, patch: IncidentPatch) -> IncidentDetail:
    """Change an incident's status (open, investigating, closed) and/or note; audited."""
    require(actor, Role.operator, "change security incidents")
    inc = _get(db, incident_id)
    changes: dict[str, Any] = {}
    if patch.status is not None and patch.status != inc.status:
        changes["status"] = [inc.status, patch.status]
        entry = HistoryEntry(
            at=dt.datetime.now(dt.UTC),
            actor=actor.name,
            status=patch.status,
            previous=inc.status,
            note=patch.note or "",
        )
        inc.history = [*inc.history, entry.model_dump(mode="json")]
        inc.status = patch.status
        if patch.status == "closed":
            inc.closed_at, inc.closed_by = entry.at, actor.name
        else:
            inc.closed_at = inc.closed_by = None
    if patch.note is not None and patch.note != inc.note:
        changes["note"] = [inc.note, patch.note]
        inc.note = patch.note
    if changes:
        audit.record(db, actor, "update", "security-incident", str(inc.id), changes)
        db.flush()
    return get_incident(db, actor, incident_id)


def list_detections(
    db: Session,
    actor: Actor,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    rule: str | None = None,
    source_ip: str | None = None,
    limit: int = 1000,
    newest_first: bool = False,
) -> list[DetectionOut]:
    """Recorded detections whose span meets ``[since, until)``, oldest first (the ``limit`` oldest).

    With ``newest_first`` the ``limit`` most recent ones, newest first (what a console page shows).
    """
    require(actor, Role.viewer, "read detections")
    q = select(SecurityDetection)
    if since is not None:
        q = q.where(SecurityDetection.last_seen >= since)
    if until is not None:
        q = q.where(SecurityDetection.first_seen < until)
    if rule is not None:
        q = q.where(or_(SecurityDetection.rule == rule, SecurityDetection.rule == f"sigma:{rule}"))
    if source_ip is not None:
        q = q.where(SecurityDetection.source_ip == source_ip)
    if newest_first:
        q = q.order_by(SecurityDetection.first_seen.desc(), SecurityDetection.id.desc())
    else:
        q = q.order_by(SecurityDetection.first_seen, SecurityDetection.id)
    rows = db.scalars(q.limit(limit))
    return [detection_out(r) for r in rows]
