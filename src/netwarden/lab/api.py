"""The lab from Python: bring a topology up and drive it (tests, benchmarks, scripts).

    lab = Lab.start(prefix="nwtest", mgmt_cidr="198.18.100.0/24")
    assert lab.ping("h1", "r6").received
    lab.fault("link-down", "r5", "r6")
    lab.heal()
    lab.down()

Every call reloads the state file, so a handle stays right while the CLI
changes the same lab.
"""

from __future__ import annotations

import ipaddress
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netwarden.errors import InvalidInput
from netwarden.lab import faults, frr, netns, runner
from netwarden.lab import ssh as lab_ssh
from netwarden.lab.plan import PlannedNode
from netwarden.lab.state import Fault, LabState, locked, require_state
from netwarden.lab.topology import Topology, load_topology

_PING = re.compile(r"(\d+) packets transmitted, (\d+) received")
_RTT = re.compile(r"= [\d.]+/([\d.]+)/")


@dataclass(frozen=True)
class PingResult:
    sent: int
    received: int
    rtt_avg_ms: float | None

    @property
    def loss_pct(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 100.0

    @property
    def ok(self) -> bool:
        return self.received > 0


class Lab:
    """A handle on a running lab, named by its prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @classmethod
    def start(
        cls,
        topology: Topology | Path | None = None,
        *,
        prefix: str = runner.DEFAULT_PREFIX,
        mgmt_cidr: str | None = None,
        traffic: bool = True,
        fast_timers: bool = True,
        timeout: float = 120,
        store_credentials: bool = False,
    ) -> Lab:
        """Bring a topology up (the packaged default when None) and wait for convergence."""
        topo = topology if isinstance(topology, Topology) else load_topology(topology)
        runner.up(
            topo,
            prefix=prefix,
            mgmt_cidr=ipaddress.IPv4Network(mgmt_cidr) if mgmt_cidr else None,
            traffic=traffic,
            fast_timers=fast_timers,
            timeout=timeout,
            store_credentials=store_credentials,
        )
        return cls(prefix)

    @property
    def state(self) -> LabState:
        return require_state(self.prefix)

    @property
    def nodes(self) -> list[PlannedNode]:
        return self.state.plan.nodes

    def node(self, name: str) -> PlannedNode:
        return self.state.plan.node(name)

    def address(self, name: str) -> str:
        """The node's data-plane address (loopback for routers)."""
        primary = self.node(name).primary
        if primary is None:
            raise InvalidInput(f"{name} has no data-plane address")
        return str(primary)

    def exec(self, node: str, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a command inside the node (its network and UTS namespaces); never raises on exit status."""
        n = self.node(node)
        return netns.run(netns.in_node(n.namespace, self.state.uts(node), argv), check=False, timeout=timeout)

    def ping(self, src: str, dst: str, count: int = 3, interval: float = 0.2, wait: float = 1) -> PingResult:
        """Ping ``dst`` (a node name or an address) from inside ``src``."""
        target = dst if _is_ip(dst) else self.address(dst)
        argv = ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(wait), target]
        out = self.exec(src, *argv, timeout=count * (interval + wait) + 5).stdout
        m = _PING.search(out)
        rtt = _RTT.search(out)
        return PingResult(
            sent=int(m.group(1)) if m else count,
            received=int(m.group(2)) if m else 0,
            rtt_avg_ms=float(rtt.group(1)) if rtt else None,
        )

    def vtysh(self, node: str, *commands: str) -> str:
        """vtysh on the node from the host (no SSH)."""
        return frr.vtysh(self.node(node), *commands)

    def ssh(self, node: str, command: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        """Log in as the lab user over SSH on the node's management address and run ``command``."""
        state = self.state
        argv = lab_ssh.ssh_argv(state, str(self.node(node).mgmt_ip), command)
        return netns.run(argv, check=False, timeout=timeout, env={"SSHPASS": state.ssh_password})

    def snmp(self, node: str, oid: str, walk: bool = True, timeout: float = 20) -> list[tuple[str, str]]:
        """snmpwalk (or snmpget) the node's management address; returns (numeric OID, value) pairs."""
        state = self.state
        community = self.node(node).community or state.community
        tool = "snmpbulkwalk" if walk else "snmpget"
        argv = [tool, "-v2c", "-c", community, "-On", "-Oq", "-t", "2", "-r", "1", str(self.node(node).mgmt_ip), oid]
        out = netns.run(argv, check=False, timeout=timeout, env={"MIBS": "", "MIBDIRS": "/nonexistent"}).stdout
        pairs = []
        for line in out.splitlines():
            key, _, value = line.partition(" ")
            if key.startswith(".") and "No Such" not in value and "No more variables" not in line:
                pairs.append((key, value.strip().strip('"')))
        return pairs

    def fault(self, kind: str, *args: str, **options: Any) -> Fault | None:
        """Apply a fault by its CLI name: link-down, link-up, node-down, node-up, netem, daemon-stop, ..."""
        actions = {
            "link-down": faults.link_down,
            "link-up": faults.link_up,
            "node-down": faults.node_down,
            "node-up": faults.node_up,
            "netem": faults.netem,
            "daemon-stop": faults.daemon_stop,
            "daemon-start": faults.daemon_start,
            "config-change": faults.config_change,
            "cpu-hog": faults.cpu_hog,
            "ssh-bruteforce": faults.ssh_bruteforce,
            "port-scan": faults.port_scan,
        }
        if kind not in actions:
            raise InvalidInput(f"unknown fault {kind!r}; one of {', '.join(actions)}")
        with locked(self.prefix):
            result: Fault | None = actions[kind](self.state, *args, **options)  # type: ignore[operator]
            return result

    def heal(self, timeout: float = 60) -> dict[str, Any]:
        with locked(self.prefix):
            return faults.heal(self.state, timeout)

    def wait_converged(self, timeout: float = 60) -> float:
        from netwarden.lab import health

        return health.wait_converged(self.state, timeout)

    def status(self) -> dict[str, Any]:
        return runner.status(self.prefix)

    def down(self) -> dict[str, Any]:
        return runner.down(self.prefix)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True
