"""The alert engine on a real store (SQLite and PostgreSQL), on an inventory shaped like the default lab.

    h1 - sw1 - r2 ---- r1 ---- wan ---- r4 - r5 - h2
                \\     /                       \\
                  r3                            r6   (depot: a stub site behind r5)
                  |
                 fw1 - srv1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from netwarden.access.models import AuditEntry
from netwarden.alerts import service
from netwarden.alerts.events import Event
from netwarden.alerts.models import AlertEvent
from netwarden.alerts.schemas import AlertOut, AlertPolicy, MaintenanceIn
from netwarden.context import Context
from netwarden.errors import Conflict, NotFound, PermissionDenied
from netwarden.inventory import porting
from tests.conftest import ADMIN, OPERATOR, VIEWER, auth
from tests.support.lab_inventory import inventory_yaml

T0 = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def lab_ctx(ctx: Context) -> Iterator[Context]:
    with ctx.db() as db:
        porting.import_inventory(db, ADMIN, None, porting.parse_yaml(inventory_yaml()))
    yield ctx


def ev(kind: str, subject: str, at: dt.datetime, **kw: Any) -> Event:
    device = kw.pop("device", subject.split(":")[0].split("--")[0])
    return Event(source=kw.pop("source", "poll"), kind=kind, subject=subject, device=device, at=at, **kw)  # type: ignore[arg-type]


def ingest(ctx: Context, *events: Event, now: dt.datetime | None = None, policy: AlertPolicy | None = None) -> Any:
    with ctx.db() as db:
        return service.ingest(db, OPERATOR, list(events), now=now or T0 + dt.timedelta(hours=1), policy=policy)


def alerts(ctx: Context, **kw: Any) -> list[AlertOut]:
    with ctx.db() as db:
        return service.list_alerts(db, VIEWER, **kw)


def test_a_redundant_link_down_is_one_alert_naming_the_link_and_heals(lab_ctx: Context) -> None:
    first = ingest(lab_ctx, ev("interface_down", "r1:eth1", T0), ev("interface_down", "r2:eth1", T0))
    [alert] = alerts(lab_ctx)
    assert (alert.device, alert.state, alert.impact, alert.root_cause) == ("r1--r2", "open", [], "r1--r2")
    assert first.opened == [alert.id] and first.notify == [alert.id] and first.updated == 1
    # One end up is not enough: the alert stays until both ends report up.
    ingest(lab_ctx, ev("interface_up", "r1:eth1", T0 + dt.timedelta(seconds=30)))
    assert [a.state for a in alerts(lab_ctx)] == ["open"]
    healed = ingest(lab_ctx, ev("interface_up", "r2:eth1", T0 + dt.timedelta(seconds=31)))
    assert healed.resolved == [alert.id] and alerts(lab_ctx) == []
    [done] = alerts(lab_ctx, state="resolved")
    assert done.resolved_by == "system"


def test_node_down_in_front_of_a_stub_site_is_one_root_alert_with_its_impact(lab_ctx: Context) -> None:
    at = T0 + dt.timedelta(seconds=5)
    # The neighbours' ports toward r5 go down first (SNMP round), then r5 stops answering ping.
    ingest(
        lab_ctx,
        ev("interface_down", "r4:eth2", T0),
        ev("interface_down", "r6:eth1", T0),
        ev("interface_down", "h2:eth1", T0),
        ev("neighbor_down", "r4:ospf:r5", T0),
    )
    down = ingest(lab_ctx, ev("device_down", "r5", at, severity="critical"))
    [root] = alerts(lab_ctx)
    assert (root.device, root.severity, root.impact, root.impact_sites) == (
        "r5",
        "critical",
        ["h2", "r6"],
        ["branch", "depot"],
    )
    assert down.notify == [root.id]
    everything = alerts(lab_ctx, include_folded=True)
    folded = [a for a in everything if a.id != root.id]
    assert {(a.device, a.kind) for a in folded} == {
        ("r4--r5", "link_down"),
        ("r5--r6", "link_down"),
        ("h2--r5", "link_down"),
        ("r4--r5", "neighbor_down"),  # the OSPF adjacency r4 lost, named after the pair
    }
    assert all(a.parent_id == root.id and a.root_cause == "r5" for a in folded)
    # Heal: r5 answers again and every port comes back: everything resolves by itself.
    later = at + dt.timedelta(seconds=20)
    ingest(
        lab_ctx,
        ev("device_up", "r5", later),
        *(ev("interface_up", s, later) for s in ("r4:eth2", "r5:eth1", "r6:eth1", "h2:eth1")),
        ev("neighbor_up", "r4:ospf:r5", later),
    )
    assert alerts(lab_ctx) == [] and alerts(lab_ctx, include_folded=True) == []


def test_a_failed_core_link_arriving_after_its_symptoms_reattributes_them(lab_ctx: Context) -> None:
    # wan--r4 cuts the branch and the depot off; r5's and h2's alerts arrive first (h2 sits behind r5).
    ingest(lab_ctx, ev("device_down", "r5", T0), ev("device_down", "h2", T0))
    [first] = alerts(lab_ctx)
    assert (first.device, first.impact) == ("r5", ["h2", "r6"])
    ingest(lab_ctx, ev("interface_down", "wan:eth2", T0 + dt.timedelta(seconds=2)))
    [root] = alerts(lab_ctx)
    assert root.device == "r4--wan"
    assert root.impact == ["h2", "r4", "r5", "r6"]


def test_repeats_are_deduplicated_and_a_flood_costs_one_row(lab_ctx: Context) -> None:
    flood = [ev("interface_down", "srv1:eth9", T0 + dt.timedelta(milliseconds=i), source="trap") for i in range(500)]
    result = ingest(lab_ctx, *flood)
    [alert] = alerts(lab_ctx)
    assert (alert.count, result.updated, len(result.opened)) == (500, 499, 1)
    with lab_ctx.db() as db:
        assert db.scalar(select(func.count()).select_from(AlertEvent)) == 1


def test_flapping_is_damped_into_one_alert_that_settles(lab_ctx: Context) -> None:
    policy = AlertPolicy(flap_changes=4, flap_minutes=10)
    for i in range(4):
        t = T0 + dt.timedelta(seconds=60 * i)
        ingest(lab_ctx, ev("device_down", "srv1", t), policy=policy)
        ingest(lab_ctx, ev("device_up", "srv1", t + dt.timedelta(seconds=20)), policy=policy)
    everything = alerts(lab_ctx, state="all", include_folded=True)
    flapping = [a for a in everything if a.flapping]
    assert len(flapping) == 1 and flapping[0].state == "open"
    # Quiet for the flap window: the alert resolves by itself, once.
    with lab_ctx.db() as db:
        settled = service.tick(db, policy, now=T0 + dt.timedelta(minutes=30))
    assert settled.settled == [flapping[0].id]
    assert alerts(lab_ctx) == []


def test_stale_and_late_events_change_nothing(lab_ctx: Context) -> None:
    ingest(lab_ctx, ev("device_down", "h1", T0 + dt.timedelta(seconds=10)))
    stale = ingest(lab_ctx, ev("device_up", "h1", T0))  # older than the down it would clear
    assert stale.stale == 1 and len(alerts(lab_ctx)) == 1
    ingest(lab_ctx, ev("device_up", "h1", T0 + dt.timedelta(seconds=20)))
    late = ingest(lab_ctx, ev("device_down", "h1", T0 + dt.timedelta(seconds=15)))  # delivered after the clear
    assert late.stale == 1 and alerts(lab_ctx) == []
    nothing = ingest(lab_ctx, ev("device_up", "h2", T0))
    assert nothing.ignored == 1


def test_an_event_from_a_clock_ahead_is_taken_as_now(lab_ctx: Context) -> None:
    now = T0 + dt.timedelta(hours=1)
    ingest(lab_ctx, ev("device_down", "h1", now + dt.timedelta(days=2)), now=now)
    [alert] = alerts(lab_ctx)
    assert alert.first_seen == now


def test_a_maintenance_window_silences_and_its_end_unsilences(lab_ctx: Context) -> None:
    with lab_ctx.db() as db:
        window = service.add_window(
            db,
            OPERATOR,
            MaintenanceIn(scope="site", pattern="depot", starts_at=T0, ends_at=T0 + dt.timedelta(hours=2), reason="x"),
        )
    result = ingest(lab_ctx, ev("device_down", "r6", T0 + dt.timedelta(minutes=5)))
    assert result.suppressed == 1 and result.notify == [] and alerts(lab_ctx) == []
    [silenced] = alerts(lab_ctx, include_folded=True)
    assert silenced.suppressed and f"window {window.id}" in silenced.suppressed_reason
    with lab_ctx.db() as db:
        ended = service.tick(db, AlertPolicy(), now=T0 + dt.timedelta(hours=3))
    assert ended.unsuppressed == [silenced.id]
    assert [a.device for a in alerts(lab_ctx)] == ["r6"]


def test_escalation_after_minutes_unacknowledged(lab_ctx: Context) -> None:
    ingest(lab_ctx, ev("device_down", "srv1", T0, severity="major"))
    policy = AlertPolicy(escalate_minutes=30)
    with lab_ctx.db() as db:
        early = service.tick(db, policy, now=T0 + dt.timedelta(minutes=10))
        late = service.tick(db, policy, now=T0 + dt.timedelta(minutes=31))
        again = service.tick(db, policy, now=T0 + dt.timedelta(minutes=62))
    [alert] = alerts(lab_ctx)
    assert (early.escalated, late.escalated, again.escalated) == ([], [alert.id], [])
    assert alert.severity == "critical" and alert.escalated_at is not None


def test_acknowledge_needs_an_operator_and_is_audited(lab_ctx: Context) -> None:
    ingest(lab_ctx, ev("device_down", "srv1", T0))
    [alert] = alerts(lab_ctx)
    with lab_ctx.db() as db, pytest.raises(PermissionDenied):
        service.acknowledge(db, VIEWER, alert.id)
    with lab_ctx.db() as db:
        result = service.acknowledge(db, OPERATOR, alert.id, "on it")
    assert result.changed and result.alert.state == "acknowledged" and result.alert.acknowledged_by == "operator"
    with lab_ctx.db() as db:
        entry = db.scalars(select(AuditEntry).where(AuditEntry.object_type == "alert")).one()
        assert (entry.actor, entry.action, entry.note) == ("operator", "acknowledge", "on it")
        with pytest.raises(NotFound):
            service.acknowledge(db, OPERATOR, 999_999)
    ingest(lab_ctx, ev("device_up", "srv1", T0 + dt.timedelta(minutes=1)))
    with lab_ctx.db() as db, pytest.raises(Conflict):
        service.acknowledge(db, ADMIN, alert.id)


def test_one_off_alerts_resolve_when_acknowledged(lab_ctx: Context) -> None:
    ingest(lab_ctx, ev("reboot", "r2", T0, severity="warning"))
    [alert] = alerts(lab_ctx)
    with lab_ctx.db() as db:
        assert service.acknowledge(db, OPERATOR, alert.id).alert.state == "resolved"


def test_alerts_over_the_api(lab_ctx: Context, api: httpx.Client, tokens: dict[str, str]) -> None:
    ingest(lab_ctx, ev("device_down", "r5", T0, severity="critical"), ev("interface_down", "r6:eth1", T0))
    viewer, operator = auth(tokens["viewer"]), auth(tokens["operator"])
    assert api.get("/api/v1/alerts").status_code == 401
    page = api.get("/api/v1/alerts", headers=viewer).json()
    assert page["total"] == 1 and page["items"][0]["device"] == "r5"
    assert set(page["items"][0]) >= {"id", "state", "severity", "device", "summary", "root_cause", "impact"}
    alert_id = page["items"][0]["id"]
    assert api.post(f"/api/v1/alerts/{alert_id}/ack", headers=viewer).status_code == 403
    ok = api.post(f"/api/v1/alerts/{alert_id}/ack", json={"note": "x"}, headers=operator)
    assert ok.status_code == 200 and ok.json()["alert"]["state"] == "acknowledged"
    detail = api.get(f"/api/v1/alerts/{alert_id}", headers=viewer).json()
    assert [ch["device"] for ch in detail["children"]] == ["r5--r6"]
    assert api.get("/api/v1/alerts?state=bogus", headers=viewer).status_code == 422
    assert api.get("/api/v1/alerts/424242", headers=viewer).status_code == 404
    events = api.get("/api/v1/events?device=r5", headers=viewer).json()
    assert [e["kind"] for e in events] == ["device_down"]


def test_traps_without_meaning_are_evidence_not_alerts(lab_ctx: Context) -> None:
    result = ingest(lab_ctx, ev("trap", "r1", T0, severity="info", summary="trap 1.3.6.1.2.1.14.16.2.16 from r1"))
    assert (result.recorded, result.opened) == (1, [])
    assert alerts(lab_ctx, state="all", include_folded=True) == []
    with lab_ctx.db() as db:
        [event] = service.list_events(db, VIEWER, device="r1")
    assert (event.transition, event.kind) == ("event", "trap")
