"""Service checks, routing neighbours and the WireGuard tunnel against the lab's real daemons.

srv1's nginx and dnsmasq answer the service checks until a daemon is stopped; cutting r1's WAN link takes
its BGP peers down (FRR over SNMP) and, 180 s later, the WireGuard tunnel that rides that link (wg on r1).
The lab's routers give vtysh over SSH, so the tunnel is read with ``wg`` inside r1's namespace; the
transport (SSH) is the only part not exercised here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from netwarden.alerts.events import Event
from netwarden.collect import snmp
from netwarden.monitor.checks import ServiceCheck, ServiceChecker, load_checks, run_checks
from netwarden.monitor.neighbors import NeighborWatch, neighbor_round
from netwarden.monitor.poller import Target
from netwarden.monitor.tunnels import HANDSHAKE_STALE, TunnelReading, TunnelWatch, parse_wg_dump

pytestmark = pytest.mark.lab


def poll_until(
    step: Callable[[], list[Event]], wanted: Callable[[list[Event]], bool], timeout: float, pause: float
) -> list[Event]:
    """Run ``step`` until the events seen so far satisfy ``wanted``; bounded by ``timeout`` seconds."""
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += step()
        if wanted(seen):
            return seen
        time.sleep(pause)  # the pace of polling, not a wait for a state
    raise AssertionError(f"not seen within {timeout:.0f} s; events: {[(e.kind, e.subject) for e in seen]}")


def srv1_checks(lab: Any) -> list[ServiceCheck]:
    srv1 = str(lab.node("srv1").mgmt_ip)
    return load_checks(
        [
            {"name": "web", "device": "srv1", "kind": "http", "url": f"http://{srv1}/", "expected": "srv1",
             "timeout": 3},
            {"name": "dns", "device": "srv1", "kind": "dns", "host": srv1, "query": "r1.lab",
             "expected": lab.address("r1"), "timeout": 3},
            {"name": "ssh", "device": "srv1", "kind": "tcp", "host": srv1, "port": 22, "expected": "SSH-2.0",
             "timeout": 3},
        ]
    )  # fmt: skip


def test_service_checks_follow_srv1_daemons(lab: Any) -> None:
    checks = srv1_checks(lab)
    checker = ServiceChecker()

    def step() -> list[Event]:
        outcomes = checker.observe(asyncio.run(run_checks(checks)))
        return [e for o in outcomes for e in o.events]

    results = asyncio.run(run_checks(checks))
    assert all(r.up for r in results), [r.describe() for r in results]
    assert step() == []
    lab.fault("daemon-stop", "srv1", "nginx")
    down = poll_until(step, lambda ev: any(e.kind == "service_down" for e in ev), timeout=30, pause=1)
    assert [(e.kind, e.subject) for e in down] == [("service_down", checks[0].subject)]
    assert "refused" in down[0].summary
    lab.fault("daemon-start", "srv1", "nginx")
    up = poll_until(step, lambda ev: any(e.kind == "service_up" for e in ev), timeout=30, pause=1)
    assert [(e.kind, e.subject) for e in up] == [("service_up", checks[0].subject)]


def test_bgp_peers_and_the_wireguard_tunnel_follow_a_cut_wan_link(lab: Any) -> None:
    r1 = lab.node("r1")
    target = Target("r1", str(r1.mgmt_ip), snmp.V2c(r1.community or lab.state.community))
    vpn = next(v for v in lab.state.plan.vpns if "r1" in (v.a, v.b))
    r1_tunnel = vpn.a_ifname if vpn.a == "r1" else vpn.b_ifname
    wan_peer = next(str(p.address) for p in r1.neighbors if p.node == "wan")
    vpn_peer = next(str(p.address) for p in r1.neighbors if p.node == ("r4" if vpn.a == "r1" else vpn.a))
    neighbors, tunnels = NeighborWatch(), TunnelWatch()

    def neighbor_events() -> list[Event]:
        (outcome,) = asyncio.run(neighbor_round(neighbors, [target], timeout=2, retries=1))
        assert outcome.failed is None, outcome.failed
        return outcome.events

    def tunnel_events() -> list[Event]:
        # Other labs' tunnels show too (wireguard-go's control sockets are host-wide): keep r1's own.
        dump = lab.exec("r1", "wg", "show", "all", "dump")
        peers = [p for p in parse_wg_dump(dump.stdout) if p.interface == r1_tunnel]
        assert peers, dump.stdout
        return tunnels.observe("r1", TunnelReading(ts=time.time(), wireguard=peers)).events

    assert neighbor_events() == [] and tunnel_events() == []
    assert neighbors.up[("r1", "bgp", wan_peer)] and neighbors.up[("r1", "bgp", vpn_peer)]
    assert any(up for (_, kind, _), up in tunnels.up.items() if kind == "wg")

    lab.fault("link-down", "r1", "wan")
    down = poll_until(
        neighbor_events, lambda ev: {f"r1:bgp:{wan_peer}", f"r1:bgp:{vpn_peer}"} <= {e.subject for e in ev}, 90, 2
    )
    assert {e.kind for e in down} == {"neighbor_down"}
    assert not any(e.subject.startswith("r1:ospf:") for e in down)  # the OSPF core is untouched
    stale = poll_until(tunnel_events, lambda ev: any(e.kind == "tunnel_down" for e in ev), HANDSHAKE_STALE + 60, 5)
    assert [e.kind for e in stale] == ["tunnel_down"]
    assert stale[0].subject.startswith(f"r1:wg:{r1_tunnel}:") and "latest handshake" in stale[0].summary

    lab.heal()
    up = poll_until(
        lambda: neighbor_events() + tunnel_events(),
        lambda ev: {f"r1:bgp:{wan_peer}", f"r1:bgp:{vpn_peer}", stale[0].subject} <= {e.subject for e in ev},
        120,
        2,
    )
    assert {e.kind for e in up} == {"neighbor_up", "tunnel_up"}
