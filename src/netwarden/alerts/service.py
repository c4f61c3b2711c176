"""The alert engine: events in, alerts out, with dedup, flapping, maintenance and root cause.

:func:`ingest` is the one door: polls, the trap receiver and the syslog receiver hand it
:class:`~netwarden.alerts.events.Event` batches. For each event it

1. normalises it: an interface event on a port the topology knows as a link becomes a link event
   on ``A--B`` (both ends of a failed link report it; it is one problem), and event times further
   ahead than the clock-skew limit are taken as now;
2. finds the active alert of the event's key (subject + condition [+ metric]): repeats only raise
   its count, a clearing event resolves it (a link clears when every end that reported it is up);
   an event older than the alert's last change is stale and changes nothing;
3. counts opens and clears per key: more than ``flap_changes`` within ``flap_minutes`` marks the
   alert flapping, and a flapping alert stays open through its clears until it has been quiet
   for ``flap_minutes`` (damping: one alert, not one per flap);
4. silences what a maintenance window covers (recorded, not announced);

then recomputes the dependency plan (:mod:`netwarden.alerts.rootcause`) over every active alert:
an alert explained by a failed device or link is folded under that root alert, which lists the
devices and sites it cut off.

Alerts are never deleted; every change is an :class:`AlertEvent` row, and acknowledgements are
in the audit log.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.alerts import rootcause
from netwarden.alerts.events import CLEARS, Event, link_subject
from netwarden.alerts.models import ACTIVE_STATES, Alert, AlertEvent, MaintenanceWindow
from netwarden.alerts.schemas import (
    SEVERITIES,
    AckResult,
    AlertDetail,
    AlertEventOut,
    AlertOut,
    AlertPolicy,
    EscalationResult,
    IngestResult,
    MaintenanceIn,
    MaintenanceOut,
)
from netwarden.errors import Conflict, InvalidInput, NotFound

log = logging.getLogger(__name__)

# Conditions without a clearing event: they resolve when acknowledged, or by themselves after this.
ONE_OFF = frozenset({"reboot", "config_change"})
# Kept as events (evidence for the alerts and for incidents), never an alert of their own: a trap
# the engine has no meaning for (ospfIfStateChange, vendor traps) would otherwise storm the list.
EVIDENCE_ONLY = frozenset({"trap"})
ONE_OFF_TTL = dt.timedelta(days=1)


def _utc(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


# ---------------------------------------------------------------- topology and normalisation


@dataclass
class _Topo:
    """What the engine needs of the topology: device sites, failure-graph edges, link ends by port."""

    nodes: dict[str, str]
    edges: list[rootcause.Edge]
    port_link: dict[tuple[str, str], tuple[str, str]]  # (device, port) -> (peer device, peer port)
    address_owner: dict[str, str]
    adjacent: set[frozenset[str]]  # device pairs joined by a (non-overlay) link


# Topology per store, re-read at most every TOPOLOGY_TTL seconds: reading it costs more than a whole
# batch of events, and links change on discovery, not per event.
TOPOLOGY_TTL = 30.0
_topo_cache: dict[str, tuple[float, _Topo]] = {}


def _topology(db: Session, fresh: bool = False) -> _Topo:
    key = str(db.get_bind().engine.url)
    now = time.monotonic()
    hit = _topo_cache.get(key)
    if hit is not None and not fresh and now - hit[0] < TOPOLOGY_TTL:
        return hit[1]
    topo = _read_topology(db)
    _topo_cache[key] = (now, topo)
    return topo


def _read_topology(db: Session) -> _Topo:
    from netwarden.access.schemas import SYSTEM
    from netwarden.discover.topology import topology
    from netwarden.inventory.models import Device, Interface, IPAddress

    topo = topology(db, SYSTEM)
    nodes = {n.name: n.site for n in topo.nodes}
    edges: list[rootcause.Edge] = []
    port_link: dict[tuple[str, str], tuple[str, str]] = {}
    for lk in topo.links:
        if lk.tunnel:  # an overlay fails with the path it rides on: not an edge of the failure graph
            continue
        edges.append(rootcause.Edge(lk.a, lk.a_port, lk.b, lk.b_port))
        port_link.setdefault((lk.a, lk.a_port), (lk.b, lk.b_port))
        port_link.setdefault((lk.b, lk.b_port), (lk.a, lk.a_port))
    owners = db.execute(
        select(IPAddress.address, Device.name)
        .join(Interface, IPAddress.interface_id == Interface.id)
        .join(Device, Interface.device_id == Device.id)
    ).all()
    address_owner = {str(addr): name for addr, name in owners}
    adjacent = {frozenset((e.a, e.b)) for e in edges}
    return _Topo(nodes, edges, port_link, address_owner, adjacent)


@dataclass(frozen=True)
class _Norm:
    """An event as the engine handles it: its key, whether it clears, and the link end it speaks for."""

    event: Event
    key: str
    kind: str  # the condition: the opening kind even for a clearing event
    subject: str
    clears: bool
    end: str | None = None


def _key(subject: str, kind: str, metric: str) -> str:
    return f"{subject}|{kind}|{metric}" if metric else f"{subject}|{kind}"


def _normalise(event: Event, topo: _Topo) -> _Norm:
    clears = event.kind in CLEARS
    kind = CLEARS.get(event.kind, event.kind)
    subject = event.subject
    end: str | None = None
    if kind == "interface_down":
        device, _, port = subject.partition(":")
        peer = topo.port_link.get((device, port))
        if peer is not None:
            kind, subject, end = "link_down", link_subject(device, peer[0]), subject
    elif kind == "link_down" and rootcause.split_link(subject) is not None:
        a, b = rootcause.split_link(subject) or ("", "")
        subject = link_subject(a, b)
    elif kind == "neighbor_down":
        # Both ends of a lost adjacency between directly linked devices report it: one problem, named
        # after the pair, cleared when both ends have it back.
        nbr = rootcause.neighbor_peer(subject, event.device)
        peer_dev = (nbr if nbr in topo.nodes else topo.address_owner.get(nbr)) if nbr else None
        if peer_dev is not None and frozenset((event.device, peer_dev)) in topo.adjacent:
            kind, subject, end = "neighbor_down", link_subject(event.device, peer_dev), subject
    metric = event.metric if kind in ("threshold", "baseline", "capacity") else ""
    return _Norm(event, _key(subject, kind, metric), kind, subject, clears, end)


# ---------------------------------------------------------------- ingest


def _windows(db: Session, now: dt.datetime) -> list[MaintenanceWindow]:
    return list(
        db.scalars(select(MaintenanceWindow).where(MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now))
    )


def _covered(windows: Sequence[MaintenanceWindow], subject: str, device: str, site: str | None) -> str:
    """The reason a window silences this subject, or '' when none does."""
    for w in windows:
        name = {"device": device, "subject": subject, "site": site or ""}[w.scope]
        if name and fnmatch.fnmatchcase(name, w.pattern):
            return f"maintenance window {w.id} ({w.scope} {w.pattern}): {w.reason}".rstrip(": ")
    return ""


def _higher(a: str, b: str) -> str:
    return a if SEVERITIES.index(a) >= SEVERITIES.index(b) else b


class _Batch:
    """One ingest call's working state."""

    def __init__(self, db: Session, policy: AlertPolicy, now: dt.datetime, topo: _Topo, careful: bool) -> None:
        self.db = db
        self.policy = policy
        self.now = now
        self.topo = topo
        # careful: flush each new alert in its own savepoint (the retry after a concurrent insert).
        self.careful = careful
        self.windows = _windows(db, now)
        self.result = IngestResult(received=0)
        self.active: dict[str, Alert] = {}
        self.opened: list[Alert] = []
        self.resolved: list[Alert] = []
        self.pending: list[tuple[_Norm, Alert | None, str, str, bool]] = []
        self.flap_counts: dict[str, int] = {}
        self.last_resolved: dict[str, dt.datetime] = {}

    def load(self, keys: Iterable[str], earliest: dt.datetime | None = None) -> None:
        """Active alerts, opens+clears since the flap window before ``earliest`` and the last resolution of
        these keys: three queries a chunk."""
        wanted = sorted(set(keys) - set(self.active))
        since = (earliest or self.now) - dt.timedelta(minutes=self.policy.flap_minutes)
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            for alert in self.db.scalars(select(Alert).where(Alert.key.in_(chunk), Alert.state.in_(ACTIVE_STATES))):
                self.active[alert.key] = alert
            flaps = self.db.execute(
                select(AlertEvent.key, func.count())
                .where(AlertEvent.key.in_(chunk), AlertEvent.transition.in_(("open", "clear")), AlertEvent.at >= since)
                .group_by(AlertEvent.key)
            )
            self.flap_counts.update({k: int(c) for k, c in flaps})
            resolved = self.db.execute(
                select(Alert.key, func.max(Alert.resolved_at))
                .where(Alert.key.in_(chunk), Alert.state == "resolved")
                .group_by(Alert.key)
            )
            self.last_resolved.update({k: _utc(t) for k, t in resolved if t is not None})

    def record(self, n: _Norm, alert: Alert | None, transition: str, note: str = "", suppressed: bool = False) -> None:
        """Keep the event for the store; rows are written by :meth:`finish`, once new alerts have ids."""
        self.pending.append((n, alert, transition, note, suppressed))
        if transition in ("open", "clear"):
            self.flap_counts[n.key] = self.flap_counts.get(n.key, 0) + 1

    def finish(self) -> None:
        self.db.flush()
        self.db.add_all(self._event_row(*p) for p in self.pending)
        self.result.opened = [a.id for a in self.opened]
        self.result.resolved = [a.id for a in self.resolved]
        self.db.flush()

    @staticmethod
    def _event_row(n: _Norm, alert: Alert | None, transition: str, note: str, suppressed: bool) -> AlertEvent:
        e = n.event
        return AlertEvent(
            alert_id=alert.id if alert is not None else None,
            key=n.key,
            transition=transition,
            source=e.source,
            kind=e.kind,
            subject=n.subject,
            device=e.device,
            severity=e.severity,
            summary=e.summary,
            metric=e.metric,
            value=e.value,
            at=e.at,
            raw=e.raw[:4000],
            suppressed=suppressed,
            note=note,
        )

    def handle(self, n: _Norm) -> None:
        if n.kind in EVIDENCE_ONLY:
            self.result.recorded += 1
            self.record(n, None, "event")
            return
        alert = self.active.get(n.key)
        at = n.event.at
        # An event older than the alert's last change may not undo it (late delivery, skewed clocks).
        if alert is not None and at < _utc(alert.last_change) and n.clears == alert.raised:
            self.result.stale += 1
            self.record(n, alert, "stale", "older than the alert's last change")
            return
        if n.clears:
            self.clear(n, alert)
        else:
            self.open(n, alert)

    def open(self, n: _Norm, alert: Alert | None) -> None:
        e = n.event
        if alert is not None:
            alert.count += 1
            alert.last_seen = e.at
            alert.severity = _higher(alert.severity, e.severity)
            alert.base_severity = _higher(alert.base_severity, e.severity)
            if e.value is not None:
                alert.value = e.value
            if n.end is not None and n.end not in alert.ends:
                alert.ends = [*alert.ends, n.end]
            if not alert.raised:  # back during a flapping alert's quiet phase
                alert.raised = True
                alert.last_change = e.at
                self.record(n, alert, "open", "raised again while flapping")
                self.check_flapping(alert, e.at)
            else:
                self.result.updated += 1
            return
        if self.cleared_after(n.key, e.at):
            self.result.stale += 1
            self.record(n, None, "stale", "the condition already cleared after this event")
            return
        site = self.topo.nodes.get(e.device)
        silenced = _covered(self.windows, n.subject, e.device, site)
        alert = Alert(
            key=n.key,
            subject=n.subject,
            device=n.subject if rootcause.split_link(n.subject) else e.device,
            kind=n.kind,
            metric=e.metric,
            state="open",
            severity=e.severity,
            base_severity=e.severity,
            source=e.source,
            summary=_summary(n),
            value=e.value,
            ends=[n.end] if n.end is not None else [],
            raised=True,
            flapping=False,
            count=1,
            impact=[],
            impact_sites=[],
            note="",
            suppressed=bool(silenced),
            suppressed_reason=silenced,
            first_seen=e.at,
            last_seen=e.at,
            last_change=e.at,
        )
        if not self.careful:
            self.db.add(alert)
        else:
            try:
                with self.db.begin_nested():
                    self.db.add(alert)
                    self.db.flush()
            except IntegrityError:
                # Another ingester opened it between our read and write: merge into theirs.
                self.load([n.key])
                if n.key in self.active:
                    self.open(n, self.active[n.key])
                return
        self.active[n.key] = alert
        self.opened.append(alert)
        if silenced:
            self.result.suppressed += 1
        self.record(n, alert, "open", suppressed=bool(silenced))
        self.check_flapping(alert, e.at)

    def cleared_after(self, key: str, at: dt.datetime) -> bool:
        last = self.last_resolved.get(key)
        return last is not None and last > at

    def check_flapping(self, alert: Alert, at: dt.datetime) -> None:
        if not alert.flapping and self.flap_counts.get(alert.key, 0) > self.policy.flap_changes:
            alert.flapping = True
            alert.summary = f"{alert.summary} (flapping)"

    def clear(self, n: _Norm, alert: Alert | None) -> None:
        e = n.event
        if alert is None or not alert.raised:
            self.result.ignored += 1
            return
        if n.end is not None and alert.ends:
            if n.end not in alert.ends:  # an end that never reported the link down says nothing new
                self.result.ignored += 1
                return
            left = [x for x in alert.ends if x != n.end]
            if left:
                alert.ends = left
                alert.last_seen = e.at
                self.record(n, alert, "update", f"{n.end} up; still down: {', '.join(left)}")
                self.result.updated += 1
                return
        alert.last_change = e.at
        alert.last_seen = e.at
        self.record(n, alert, "clear")
        self.check_flapping(alert, e.at)
        if alert.flapping:
            alert.raised = False  # damped: resolves once it has stayed clear for flap_minutes
            return
        self.resolve(alert, e.at, "system")

    def resolve(self, alert: Alert, at: dt.datetime, by: str) -> None:
        alert.state = "resolved"
        alert.raised = False
        alert.resolved_at = at
        alert.resolved_by = by
        self.active.pop(alert.key, None)
        self.last_resolved[alert.key] = at
        self.resolved.append(alert)


def _summary(n: _Norm) -> str:
    if n.kind == "link_down":
        return f"link {n.subject} is down"
    if n.kind == "neighbor_down" and n.end is not None:
        return f"routing adjacency {n.subject} lost ({n.event.summary})"
    return n.event.summary or f"{n.subject}: {n.kind.replace('_', ' ')}"


def ingest(
    db: Session,
    actor: Actor,
    events: Sequence[Event],
    *,
    policy: AlertPolicy | None = None,
    now: dt.datetime | None = None,
) -> IngestResult:
    """Apply a batch of events (in time order) and recompute root causes; commits nothing itself.

    Returns what changed; ``notify`` lists the alerts a notifier should announce (newly opened,
    root, not silenced).
    """
    require(actor, Role.operator, "raise alerts")
    policy = policy or AlertPolicy()
    now = now or dt.datetime.now(dt.UTC)
    topo = _topology(db)
    skew = dt.timedelta(seconds=policy.max_skew_seconds)
    norms: list[_Norm] = []
    for e in events:
        at = _utc(e.at)
        if at > now + skew:
            e = e.model_copy(update={"at": now, "raw": f"{e.raw} [clock ahead by {(at - now).total_seconds():.0f} s]"})
        elif at != e.at:
            e = e.model_copy(update={"at": at})
        norms.append(_normalise(e, topo))
    norms.sort(key=lambda n: n.event.at)

    def apply(careful: bool) -> _Batch:
        batch = _Batch(db, policy, now, topo, careful)
        batch.result.received = len(norms)
        batch.load((n.key for n in norms), norms[0].event.at if norms else None)
        for n in norms:
            batch.handle(n)
        batch.finish()
        return batch

    try:
        with db.begin_nested():
            batch = apply(careful=False)
    except IntegrityError:  # another ingester opened one of these alerts meanwhile: redo one by one
        batch = apply(careful=True)
    # The plan depends only on which alerts are active and raised, and on their link ends.
    structural = batch.opened or batch.resolved or any(t != "stale" for _, _, t, _, _ in batch.pending)
    folded = _replan(db, policy, topo) if structural else []
    result = batch.result
    result.folded = sorted(folded)
    opened: list[Alert] = list(db.scalars(select(Alert).where(Alert.id.in_(result.opened)))) if result.opened else []
    result.notify = sorted(a.id for a in opened if a.parent_id is None and not a.suppressed and a.state != "resolved")
    return result


def _replan(db: Session, policy: AlertPolicy, topo: _Topo) -> list[int]:
    """Recompute parent, root cause and impact of every active alert; the ids newly folded."""
    active = list(db.scalars(select(Alert).where(Alert.state.in_(ACTIVE_STATES))))
    if not active:
        return []
    views = [
        rootcause.AlertView(
            id=a.id,
            kind=a.kind,
            subject=a.subject,
            device=a.device,
            ends=tuple(a.ends),
            raised=a.raised,
            first_seen=_utc(a.first_seen),
        )
        for a in active
    ]
    poller = policy.poller_location if policy.poller_location != "mgmt" else None
    plan = rootcause.plan(
        views,
        topo.nodes,
        topo.edges,
        poller=poller,
        core=policy.core_devices,
        peer_device=topo.address_owner.get,
    )
    folded: list[int] = []
    for a in active:
        parent = plan.parent.get(a.id)
        if parent is not None and a.parent_id != parent:
            folded.append(a.id)
        impact = plan.impact.get(a.id, [])
        sites = sorted({topo.nodes[d] for d in impact if d in topo.nodes})
        cause = plan.root_cause.get(a.id) or a.device
        # Assign only what changed: every assignment is an UPDATE (and bumps updated_at).
        if a.parent_id != parent:
            a.parent_id = parent
        if a.root_cause != cause:
            a.root_cause = cause
        if list(a.impact or []) != impact:
            a.impact = impact
        if list(a.impact_sites or []) != sites:
            a.impact_sites = sites
    db.flush()
    return folded


# ---------------------------------------------------------------- reading


def alert_out(a: Alert) -> AlertOut:
    return AlertOut(
        id=a.id,
        state=a.state,
        severity=a.severity,
        device=a.device,
        summary=a.summary,
        root_cause=a.root_cause or a.device,
        impact=list(a.impact or []),
        impact_sites=list(a.impact_sites or []),
        subject=a.subject,
        kind=a.kind,
        metric=a.metric,
        value=a.value,
        source=a.source,
        count=a.count,
        parent_id=a.parent_id,
        flapping=a.flapping,
        suppressed=a.suppressed,
        suppressed_reason=a.suppressed_reason,
        first_seen=_utc(a.first_seen),
        last_seen=_utc(a.last_seen),
        acknowledged_at=_utc(a.acknowledged_at) if a.acknowledged_at else None,
        acknowledged_by=a.acknowledged_by,
        resolved_at=_utc(a.resolved_at) if a.resolved_at else None,
        resolved_by=a.resolved_by,
        escalated_at=_utc(a.escalated_at) if a.escalated_at else None,
        note=a.note,
    )


def list_alerts(
    db: Session,
    actor: Actor,
    *,
    state: str | None = None,
    severity: str | None = None,
    device: str | None = None,
    include_folded: bool = False,
    limit: int = 1000,
    changed_since: dt.datetime | None = None,
) -> list[AlertOut]:
    """Alerts newest first. By default the active (open or acknowledged) root alerts that are not silenced.

    ``state`` is open, acknowledged, resolved or all; ``include_folded`` adds the alerts folded under a
    root and the silenced ones; ``device`` is a glob over the alert's device or subject.
    """
    require(actor, Role.viewer, "read alerts")
    q = select(Alert)
    if state in (None, "active"):
        q = q.where(Alert.state.in_(ACTIVE_STATES))
    elif state in ("open", "acknowledged", "resolved"):
        q = q.where(Alert.state == state)
    elif state != "all":
        raise InvalidInput(f"unknown alert state {state!r}: use open, acknowledged, resolved, active or all")
    if severity is not None:
        if severity not in SEVERITIES:
            raise InvalidInput(f"unknown severity {severity!r}: use one of {', '.join(SEVERITIES)}")
        q = q.where(Alert.severity.in_(SEVERITIES[SEVERITIES.index(severity) :]))
    if not include_folded:
        q = q.where(Alert.parent_id.is_(None), Alert.suppressed.is_(False))
    if changed_since is not None:
        q = q.where(Alert.updated_at >= changed_since)
    q = q.order_by(Alert.id.desc())
    rows = list(db.scalars(q.limit(limit if device is None else None)))
    if device is not None:
        rows = [a for a in rows if fnmatch.fnmatchcase(a.device, device) or fnmatch.fnmatchcase(a.subject, device)]
        rows = rows[:limit]
    return [alert_out(a) for a in rows]


def _get(db: Session, alert_id: int) -> Alert:
    alert = db.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}: see `netwarden alerts list --all`")
    return alert


def get_alert(db: Session, actor: Actor, alert_id: int, events: int = 50) -> AlertDetail:
    """One alert with the alerts folded under it and its recorded events (newest first)."""
    require(actor, Role.viewer, "read alerts")
    alert = _get(db, alert_id)
    children = db.scalars(select(Alert).where(Alert.parent_id == alert.id).order_by(Alert.id))
    rows = db.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id.desc()).limit(events)
    )
    return AlertDetail(
        **alert_out(alert).model_dump(),
        children=[alert_out(c) for c in children],
        events=[_event_out(e) for e in rows],
    )


def _event_out(e: AlertEvent) -> AlertEventOut:
    return AlertEventOut(
        id=e.id,
        alert_id=e.alert_id,
        transition=e.transition,
        source=e.source,
        kind=e.kind,
        subject=e.subject,
        device=e.device,
        severity=e.severity,
        summary=e.summary,
        metric=e.metric,
        value=e.value,
        at=_utc(e.at),
        received_at=_utc(e.received_at),
        raw=e.raw,
        suppressed=e.suppressed,
        note=e.note,
    )


def list_events(
    db: Session, actor: Actor, *, device: str | None = None, kind: str | None = None, limit: int = 200
) -> list[AlertEventOut]:
    """Recorded events, newest first."""
    require(actor, Role.viewer, "read events")
    q = select(AlertEvent)
    if device is not None:
        q = q.where(AlertEvent.device == device)
    if kind is not None:
        q = q.where(AlertEvent.kind == kind)
    return [_event_out(e) for e in db.scalars(q.order_by(AlertEvent.id.desc()).limit(limit))]


# ---------------------------------------------------------------- acting on alerts


def acknowledge(db: Session, actor: Actor, alert_id: int, note: str = "") -> AckResult:
    """Mark an alert acknowledged (stops escalation); one-off alerts (reboot, trap) resolve instead."""
    require(actor, Role.operator, "acknowledge alerts")
    alert = _get(db, alert_id)
    if alert.state == "resolved":
        raise Conflict(f"alert {alert_id} is already resolved ({alert.resolved_by})")
    if alert.state == "acknowledged" and not note:
        return AckResult(alert=alert_out(alert), changed=False)
    now = dt.datetime.now(dt.UTC)
    alert.state = "acknowledged"
    alert.acknowledged_at = now
    alert.acknowledged_by = actor.name
    if note:
        alert.note = note
    if alert.kind in ONE_OFF:
        alert.state = "resolved"
        alert.resolved_at = now
        alert.resolved_by = actor.name
    audit.record(db, actor, "acknowledge", "alert", str(alert_id), {"state": alert.state}, note)
    db.flush()
    return AckResult(alert=alert_out(alert), changed=True)


def resolve(db: Session, actor: Actor, alert_id: int, note: str = "") -> AlertOut:
    """Close an alert by hand (when its clearing event will never come, e.g. a decommissioned device)."""
    require(actor, Role.operator, "resolve alerts")
    alert = _get(db, alert_id)
    if alert.state == "resolved":
        raise Conflict(f"alert {alert_id} is already resolved ({alert.resolved_by})")
    now = dt.datetime.now(dt.UTC)
    alert.state = "resolved"
    alert.raised = False
    alert.resolved_at = now
    alert.resolved_by = actor.name
    if note:
        alert.note = note
    audit.record(db, actor, "resolve", "alert", str(alert_id), {"state": "resolved"}, note)
    db.flush()
    _replan(db, AlertPolicy(), _topology(db))
    return alert_out(alert)


def tick(db: Session, policy: AlertPolicy | None = None, now: dt.datetime | None = None) -> EscalationResult:
    """Time-driven changes: escalation, flapping alerts settling, maintenance ending, one-offs expiring."""
    policy = policy or AlertPolicy()
    now = now or dt.datetime.now(dt.UTC)
    out = EscalationResult()
    active = list(db.scalars(select(Alert).where(Alert.state.in_(ACTIVE_STATES))))
    quiet = dt.timedelta(minutes=policy.flap_minutes)
    windows = _windows(db, now)
    topo: _Topo | None = None
    changed = False
    for a in active:
        if a.flapping and now - _utc(a.last_change) >= quiet:
            out.settled.append(a.id)
            a.flapping = False
            a.summary = a.summary.removesuffix(" (flapping)")
            changed = True
            if not a.raised:
                a.state, a.resolved_at, a.resolved_by = "resolved", now, "system"
                continue
        if a.kind in ONE_OFF and now - _utc(a.first_seen) >= ONE_OFF_TTL:
            a.state, a.raised, a.resolved_at, a.resolved_by = "resolved", False, now, "system"
            changed = True
            continue
        if a.suppressed and a.raised:
            topo = topo or _topology(db)
            if not _covered(windows, a.subject, a.device, topo.nodes.get(a.device)):
                a.suppressed, a.suppressed_reason = False, ""
                out.unsuppressed.append(a.id)
        if (
            policy.escalate_minutes > 0
            and a.state == "open"
            and a.raised
            and a.parent_id is None
            and not a.suppressed
            and a.escalated_at is None
            and now - _utc(a.first_seen) >= dt.timedelta(minutes=policy.escalate_minutes)
        ):
            a.escalated_at = now
            a.severity = SEVERITIES[min(SEVERITIES.index(a.severity) + 1, len(SEVERITIES) - 1)]
            out.escalated.append(a.id)
    if changed:
        db.flush()
        _replan(db, policy, topo or _topology(db))
    db.flush()
    return out


# ---------------------------------------------------------------- maintenance windows


def _window_out(w: MaintenanceWindow, now: dt.datetime) -> MaintenanceOut:
    return MaintenanceOut(
        id=w.id,
        scope=w.scope,
        pattern=w.pattern,
        starts_at=_utc(w.starts_at),
        ends_at=_utc(w.ends_at),
        reason=w.reason,
        created_by=w.created_by,
        created_at=_utc(w.created_at),
        active=_utc(w.starts_at) <= now < _utc(w.ends_at),
    )


def add_window(db: Session, actor: Actor, data: MaintenanceIn) -> MaintenanceOut:
    require(actor, Role.operator, "schedule maintenance")
    w = MaintenanceWindow(
        scope=data.scope,
        pattern=data.pattern,
        starts_at=data.starts_at,
        ends_at=data.ends_at,
        reason=data.reason,
        created_by=actor.name,
    )
    db.add(w)
    db.flush()
    audit.record(db, actor, "create", "maintenance", str(w.id), data.model_dump(mode="json"))
    return _window_out(w, dt.datetime.now(dt.UTC))


def list_windows(db: Session, actor: Actor, include_past: bool = False) -> list[MaintenanceOut]:
    require(actor, Role.viewer, "read maintenance windows")
    now = dt.datetime.now(dt.UTC)
    q = select(MaintenanceWindow).order_by(MaintenanceWindow.starts_at)
    if not include_past:
        q = q.where(MaintenanceWindow.ends_at > now)
    return [_window_out(w, now) for w in db.scalars(q)]


def delete_window(db: Session, actor: Actor, window_id: int) -> None:
    require(actor, Role.operator, "cancel maintenance")
    w = db.get(MaintenanceWindow, window_id)
    if w is None:
        raise NotFound(f"no maintenance window {window_id}")
    audit.record(db, actor, "delete", "maintenance", str(window_id), {"pattern": w.pattern})
    db.delete(w)
    db.flush()
