"""SSH CLI collection against the real lab: FRR's vtysh on routers, a Linux shell on hosts.

What collect_ssh reads is compared with what the lab built (its plan): hostnames,
interface addresses, OSPF and BGP neighbours, routes to every loopback. LLDP: vtysh
has no LLDP command, and the lab user cannot reach lldpd's control socket, so the
lldpcli parser is checked on the real lldpd output read from inside the node.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from netwarden.collect.parsers import parse
from netwarden.collect.records import DeviceSnapshot, Neighbour
from netwarden.collect.ssh import SshAuth, collect_many, collect_ssh, identify_ssh, run_commands
from netwarden.lab.api import Lab

pytestmark = pytest.mark.lab


def _auth(lab: Lab, password: str | None = None) -> SshAuth:
    return SshAuth(lab.state.ssh_user, password=password or lab.state.ssh_password)


def _platform(lab: Lab, name: str) -> str:
    node = lab.node(name)
    return "frr" if node.routes else node.platform  # routers and firewalls log in to vtysh


def _snapshot(lab: Lab, name: str) -> DeviceSnapshot:
    node = lab.node(name)
    result = asyncio.run(collect_ssh(str(node.mgmt_ip), _auth(lab), _platform(lab, name), timeout=30))
    assert result.ok, result.describe()
    assert result.value is not None
    print(f"collect_ssh {name}: {result.elapsed:.3f} s, {result.attempts} attempt(s)")
    return result.value


def _ospf_peers(lab: Lab, name: str) -> set[str]:
    """Router IDs (loopbacks) of the OSPF routers on the node's OSPF-active links, from the plan."""
    out = set()
    for iface in lab.node(name).ifaces:
        if not iface.ospf_active:
            continue
        for peer in iface.peers:
            other = lab.node(peer.split(":", 1)[0])
            if other.routes and other.ospf_area is not None and other.loopback is not None:
                out.add(str(other.loopback))
    return out


def test_router_snapshot_matches_the_plan(lab: Lab) -> None:
    snap = _snapshot(lab, "r2")
    node = lab.node("r2")
    assert snap.facts.hostname == "r2"
    assert snap.facts.platform == "frr"
    assert snap.facts.vendor == "FRRouting"
    assert snap.facts.os_version in lab.vtysh("r2", "show version")
    assert snap.warnings == []
    by_name = {i.name: i for i in snap.interfaces}
    for iface in node.ifaces:
        if iface.address is not None:
            assert str(iface.address) in by_name[iface.name].addresses
            assert by_name[iface.name].oper_status == "up"
            assert by_name[iface.name].mac.count(":") == 5
    assert f"{node.loopback}/32" in by_name["lo"].addresses
    ospf = {n.neighbor_id: n for n in snap.routing if n.protocol == "ospf"}
    assert set(ospf) == _ospf_peers(lab, "r2")
    assert all(n.established and n.state.startswith("Full") for n in ospf.values())
    selected = {r.prefix: r for r in snap.routes if r.selected}
    for other in lab.nodes:
        if other.routes and other.loopback is not None and other.name != "r2":
            assert f"{other.loopback}/32" in selected, other.name
            assert selected[f"{other.loopback}/32"].protocol in ("ospf", "bgp")


def test_bgp_peers_match_the_plan(lab: Lab) -> None:
    snap = _snapshot(lab, "r1")
    node = lab.node("r1")
    bgp = {n.neighbor_id: n for n in snap.routing if n.protocol == "bgp"}
    assert set(bgp) == {str(peer.address) for peer in node.neighbors}
    for peer in node.neighbors:
        found = bgp[str(peer.address)]
        assert found.remote_as == peer.asn
        assert found.local_as == node.asn
        assert found.established and found.state == "Established"
        assert (found.prefixes_received or 0) > 0
    assert any(r.protocol == "bgp" and r.selected for r in snap.routes)


def test_every_node_with_ssh_is_collected_at_once(lab: Lab) -> None:
    nodes = [n for n in lab.nodes if n.ssh]
    targets = [(str(n.mgmt_ip), _platform(lab, n.name)) for n in nodes]
    started = time.perf_counter()
    results = asyncio.run(collect_many(targets, _auth(lab), concurrency=8, timeout=30))
    print(f"collect_many: {len(nodes)} nodes in {time.perf_counter() - started:.3f} s")
    for node, result in zip(nodes, results, strict=True):
        assert result.ok, result.describe()
        assert result.value is not None
        assert result.value.facts.hostname == node.name
        addresses = {a for i in result.value.interfaces for a in i.addresses}
        assert f"{node.mgmt_ip}/{lab.state.plan.mgmt_cidr.prefixlen}" in addresses
        for iface in node.ifaces:
            if iface.address is not None:
                assert str(iface.address) in addresses, (node.name, iface.name)


def test_linux_host_snapshot(lab: Lab) -> None:
    snap = _snapshot(lab, "h1")
    node = lab.node("h1")
    assert snap.facts.hostname == "h1"
    assert snap.facts.os_version and snap.facts.uptime is not None
    assert node.gateway is not None
    default = [r for r in snap.routes if r.prefix == "0.0.0.0/0"]
    assert default and str(node.gateway) in default[0].next_hops
    # lldpd's control socket is not open to the lab user: a warning, not a failure.
    assert all("lldpcli" in w for w in snap.warnings), snap.warnings


def _lldp_expected(lab: Lab, name: str) -> set[tuple[str, str, str]]:
    out = set()
    for link in lab.state.plan.links:
        ends = [(link.a, link.a_port, link.b, link.b_port), (link.b, link.b_port, link.a, link.a_port)]
        for local, port, remote, rport in ends:
            if local == name and lab.node(remote).lldp:
                out.add((port, remote, rport))
    return out


def test_lldpcli_parser_reads_the_real_lldpd(lab: Lab) -> None:
    # lab up (and heal) return only once every LLDP neighbour is seen: no waiting here.
    sock = lab.state.node_dir("r1") / "lldpd.sock"
    out = lab.exec("r1", "lldpcli", "-u", str(sock), "-f", "json", "show", "neighbors").stdout
    parsed = parse("linux.lldp", out)
    assert isinstance(parsed, list)
    neighbours = [n for n in parsed if isinstance(n, Neighbour)]
    assert {(n.local_port, n.remote_name, n.remote_port) for n in neighbours} == _lldp_expected(lab, "r1")
    for n in neighbours:
        # Each node advertises the address netwarden reaches it on.
        assert n.remote_mgmt_ip == str(lab.node(n.remote_name).mgmt_ip)


def test_wrong_password_is_auth_failed(lab: Lab) -> None:
    node = lab.node("r3")
    result = asyncio.run(run_commands(str(node.mgmt_ip), _auth(lab, "not-the-password"), "frr", ["show version"]))
    assert not result.ok
    assert result.reason == "auth_failed"
    assert result.attempts == 1


def test_identify_over_ssh(lab: Lab) -> None:
    for name, expected in (("r4", "frr"), ("h2", "linux")):
        result = asyncio.run(identify_ssh(str(lab.node(name).mgmt_ip), _auth(lab), timeout=30))
        assert result.ok, result.describe()
        assert result.value is not None
        assert result.value.platform == expected, result.value
        assert result.value.banner.startswith("SSH-2.0-OpenSSH")
