"""Is the lab converged, and are its daemons alive?

Converged means every router and firewall has a route (of any protocol) to
every prefix of the lab: every segment, every loopback, every tunnel. It is
read from the kernel tables (``ip -j route``), which is what forwarding uses,
so it is both cheap and honest.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from netwarden.errors import LabError
from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
from netwarden.lab.snmp import lldp_ifaces
from netwarden.lab.state import LabState


def kernel_prefixes(node: PlannedNode) -> set[ipaddress.IPv4Network]:
    proc = netns.run(["ip", "-n", node.namespace, "-j", "route", "show"], check=False)
    out: set[ipaddress.IPv4Network] = set()
    try:
        routes = json.loads(proc.stdout or "[]")
    except json.JSONDecodeError:
        return out
    for route in routes:
        dst = route.get("dst", "")
        if dst and dst != "default":
            try:
                out.add(ipaddress.IPv4Network(dst if "/" in dst else f"{dst}/32", strict=False))
            except ValueError:
                continue
    return out


def missing_routes(state: LabState, node: PlannedNode) -> list[ipaddress.IPv4Network]:
    expected = state.plan.expected_prefixes()
    have = kernel_prefixes(node)
    local = {ipaddress.IPv4Network(f"{node.loopback}/32")} if node.loopback else set()
    return [p for p in expected if p not in have and p not in local]


def expected_ospf_neighbors(state: LabState, node: PlannedNode) -> set[str]:
    """Router IDs (loopbacks) of the OSPF speakers this node should be fully adjacent to."""
    out: set[str] = set()
    if node.ospf_area is None:
        return out
    for iface in node.ifaces:
        if not iface.ospf_active:
            continue
        for peer in iface.peers:
            other = state.plan.node(peer.partition(":")[0])
            if other.ospf_area == node.ospf_area and other.loopback is not None:
                out.add(str(other.loopback))
    return out


def _json_docs(text: str) -> list[Any]:
    decoder, docs, pos = json.JSONDecoder(), [], 0
    text = text.strip()
    while pos < len(text):
        try:
            doc, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        docs.append(doc)
        pos = end
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return docs


def missing_adjacencies(state: LabState, node: PlannedNode) -> list[str]:
    """OSPF neighbours not Full and BGP peers not Established, read from the node's FRR."""
    want_ospf = expected_ospf_neighbors(state, node)
    want_bgp = {str(n.address) for n in node.neighbors}
    if not want_ospf and not want_bgp:
        return []
    commands = []
    if want_ospf:
        commands += ["-c", "show ip ospf neighbor json"]
    if want_bgp:
        commands += ["-c", "show bgp summary json"]
    proc = netns.run(["vtysh", "-N", node.namespace, *commands], check=False, timeout=10, env={"HOME": str(state.dir)})
    docs = _json_docs(proc.stdout)
    full: set[str] = set()
    established: set[str] = set()
    for doc in docs:
        if not isinstance(doc, dict):
            continue
        for rid, entries in (doc.get("neighbors") or {}).items():
            if any(str(e.get("state", "")).startswith("Full") for e in entries):
                full.add(rid)
        for addr, peer in ((doc.get("ipv4Unicast") or {}).get("peers") or {}).items():
            if peer.get("state") == "Established":
                established.add(addr)
    return sorted((want_ospf - full) | (want_bgp - established))


def missing_lldp(state: LabState, node: PlannedNode) -> list[str]:
    """Linked ports of ``node`` on which lldpd has no neighbour yet (``lldp eth1``).

    Only links with lldpd at both ends count (a node can turn LLDP off in the topology file).
    """
    if not node.lldp:
        return []
    talks = {n.name for n in state.plan.nodes if n.lldp}
    linked = {lk.a_port for lk in state.plan.links if lk.a == node.name and lk.b in talks}
    linked |= {lk.b_port for lk in state.plan.links if lk.b == node.name and lk.a in talks}
    ports = sorted(linked & set(lldp_ifaces(node)))
    if not ports:
        return []
    sock = state.node_dir(node.name) / "lldpd.sock"
    proc = netns.run(["lldpcli", "-u", str(sock), "show", "neighbors", "-f", "keyvalue"], check=False, timeout=10)
    seen = {line.split(".", 2)[1] for line in proc.stdout.splitlines() if line.startswith("lldp.") and "." in line[5:]}
    return [f"lldp {port}" for port in ports if port not in seen]


def _node_unconverged(state: LabState, node: PlannedNode, lldp: bool = False) -> bool:
    if lldp and missing_lldp(state, node):
        return True
    if not node.routes:
        return False
    return bool(missing_routes(state, node)) or bool(missing_adjacencies(state, node))


def unconverged(state: LabState, pool: ThreadPoolExecutor | None = None, *, lldp: bool = False) -> list[str]:
    """Names of routers that still miss a route, an OSPF adjacency or a BGP session.

    With ``lldp``, also nodes with a linked port where LLDP has not yet seen the neighbour: discovery
    right after ``up`` or ``heal`` then finds every link.
    """
    nodes = [n for n in state.plan.nodes if n.routes or lldp]
    if pool is None:
        results = [_node_unconverged(state, n, lldp) for n in nodes]
    else:
        results = list(pool.map(lambda n: _node_unconverged(state, n, lldp), nodes))
    return [n.name for n, bad in zip(nodes, results, strict=True) if bad]


# FRR 8.4's zebra sometimes leaves routes it shows as installed out of the kernel after a port
# flaps (its view and the kernel's disagree until the routes change again; FRR issue #14160 and
# PRs #13413/#18722). A node still short of routes this long after a heal gets its OSPF process
# restarted once, which withdraws and re-installs every route.
NUDGE_AFTER = 5.0


def _nudge(node: PlannedNode) -> None:
    if node.ospf_area is None or not missing_kernel_only(node):
        return
    from netwarden.lab import frr

    with contextlib.suppress(LabError):
        frr.vtysh(node, "clear ip ospf process", timeout=10)


def missing_kernel_only(node: PlannedNode) -> bool:
    """True when zebra holds OSPF routes the kernel lacks (the desync :func:`_nudge` repairs)."""
    from netwarden.lab import frr

    try:
        rib = json.loads(frr.vtysh(node, "show ip route ospf json", timeout=10) or "{}")
    except (LabError, ValueError):
        return False
    installed = {ipaddress.IPv4Network(p) for p, entries in rib.items() if any(e.get("installed") for e in entries)}
    return bool(installed - kernel_prefixes(node))


def wait_converged(
    state: LabState, timeout: float, progress: Callable[[int, int], None] | None = None, *, lldp: bool = False
) -> float:
    """Poll until every router has every route (and, with ``lldp``, every LLDP neighbour is seen).

    Returns the seconds it took; LabError on timeout.
    """
    start = time.monotonic()
    total = sum(1 for n in state.plan.nodes if n.routes or lldp)
    nudged: set[str] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            left = unconverged(state, pool, lldp=lldp)
            if progress:
                progress(total - len(left), total)
            if not left:
                return time.monotonic() - start
            if time.monotonic() - start > NUDGE_AFTER:
                for name in left:
                    if name not in nudged:
                        nudged.add(name)
                        _nudge(state.plan.node(name))
            if time.monotonic() - start > timeout:
                first = state.plan.node(left[0])
                what = [str(p) for p in missing_routes(state, first)][:4] + missing_adjacencies(state, first)[:4]
                what += missing_lldp(state, first)[:4] if lldp else []
                raise LabError(
                    f"routing did not converge within {timeout:.0f} s (not converged: {', '.join(left[:8])}; "
                    f"{first.name} misses {', '.join(what) or 'nothing now'}); see 'netwarden lab status'"
                )
            time.sleep(0.1)


def daemon_health(state: LabState) -> dict[str, dict[str, str]]:
    """node -> daemon -> "up" | "down"."""
    out: dict[str, dict[str, str]] = {n.name: {} for n in state.plan.nodes}
    for proc in state.processes:
        pid = netns.read_pid(Path(proc.pidfile)) if proc.pidfile else proc.pid
        out.setdefault(proc.node, {})[proc.name] = "up" if pid and netns.alive(pid) else "down"
    return out
