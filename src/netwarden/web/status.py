"""The dashboard's monitoring panel: devices up and down, open alerts by severity, the worst interfaces.

``/status/panel`` renders the panel alone; the dashboard re-fetches it when an alert changes (the
``nw:alerts-changed`` event of ``static/live.js``) and once a minute for the polled values.

Up and down come from the newest ``up`` sample of each device (the ICMP check): a device whose newest
sample is older than three availability intervals counts as *not polled*, as does an active device
that has none. The worst interfaces are those with the highest utilisation in their newest sample;
error rates are shown for them and for any interface whose newest error rate is above zero.

The polled part is read from the metrics store at most once per ``POLLED_TTL`` seconds per app and
shared by every dashboard: reading the newest sample of every interface costs about 2 s per 1,000
devices of 24 interfaces (decision 0019), while the values only change once per polling interval.
The alert part is read on every request, so a new alert shows at once.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.alerts import service as alerts
from netwarden.alerts.schemas import SEVERITIES, AlertOut
from netwarden.config import Settings
from netwarden.inventory import service as inventory
from netwarden.inventory.schemas import DeviceFilter
from netwarden.monitor import metrics
from netwarden.web.alerts import link_ends
from netwarden.web.common import PageRoute, get_ctx, page_actor, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
WORST = 10
ERRORING = 5
DOWN_SHOWN = 12
RECENT_ALERTS = 8
ALERT_SCAN = 10000
STALE_INTERVALS = 3
POLLED_TTL = 30.0
_POLLED_LOCK = threading.Lock()


@dataclass
class WorstInterface:
    device: str
    name: str
    util_pct: float | None
    in_bps: float | None = None
    out_bps: float | None = None
    errors_ps: float = 0.0


@dataclass
class Polled:
    """What the metrics store says, read at ``at`` (monotonic seconds)."""

    up: int
    down: int
    not_polled: int
    down_devices: list[str]
    worst: list[WorstInterface]
    at: float


@dataclass
class Status:
    up: int
    down: int
    not_polled: int
    down_devices: list[str]
    monitoring_on: bool
    by_severity: dict[str, int]
    acknowledged: int
    recent: list[AlertOut]
    worst: list[WorstInterface] = field(default_factory=list)

    @property
    def open_total(self) -> int:
        return sum(self.by_severity.values())


def _stale_after(interval: int) -> int:
    """Seconds after which a check's newest sample no longer says anything (checks off: a day)."""
    return STALE_INTERVALS * interval if interval > 0 else 86400


def _reachability(db: Session, actor: Actor, settings: Settings, now: float) -> tuple[int, int, int, list[str]]:
    fresh = metrics.latest(db, None, "up", since=now - _stale_after(settings.monitor_ping_interval))
    down = sorted(v.device for v in fresh if v.value < 0.5)
    up = len(fresh) - len(down)
    # Counted, not listed: a large inventory is not read whole on every dashboard refresh.
    active = inventory.list_devices(db, actor, DeviceFilter(status="active"), limit=1).total
    return up, len(down), max(0, active - len(fresh)), down


def _worst_interfaces(db: Session, settings: Settings, now: float) -> list[WorstInterface]:
    since = now - _stale_after(settings.monitor_snmp_interval)
    util = {(v.device, v.instance): v.value for v in metrics.latest(db, None, "if_util_pct", since=since)}
    errors: dict[tuple[str, str], float] = {}
    for metric in ("if_in_errors_ps", "if_out_errors_ps"):
        for v in metrics.latest(db, None, metric, since=since):
            errors[(v.device, v.instance)] = errors.get((v.device, v.instance), 0.0) + v.value
    ranked = sorted(util, key=lambda k: (-util[k], k))[:WORST]
    erroring = sorted((k for k, n in errors.items() if n > 0 and k not in ranked), key=lambda k: (-errors[k], k))
    erroring = erroring[:ERRORING]
    traffic: dict[str, dict[tuple[str, str], float]] = {}
    rows: list[WorstInterface] = []
    for key in [*ranked, *erroring]:
        device, name = key
        if device not in traffic:
            values = metrics.latest(db, device, None, since=since)
            traffic[device] = {(v.metric, v.instance): v.value for v in values if v.metric.startswith("if_")}
        row = WorstInterface(
            device=device,
            name=name,
            util_pct=util.get(key),
            in_bps=traffic[device].get(("if_in_bps", name)),
            out_bps=traffic[device].get(("if_out_bps", name)),
            errors_ps=errors.get(key, 0.0),
        )
        rows.append(row)
    return rows


def polled(request: Request, actor: Actor) -> Polled:
    """The polled values, from this app's cache while younger than ``POLLED_TTL`` (one reader at a time)."""
    require(actor, Role.viewer, "read the monitoring status")
    state = request.app.state
    with _POLLED_LOCK:
        cached = getattr(state, "status_polled", None)
        if isinstance(cached, Polled) and time.monotonic() - cached.at < POLLED_TTL:
            return cached
        ctx = get_ctx(request)
        now = time.time()
        with ctx.db() as db:
            up, down, not_polled, down_devices = _reachability(db, actor, ctx.settings, now)
            worst = _worst_interfaces(db, ctx.settings, now)
        fresh = Polled(up, down, not_polled, down_devices, worst, time.monotonic())
        state.status_polled = fresh
        return fresh


def status(request: Request, actor: Actor) -> Status:
    """What the dashboard's monitoring panel shows, for any logged-in user."""
    seen = polled(request, actor)
    ctx = get_ctx(request)
    with ctx.db() as db:
        active = alerts.list_alerts(db, actor, state="active", limit=ALERT_SCAN)
    counts = Counter(a.severity for a in active)
    return Status(
        up=seen.up,
        down=seen.down,
        not_polled=seen.not_polled,
        down_devices=seen.down_devices[:DOWN_SHOWN],
        monitoring_on=ctx.settings.monitor_enabled,
        by_severity={s: counts.get(s, 0) for s in reversed(SEVERITIES)},
        acknowledged=sum(1 for a in active if a.state == "acknowledged"),
        recent=active[:RECENT_ALERTS],
        worst=seen.worst,
    )


@router.get("/status/panel")
def status_panel(request: Request, actor: PageActor) -> Response:
    """The dashboard's monitoring panel alone (for its live refresh)."""
    return render(request, "_status_panel.html", mon=status(request, actor), link_ends=link_ends)
