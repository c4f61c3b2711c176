"""``lab up``, ``lab status`` and ``lab down``: build, describe and remove a lab.

``up`` writes the state file before it makes anything and after every step,
so that ``down`` (state file first, then a sweep of everything named with the
prefix) removes a half-built lab as well as a finished one.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from netwarden.errors import LabError
from netwarden.lab import build, firewall, frr, health, netns, services, snmp, ssh, syslog, vpn
from netwarden.lab import credentials as lab_credentials
from netwarden.lab.plan import Plan, PlannedNode, make_plan
from netwarden.lab.state import RUN_ROOT, LabState, Proc, lab_dir, load_state, require_state
from netwarden.lab.topology import Topology, load_topology

log = logging.getLogger(__name__)
Progress = Callable[[str, int, int], None]
DEFAULT_PREFIX = "nwlab"


def _noop(step: str, done: int, total: int) -> None:
    return None


def start_node(state: LabState, node: PlannedNode, fast: bool = True) -> list[Proc]:
    """Start every daemon of one node (also used by ``node-up``); returns the processes."""
    procs: list[Proc] = []
    if node.kind == "firewall":
        procs += firewall.start(state, node)
    # snmpd first: FRR's and lldpd's AgentX sub-agents connect to it when they start.
    if node.snmp:
        procs.append(snmp.start_snmpd(state, node))
    if node.routes:
        procs += frr.start(state, node, fast)
    if node.lldp:
        lldpd = snmp.start_lldpd(state, node)
        if lldpd is not None:
            procs.append(lldpd)
    if node.ssh:
        procs.append(ssh.start(state, node))
    if node.kind == "server":
        procs += services.start_server(state, node)
    procs += syslog.start(state, node)
    return procs


def up(
    topology: Topology | None = None,
    *,
    prefix: str = DEFAULT_PREFIX,
    mgmt_cidr: ipaddress.IPv4Network | None = None,
    syslog_target: tuple[ipaddress.IPv4Address, int] | None = None,
    fast_timers: bool = True,
    traffic: bool = True,
    timeout: float = 120,
    data_dir: Path | None = None,
    store_credentials: bool = True,
    progress: Progress = _noop,
) -> LabState:
    """Build the lab and wait until routing converged; returns its state (also saved to disk)."""
    netns.require_root()
    topo = topology or load_topology()
    plan = make_plan(topo, prefix, mgmt_cidr)
    if syslog_target is not None:
        plan.syslog_collector, plan.syslog_port = syslog_target
    netns.require_tools(["wireguard-go", "wg"] if plan.vpns else [])
    _refuse_running(prefix)
    check_kernel(plan)
    build.check_mgmt_free(plan)
    state = _new_state(plan)
    try:
        _build(state, fast_timers, traffic, timeout, progress)
    except BaseException:
        state.phase = "failed"
        state.save()
        raise
    state.credentials_file = str(lab_credentials.write_file(state))
    state.save()
    if store_credentials:
        try:
            stored = lab_credentials.store(state, data_dir)
            if stored:
                log.info("lab credentials stored as %s", ", ".join(stored))
        except Exception as exc:  # the lab is up; a store problem must not tear it down
            log.warning("could not store the lab credentials: %s", exc)
    return state


def _refuse_running(prefix: str) -> None:
    existing = load_state(prefix)
    if existing is not None and netns.namespaces(prefix):
        raise LabError(f"lab '{prefix}' is already up; 'netwarden lab down' first, or pick another --prefix")
    if netns.namespaces(prefix) or netns.host_links(prefix) or lab_dir(prefix).exists():
        log.warning("leftovers of lab %s found: sweeping them first", prefix)
        down(prefix)


def check_kernel(plan: Plan) -> None:
    """Say plainly what the topology needs that this kernel lacks, before building anything."""
    if plan.vpns and not Path("/dev/net/tun").exists():
        raise LabError("the topology has a VPN (wireguard-go) but /dev/net/tun is missing")


def _new_state(plan: Plan) -> LabState:
    run_dir = lab_dir(plan.prefix)
    (run_dir / "nodes").mkdir(parents=True, exist_ok=True)
    (run_dir / "uts").mkdir(exist_ok=True)
    run_dir.chmod(0o755)
    state = LabState(
        prefix=plan.prefix,
        run_dir=str(run_dir),
        plan=plan,
        ssh_user=plan.prefix,
        ssh_password=secrets.token_urlsafe(12),
        community=f"{plan.prefix}-{secrets.token_hex(4)}",
    )
    state.save()
    return state


def _build(state: LabState, fast: bool, traffic: bool, timeout: float, progress: Progress) -> None:
    plan = state.plan
    nodes = plan.nodes
    total = 5
    progress("management bridge", 0, total)
    build.bridge(plan)
    state.created_user = ssh.ensure_user(state)
    state.save()
    workers = min(16, max(2, len(nodes)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        progress(f"{len(nodes)} namespaces", 1, total)
        list(pool.map(lambda n: build.node_ns(state, n), nodes))
        build.links(state)
        list(pool.map(lambda n: build.node_addresses(state, n), nodes))
        progress("daemons (FRR, snmpd, lldpd, sshd)", 2, total)
        for procs in pool.map(lambda n: start_node(state, n, fast), nodes):
            state.processes += procs
        state.save()
    for tunnel in plan.vpns:
        state.processes += vpn.start(state, tunnel)
    state.phase = "converging"
    state.save()
    routers = sum(1 for n in nodes if n.routes)
    progress(f"routing convergence (0/{routers} routers)", 3, total)
    seconds = health.wait_converged(
        state,
        timeout,
        lambda done, all_: progress(f"routing and LLDP convergence ({done}/{all_} nodes)", 3, total),
        lldp=True,
    )
    state.converged, state.converge_seconds = True, round(seconds, 2)
    if traffic:
        for node in nodes:
            state.processes += services.start_traffic(state, node)
    state.phase = "up"
    state.save()
    progress("up", total, total)


def status(prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """The contract shape (converged, mgmt_cidr, nodes, links) plus daemon health, faults, timings."""
    netns.require_root()
    state = require_state(prefix)
    return describe(state, live=True)


def describe(state: LabState, live: bool = True) -> dict[str, Any]:
    plan = state.plan
    converged = state.converged
    daemons: dict[str, dict[str, str]] = {}
    link_state: dict[tuple[str, str], bool] = {}
    if live:
        converged = not health.unconverged(state)
        daemons = health.daemon_health(state)
        link_state = _link_state(state)
    return {
        "converged": converged,
        "mgmt_cidr": str(plan.mgmt_cidr),
        "nodes": [
            {
                "name": n.name,
                "kind": n.kind,
                "namespace": n.namespace,
                "mgmt_ip": str(n.mgmt_ip),
                "platform": n.platform,
                "site": n.site,
                "address": str(n.primary) if n.primary else None,
                "daemons": daemons.get(n.name, {}),
            }
            for n in plan.nodes
        ],
        "links": [
            {
                "a": link.a,
                "a_port": link.a_port,
                "b": link.b,
                "b_port": link.b_port,
                "subnet": str(plan.segments[link.segment]),
                "up": link_state.get((link.a, link.a_port), True) and link_state.get((link.b, link.b_port), True),
            }
            for link in plan.links
        ],
        "prefix": state.prefix,
        "phase": state.phase,
        "converge_seconds": state.converge_seconds,
        "vpns": [{"name": v.name, "a": v.a, "b": v.b, "a_iface": v.a_ifname, "b_iface": v.b_ifname} for v in plan.vpns],
        "faults": [f.model_dump() for f in state.faults],
        "syslog": f"{plan.syslog_collector}:{plan.syslog_port}",
        "credentials_file": state.credentials_file,
    }


def _link_state(state: LabState) -> dict[tuple[str, str], bool]:
    import json

    out: dict[tuple[str, str], bool] = {}
    for node in state.plan.nodes:
        proc = netns.run(["ip", "-n", node.namespace, "-j", "link", "show"], check=False)
        try:
            for entry in json.loads(proc.stdout or "[]"):
                out[(node.name, entry.get("ifname", ""))] = "UP" in entry.get("flags", [])
        except ValueError:
            continue
    return out


def down(prefix: str = DEFAULT_PREFIX) -> dict[str, Any]:
    """Remove every namespace, link, process, user and file of the lab; idempotent, works after a crash."""
    netns.require_root()
    removed: dict[str, int] = {"processes": 0, "namespaces": 0, "links": 0}
    state = None
    try:
        state = load_state(prefix)
    except LabError as exc:
        log.warning("%s", exc)
    if state is not None:
        pids = []
        for proc in state.processes:
            pid = netns.read_pid(Path(proc.pidfile)) if proc.pidfile else proc.pid
            if pid and netns.alive(pid):
                pids.append(pid)
        netns.stop_pids(pids, grace=1.5)
        removed["processes"] += len(pids)
    namespaces = netns.namespaces(prefix)
    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(_remove_ns, namespaces))
    removed["processes"] += sum(counts)
    removed["namespaces"] = len(namespaces)
    # The host end of a veth outlives ``ip netns del`` for a moment: delete what is left explicitly.
    for name in netns.host_links(prefix):
        netns.delete_link(name)
        removed["links"] += 1
    for ns in namespaces:
        frr.cleanup(ns)
    for base in (frr.FRR_RUN, frr.FRR_ETC):
        for leftover in base.glob(f"{prefix}-*") if base.exists() else []:
            shutil.rmtree(leftover, ignore_errors=True)
    frr.cleanup_shared()
    vpn.cleanup(prefix)
    run_dir = lab_dir(prefix)
    if (run_dir / "uts").exists():
        for uts in (run_dir / "uts").iterdir():
            netns.unmount(uts)
    ssh.remove_user(state.ssh_user if state else prefix)
    shutil.rmtree(run_dir, ignore_errors=True)
    if RUN_ROOT.exists() and not any(RUN_ROOT.iterdir()):
        RUN_ROOT.rmdir()
    return {"prefix": prefix, "removed": removed}


def _remove_ns(ns: str) -> int:
    pids = netns.ns_pids(ns)
    netns.delete_node(ns)
    return len(pids)


def wait_gone(prefix: str, timeout: float = 5) -> None:
    """Poll until no host link of the lab lingers (``ip netns del`` finishes asynchronously)."""
    deadline = time.monotonic() + timeout
    while netns.host_links(prefix) and time.monotonic() < deadline:
        time.sleep(0.05)
