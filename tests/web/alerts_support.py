"""A store for the alert, dashboard and graph tests: the default lab's shape, users of each role, events, metrics.

    h1 - sw1 - r2 ---- r1 ---- wan ---- r4 - r5 - h2
                \\     /                       \\
                  r3                            r6   (depot: a stub site behind r5)
                  |
                 fw1 - srv1

(the same inventory as tests/integration/test_alerts.py, loaded through the inventory import).
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Any

from netwarden.access.schemas import SYSTEM, Actor, Role
from netwarden.alerts import service
from netwarden.alerts.events import Event
from netwarden.alerts.schemas import AlertOut, IngestResult
from netwarden.context import Context
from netwarden.inventory import porting
from netwarden.monitor import metrics
from netwarden.monitor.records import Point
from tests.support.lab_inventory import inventory_yaml
from tests.web.support import add_users

OPERATOR = Actor("operator", Role.operator, "test")
VIEWER = Actor("viewer", Role.viewer, "test")
SPEED = 10**9  # every port of the inventory: 1 Gb/s


def build(ctx: Context) -> None:
    """The lab-shaped inventory and one user per role, with the passwords of ``tests.web.support``."""
    with ctx.db() as db:
        add_users(db)
        porting.import_inventory(db, SYSTEM, None, porting.parse_yaml(inventory_yaml(SPEED)))


def ev(kind: str, subject: str, at: dt.datetime | None = None, **kw: Any) -> Event:
    device = kw.pop("device", subject.split(":")[0].split("--")[0])
    when = at or dt.datetime.now(dt.UTC)
    return Event(source=kw.pop("source", "poll"), kind=kind, subject=subject, device=device, at=when, **kw)  # type: ignore[arg-type]


def ingest(ctx: Context, *events: Event) -> IngestResult:
    with ctx.db() as db:
        return service.ingest(db, OPERATOR, list(events))


def active(ctx: Context, **kw: Any) -> list[AlertOut]:
    with ctx.db() as db:
        return service.list_alerts(db, VIEWER, **kw)


def alert(ctx: Context, alert_id: int) -> AlertOut:
    with ctx.db() as db:
        return service.get_alert(db, VIEWER, alert_id)


def resolve_all(ctx: Context) -> None:
    """Close every active alert, root ones first (a test starts from a quiet network)."""
    with ctx.db() as db:
        for a in service.list_alerts(db, VIEWER, include_folded=True, limit=10000):
            if service.get_alert(db, VIEWER, a.id).state != "resolved":
                service.resolve(db, OPERATOR, a.id, "test cleanup")


def stub_site_down(ctx: Context) -> AlertOut:
    """r5 fails: its neighbours' ports go down, then r5 stops answering; returns the one root alert (critical)."""
    ingest(
        ctx,
        ev("interface_down", "r4:eth2"),
        ev("interface_down", "r6:eth1"),
        ev("interface_down", "h2:eth1"),
    )
    ingest(ctx, ev("device_down", "r5", severity="critical", summary="r5 does not answer ping"))
    [root] = [a for a in active(ctx) if a.device == "r5"]
    return root


def traffic(t: float, phase: float = 0.0) -> tuple[float, float]:
    """A day-shaped traffic curve in bit/s (in, out) at UNIX time ``t``."""
    base = 4e8 + 3e8 * math.sin(t / 1800 + phase)
    return base, base * 0.6


def seed_metrics(ctx: Context, device: str, interface: str, minutes: int = 90, now: float | None = None) -> list[Point]:
    """A poll every minute for ``minutes``: availability, latency, CPU and memory, and one interface's counters."""
    end = time.time() if now is None else now
    points: list[Point] = []
    for i in range(minutes):
        t = end - (minutes - i) * 60
        rx, tx = traffic(t)
        points += [
            Point(device, "up", "", t, 1.0),
            Point(device, "rtt_ms", "", t, 2.0 + (i % 7) * 0.3),
            Point(device, "loss_pct", "", t, 0.0 if i % 20 else 10.0),
            Point(device, "cpu_pct", "", t, 20 + (i % 10)),
            Point(device, "mem_used_pct", "", t, 55.0),
            Point(device, "if_in_bps", interface, t, rx),
            Point(device, "if_out_bps", interface, t, tx),
            Point(device, "if_util_pct", interface, t, 100 * max(rx, tx) / SPEED),
            Point(device, "if_in_errors_ps", interface, t, 0.0),
            Point(device, "if_oper_up", interface, t, 1.0),
        ]
    write(ctx, points, end)
    return points


def write(ctx: Context, points: list[Point], now: float | None = None) -> None:
    with ctx.db() as db:
        result = metrics.write(db, points, now=now)
    assert not result.refused, result.refused
