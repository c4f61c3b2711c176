"""Service checks, routing neighbours and the WireGuard tunnel against the lab's real daemons.

srv1's nginx and dnsmasq answer the service checks until a daemon is stopped; cutting r1's WAN link takes
its BGP peers down (FRR over SNMP) and, 180 s later, the WireGuard tunnel that rides that link (wg on r1).
The lab's routers give vtysh over SSH, so the tunnel is read with ``wg`` inside r1's namespace; the
transport (SSH) is the only part not exercised here.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from netwarden.alerts.events import Event
from netwarden.collect import snmp
from netwarden.collect.ssh import SshAuth
from netwarden.monitor.checks import ServiceCheck, ServiceChecker, load_checks, run_checks
from netwarden.monitor.neighbors import NeighborWatch, neighbor_round
from netwarden.monitor.poller import Target
from netwarden.monitor.tunnels import HANDSHAKE_STALE, TunnelReading, TunnelWatch, parse_wg_dump, read_tunnels
from tests.unit.collect.test_ssh import Sshd, sshd  # noqa: F401 - the real sshd fixture

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

    failed_reads: list[str] = []

    def neighbor_events() -> list[Event]:
        (outcome,) = asyncio.run(neighbor_round(neighbors, [target], timeout=2, retries=1))
        if outcome.failed:  # an agent may fail a walk while routing changes: no events then, next poll
            assert outcome.events == []
            failed_reads.append(outcome.failed)
        return outcome.events

    def tunnel_events() -> list[Event]:
        # Other labs' tunnels show too (wireguard-go's control sockets are host-wide): keep r1's own.
        dump = lab.exec("r1", "wg", "show", "all", "dump")
        peers = [p for p in parse_wg_dump(dump.stdout) if p.interface == r1_tunnel]
        assert peers, dump.stdout
        return tunnels.observe("r1", TunnelReading(ts=time.time(), wireguard=peers)).events

    assert neighbor_events() == [] and tunnel_events() == [] and failed_reads == []
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


# ---------------------------------------------------------------- IPsec: two strongSwan daemons, read over SSH

LIBIPSEC = Path("/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so")
CHARON = Path("/usr/lib/ipsec/charon")
PLUGINS = "random nonce openssl pem pkcs1 x509 pubkey kdf hmac sha1 sha2 aes gcm kernel-libipsec kernel-netlink socket-default vici updown"  # noqa: E501
SIDES = {
    "a": ("192.0.2.1", "192.0.2.2", "10.91.1", "10.91.2", "b"),
    "b": ("192.0.2.2", "192.0.2.1", "10.91.2", "10.91.1", "a"),
}


def _swanctl_conf(me: str) -> str:
    local, remote, mine, theirs, peer = SIDES[me]
    return f"""connections {{
  site-{me} {{
    version = 2
    local_addrs = {local}
    remote_addrs = {remote}
    proposals = aes128-sha256-ecp256
    local {{
      auth = psk
      id = gw-{me}
    }}
    remote {{
      auth = psk
      id = gw-{peer}
    }}
    children {{
      net-{me} {{
        local_ts = {mine}.0/24
        remote_ts = {theirs}.0/24
        esp_proposals = aes128gcm16-ecp256
      }}
    }}
  }}
}}
secrets {{
  ike-1 {{
    id-1 = gw-a
    id-2 = gw-b
    secret = "netwarden-test-{os.getpid()}"
  }}
}}
"""


@dataclass
class IpsecPair:
    root: Path
    namespaces: dict[str, str]
    procs: dict[str, subprocess.Popen[bytes]]

    def uri(self, side: str) -> str:
        return f"unix://{self.root / side / 'charon.vici'}"

    def swanctl(self, side: str, *args: str) -> subprocess.CompletedProcess[str]:
        argv = ["ip", "netns", "exec", self.namespaces[side], "swanctl", *args, "--uri", self.uri(side)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)

    def start(self, side: str) -> None:
        conf = self.root / side / "strongswan.conf"
        sock = self.root / side / "charon.vici"
        sock.unlink(missing_ok=True)
        argv = ["ip", "netns", "exec", self.namespaces[side], "env", f"STRONGSWAN_CONF={conf}", "sh", "-c",
                f"mount -t tmpfs none /run && exec {CHARON}"]  # fmt: skip
        with open(self.root / side / "log", "ab") as log:
            self.procs[side] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while not sock.exists():
            if self.procs[side].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"charon {side} did not start: {(self.root / side / 'log').read_text()[-400:]}")
            time.sleep(0.05)
        sock.chmod(0o666)  # the monitoring login reads it over SSH without root
        loaded = self.swanctl(side, "--load-all", "--file", str(self.root / side / "swanctl.conf"))
        assert "successfully loaded 1 connections" in loaded.stdout, loaded.stdout + loaded.stderr

    def stop(self, side: str) -> None:
        proc = self.procs.pop(side, None)
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture
def ipsec_pair() -> Iterator[IpsecPair]:
    if os.geteuid() != 0:
        pytest.skip("namespaces and charon need root")
    if not CHARON.exists() or shutil.which("swanctl") is None:
        pytest.skip("strongSwan (strongswan-charon, strongswan-swanctl) is not installed")
    if not LIBIPSEC.exists():
        pytest.skip(
            "charon's kernel-libipsec plugin is missing (Debian libcharon-extra-plugins): this kernel has no ESP"
        )
    root = Path(tempfile.mkdtemp(prefix="nw-ipsec-"))
    root.chmod(0o755)
    tag = f"nwips{os.getpid():x}"
    pair = IpsecPair(root, {"a": f"{tag}-a", "b": f"{tag}-b"}, {})
    try:
        for side, ns in pair.namespaces.items():
            subprocess.run(["ip", "netns", "add", ns], check=True)
            (root / side).mkdir(mode=0o755)
            (root / side / "swanctl.conf").write_text(_swanctl_conf(side))
            (root / side / "strongswan.conf").write_text(
                "charon {\n  load = " + PLUGINS + "\n  install_routes = no\n"
                f"  plugins {{\n    vici {{\n      socket = {pair.uri(side)}\n    }}\n  }}\n}}\n"
            )
        ns_a, ns_b = pair.namespaces["a"], pair.namespaces["b"]
        subprocess.run(["ip", "link", "add", f"{tag}a", "netns", ns_a, "type", "veth", "peer", "name", f"{tag}b",
                        "netns", ns_b], check=True)  # fmt: skip
        for side, ns in pair.namespaces.items():
            local, _, mine, _, _ = SIDES[side]
            for cmd in (["addr", "add", f"{local}/24", "dev", f"{tag}{side}"], ["link", "set", f"{tag}{side}", "up"],
                        ["link", "set", "lo", "up"], ["addr", "add", f"{mine}.1/24", "dev", "lo"]):  # fmt: skip
                subprocess.run(["ip", "-n", ns, *cmd], check=True)
        pair.start("b")
        pair.start("a")
        yield pair
    finally:
        for side in list(pair.procs):
            pair.stop(side)
        for ns in pair.namespaces.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def test_ipsec_sas_read_over_ssh_follow_the_tunnel(ipsec_pair: IpsecPair, sshd: Sshd) -> None:  # noqa: F811
    login = SshAuth(sshd.user, password=sshd.password, port=sshd.port)
    command = f"swanctl --list-sas --uri {ipsec_pair.uri('a')}"
    watch = TunnelWatch()

    def read() -> tuple[TunnelReading, list[Event]]:
        got = asyncio.run(read_tunnels("127.0.0.1", login, wg_command=None, ipsec_command=command, timeout=30))
        assert got.ok and got.value is not None, got.describe()
        assert got.value.errors == {}, got.value.errors
        return got.value, watch.observe("gw-a", got.value).events

    def traffic(count: int) -> None:
        ping = ["ip", "netns", "exec", ipsec_pair.namespaces["a"], "ping", "-c", str(count), "-i", "0.05", "-W", "1",
                "-I", "10.91.1.1", "10.91.2.1"]  # fmt: skip
        subprocess.run(ping, capture_output=True, timeout=30, check=False)

    initiated = ipsec_pair.swanctl("a", "--initiate", "--child", "net-a", "--timeout", "10")
    assert initiated.returncode == 0, initiated.stdout + initiated.stderr
    traffic(5)
    first, events = read()
    assert events == []
    (sa,) = first.ipsec or []
    assert sa.up and sa.children[0].bytes_out and sa.children[0].bytes_out > 0
    traffic(20)
    second, events = read()
    assert events == []
    assert second.ipsec is not None and second.ipsec[0].children[0].bytes_out > sa.children[0].bytes_out  # type: ignore[operator]
    # The responder tears the SAs down: the initiator's connection is gone.
    ipsec_pair.swanctl("b", "--terminate", "--ike", "site-b", "--timeout", "10")
    _, events = read()
    assert [(e.kind, e.subject) for e in events] == [("tunnel_down", "gw-a:ipsec:site-a")]
    again = ipsec_pair.swanctl("a", "--initiate", "--child", "net-a", "--timeout", "10")
    assert again.returncode == 0, again.stdout + again.stderr
    _, events = read()
    assert [(e.kind, e.subject) for e in events] == [("tunnel_up", "gw-a:ipsec:site-a")]
