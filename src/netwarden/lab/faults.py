"""Faults: break the lab on purpose, record it in the state file, and undo it with ``heal``.

Impairment: where the kernel has ``netem`` it is used for loss, delay and
jitter. This kernel has none, so loss is an nftables ``netdev`` egress rule
(``numgen random``) and delay/jitter a user-space relay
(:mod:`netwarden.lab.relay`) fed by an nftables ``fwd to`` a TAP device. The
mechanism in use is detected per fault and reported.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

from netwarden.errors import InvalidInput, LabError
from netwarden.lab import build, frr, health, netns, services, snmp, ssh, vpn
from netwarden.lab.plan import PlannedLink, PlannedNode
from netwarden.lab.relay import RELAY_MARK
from netwarden.lab.state import Fault, LabState, Proc

log = logging.getLogger(__name__)
IMPAIR_TABLE = "nwimpair"
FAULT_PROCS = ("cpu-hog",)
BRUTE_USERS = ("admin", "root", "oracle", "test", "ubuntu")


def find_links(state: LabState, a: str, b: str) -> list[PlannedLink]:
    """Links between A and B; either may be NODE:IFACE to pick one of several parallel links."""
    an, _, ap = a.partition(":")
    bn, _, bp = b.partition(":")
    state.plan.node(an), state.plan.node(bn)
    out = []
    for link in state.plan.links:
        for x, xp, y, yp in ((link.a, link.a_port, link.b, link.b_port), (link.b, link.b_port, link.a, link.a_port)):
            if x == an and y == bn and (not ap or ap == xp) and (not bp or bp == yp):
                out.append(link)
    if not out:
        raise InvalidInput(f"no link between {a} and {b}")
    return out


def _ends(link: PlannedLink) -> list[tuple[str, str]]:
    return [(link.a, link.a_port), (link.b, link.b_port)]


def _record(state: LabState, kind: str, args: list[str], **detail: Any) -> Fault:
    fault = Fault(kind=kind, args=args, detail=detail)
    state.faults.append(fault)
    state.save()
    return fault


def _drop(state: LabState, kind: str, args: list[str] | None = None) -> None:
    state.faults = [f for f in state.faults if not (f.kind == kind and (args is None or f.args == args))]
    state.save()


def _restore_routes(state: LabState, node: PlannedNode) -> None:
    # A downed interface takes its kernel routes with it; FRR re-installs its own, hosts need their default back.
    if node.gateway is not None:
        netns.run(["ip", "-n", node.namespace, "route", "replace", "default", "via", str(node.gateway)], check=False)


def link_down(state: LabState, a: str, b: str) -> Fault:
    links = find_links(state, a, b)
    for link in links:
        for node, port in _ends(link):
            build.iface_up(state, node, port, False)
    for link in links:
        for node, port in _ends(link):
            _wait_zebra_saw(state.plan.node(node), port, up=False)
    return _record(state, "link-down", [a, b], links=[f"{x.a}:{x.a_port}--{x.b}:{x.b_port}" for x in links])


def _wait_zebra_saw(node: PlannedNode, port: str, up: bool, timeout: float = 5.0) -> None:
    """Wait until the node's zebra has taken in the port's new state.

    FRR 8.x zebra handles a down and an up of one port in the same batch as "no change" and never
    puts back the routes the kernel dropped with the down (routes shown installed, missing from
    the kernel): a link-down healed a moment later left the stub site without routes. Waiting for
    zebra to see the down first makes the up a change of its own.
    """
    if not (node.routes or node.ospf_area is not None):
        return

    def seen() -> bool:
        try:
            doc = json.loads(frr.vtysh(node, f"show interface {port} json", timeout=5) or "{}")
        except (LabError, ValueError):
            return False
        info = doc.get(port) or {}
        # zebra's JSON: administrativeStatus always; operationalStatus only while the port is admin up
        states = {str(info.get("administrativeStatus", "")).lower(), str(info.get("operationalStatus", "")).lower()}
        return states == {"up"} if up else "down" in states

    try:
        netns.wait_for(seen, timeout, f"zebra on {node.name} to see {port} {'up' if up else 'down'}", interval=0.05)
    except LabError as exc:  # the fault still stands; only the heal may be slower
        log.warning("lab %s", exc)


def link_up(state: LabState, a: str, b: str) -> None:
    for link in find_links(state, a, b):
        for node, port in _ends(link):
            build.iface_up(state, node, port, True)
            _restore_routes(state, state.plan.node(node))
    state.faults = [f for f in state.faults if not (f.kind == "link-down" and set(f.args) == {a, b})]
    state.save()


def node_down(state: LabState, name: str) -> Fault:
    """Every interface of the node down and every process in it stopped."""
    node = state.plan.node(name)
    netns.stop_pids(netns.ns_pids(node.namespace), grace=1.5)
    for iface in [*(i.name for i in node.ifaces), "mgmt0"]:
        netns.run(["ip", "-n", node.namespace, "link", "set", iface, "down"], check=False)
    for tunnel in state.plan.vpns:
        if name in (tunnel.a, tunnel.b):
            netns.run(["ip", "-n", node.namespace, "link", "del", _tunnel_if(tunnel, name)], check=False)
    return _record(state, "node-down", [name])


def _tunnel_if(tunnel: Any, name: str) -> str:
    return str(tunnel.a_ifname if tunnel.a == name else tunnel.b_ifname)


def node_up(state: LabState, name: str) -> None:
    from netwarden.lab.runner import start_node

    node = state.plan.node(name)
    netns.run(["ip", "-n", node.namespace, "link", "set", "mgmt0", "up"], check=False)
    for iface in node.ifaces:
        netns.run(["ip", "-n", node.namespace, "link", "set", iface.name, "up"], check=False)
    _restore_routes(state, node)
    state.processes = [p for p in state.processes if p.node != name]
    state.processes += start_node(state, node)
    for tunnel in state.plan.vpns:
        if name in (tunnel.a, tunnel.b):
            _restart_vpn(state, tunnel)
    state.processes += services.start_traffic(state, node)
    _drop(state, "node-down", [name])


def _restart_vpn(state: LabState, tunnel: Any) -> None:
    names = {f"wireguard-go:{tunnel.a_ifname}", f"wireguard-go:{tunnel.b_ifname}"}
    old = [p for p in state.processes if p.name in names]
    netns.stop_pids([p.pid for p in old], group=True)
    for end, ifname in ((tunnel.a, tunnel.a_ifname), (tunnel.b, tunnel.b_ifname)):
        netns.run(["ip", "-n", state.plan.node(end).namespace, "link", "del", ifname], check=False)
    state.processes = [p for p in state.processes if p.name not in names]
    state.processes += vpn.start(state, tunnel)


def delay_mechanism(namespace: str, iface: str) -> str:
    """'netem' when the kernel can add a netem qdisc on the interface, else 'nftables+relay'."""
    probe = netns.run(
        ["ip", "netns", "exec", namespace, "tc", "qdisc", "add", "dev", iface, "root", "netem"], check=False
    )
    if probe.returncode == 0:
        netns.run(["ip", "netns", "exec", namespace, "tc", "qdisc", "del", "dev", iface, "root"], check=False)
        return "netem"
    return "nftables+relay"


def netem(state: LabState, a: str, b: str, loss: float = 0.0, delay: float = 0.0, jitter: float = 0.0) -> Fault:
    """Loss (percent), delay and jitter (ms) on both directions of the link(s) between A and B."""
    if not 0 <= loss <= 100 or delay < 0 or jitter < 0:
        raise InvalidInput("loss must be 0-100 %, delay and jitter >= 0 ms")
    if jitter and not delay:
        raise InvalidInput("jitter needs a delay (--delay MS)")
    if not loss and not delay:
        raise InvalidInput("netem needs --loss PCT and/or --delay MS")
    links = find_links(state, a, b)
    clear_netem(state, a, b)
    mechanism = ""
    ends = []
    for link in links:
        for name, port in _ends(link):
            node = state.plan.node(name)
            mechanism = delay_mechanism(node.namespace, port)
            if mechanism == "netem":
                _apply_netem(node, port, loss, delay, jitter)
            else:
                _apply_nft(state, node, port, loss, delay, jitter)
            ends.append(f"{name}:{port}")
    state.delay_mechanism = mechanism
    return _record(state, "netem", [a, b], ends=ends, loss=loss, delay_ms=delay, jitter_ms=jitter, mechanism=mechanism)


def _apply_netem(node: PlannedNode, port: str, loss: float, delay: float, jitter: float) -> None:
    argv = ["ip", "netns", "exec", node.namespace, "tc", "qdisc", "replace", "dev", port, "root", "netem"]
    if delay:
        argv += ["delay", f"{delay}ms"] + ([f"{jitter}ms"] if jitter else [])
    if loss:
        argv += ["loss", f"{loss}%"]
    netns.run(argv)


def _tap(port: str) -> str:
    return f"nwd{port}"


def _apply_nft(state: LabState, node: PlannedNode, port: str, loss: float, delay: float, jitter: float) -> None:
    rules = [f"meta mark {RELAY_MARK:#x} accept"]
    if loss:
        # numgen gives 0..99; "< PCT" drops PCT percent. Only IP: ARP loss would add its own, larger, outages.
        rules.append(f"meta protocol ip numgen random mod 100 < {round(loss)} counter drop")
    if delay:
        tap = _tap(port)
        argv = [sys.executable, "-m", "netwarden.lab.relay", "--dev", port, "--tap", tap, "--delay", str(delay)]
        argv += ["--jitter", str(jitter)]
        pid = netns.spawn(
            ["ip", "netns", "exec", node.namespace, *argv], state.node_dir(node.name) / "log" / f"relay-{port}.log"
        )
        state.processes.append(Proc(node=node.name, name=f"relay:{port}", pid=pid, group=True))
        netns.wait_for(
            lambda: netns.run(["ip", "-n", node.namespace, "link", "show", tap], check=False).returncode == 0,
            10,
            f"the delay relay on {node.name}:{port}",
        )
        rules.append(f'fwd to "{tap}"')
    chain = f"eg_{port}"
    script = (
        f"table netdev {IMPAIR_TABLE} {{}}\n"
        f'add chain netdev {IMPAIR_TABLE} {chain} {{ type filter hook egress device "{port}" priority 0; }}\n'
        + "".join(f"add rule netdev {IMPAIR_TABLE} {chain} {r}\n" for r in rules)
    )
    netns.run(["ip", "netns", "exec", node.namespace, "nft", "-f", "-"], input=script)


def clear_netem(state: LabState, a: str, b: str) -> None:
    for link in find_links(state, a, b):
        for name, port in _ends(link):
            _clear_end(state, state.plan.node(name), port)
    state.faults = [f for f in state.faults if not (f.kind == "netem" and set(f.args) == {a, b})]
    state.save()


def _clear_end(state: LabState, node: PlannedNode, port: str) -> None:
    netns.run(["ip", "netns", "exec", node.namespace, "tc", "qdisc", "del", "dev", port, "root"], check=False)
    netns.run(
        ["ip", "netns", "exec", node.namespace, "nft", "delete", "chain", "netdev", IMPAIR_TABLE, f"eg_{port}"],
        check=False,
    )
    relays = state.procs(node.name, f"relay:{port}")
    netns.stop_pids([p.pid for p in relays], group=True)
    state.processes = [p for p in state.processes if p not in relays]


def daemon_names(state: LabState, node: str) -> list[str]:
    return [p.name for p in state.procs(node) if p.pidfile]


def daemon_stop(state: LabState, node: str, daemon: str) -> Fault:
    procs = [p for p in state.procs(node, daemon) if p.pidfile]
    if not procs:
        raise InvalidInput(f"{node} runs no daemon {daemon!r} (it runs: {', '.join(daemon_names(state, node))})")
    for proc in procs:
        pid = netns.read_pid(_path(proc.pidfile)) or proc.pid
        netns.stop_pids([pid])
    return _record(state, "daemon-stop", [node, daemon])


def _path(p: str | None) -> Path:
    return Path(p or "/nonexistent")


def daemon_start(state: LabState, node_name: str, daemon: str) -> None:
    node = state.plan.node(node_name)
    if daemon not in daemon_names(state, node_name):
        raise InvalidInput(
            f"{node_name} has no daemon {daemon!r} (it has: {', '.join(daemon_names(state, node_name))})"
        )
    proc = next(p for p in state.procs(node_name, daemon) if p.pidfile)
    pid = netns.read_pid(_path(proc.pidfile))
    if pid is None or not netns.alive(pid):
        new = _start_daemon(state, node, daemon)
        state.processes = [p for p in state.processes if p is not proc] + [new]
    _drop(state, "daemon-stop", [node_name, daemon])


def _start_daemon(state: LabState, node: PlannedNode, daemon: str) -> Proc:
    if daemon in frr.daemons(node):
        proc = frr.start_daemon(state, node, daemon)
        frr.load_config(state, node)
        return proc
    starters = {
        "snmpd": snmp.start_snmpd,
        "lldpd": snmp.start_lldpd,
        "sshd": ssh.start,
        "nginx": services.start_nginx,
        "dnsmasq": services.start_dnsmasq,
    }
    started = starters[daemon](state, node)
    if started is None:
        raise LabError(f"{daemon} did not start on {node.name}")
    return started


def config_change(state: LabState, name: str) -> Fault:
    """A real change to a router's running config: an interface description and a prefix-list."""
    node = state.plan.node(name)
    if not node.routes:
        raise InvalidInput(f"{name} is a {node.kind}; config-change needs a router or firewall")
    count = sum(1 for f in state.faults if f.kind == "config-change") + 1
    iface = next((i.name for i in node.ifaces if i.address is not None), "lo")
    text = f"changed by netwarden lab fault {count}"
    frr.vtysh(
        node,
        "configure terminal",
        f"interface {iface}",
        f"description {text}",
        "exit",
        f"ip prefix-list NWLAB-CHANGE seq {5 * count} permit 192.0.2.{count % 250}/32",
    )
    return _record(state, "config-change", [name], iface=iface, description=text)


def _revert_config(state: LabState, fault: Fault) -> None:
    node = state.plan.node(fault.args[0])
    frr.vtysh(
        node, "configure terminal", f"interface {fault.detail['iface']}", "no description", "exit",
        "no ip prefix-list NWLAB-CHANGE",
    )  # fmt: skip


def cpu_hog(state: LabState, name: str, seconds: int = 60) -> Fault:
    """One busy loop in the node that ends by itself after ``seconds`` (at most an hour)."""
    if not 1 <= seconds <= 3600:
        raise InvalidInput("cpu-hog lasts 1-3600 seconds")
    node = state.plan.node(name)
    argv = netns.in_node(node.namespace, state.uts(name), ["timeout", str(seconds), "sh", "-c", "while :; do :; done"])
    pid = netns.spawn(argv, state.node_dir(name) / "log" / "cpu-hog.log")
    state.processes.append(Proc(node=name, name="cpu-hog", pid=pid, group=True))
    return _record(state, "cpu-hog", [name], seconds=seconds, pid=pid)


def _target_address(state: LabState, target: str) -> str:
    node = state.plan.node(target)
    if node.primary is None:
        raise InvalidInput(f"{target} has no data-plane address")
    return str(node.primary)


def ssh_bruteforce(state: LabState, host: str, target: str, attempts: int = 20) -> Fault:
    """A bounded burst of failed SSH logins from ``host`` to ``target`` (wrong users and passwords)."""
    if not 1 <= attempts <= 500:
        raise InvalidInput("ssh-bruteforce makes 1-500 attempts")
    src = state.plan.node(host)
    addr = _target_address(state, target)
    users = [*BRUTE_USERS, state.ssh_user]
    lines = []
    for i in range(attempts):
        user = users[i % len(users)]
        lines.append(
            f"SSHPASS=wrong-{i} timeout 5 sshpass -e ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
            f" -o PreferredAuthentications=password -o PubkeyAuthentication=no -o ConnectTimeout=3"
            f" -o NumberOfPasswordPrompts=1 -o LogLevel=QUIET {user}@{addr} true"
        )
    script = "\n".join(f"{line} </dev/null >/dev/null 2>&1" for line in lines) + "\n"
    netns.run(netns.in_node(src.namespace, state.uts(host), ["sh", "-c", script]), check=False, timeout=10 * attempts)
    return _record(state, "ssh-bruteforce", [host, target], attempts=attempts, target_address=addr)


def port_scan(state: LabState, host: str, target: str, ports: str = "1-1024") -> Fault:
    """A bounded TCP connect scan from ``host`` to ``target``; records the open ports found."""
    src = state.plan.node(host)
    addr = _target_address(state, target)
    argv = [sys.executable, "-m", "netwarden.lab.scan", addr, "--ports", ports]
    proc = netns.run(["ip", "netns", "exec", src.namespace, *argv], timeout=120)
    open_ports = [int(p) for p in proc.stdout.split() if p.isdigit()]
    return _record(state, "port-scan", [host, target], ports=ports, open=open_ports, target_address=addr)


def heal(state: LabState, timeout: float = 30) -> dict[str, Any]:
    """Undo every recorded fault, restart any daemon that is down, and wait for routing to converge."""
    undone = []
    for fault in list(reversed(state.faults)):
        if fault.kind == "link-down":
            link_up(state, *fault.args)
        elif fault.kind == "node-down":
            node_up(state, fault.args[0])
        elif fault.kind == "netem":
            clear_netem(state, *fault.args)
        elif fault.kind == "config-change":
            _revert_config(state, fault)
        elif fault.kind == "cpu-hog":
            hogs = [p for p in state.processes if p.name == "cpu-hog" and p.node == fault.args[0]]
            netns.stop_pids([p.pid for p in hogs], group=True)
            state.processes = [p for p in state.processes if p not in hogs]
        undone.append(fault.kind)
    state.faults = []
    _baseline(state)
    state.save()
    seconds = health.wait_converged(state, timeout, lldp=True)
    state.converged = True
    state.save()
    return {"healed": undone, "converge_seconds": round(seconds, 2)}


def _baseline(state: LabState) -> None:
    """Every interface up, every host route back, every recorded daemon alive."""
    for node in state.plan.nodes:
        cmds = ["link set mgmt0 up"] + [f"link set {i.name} up" for i in node.ifaces]
        netns.batch(node.namespace, cmds)
        _restore_routes(state, node)
    for proc in list(state.processes):
        if proc.pidfile:
            pid = netns.read_pid(_path(proc.pidfile))
            if pid is None or not netns.alive(pid):
                log.info("restarting %s on %s", proc.name, proc.node)
                new = _start_daemon(state, state.plan.node(proc.node), proc.name)
                state.processes = [p for p in state.processes if p is not proc] + [new]
