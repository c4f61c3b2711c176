"""Correlation: detections and the log events around them joined into security incidents.

Detections join when they share an attacker and follow each other within the correlation window
(``detection_overrides`` table ``{rule = "correlation", window_seconds = N}``, default 30 min):
the attacker is the source address, else the user name (a local privilege escalation), else the
logging host. Every event from that address (or by that user) in the incident's span, give or take
the window, joins the timeline, whichever source logged it: a port scan seen by the firewall gains
the server's sshd lines about the same address; a brute force seen by sshd gains the firewall's
lines. Affected assets are the inventory devices at the attacked addresses (with their sites), the
attacker's own device is named when the inventory knows its address.

:func:`correlate` is pure (detections, events, an :class:`Assets` view in; :class:`Draft` incidents
out); :func:`record` stores detections and incidents, extending an open incident of the same
attacker instead of opening another; the ``*_incident(s)`` functions are the service the CLI and API
call. Status changes are audited and kept in the incident's history.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import InvalidInput, NotFound
from netwarden.security.detect.model import MAX_EVIDENCE, SEVERITIES, Detection, RuleOverride, Severity
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
    "Draft",
    "correlate",
    "correlation_window",
    "detection_out",
    "get_incident",
    "list_incidents",
    "record",
    "source_of",
    "update_incident",
]

log = logging.getLogger(__name__)
DEFAULT_WINDOW = 1800.0  # seconds
MAX_TIMELINE = 1000  # entries kept per incident: the first and last halves, with a mark for the gap
AUTH_KINDS = frozenset({"auth-failure", "auth-success", "auth-invalid-user", "sudo", "session-open", "session-close"})
AUTH_APPS = frozenset({"sshd", "sshd-session", "dropbear", "sudo", "su", "login", "passwd", "systemd-logind", "vsftpd"})
WEB_APPS = frozenset({"nginx", "apache", "apache2", "httpd", "haproxy", "lighttpd"})
# The leading rule names the incident's vector; earlier in this list leads.
VECTORS = {
    "login-after-failures": "Account compromise after failed logins",
    "privilege-escalation": "Privilege escalation",
    "brute-force": "Brute force",
    "password-spraying": "Password spraying",
    "port-scan": "Port scan",
    "port-sweep": "Address sweep",
    "config-change-outside-window": "Config change outside a change window",
    "new-device": "Unknown device",
    "denied-spike": "Denied-traffic spike",
}


# ---------------------------------------------------------------- the inventory, as correlation sees it


@dataclass
class Assets:
    """Devices by address and by name (from the inventory, or built by hand in tests)."""

    by_address: dict[str, Asset] = field(default_factory=dict)
    by_name: dict[str, Asset] = field(default_factory=dict)
    addresses: dict[str, dict[str, None]] = field(default_factory=dict)  # device -> its addresses, in order

    def add(self, device: str, site: str | None, role: str | None, addresses: Iterable[str]) -> None:
        """A device and its addresses, the one to name first (data plane before management) first."""
        self.by_name.setdefault(device, Asset(device=device, site=site, role=role))
        own = self.addresses.setdefault(device, {})
        for address in addresses:
            bare = address.split("/")[0]
            if bare and bare not in self.by_address:
                self.by_address[bare] = Asset(device=device, site=site, role=role, address=bare)
            if bare:
                own[bare] = None

    def resolve(self, target: str) -> Asset | None:
        """The device at an address, or named so."""
        return self.by_address.get(target) or self.by_name.get(target)

    def role_of(self, host: str) -> str | None:
        asset = self.by_name.get(host)
        return asset.role if asset else None

    def aliases(self, target: str) -> set[str]:
        """Every name and address the target is known by: itself, its device's name and addresses."""
        asset = self.resolve(target)
        if asset is None:
            return {target}
        return {target, asset.device, *self.addresses.get(asset.device, {})}


def source_of(event: LogEvent, assets: Assets | None = None) -> str:
    """Which kind of log an event came from: firewall, auth, web, switch or device."""
    if event.kind.startswith("firewall-") or event.parser.split(".")[0] in ("nftables", "iptables", "netfilter"):
        return "firewall"
    app = event.app.lower()
    if event.kind in AUTH_KINDS or app in AUTH_APPS:
        return "auth"
    if app in WEB_APPS:
        return "web"
    if assets is not None and assets.role_of(event.host) == "switch":
        return "switch"
    return "device"


def correlation_window(overrides: Mapping[str, RuleOverride]) -> float:
    o = overrides.get("correlation")
    return o.window_seconds if o is not None and o.window_seconds else DEFAULT_WINDOW


# ---------------------------------------------------------------- correlation (pure)


def _key(d: Detection) -> tuple[str, str]:
    if d.source_ip:
        return ("ip", d.source_ip)
    if d.user:
        return ("user", d.user)
    return ("host", d.host)


@dataclass
class Draft:
    """An incident as correlation builds it, before it is stored."""

    key: tuple[str, str]
    detections: list[Detection]
    events: list[LogEvent]  # every event in the story, detections' and the others', in time order
    assets: list[Asset]
    targets: list[str]
    attacker_device: str | None
    sources: list[str]
    timeline: list[TimelineEntry]

    @property
    def attacker(self) -> str | None:
        return self.key[1] if self.key[0] == "ip" else None

    @property
    def actor(self) -> str | None:
        return self.key[1] if self.key[0] == "user" else None

    @property
    def first(self) -> dt.datetime:
        return min([d.first for d in self.detections] + [e.time for e in self.events[:1]])

    @property
    def last(self) -> dt.datetime:
        return max([d.last for d in self.detections] + [e.time for e in self.events[-1:]])

    @property
    def rules(self) -> list[str]:
        return sorted({d.rule for d in self.detections})

    @property
    def users(self) -> list[str]:
        return sorted({u for d in self.detections for u in [*d.users, *([d.user] if d.user else [])]})

    @property
    def severity(self) -> Severity:
        return max((d.severity for d in self.detections), key=SEVERITIES.index)

    @property
    def vector(self) -> str:
        return vector_of(self.rules)

    @property
    def sites(self) -> list[str]:
        return sorted({a.site for a in self.assets if a.site})

    def title(self) -> str:
        who = self.attacker_device or self.attacker or self.actor or self.key[1]
        what = ", ".join([a.device for a in self.assets][:3] or self.targets[:3])
        return f"{label_of(self.vector)} from {who}" + (f" against {what}" if what else "")

    def summary(self) -> str:
        parts = [d.summary for d in sorted(self.detections, key=lambda d: d.first)][:5]
        return "; ".join(parts)


def vector_of(rules: Iterable[str]) -> str:
    present = set(rules)
    return next((r for r in VECTORS if r in present), min(present) if present else "")


def label_of(vector: str) -> str:
    if vector.startswith("sigma:"):
        return f"Sigma rule '{vector[6:]}'"
    return VECTORS.get(vector, vector)


def correlate(
    detections: Sequence[Detection],
    events: Sequence[LogEvent],
    assets: Assets | None = None,
    window: float = DEFAULT_WINDOW,
) -> list[Draft]:
    """Detections grouped by attacker and time, each group with the events around it, as drafts."""
    assets = assets or Assets()
    gap = dt.timedelta(seconds=window)
    by_source: dict[str, list[LogEvent]] = defaultdict(list)
    by_user: dict[str, list[LogEvent]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.time):
        if e.source_ip:
            by_source[e.source_ip].append(e)
        if e.user:
            by_user[e.user].append(e)
    groups: dict[tuple[str, str], list[Detection]] = defaultdict(list)
    for d in sorted(detections, key=lambda d: d.first):
        groups[_key(d)].append(d)
    drafts = []
    for key, group in groups.items():
        clusters: list[list[Detection]] = []
        for d in group:
            if clusters and d.first <= max(x.last for x in clusters[-1]) + gap:
                clusters[-1].append(d)
            else:
                clusters.append([d])
        for cluster in clusters:
            first = min(d.first for d in cluster) - gap
            last = max(d.last for d in cluster) + gap
            targets = _targets(cluster, key)
            if key[0] == "ip":
                # The attacker's other lines about the same targets, from any source (its traffic to
                # hosts it did not attack is not this incident's story).
                focus = {alias for t in targets for alias in assets.aliases(t)}
                related = [
                    e
                    for e in by_source.get(key[1], [])
                    if first <= e.time <= last and (not focus or e.host in focus or e.dest_ip in focus)
                ]
            elif key[0] == "user":
                related = [e for e in by_user.get(key[1], []) if first <= e.time <= last]
            else:
                related = []
            drafts.append(_draft(key, cluster, related, targets, assets))
    drafts.sort(key=lambda d: d.first)
    return drafts


def _targets(cluster: Sequence[Detection], key: tuple[str, str]) -> list[str]:
    """What the detections say was attacked (addresses or device names)."""
    targets: list[str] = []
    for d in cluster:
        if d.rule == "new-device":
            continue  # its target is the device itself, a MAC
        if d.target:
            targets.append(d.target)
        targets += [str(h) for h in d.details.get("hosts", [])]
    attacker = key[1] if key[0] == "ip" else None
    return sorted({t for t in targets if t and t != attacker})


def _draft(
    key: tuple[str, str], cluster: list[Detection], related: list[LogEvent], targets: list[str], assets: Assets
) -> Draft:
    seen: set[tuple[dt.datetime, str, str]] = set()
    events: list[LogEvent] = []
    for e in [*(e for d in cluster for e in d.events), *related]:
        k = (e.time, e.host, e.raw)
        if k not in seen:
            seen.add(k)
            events.append(e)
    events.sort(key=lambda e: e.time)
    attacker = key[1] if key[0] == "ip" else None
    hit = {e.dest_ip for e in events if e.dest_ip}
    found: dict[str, Asset] = {}
    for t in targets:
        a = assets.resolve(t)
        if a is not None and a.device not in found:
            if a.address is None:  # named, not addressed: the address the attacker reached, else its first
                own = list(assets.addresses.get(a.device, {}))
                a = a.model_copy(update={"address": next((x for x in own if x in hit), own[0] if own else None)})
            found[a.device] = a
    attacker_asset = assets.resolve(attacker) if attacker else None
    if attacker_asset is not None:
        found.pop(attacker_asset.device, None)  # a host attacking itself is no victim
    sources = sorted({source_of(e, assets) for e in events})
    return Draft(
        key=key,
        detections=cluster,
        events=events,
        assets=sorted(found.values(), key=lambda a: a.device),
        targets=targets,
        attacker_device=attacker_asset.device if attacker_asset else None,
        sources=sources,
        timeline=_timeline(cluster, events, assets),
    )


def _timeline(cluster: Sequence[Detection], events: Sequence[LogEvent], assets: Assets) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            time=e.time,
            source=source_of(e, assets),
            host=e.host,
            kind=e.kind,
            summary=(e.message or e.raw)[:300],
            raw=e.raw,
        )
        for e in events
    ]
    marks = [
        TimelineEntry(time=d.first, source="detection", host=d.host, kind="detection", summary=d.summary, rule=d.rule)
        for d in cluster
    ]
    return _capped(sorted([*entries, *marks], key=_order))


def _order(t: TimelineEntry) -> tuple[dt.datetime, int]:
    return (t.time, 1 if t.source == "detection" else 0)


def _capped(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    if len(entries) <= MAX_TIMELINE:
        return entries
    half = MAX_TIMELINE // 2
    head, tail = entries[:half], entries[-half:]
    omitted = len(entries) - 2 * half
    gap = TimelineEntry(
        time=head[-1].time, source="detection", host="", kind="omitted", summary=f"{omitted} more lines omitted"
    )
    return [*head, gap, *tail]


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
    inc.timeline = _dump(_capped(sorted([*old, *added], key=_order)))
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
) -> list[DetectionOut]:
    """Recorded detections whose span meets ``[since, until)``, oldest first."""
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
    rows = db.scalars(q.order_by(SecurityDetection.first_seen, SecurityDetection.id).limit(limit))
    return [detection_out(r) for r in rows]
