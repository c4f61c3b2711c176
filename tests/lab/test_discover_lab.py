"""Discovery of the real lab: every node, its facts, interfaces and addresses, the topology, paths, changes."""

from __future__ import annotations

import asyncio
import ipaddress
from pathlib import Path
from typing import Any

import pytest

from netwarden.access import audit
from netwarden.access.schemas import cli_actor
from netwarden.context import Context
from netwarden.discover import topology
from netwarden.discover.run import Options, run_discovery
from netwarden.discover.schemas import DiscoverySummary
from netwarden.inventory import porting, service

pytestmark = pytest.mark.lab
ACTOR = cli_actor()


@pytest.fixture(scope="module")
def store(lab_session: Any, tmp_path_factory: pytest.TempPathFactory) -> Context:
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("discovered"))
    doc = porting.load_document(Path(lab_session.state.credentials_file))
    with ctx.db() as db:
        porting.import_inventory(db, ACTOR, ctx.vault, doc)
    return ctx


def creds(ctx: Context) -> list[str]:
    with ctx.db() as db:
        return [c.name for c in service.list_credentials(db, ACTOR).items]


def discover(ctx: Context, lab: Any, **kw: Any) -> DiscoverySummary:
    opts = Options(cidrs=[str(lab.state.plan.mgmt_cidr)], credentials=creds(ctx), site="lab", **kw)
    return asyncio.run(run_discovery(ctx, ACTOR, opts))


@pytest.fixture(scope="module")
def first(store: Context, lab_session: Any) -> DiscoverySummary:
    return discover(store, lab_session)


def test_every_node_is_found_with_its_facts(first: DiscoverySummary, store: Context, lab_session: Any) -> None:
    nodes = {n.name: n for n in lab_session.nodes}
    assert sorted(first.devices) == sorted(nodes)
    # Only the host's own bridge address answers without being a lab node.
    assert [f.target for f in first.failed] == [str(next(lab_session.state.plan.mgmt_cidr.hosts()))]
    frr_version = lab_session.vtysh("r1", "show version").split("FRRouting ")[1].split()[0]
    with store.db() as db:
        for name, node in nodes.items():
            dev = service.show_device(db, ACTOR, name)
            assert dev.mgmt_ip == str(node.mgmt_ip)
            # Nodes that route run FRR with vtysh as their CLI (the firewall too); the rest are Linux.
            assert dev.platform == ("frr" if node.routes else "linux"), name
            if node.routes:
                assert dev.os_version == frr_version
            # Every planned data-plane address is on the interface the lab gave it.
            found = {(i.name, a) for i in dev.interfaces for a in i.addresses}
            for iface in node.ifaces:
                if iface.address is not None:
                    assert (iface.name, str(iface.address)) in found, (name, iface.name)


def test_topology_equals_the_lab_topology_file(first: DiscoverySummary, store: Context, lab_session: Any) -> None:
    """Every cable of the topology file is found through LLDP, with both ports, and nothing else."""
    with store.db() as db:
        topo = topology.topology(db, ACTOR)
    physical = [lk for lk in topo.links if lk.kind == "physical"]
    found = {frozenset({(lk.a, lk.a_port), (lk.b, lk.b_port)}) for lk in physical}
    planned = {frozenset({(lk.a, lk.a_port), (lk.b, lk.b_port)}) for lk in lab_session.state.plan.links}
    assert found == planned
    assert len(physical) == len(planned)
    assert {lk.source for lk in physical} == {"lldp"}
    assert sorted(n.name for n in topo.nodes) == sorted(n.name for n in lab_session.nodes)


def test_excluded_addresses_are_neither_probed_nor_marked_missing(
    first: DiscoverySummary, store: Context, lab_session: Any
) -> None:
    bridge = str(next(lab_session.state.plan.mgmt_cidr.hosts()))
    r6 = str(lab_session.node("r6").mgmt_ip)
    summary = discover(store, lab_session, exclude=[bridge, f"{r6}/32"])
    assert summary.failed == []
    assert "r6" not in summary.devices
    assert summary.missing == []
    with store.db() as db:
        assert service.show_device(db, ACTOR, "r6").status == "active"


def test_single_points_of_failure_name_the_stub(first: DiscoverySummary, store: Context) -> None:
    with store.db() as db:
        report = topology.spof(db, ACTOR)
    devices = {c.name: c.cut_off for c in report.devices}
    links = {c.name: c.cut_off for c in report.links}
    assert devices["r5"] == ["h2", "r6"] or "r6" in devices["r5"]
    assert links["r5:eth2--r6:eth1"] == ["r6"]
    for ring in ("r1:eth1--r2:eth1", "r2:eth2--r3:eth1", "r3:eth2--r1:eth2"):
        assert ring not in links


def test_path_matches_traceroute(first: DiscoverySummary, store: Context, lab_session: Any) -> None:
    with store.db() as db:
        path = topology.compute_path(db, ACTOR, "h1", "h2")
    assert path.complete, path.reason
    out = lab_session.exec("h1", "traceroute", "-n", "-q", "1", "-w", "1", "-m", "16", path.destination_ip).stdout
    from netwarden.discover.trace import parse_traceroute

    with store.db() as db:
        compared = topology.compare_with_traceroute(db, path, parse_traceroute(out))
    assert compared.matches, compared.differences


def test_rediscovery_records_a_fault(first: DiscoverySummary, store: Context, lab: Any) -> None:
    lab.fault("link-down", "r5", "r6")
    second = discover(store, lab)
    assert "r5" in second.devices
    with store.db() as db:
        r5 = {i.name: i for i in service.show_device(db, ACTOR, "r5").interfaces}
        # The fault sets the port down; SNMP reports oper status, the CLI at least admin status.
        assert "down" in (r5["eth2"].admin_status, r5["eth2"].oper_status)
        entries, _ = audit.list_entries(db, ACTOR, obj="r5:eth2", action="interface.update")
        assert entries
        changed = entries[0].changes
        assert (
            changed.get("admin_status", [None, None])[1] == "down"
            or changed.get("oper_status", [None, None])[1] == "down"
        )
    lab.heal()


def test_missing_node_is_marked_not_deleted(first: DiscoverySummary, store: Context, lab: Any) -> None:
    lab.fault("node-down", "r6")
    summary = discover(store, lab)
    assert summary.missing == ["r6"]
    with store.db() as db:
        assert service.show_device(db, ACTOR, "r6").status == "missing"
    lab.heal()
    discover(store, lab)
    with store.db() as db:
        assert service.show_device(db, ACTOR, "r6").status == "active"


def test_the_mgmt_range_is_the_only_thing_swept(lab_session: Any) -> None:
    # Safety: discovery only sends to what it was given; the lab's management range is inside 198.18.0.0/15.
    assert ipaddress.ip_network(str(lab_session.state.plan.mgmt_cidr)).subnet_of(ipaddress.ip_network("198.18.0.0/15"))


def _within(lab: Any, start: str, depth: int) -> set[str]:
    """Nodes at most ``depth`` LLDP hops from ``start`` in the lab's plan."""
    adjacent: dict[str, set[str]] = {}
    for lk in lab.state.plan.links:
        adjacent.setdefault(lk.a, set()).add(lk.b)
        adjacent.setdefault(lk.b, set()).add(lk.a)
    seen, frontier = {start}, {start}
    for _ in range(depth):
        frontier = {n for f in frontier for n in adjacent.get(f, set())} - seen
        seen |= frontier
    return seen


def test_neighbour_crawl_follows_lldp_to_the_depth_and_allow_list(
    lab_session: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ctx = Context.create(data_dir=tmp_path_factory.mktemp("crawl"))
    doc = porting.load_document(Path(lab_session.state.credentials_file))
    with ctx.db() as db:
        porting.import_inventory(db, ACTOR, ctx.vault, doc)
    r1 = str(lab_session.node("r1").mgmt_ip)

    def crawl(depth: int, allow: list[str]) -> DiscoverySummary:
        opts = Options(cidrs=[r1], credentials=creds(ctx), site="lab", follow_neighbours=True, depth=depth, allow=allow)
        return asyncio.run(run_discovery(ctx, ACTOR, opts))

    mgmt = str(lab_session.state.plan.mgmt_cidr)
    assert crawl(0, [mgmt]).devices == ["r1"]
    two = crawl(2, [mgmt])
    assert set(two.devices) == _within(lab_session, "r1", 2)
    assert two.neighbours_followed > 0
    # Outside the allow-list nothing is crawled, however deep.
    assert crawl(5, [f"{r1}/32"]).devices == ["r1"]
