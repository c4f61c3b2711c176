"""Faults on the real lab become one alert per problem, named after its root cause, and heal by themselves.

The store is filled by discovering the lab; polling rounds run back to back (each stands for one poll
interval), with the real poller, metrics store and alert engine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from netwarden.access.schemas import cli_actor
from netwarden.alerts import service as alerts
from netwarden.alerts.schemas import AlertOut
from netwarden.context import Context
from netwarden.discover.run import Options, run_discovery
from netwarden.lab import credentials as lab_credentials
from netwarden.lab.credentials import names as credential_names
from netwarden.monitor.service import Monitor

pytestmark = pytest.mark.lab
ACTOR = cli_actor()


@pytest.fixture(scope="module")
def store(lab_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Context:
    """The lab discovered into a fresh store, with its SNMP credential as the monitoring credential."""
    _ssh, snmp_name = credential_names(lab_session.state.prefix)
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("alerts"), monitor_credentials=[snmp_name])
    lab_credentials.store(lab_session.state, ctx.settings.data_dir)  # credentials and the lab's sites
    plan = lab_session.state.plan
    opts = Options(cidrs=[str(plan.mgmt_cidr)], credentials=[snmp_name, _ssh], exclude=[str(plan.mgmt_gateway)])
    summary = asyncio.run(run_discovery(ctx, ACTOR, opts))
    assert sorted(summary.devices) == sorted(n.name for n in lab_session.nodes), summary
    return ctx


def active(ctx: Context, **kw: Any) -> list[AlertOut]:
    with ctx.db() as db:
        return alerts.list_alerts(db, ACTOR, **kw)


# The poll interval these tests run at. Real agents serve ifTable from a cache (net-snmp: a few
# seconds), so rounds back to back would read the same stale table twice.
INTERVAL = 5.0


def rounds_until(monitor: Monitor, done: Callable[[], bool], rounds: int) -> int:
    """Poll every INTERVAL until ``done()``; the number of rounds it took (rounds + 1 when it never was)."""

    async def run() -> int:
        loop = asyncio.get_running_loop()
        for n in range(1, rounds + 1):
            tick = loop.time() + INTERVAL
            await monitor.run_round()
            if done():
                return n
            await asyncio.sleep(max(0.0, tick - loop.time()))  # the polling cadence, as the scheduler keeps it
        return rounds + 1

    return asyncio.run(run())


@pytest.fixture
def monitor(store: Context, lab: Any) -> Monitor:
    """A monitor that has seen the healthy lab once, with nothing active in the store."""
    m = Monitor(store, ACTOR)
    asyncio.run(m.run_round())
    assert active(store, include_folded=True) == [], active(store, include_folded=True)
    return m


def test_a_redundant_core_link_down_is_one_alert_naming_it_within_two_rounds(
    store: Context, lab: Any, monitor: Monitor
) -> None:
    lab.fault("link-down", "r1", "r2")
    took = rounds_until(monitor, lambda: bool(active(store)), rounds=2)
    assert took <= 2, "no alert within two poll intervals"
    found = active(store)
    assert len(found) == 1, [(a.device, a.kind, a.subject, a.summary) for a in found]
    [alert] = found
    assert (alert.device, alert.state, alert.impact) == ("r1--r2", "open", [])

    # More rounds add no root alert: whichever of the lost OSPF adjacency and the ports reported
    # first, the other is folded under the link's alert, still one alert naming r1--r2.
    def link_root() -> bool:
        roots = active(store)
        assert [a.device for a in roots] == ["r1--r2"], roots  # never a second root alert meanwhile
        return roots[0].kind == "link_down"

    assert rounds_until(monitor, link_root, rounds=3) <= 3
    [root] = active(store)
    others = [a for a in active(store, include_folded=True) if a.id != root.id]
    assert all(a.parent_id == root.id and a.root_cause == "r1--r2" for a in others), others
    lab.heal()
    assert rounds_until(monitor, lambda: not active(store, include_folded=True), rounds=3) <= 3
    done = {a.id: a for a in active(store, state="resolved")}
    assert root.id in done and done[root.id].resolved_by == "system"


def test_node_down_in_front_of_the_stub_is_one_root_alert_listing_the_stub(
    store: Context, lab: Any, monitor: Monitor
) -> None:
    lab.fault("node-down", "r5")
    took = rounds_until(monitor, lambda: any(a.device == "r5" for a in active(store)), rounds=2)
    assert took <= 2, active(store, include_folded=True)
    # One more interval: the neighbours' ports toward r5 report down too, and are folded under r5.
    rounds_until(monitor, lambda: True, rounds=1)
    [root] = active(store)
    assert (root.device, root.severity) == ("r5", "critical")
    assert root.impact == ["h2", "r6"] and "depot" in root.impact_sites
    folded = [a for a in active(store, include_folded=True) if a.id != root.id]
    assert folded and all(a.parent_id == root.id and a.root_cause == "r5" for a in folded), folded
    lab.heal()

    def healed() -> bool:
        # r5's restart is news of its own (a one-off "reboot" alert); every failure alert resolves.
        return [a.kind for a in active(store, include_folded=True) if a.kind != "reboot"] == []

    assert rounds_until(monitor, healed, rounds=3) <= 3, active(store, include_folded=True)
    assert {(a.id, a.state) for a in active(store, state="all", include_folded=True) if a.id == root.id} == {
        (root.id, "resolved")
    }


def test_trap_path_alerts_within_seconds_and_notifies_by_mail_and_webhook(
    lab_session: Any, lab: Any, tmp_path: Path
) -> None:
    """serve's own wiring (start_monitoring) with traps on: link-down r1 r2 → one alert, a mail, a webhook."""
    from netwarden.jobs.scheduler import start_monitoring
    from tests.support.receivers import running_hooks, running_smtp

    plan = lab_session.state.plan
    deadline_s = 15.0  # the bound for the trap path, from the fault to the alert

    async def scenario(ctx: Context) -> tuple[list[AlertOut], float]:
        tasks: list[asyncio.Task[None]] = []
        parts = await start_monitoring(ctx, tasks)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.to_thread(lab.fault, "link-down", "r1", "r2")
            faulted = loop.time()
            found: list[AlertOut] = []
            while loop.time() - faulted < deadline_s and not any(a.device == "r1--r2" for a in found):
                found = await asyncio.to_thread(active, ctx)
                if not any(a.device == "r1--r2" for a in found):
                    await asyncio.sleep(0.2)  # polling the store for the condition, bounded by the deadline
            took = loop.time() - faulted
            await parts["alerts"].drain()
            await asyncio.to_thread(lab.heal)
            healed_by = loop.time() + 30
            while loop.time() < healed_by and await asyncio.to_thread(active, ctx):
                await asyncio.sleep(0.2)
            await parts["alerts"].drain()
            return found, took
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await parts["traps"].close(timeout=5)

    with running_smtp() as mailbox, running_hooks() as hooks:
        _ssh, snmp_name = credential_names(lab_session.state.prefix)
        data_dir = tmp_path / "store"
        ctx = Context.create(
            data_dir=data_dir,
            traps_enabled=True,
            traps_host=str(plan.trap_collector),
            traps_port=plan.trap_port,
            traps_communities=[lab_session.state.community],
            notify_routes=[{"name": "noc", "urls": [mailbox.url(), hooks.url()]}],
        )
        lab_credentials.store(lab_session.state, data_dir)
        opts = Options(cidrs=[str(plan.mgmt_cidr)], credentials=[snmp_name, _ssh], exclude=[str(plan.mgmt_gateway)])
        asyncio.run(run_discovery(ctx, ACTOR, opts))
        found, took = asyncio.run(scenario(ctx))
        assert [a.device for a in found] == ["r1--r2"], (found, took)
        assert [a.device for a in active(ctx, include_folded=True)] == []
        assert any("r1--r2" in s for s in mailbox.subjects()), mailbox.subjects()
        assert any("r1--r2" in t for t in hooks.titles()), hooks.titles()
        resolved = [a for a in active(ctx, state="resolved") if a.device == "r1--r2"]
        assert resolved and resolved[0].source == "trap"
