"""The default lab, for real: reachability, routing over SSH and SNMP, identities, LLDP, faults, heal.

All tests share one lab (see conftest.py); each heals what it breaks.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from netwarden.lab.api import Lab

pytestmark = pytest.mark.lab

OSPF_NBR_STATE = "1.3.6.1.2.1.14.10.1.6"  # OSPF-MIB ospfNbrState: 8 = full
BGP_PEER_STATE = "1.3.6.1.2.1.15.3.1.2"  # BGP4-MIB bgpPeerState: 6 = established
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
LLDP_REM_SYSNAME = "1.0.8802.1.1.2.1.4.1.1.9"


def _eventually(check: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return check()


def _unreachable_from(lab: Lab, src: str) -> list[str]:
    targets = {n.name: lab.address(n.name) for n in lab.nodes if n.name != src}
    script = "".join(f"ping -n -c 1 -W 2 {addr} >/dev/null 2>&1 || echo {name}\n" for name, addr in targets.items())
    return lab.exec(src, "sh", "-c", script, timeout=60).stdout.split()


def test_every_node_reaches_every_other(lab: Lab) -> None:
    names = [n.name for n in lab.nodes]
    with ThreadPoolExecutor(max_workers=6) as pool:
        failures = dict(zip(names, pool.map(lambda n: _unreachable_from(lab, n), names), strict=True))
    assert {src: bad for src, bad in failures.items() if bad} == {}


def test_status_has_the_contract_shape(lab: Lab) -> None:
    data = lab.status()
    assert data["converged"] is True
    assert data["mgmt_cidr"] == str(lab.state.plan.mgmt_cidr)
    for node in data["nodes"]:
        assert {"name", "kind", "namespace", "mgmt_ip"} <= node.keys()
        assert node["namespace"] == f"{lab.prefix}-{node['name']}"
        assert set(node["daemons"].values()) == {"up"}, node
    assert all({"a", "a_port", "b", "b_port"} <= link.keys() for link in data["links"])


def test_ospf_and_bgp_neighbours_through_vtysh_over_ssh(lab: Lab) -> None:
    ospf = lab.ssh("r2", "show ip ospf neighbor json")
    assert ospf.returncode == 0, ospf.stderr
    neighbours = json.loads(ospf.stdout)["neighbors"]
    assert set(neighbours) == {lab.address("r1"), lab.address("r3")}
    assert all(entry[0]["state"].startswith("Full") for entry in neighbours.values())
    bgp = lab.ssh("r1", "show bgp summary json")
    peers = json.loads(bgp.stdout)["ipv4Unicast"]["peers"]
    assert len(peers) == 2
    assert {p["state"] for p in peers.values()} == {"Established"}


def test_ospf_and_bgp_neighbours_through_snmp(lab: Lab) -> None:
    ospf = lab.snmp("r2", OSPF_NBR_STATE)
    assert [v for _, v in ospf] == ["8", "8"]
    bgp = lab.snmp("r1", BGP_PEER_STATE)
    assert len(bgp) == 2 and {v for _, v in bgp} == {"6"}


def test_every_node_has_its_own_identity_over_snmp(lab: Lab) -> None:
    ids = {}
    for node in lab.nodes:
        values = dict(lab.snmp(node.name, SYS_NAME, walk=False) + lab.snmp(node.name, SYS_OBJECT_ID, walk=False))
        assert values[f".{SYS_NAME}"] == node.name
        ids[node.name] = values[f".{SYS_OBJECT_ID}"]
    assert len(set(ids.values())) == len(ids)


def test_lldp_neighbours_are_visible_over_snmp(lab: Lab) -> None:
    lab.wait_converged()
    want = {"r1", "r3", "sw1"}
    seen = lambda: {v for _, v in lab.snmp("r2", LLDP_REM_SYSNAME)}  # noqa: E731
    sock = str(lab.state.node_dir("r2") / "lldpd.sock")
    assert _eventually(lambda: want <= seen()), (
        seen(),
        lab.exec("r2", "lldpcli", "-u", sock, "show", "neighbors").stdout,
    )


def test_vpn_tunnel_carries_traffic_between_sites(lab: Lab) -> None:
    state = lab.state
    vpn = state.plan.vpns[0]
    assert lab.ping(vpn.a, str(vpn.b_tunnel.ip)).ok
    shown = lab.exec(vpn.a, "wg", "show", vpn.a_ifname, "latest-handshakes").stdout.split()
    assert len(shown) == 2 and int(shown[1]) > 0


def test_link_down_reroutes_around_the_ring_and_heal_restores_it(lab: Lab) -> None:
    r1_side = str(lab.node("r1").iface("eth1").address.ip)  # type: ignore[union-attr]
    assert lab.ping("r2", r1_side).ok
    lab.fault("link-down", "r1", "r2")
    assert not lab.ping("r2", r1_side, count=2).ok
    route = lab.exec("r2", "ip", "route", "get", lab.address("r1")).stdout
    assert "eth2" in route  # now via r3
    assert lab.ping("h1", "r1").ok
    lab.heal()
    assert lab.ping("r2", r1_side).ok
    # heal returns once adjacencies are Full; SPF and the kernel route follow within moments.
    assert _eventually(lambda: "eth1" in lab.exec("r2", "ip", "route", "get", lab.address("r1")).stdout)


def test_stub_site_is_cut_off_by_its_single_link(lab: Lab) -> None:
    assert lab.ping("h1", "r6").ok
    lab.fault("link-down", "r5", "r6")
    assert not lab.ping("h1", "r6", count=2).ok
    lab.heal()
    assert lab.ping("h1", "r6").ok


def test_node_down_takes_its_daemons_and_links_and_heal_restores_it(lab: Lab) -> None:
    lab.fault("node-down", "r3")
    assert not lab.ping("h1", "srv1", count=2).ok  # fw1 and srv1 hang off r3 only
    assert lab.snmp("r3", SYS_NAME, walk=False) == []
    lab.heal()
    assert lab.ping("h1", "srv1").ok
    assert lab.snmp("r3", SYS_NAME, walk=False)


def test_netem_loss_and_delay_show_in_ping(lab: Lab) -> None:
    target = str(lab.node("r2").iface("eth1").address.ip)  # type: ignore[union-attr]
    fault = lab.fault("netem", "r1", "r2", delay=25.0, loss=30.0)
    assert fault is not None and fault.detail["mechanism"] in ("netem", "nftables+relay")
    result = lab.ping("r1", target, count=60, interval=0.02)
    assert result.rtt_avg_ms is not None and result.rtt_avg_ms >= 45  # 25 ms each way
    assert 10 <= result.loss_pct <= 90
    lab.heal()
    clean = lab.ping("r1", target, count=20, interval=0.02)
    assert clean.loss_pct == 0 and clean.rtt_avg_ms is not None and clean.rtt_avg_ms < 20


def test_daemon_stop_drops_the_bgp_session_and_heal_restarts_it(lab: Lab) -> None:
    lab.fault("daemon-stop", "wan", "bgpd")
    assert lab.status()["nodes"][[n.name for n in lab.nodes].index("wan")]["daemons"]["bgpd"] == "down"
    lab.heal()
    peers = json.loads(lab.vtysh("wan", "show bgp summary json"))["ipv4Unicast"]["peers"]
    assert {p["state"] for p in peers.values()} == {"Established"}


def test_config_change_shows_in_running_config_and_heal_reverts_it(lab: Lab) -> None:
    before = lab.vtysh("r2", "show running-config")
    lab.fault("config-change", "r2")
    changed = lab.vtysh("r2", "show running-config")
    assert changed != before and "NWLAB-CHANGE" in changed
    lab.heal()
    assert "NWLAB-CHANGE" not in lab.vtysh("r2", "show running-config")


def test_ssh_bruteforce_and_port_scan_leave_real_evidence(lab: Lab) -> None:
    log = lab.state.node_dir("srv1") / "log" / "sshd.log"
    lab.fault("ssh-bruteforce", "h1", "srv1", attempts=6)
    assert log.read_text().count("Failed password") >= 5
    scan = lab.fault("port-scan", "h2", "r6", ports="1-200")
    assert scan is not None and 22 in scan.detail["open"]


def test_cpu_hog_is_bounded_and_healed(lab: Lab) -> None:
    fault = lab.fault("cpu-hog", "h2", seconds=30)
    assert fault is not None
    assert any(p.name == "cpu-hog" for p in lab.state.processes)
    lab.heal()
    assert not any(p.name == "cpu-hog" for p in lab.state.processes)
