"""Topology validation and addressing (no root needed)."""

from __future__ import annotations

import ipaddress

import pytest

from netwarden.errors import InvalidInput
from netwarden.lab.plan import make_plan
from netwarden.lab.topology import load_topology, parse_topology

MINI = """
nodes:
  r1: {kind: router, ospf: {area: 0}}
  r2: {kind: router, ospf: {area: 0}}
  h1: {kind: host}
links:
  - endpoints: [r1:eth1, r2:eth1]
  - endpoints: [r2:eth2, h1:eth1]
"""


def test_default_topology_is_valid_and_shaped_as_promised() -> None:
    topo = load_topology()
    kinds = [n.kind for n in topo.nodes.values()]
    assert 8 <= len(kinds) <= 12
    assert {"router", "switch", "firewall", "host", "server"} <= set(kinds)
    assert topo.vpns, "the default lab has a site-to-site VPN"
    fw = next(n for n in topo.nodes.values() if n.kind == "firewall")
    assert fw.nftables and "shadowed" in fw.nftables
    plan = make_plan(topo)
    names = [n.namespace for n in plan.nodes]
    assert all(ns.startswith("nwlab-") for ns in names) and len(set(names)) == len(names)
    addrs = [str(i.address.ip) for n in plan.nodes for i in n.ifaces if i.address is not None]
    assert len(addrs) == len(set(addrs))


def test_automatic_addressing_gives_p2p_30_and_lan_24() -> None:
    plan = make_plan(parse_topology(MINI))
    r1, r2, h1 = (plan.node(n) for n in ("r1", "r2", "h1"))
    assert r1.iface("eth1").address == ipaddress.IPv4Interface("10.0.0.1/30")
    assert r2.iface("eth1").address == ipaddress.IPv4Interface("10.0.0.2/30")
    assert r2.iface("eth2").address is not None and r2.iface("eth2").address.network.prefixlen == 30
    assert h1.gateway == r2.iface("eth2").address.ip
    assert r1.loopback != r2.loopback and r1.iface("eth1").ospf_active and not r2.iface("eth2").ospf_active
    assert plan.node("r1").mgmt_ip in plan.mgmt_cidr and plan.mgmt_gateway == ipaddress.IPv4Address("198.18.0.1")


def test_prefix_and_mgmt_cidr_keep_two_labs_apart() -> None:
    a = make_plan(parse_topology(MINI), "nwlab")
    b = make_plan(parse_topology(MINI), "nwtest", ipaddress.IPv4Network("198.18.100.0/24"))
    assert {n.namespace for n in a.nodes}.isdisjoint(n.namespace for n in b.nodes)
    assert a.bridge != b.bridge and not a.mgmt_cidr.overlaps(b.mgmt_cidr)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINI.replace("[r2:eth2, h1:eth1]", "[r2:eth2, h9:eth1]"), "unknown node 'h9'"),
        (MINI.replace("[r2:eth2, h1:eth1]", "[r2:eth1, h1:eth1]"), "interface r2:eth1 is used by two links"),
        (MINI.replace("[r1:eth1, r2:eth1]", "[r1:eth1, r1:eth1]"), "joins r1:eth1 to itself"),
        (MINI.replace("[r1:eth1, r2:eth1]", "[r1, r2:eth1]"), "must look like NODE:IFACE"),
        (MINI.replace("h1: {kind: host}", "h1: {kind: host, ospf: {area: 0}}"), "cannot run OSPF"),
        (MINI.replace("h1: {kind: host}", "h1: {kind: hots}"), "nodes.h1.kind"),
        (MINI.replace("h1: {kind: host}", "h1: {kind: host, colour: red}"), "colour"),
        (MINI + "vpns:\n  - {name: v, endpoints: [r1:eth9, r2:eth1], subnet: 10.9.0.0/30}\n", "underlay"),
        ("nodes: {}", "at least one node"),
        ("nodes: [", "not valid YAML"),
    ],
)
def test_bad_topologies_fail_with_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(InvalidInput) as err:
        make_plan(parse_topology(text, "t.yml"))
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_duplicate_addresses_are_refused() -> None:
    text = MINI.replace("h1: {kind: host}", "h1: {kind: host, addresses: {eth1: 10.9.0.1/24}}")
    text = text.replace("r2: {kind: router, ospf: {area: 0}}", "r2: {kind: router, addresses: {eth2: 10.9.0.1/24}}")
    with pytest.raises(InvalidInput, match=r"10\.9\.0\.1 is assigned twice"):
        make_plan(parse_topology(text))


def test_bad_prefix_is_refused() -> None:
    with pytest.raises(InvalidInput, match="prefix"):
        make_plan(parse_topology(MINI), "Bad_Prefix")


def test_bgp_peer_without_shared_link_is_refused() -> None:
    text = MINI.replace(
        "r1: {kind: router, ospf: {area: 0}}", "r1: {kind: router, bgp: {asn: 65001, peers: [r3]}}"
    ).replace("h1: {kind: host}", "h1: {kind: host}\n  r3: {kind: router, bgp: {asn: 65003}}")
    with pytest.raises(InvalidInput, match="shares no link"):
        make_plan(parse_topology(text))
