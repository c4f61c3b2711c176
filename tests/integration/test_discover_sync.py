"""Discovery's write side and the topology on both stores, from snapshots shaped like the lab's.

The network: a ring r1-r2-r3, r1 -- r5 -- r6 (a stub behind one link), a host h1 on r2's LAN,
r2 and r5 also joined by a tunnel (an overlay riding over r1: it must not hide r1 as a single point of failure).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from netwarden.access import audit
from netwarden.collect.records import DeviceFacts, DeviceSnapshot, InterfaceFacts, Neighbour, Route
from netwarden.context import Context
from netwarden.discover import sync, topology
from netwarden.inventory import service
from netwarden.inventory.schemas import SiteIn
from tests.conftest import ADMIN, VIEWER

# device -> [(iface, address)], links as (a, a_port, b, b_port, subnet)
LINKS = [
    ("r1", "eth1", "r2", "eth1", "10.0.12.0/30"),
    ("r2", "eth2", "r3", "eth1", "10.0.23.0/30"),
    ("r3", "eth2", "r1", "eth2", "10.0.13.0/30"),
    ("r1", "eth3", "r5", "eth1", "10.0.15.0/30"),
    ("r5", "eth2", "r6", "eth1", "10.0.56.0/30"),
    ("r2", "eth3", "h1", "eth1", "10.1.20.0/24"),
]
MGMT = {
    "r1": "198.18.0.11",
    "r2": "198.18.0.12",
    "r3": "198.18.0.13",
    "r5": "198.18.0.15",
    "r6": "198.18.0.16",
    "h1": "198.18.0.21",
}


def _addr(subnet: str, which: int) -> str:
    base, plen = subnet.split("/")
    parts = base.split(".")
    parts[-1] = str(int(parts[-1]) + which)
    return ".".join(parts) + "/" + plen


def snapshots(os_version: str = "8.4.4") -> list[DeviceSnapshot]:
    ifaces: dict[str, list[InterfaceFacts]] = {d: [] for d in MGMT}
    neigh: dict[str, list[Neighbour]] = {d: [] for d in MGMT}
    addr_of: dict[tuple[str, str], str] = {}
    for a, ap, b, bp, subnet in LINKS:
        for which, (dev, port, other, oport) in enumerate(((a, ap, b, bp), (b, bp, a, ap)), start=1):
            addr = _addr(subnet, which)
            addr_of[(dev, port)] = addr
            ifaces[dev].append(
                InterfaceFacts(name=port, admin_status="up", oper_status="up", speed=10**9, addresses=[addr])
            )
            neigh[dev].append(Neighbour(protocol="lldp", local_port=port, remote_name=other, remote_port=oport))
    for dev, ip in MGMT.items():
        ifaces[dev].append(InterfaceFacts(name="mgmt0", oper_status="up", addresses=[f"{ip}/24", "fe80::1/64"]))
        ifaces[dev].append(InterfaceFacts(name="lo", addresses=["127.0.0.1/8"]))
    # The tunnel r2 <-> r5 (overlay, riding over r1).
    ifaces["r2"].append(InterfaceFacts(name="wg0", kind="tunnel", addresses=["10.254.0.1/30"]))
    ifaces["r5"].append(InterfaceFacts(name="wg0", kind="tunnel", addresses=["10.254.0.2/30"]))

    def hop(dev: str, port: str) -> str:
        return addr_of[(dev, port)].split("/")[0]

    routes = {
        "h1": [Route(prefix="0.0.0.0/0", protocol="static", next_hops=[hop("r2", "eth3")], interfaces=["eth1"])],
        "r2": [Route(prefix="10.0.56.0/30", protocol="ospf", next_hops=[hop("r1", "eth1")], interfaces=["eth1"])],
        "r1": [Route(prefix="10.0.56.0/30", protocol="ospf", next_hops=[hop("r5", "eth1")], interfaces=["eth3"])],
        "r5": [Route(prefix="10.0.56.0/30", protocol="connected", interfaces=["eth2"])],
    }
    return [
        DeviceSnapshot(
            target=MGMT[d],
            facts=DeviceFacts(
                hostname=d, vendor="FRRouting", os_version=os_version, platform="frr" if d != "h1" else "linux"
            ),
            interfaces=ifaces[d],
            neighbours=neigh[d],
            routes=routes.get(d, []),
            via=["snmp"],
        )
        for d in MGMT
    ]


def discover(ctx: Context, snaps: list[DeviceSnapshot]) -> list[str]:
    with ctx.db() as db:
        outcomes = [sync.upsert_snapshot(db, ADMIN, s, site="lab").outcome for s in snaps]
        sync.links_from_neighbours(db, ADMIN)
    return outcomes


def test_first_discovery_then_nothing_changes(ctx: Context) -> None:
    assert discover(ctx, snapshots()) == ["new"] * 6
    with ctx.db() as db:
        r1 = service.show_device(db, VIEWER, "r1")
        assert (r1.platform, r1.os_version, r1.mgmt_ip, r1.site) == ("frr", "8.4.4", "198.18.0.11", "lab")
        eth3 = next(i for i in r1.interfaces if i.name == "eth3")
        assert eth3.addresses == ["10.0.15.1/30"] and eth3.speed == 10**9
        assert service.list_links(db, VIEWER).total == 6
        assert {lk.source for lk in service.list_links(db, VIEWER).items} == {"lldp"}
    assert discover(ctx, snapshots()) == ["unchanged"] * 6


def test_rediscovery_records_changes_with_a_diff(ctx: Context) -> None:
    discover(ctx, snapshots())
    snaps = snapshots(os_version="9.1")
    r2 = snaps[1]
    changed_ifaces = [
        i.model_copy(update={"oper_status": "down"}) if i.name == "eth2" else i
        for i in r2.interfaces
        if i.name != "eth3"
    ]
    snaps[1] = r2.model_copy(update={"interfaces": changed_ifaces})
    assert discover(ctx, snaps) == ["changed"] * 6
    with ctx.db() as db:
        entries, _ = audit.list_entries(db, ADMIN, obj="r2", action="device.update")
        assert entries[0].changes == {"os_version": ["8.4.4", "9.1"]}
        ifaces = {i.name: i for i in service.show_device(db, VIEWER, "r2").interfaces}
        assert ifaces["eth2"].oper_status == "down"
        assert ifaces["eth3"].oper_status == "notPresent"  # gone from the device, kept in the inventory


def test_missing_devices_are_marked_not_deleted(ctx: Context) -> None:
    discover(ctx, snapshots())
    with ctx.db() as db:
        sync.mark_missing(db, ADMIN, ["r6"])
        assert service.show_device(db, VIEWER, "r6").status == "missing"
    discover(ctx, snapshots())
    with ctx.db() as db:
        assert service.show_device(db, VIEWER, "r6").status == "active"


def test_a_moved_cable_replaces_the_link(ctx: Context) -> None:
    discover(ctx, snapshots())
    snaps = snapshots()
    # h1 is now plugged into r3:eth9 instead of r2:eth3.
    h1 = snaps[5]
    snaps[5] = h1.model_copy(
        update={"neighbours": [Neighbour(protocol="lldp", local_port="eth1", remote_name="r3", remote_port="eth9")]}
    )
    r3 = snaps[2]
    snaps[2] = r3.model_copy(update={"interfaces": [*r3.interfaces, InterfaceFacts(name="eth9")]})
    discover(ctx, snaps)
    with ctx.db() as db:
        link = service.show_link(db, VIEWER, "h1", "eth1")
        assert {link.a, link.b} == {"h1", "r3"}


def test_topology_json_and_spof(ctx: Context) -> None:
    discover(ctx, snapshots())
    with ctx.db() as db:
        topo = topology.topology(db, VIEWER)
        report = topology.spof(db, VIEWER)
    assert [n.name for n in topo.nodes] == ["h1", "r1", "r2", "r3", "r5", "r6"]
    physical = {(lk.a, lk.b) for lk in topo.links if lk.kind == "physical"}
    assert len(physical) == 6
    l3 = [lk for lk in topo.links if lk.kind == "l3"]
    # Only the tunnel is an L3-only adjacency; the management subnet joins nobody.
    assert [(lk.a, lk.b, lk.subnet) for lk in l3] == [("r2", "r5", "10.254.0.0/30")]
    devices = {c.name: c.cut_off for c in report.devices}
    assert devices == {"r1": ["r5", "r6"], "r2": ["h1"], "r5": ["r6"]}
    links = {c.name: c.cut_off for c in report.links}
    assert links["r5:eth2--r6:eth1"] == ["r6"]
    assert links["r1:eth3--r5:eth1"] == ["r5", "r6"]
    assert "r1:eth1--r2:eth1" not in links  # the ring survives any one link


def test_exports(ctx: Context) -> None:
    discover(ctx, snapshots())
    with ctx.db() as db:
        topo = topology.topology(db, VIEWER)
    graphml = ET.fromstring(topology.to_graphml(topo))
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    assert len(graphml.findall(".//g:node", ns)) == 6 and len(graphml.findall(".//g:edge", ns)) == 7
    svg = topology.to_svg(topo)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and ">r5<" in svg


def test_path_from_routing_tables_and_traceroute_comparison(ctx: Context) -> None:
    discover(ctx, snapshots())
    with ctx.db() as db:
        path = topology.compute_path(db, VIEWER, "h1", "r6")
        assert path.complete, path.reason
        assert [h.device for h in path.hops] == ["h1", "r2", "r1", "r5", "r6"]
        assert path.destination_ip == "10.0.56.2"
        good = topology.compare_with_traceroute(db, path, ["10.1.20.1", "10.0.12.1", "10.0.15.2", "10.0.56.2"])
        assert good.matches and good.differences == []
        bad = topology.compare_with_traceroute(db, path, ["10.1.20.1", None, "10.0.15.2", "10.0.56.2"])
        assert bad.matches is False and bad.differences == ["hop 2: computed r1, traceroute saw *"]
        stuck = topology.compute_path(db, VIEWER, "r3", "r6")
        assert not stuck.complete and "r3 has no route to 10.0.56.2" in stuck.reason
        with pytest.raises(Exception, match="neither an IP address nor a known device"):
            topology.compute_path(db, VIEWER, "h1", "nowhere")


def test_new_devices_join_the_site_their_location_names(ctx: Context) -> None:
    with ctx.db() as db:
        for name in ("hq", "branch", "branch-east", "lab"):
            service.add_site(db, ADMIN, SiteIn(name=name))
        assert sync.site_for(db, "netwarden lab x, site hq", "lab") == "hq"
        assert sync.site_for(db, "Rack 4, Branch-East office", "lab") == "branch-east"
        assert sync.site_for(db, "somewhere else", "lab") == "lab"
        assert sync.site_for(db, "", "lab") == "lab"
    snaps = snapshots()
    snaps[0] = snaps[0].model_copy(update={"facts": snaps[0].facts.model_copy(update={"location": "lab, site branch"})})
    discover(ctx, snaps)
    with ctx.db() as db:
        assert service.show_device(db, VIEWER, "r1").site == "branch"
        assert service.show_device(db, VIEWER, "r2").site == "lab"
    # A known device keeps its site even when its location says otherwise.
    snaps[1] = snaps[1].model_copy(update={"facts": snaps[1].facts.model_copy(update={"location": "site hq"})})
    discover(ctx, snaps)
    with ctx.db() as db:
        assert service.show_device(db, VIEWER, "r2").site == "lab"


def test_tunnels_are_marked_in_the_topology(ctx: Context) -> None:
    snaps = snapshots()
    # Lab-style tunnel names ("<prefix>-wg0a") are tunnels too.
    for i, snap in enumerate(snaps):
        renamed = [
            f.model_copy(update={"name": "nwlab-wg0a", "kind": "other"}) if f.name == "wg0" else f
            for f in snap.interfaces
        ]
        snaps[i] = snap.model_copy(update={"interfaces": renamed})
    discover(ctx, snaps)
    with ctx.db() as db:
        links = topology.topology(db, VIEWER).links
    tunnels = [lk for lk in links if lk.tunnel]
    assert [(lk.a, lk.b, lk.subnet) for lk in tunnels] == [("r2", "r5", "10.254.0.0/30")]
    assert not any(lk.tunnel for lk in links if lk.kind == "physical")
