"""FRR on routers and firewalls: one pathspace (``-N <namespace>``) per node, fast timers.

The timers are the ones measured in LAB-NOTES: point-to-point OSPF with
hello 1 / dead 4 and no SPF/LSA throttling converges a small lab in about
1.5 s instead of 11 s; eBGP keepalive 3 / hold 9 with a 1 s connect retry.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from netwarden.lab import netns
from netwarden.lab.plan import Plan, PlannedNode
from netwarden.lab.state import LabState, Proc

FRR_BIN = Path("/usr/lib/frr")
FRR_RUN = Path("/var/run/frr")
FRR_ETC = Path("/etc/frr")
FRR_MODULES = Path("/usr/lib/x86_64-linux-gnu/frr/modules")
SNMP_DAEMONS = ("zebra", "ospfd", "bgpd")


def snmp_module(daemon: str) -> bool:
    """True when FRR's AgentX module for ``daemon`` is installed (Debian package frr-snmp)."""
    return daemon in SNMP_DAEMONS and (FRR_MODULES / f"{daemon}_snmp.so").exists()


def daemons(node: PlannedNode) -> list[str]:
    """The FRR daemons a node runs: zebra and staticd always, ospfd/bgpd when configured."""
    out = ["zebra", "staticd"]
    if node.ospf_area is not None:
        out.append("ospfd")
    if node.asn is not None:
        out.append("bgpd")
    return out


def render(plan: Plan, node: PlannedNode, log_file: Path, fast: bool = True) -> str:
    """The integrated frr.conf of one node. ``fast=False`` keeps FRR's default timers (benchmark peer)."""
    lines = [
        "frr version 8.4",
        "frr defaults traditional",
        f"hostname {node.name}",
        f"log file {log_file} informational",
        "log timestamp precision 3",
        "log commands",  # configuration changes reach the log, and through it syslog
        "service integrated-vtysh-config",
        *(["service password-encryption"] if node.hardening else []),
        *node.frr_config,
        "!",
        f"ip prefix-list LAB-MGMT seq 5 permit {plan.mgmt_cidr} le 32",
        "route-map LAB-CONNECTED deny 10",
        " match ip address prefix-list LAB-MGMT",
        "exit",
        "route-map LAB-CONNECTED permit 20",
        "exit",
        "!",
    ]
    if node.snmp and any(snmp_module(d) for d in daemons(node)):
        lines += ["agentx", "!"]
    for route in node.statics:
        lines.append(f"ip route {route.prefix} {route.via}")
    if node.ospf_area is not None:
        tunnels = [v.a_ifname for v in plan.vpns if v.a == node.name]
        tunnels += [v.b_ifname for v in plan.vpns if v.b == node.name]
        lines += _ospf_interfaces(node, tunnels, fast)
        lines += _ospf_router(node, fast)
    if node.asn is not None:
        lines += _bgp(node, fast)
    lines.append("end")
    return "\n".join(lines) + "\n"


def _ospf_interfaces(node: PlannedNode, tunnels: list[str], fast: bool) -> list[str]:
    area = node.ospf_area
    lines = ["interface lo", f" ip ospf area {area}", " ip ospf passive", "exit", "!"]
    # Tunnel interfaces are advertised into the site (passive), so the tunnel subnet is reachable from inside.
    for name in tunnels:
        lines += [f"interface {name}", f" ip ospf area {area}", " ip ospf passive", "exit", "!"]
    for iface in node.ifaces:
        if iface.address is None:
            continue
        lines += [f"interface {iface.name}", f" ip ospf area {area}"]
        if iface.ospf_active:
            if len(iface.peers) == 1:
                lines.append(" ip ospf network point-to-point")
            if fast:
                lines += [" ip ospf hello-interval 1", " ip ospf dead-interval 4", " ip ospf retransmit-interval 1"]
        else:
            lines.append(" ip ospf passive")
        if iface.cost is not None:
            lines.append(f" ip ospf cost {iface.cost}")
        lines += ["exit", "!"]
    return lines


def _ospf_router(node: PlannedNode, fast: bool) -> list[str]:
    # Adjacency changes in the log: the syslog path of the alert engine reads them.
    lines = ["router ospf", f" ospf router-id {node.loopback}", " log-adjacency-changes"]
    if fast:
        lines += [" timers throttle spf 0 50 1000", " timers throttle lsa all 0", " timers lsa min-arrival 0"]
    if node.redistribute_bgp:
        lines.append(" redistribute bgp")
    lines += ["exit", "!"]
    return lines


def _bgp(node: PlannedNode, fast: bool) -> list[str]:
    lines = [
        f"router bgp {node.asn}",
        f" bgp router-id {node.loopback}",
        " bgp log-neighbor-changes",
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
    ]
    for nb in node.neighbors:
        lines += [f" neighbor {nb.address} remote-as {nb.asn}", f" neighbor {nb.address} description {nb.node}"]
        if fast:
            lines += [
                f" neighbor {nb.address} timers 3 9",
                f" neighbor {nb.address} timers connect 1",
                f" neighbor {nb.address} advertisement-interval 0",
            ]
    lines += [" address-family ipv4 unicast", "  redistribute connected route-map LAB-CONNECTED"]
    if node.ospf_area is not None:
        lines.append("  redistribute ospf")
    lines += [" exit-address-family", "exit", "!"]
    return lines


def node_run_dir(node: PlannedNode) -> Path:
    return FRR_RUN / node.namespace


def start_daemon(state: LabState, node: PlannedNode, daemon: str) -> Proc:
    """Start one FRR daemon in the node; it daemonises and writes its pidfile."""
    rundir = node_run_dir(node)
    pidfile = rundir / f"{daemon}.pid"
    pidfile.unlink(missing_ok=True)
    argv = [str(FRR_BIN / daemon), "-d", "-N", node.namespace, "-F", "traditional", "-P", "0"]
    argv += ["-u", "frr", "-g", "frr", "-i", str(pidfile)]
    if daemon == "zebra":
        argv += ["-s", "90000000"]
    env = None
    if node.snmp and snmp_module(daemon):
        # OSPF-MIB, BGP4-MIB: the daemon is an AgentX sub-agent of the node's snmpd. net-snmp reads the
        # socket path from "frr.conf" in SNMPCONFPATH (a net-snmp file, not FRR's config).
        argv += ["-M", "snmp"]
        env = {"SNMPCONFPATH": str(_snmp_conf_dir(state, node))}
    netns.run(netns.in_node(node.namespace, state.uts(node.name), argv), timeout=20, env=env)
    netns.wait_for(lambda: netns.read_pid(pidfile) is not None, 10, f"{daemon} on {node.name}")
    pid = netns.read_pid(pidfile)
    assert pid is not None
    return Proc(node=node.name, name=daemon, pid=pid, pidfile=str(pidfile))


def _snmp_conf_dir(state: LabState, node: PlannedNode) -> Path:
    path = state.node_dir(node.name) / "snmp-agentx"
    if not path.exists():
        path.mkdir(parents=True)
        (path / "frr.conf").write_text(
            f"agentXSocket unix:{state.node_dir(node.name) / 'agentx.sock'}\nagentXPingInterval 2\n"
        )
    return path


def prepare(state: LabState, node: PlannedNode, fast: bool = True) -> Path:
    """Write the node's FRR config dir and run dir; returns the config dir."""
    rundir = node_run_dir(node)
    rundir.mkdir(parents=True, exist_ok=True)
    shutil.chown(rundir, "frr", "frrvty")
    rundir.chmod(0o775)
    # vtysh -N appends the pathspace name to --config_dir: the files live one level down.
    conf_dir = state.node_dir(node.name) / "frr"
    (conf_dir / node.namespace).mkdir(parents=True, exist_ok=True)
    log_dir = state.node_dir(node.name) / "log"
    log_dir.mkdir(parents=True, exist_ok=True)
    shutil.chown(log_dir, "frr", "frr")
    log_file = log_dir / "frr.log"
    log_file.touch()
    shutil.chown(log_file, "frr", "frr")
    (conf_dir / node.namespace / "frr.conf").write_text(render(state.plan, node, log_file, fast))
    (conf_dir / node.namespace / "vtysh.conf").write_text("")
    # Interactive vtysh -N (the SSH login shell) reads /etc/frr/<pathspace>/vtysh.conf and complains if absent.
    etc = FRR_ETC / node.namespace
    etc.mkdir(exist_ok=True)
    etc.chmod(0o755)
    (etc / "vtysh.conf").write_text("")
    shutil.chown(etc / "vtysh.conf", "frr", "frrvty")
    (etc / "vtysh.conf").chmod(0o640)
    return conf_dir


def start(state: LabState, node: PlannedNode, fast: bool = True) -> list[Proc]:
    """Start zebra, staticd, ospfd, bgpd as configured, then load the config through vtysh."""
    conf_dir = prepare(state, node, fast)
    procs = [start_daemon(state, node, d) for d in daemons(node)]
    load_config(state, node, conf_dir)
    return procs


def vty_ready(node: PlannedNode) -> bool:
    rundir = node_run_dir(node)
    return all((rundir / f"{d}.vty").exists() for d in daemons(node))


def load_config(state: LabState, node: PlannedNode, conf_dir: Path | None = None) -> None:
    """Apply frr.conf to the running daemons (``vtysh -b``); idempotent."""
    conf_dir = conf_dir or state.node_dir(node.name) / "frr"
    netns.wait_for(lambda: vty_ready(node), 15, f"FRR vty sockets on {node.name}")
    netns.run(
        ["vtysh", "-N", node.namespace, "--config_dir", str(conf_dir), "-b"],
        check=False,
        timeout=30,
        env={"HOME": str(conf_dir)},
    )


def vtysh(node: PlannedNode, *commands: str, timeout: float = 15) -> str:
    """Run vtysh commands on the node from the host (not over SSH); returns the output."""
    argv = ["vtysh", "-N", node.namespace]
    for c in commands:
        argv += ["-c", c]
    return netns.run(argv, timeout=timeout, env={"HOME": "/tmp"}).stdout


def cleanup(namespace: str) -> None:
    """Remove a node's FRR run dir (sockets, pidfiles)."""
    shutil.rmtree(FRR_RUN / namespace, ignore_errors=True)
    shutil.rmtree(FRR_ETC / namespace, ignore_errors=True)


def cleanup_shared() -> None:
    """ospfd writes a shared graceful-restart file; drop it when no FRR pathspace is left."""
    if FRR_RUN.exists() and not any(p.is_dir() for p in FRR_RUN.iterdir()):
        (FRR_RUN / "ospfd-gr.json").unlink(missing_ok=True)
