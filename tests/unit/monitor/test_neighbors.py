"""BGP/OSPF neighbour state from recorded SNMP walks: the lab's r1 healthy, with two links cut, and healed;
and a recorded Arista switch's OSPF neighbour table."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from netwarden.collect import snmp
from netwarden.monitor.neighbors import COLUMNS, NeighborState, NeighborWatch, neighbor_round, neighbors_from
from netwarden.monitor.poller import Target
from tests.unit.monitor import snmprec

ARISTA = Path(__file__).resolve().parents[3] / "src" / "netwarden" / "lab" / "fleet_data" / "arista_eos.snmprec"


def reading(name: str | Path) -> list[NeighborState]:
    return neighbors_from(snmprec.columns(snmprec.load(name), COLUMNS))


def events(watch: NeighborWatch, name: str | Path) -> list[tuple[str, str]]:
    out = watch.observe("r1", reading(name), ts=0.0)
    return sorted((e.kind, e.subject) for e in out.events)


def test_healthy_r1_has_its_bgp_peers_established_and_ospf_neighbours_full() -> None:
    got = {(n.protocol, n.neighbor): n for n in reading("frr-r1-healthy.snmprec")}
    assert set(got) == {("bgp", "10.254.0.2"), ("bgp", "203.0.113.2"), ("ospf", "10.255.0.2"), ("ospf", "10.255.0.3")}
    assert got["bgp", "10.254.0.2"].remote_as == 65002 and got["bgp", "203.0.113.2"].remote_as == 65000
    assert all(n.up and n.state_name in ("Established", "Full") for n in got.values())
    # OSPF neighbours are named by router ID; the table's index is their interface address.
    assert got["ospf", "10.255.0.2"].address == "10.0.0.2"
    assert got["bgp", "203.0.113.2"].uptime is not None


def test_cut_links_bring_peers_down_and_a_vanished_ospf_neighbour_counts_as_down() -> None:
    got = {(n.protocol, n.neighbor): n for n in reading("frr-r1-faulted.snmprec")}
    assert got["bgp", "10.254.0.2"].state_name == "Connect" and got["bgp", "203.0.113.2"].state_name == "Active"
    assert ("ospf", "10.255.0.2") not in got  # ospfd deleted the dead neighbour
    watch = NeighborWatch()
    assert events(watch, "frr-r1-healthy.snmprec") == []
    assert events(watch, "frr-r1-healthy.snmprec") == []
    down = [
        ("neighbor_down", "r1:bgp:10.254.0.2"),
        ("neighbor_down", "r1:bgp:203.0.113.2"),
        ("neighbor_down", "r1:ospf:10.255.0.2"),
    ]
    assert events(watch, "frr-r1-faulted.snmprec") == down
    assert events(watch, "frr-r1-faulted.snmprec") == []  # still down: said once
    assert events(watch, "frr-r1-healed.snmprec") == [(k.replace("down", "up"), s) for k, s in down]


def test_points_carry_state_and_up_per_neighbour() -> None:
    out = NeighborWatch().observe("r1", reading("frr-r1-faulted.snmprec"), ts=5.0)
    points = {(p.metric, p.instance): p.value for p in out.points}
    assert points["bgp_peer_state", "10.254.0.2"] == 2 and points["bgp_peer_up", "10.254.0.2"] == 0
    assert points["bgp_peer_state", "203.0.113.2"] == 3
    assert points["ospf_nbr_state", "10.255.0.3"] == 8 and points["ospf_nbr_up", "10.255.0.3"] == 1
    assert ("bgp_peer_uptime_seconds", "10.254.0.2") not in points  # only while established
    assert {p.device for p in out.points} == {"r1"} and {p.ts for p in out.points} == {5.0}


def test_a_recorded_arista_ospf_neighbour() -> None:
    got = reading(ARISTA)
    assert [(n.protocol, n.neighbor, n.address, n.state_name) for n in got] == [
        ("ospf", "172.28.124.7", "172.16.98.93", "Full")
    ]


def _with_state(name: str, protocol: str, neighbor: str, **change: object) -> list[NeighborState]:
    return [
        dataclasses.replace(n, **change) if (n.protocol, n.neighbor) == (protocol, neighbor) else n  # type: ignore[arg-type]
        for n in reading(name)
    ]


def test_an_ospf_exchange_state_is_down_only_when_seen_twice_in_a_row() -> None:
    watch = NeighborWatch()
    watch.observe("r1", reading("frr-r1-healthy.snmprec"))
    loading = _with_state("frr-r1-healthy.snmprec", "ospf", "10.255.0.3", state=7)
    assert watch.observe("r1", loading).events == []  # a moment in Loading
    assert watch.observe("r1", reading("frr-r1-healthy.snmprec")).events == []
    exstart = _with_state("frr-r1-healthy.snmprec", "ospf", "10.255.0.3", state=5)
    assert watch.observe("r1", exstart).events == []
    stuck = watch.observe("r1", exstart).events
    assert [(e.kind, e.subject) for e in stuck] == [("neighbor_down", "r1:ospf:10.255.0.3")]
    assert "ExStart" in stuck[0].summary


def test_a_bgp_peer_shut_down_by_the_operator_is_no_failure() -> None:
    watch = NeighborWatch()
    watch.observe("r1", reading("frr-r1-healthy.snmprec"))
    shut = _with_state("frr-r1-healthy.snmprec", "bgp", "203.0.113.2", state=1, admin_down=True)
    assert watch.observe("r1", shut).events == []
    assert [e.kind for e in watch.observe("r1", reading("frr-r1-healthy.snmprec")).events] == []


def test_a_failed_read_raises_no_neighbour_event() -> None:
    watch = NeighborWatch()
    watch.observe("r1", reading("frr-r1-healthy.snmprec"))
    dead = Target("r1", "127.0.0.1", snmp.V2c("public"), snmp_port=9)  # nothing listens: refused
    (outcome,) = asyncio.run(neighbor_round(watch, [dead], timeout=0.3, retries=0))
    assert outcome.failed is not None and "refused" in outcome.failed
    assert outcome.events == [] and outcome.points == []


@pytest.mark.parametrize("name", ["frr-r1-healthy.snmprec", "frr-r1-faulted.snmprec", "frr-r1-healed.snmprec"])
def test_recordings_parse_without_loss(name: str) -> None:
    record = snmprec.load(name)
    rows = sum(1 for oid in record if oid.startswith(COLUMNS["bgp_state"] + "."))
    rows += sum(1 for oid in record if oid.startswith(COLUMNS["ospf_nbr_state"] + "."))
    assert len(reading(name)) == rows
