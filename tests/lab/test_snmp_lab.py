"""netwarden's SNMP client and fact mapping against the lab's real net-snmp agents (with lldpd and FRR AgentX)."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from netwarden.collect import snmp, snmp_facts
from netwarden.collect.records import DeviceSnapshot
from netwarden.discover.probes import classify

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def snapshots(lab_session: Any) -> dict[str, DeviceSnapshot]:
    def auth(node: Any) -> snmp.V2c:
        return snmp.V2c(node.community or lab_session.state.community)

    async def all_nodes() -> dict[str, DeviceSnapshot]:
        got = await asyncio.gather(
            *(snmp_facts.collect_snmp(str(n.mgmt_ip), auth(n), classify=classify) for n in lab_session.nodes)
        )
        out = {}
        for node, result in zip(lab_session.nodes, got, strict=True):
            assert result.ok and result.value is not None, result.describe()
            out[node.name] = result.value
        return out

    return asyncio.run(all_nodes())


def test_identity_is_distinct_and_named(snapshots: dict[str, DeviceSnapshot], lab_session: Any) -> None:
    assert {name: s.facts.hostname for name, s in snapshots.items()} == {n: n for n in snapshots}
    assert len({s.facts.sys_object_id for s in snapshots.values()}) == len(snapshots)
    assert len({s.facts.sys_descr for s in snapshots.values()}) == len(snapshots)
    for node in lab_session.nodes:
        assert snapshots[node.name].facts.platform == ("frr" if node.routes else "linux")


def test_interfaces_and_addresses_are_what_the_lab_built(
    snapshots: dict[str, DeviceSnapshot], lab_session: Any
) -> None:
    for node in lab_session.nodes:
        ifaces = {i.name: i for i in snapshots[node.name].interfaces}
        assert str(ipaddress.ip_interface(f"{node.mgmt_ip}/{lab_session.state.plan.mgmt_cidr.prefixlen}")) in (
            ifaces["mgmt0"].addresses
        )
        for planned in node.ifaces:
            assert planned.name in ifaces, (node.name, planned.name)
            assert ifaces[planned.name].oper_status == "up"
            if planned.address is not None:
                assert str(planned.address) in ifaces[planned.name].addresses, (node.name, planned.name)


def test_lldp_neighbours_match_the_cabling(snapshots: dict[str, DeviceSnapshot], lab_session: Any) -> None:
    seen = {
        frozenset({(name, n.local_port), (n.remote_name, n.remote_port)})
        for name, snap in snapshots.items()
        for n in snap.neighbours
    }
    planned = {frozenset({(lk.a, lk.a_port), (lk.b, lk.b_port)}) for lk in lab_session.state.plan.links}
    assert seen == planned
    mgmt = {n.name: str(n.mgmt_ip) for n in lab_session.nodes}
    for snap in snapshots.values():
        for n in snap.neighbours:
            assert n.remote_mgmt_ip == mgmt[n.remote_name]


def test_ospf_and_bgp_neighbours_are_up_over_snmp(snapshots: dict[str, DeviceSnapshot], lab_session: Any) -> None:
    for node in lab_session.nodes:
        if not node.routes:
            continue
        routing = snapshots[node.name].routing
        assert routing, node.name
        assert all(r.established for r in routing), (node.name, routing)
        bgp = {r.address for r in routing if r.protocol == "bgp"}
        assert bgp == {str(peer.address) for peer in node.neighbors}, node.name


def test_same_walk_as_net_snmp(lab_session: Any) -> None:
    """Our walk of IF-MIB returns exactly the OIDs and values net-snmp's snmpbulkwalk returns."""
    node = lab_session.node("r1")
    theirs = lab_session.snmp("r1", "1.3.6.1.2.1.2.2.1.2")

    async def walk() -> list[snmp.VarBind]:
        async with snmp.Session(str(node.mgmt_ip), snmp.V2c(lab_session.state.community)) as s:
            return await s.walk("1.3.6.1.2.1.2.2.1.2")

    mine = asyncio.run(walk())
    assert [("." + oid, v.decode() if isinstance(v, bytes) else v) for oid, v in mine] == theirs


def test_a_wrong_community_times_out_and_the_others_still_answer(lab_session: Any) -> None:
    hosts = [str(n.mgmt_ip) for n in lab_session.nodes[:3]]

    async def run() -> tuple[list[Any], list[Any]]:
        bad = await snmp.collect_many(
            hosts, snmp.V2c("not-the-community"), lambda s: s.get(["1.3.6.1.2.1.1.5.0"]), timeout=0.5, retries=0
        )
        good = await snmp.collect_many(
            hosts, snmp.V2c(lab_session.state.community), lambda s: s.get(["1.3.6.1.2.1.1.5.0"])
        )
        return bad, good

    bad, good = asyncio.run(run())
    assert [r.reason for r in bad] == ["timeout"] * 3
    assert all(r.ok for r in good)
