"""Is the lab converged, and are its daemons alive?

Converged means every router and firewall has a route (of any protocol) to
every prefix of the lab: every segment, every loopback, every tunnel. It is
read from the kernel tables (``ip -j route``), which is what forwarding uses,
so it is both cheap and honest.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from netwarden.errors import LabError
from netwarden.lab import netns
from netwarden.lab.plan import PlannedNode
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


def unconverged(state: LabState, pool: ThreadPoolExecutor | None = None) -> list[str]:
    """Names of routers that still miss a route."""
    routers = [n for n in state.plan.nodes if n.routes]
    if pool is None:
        results = [missing_routes(state, n) for n in routers]
    else:
        results = list(pool.map(lambda n: missing_routes(state, n), routers))
    return [n.name for n, miss in zip(routers, results, strict=True) if miss]


def wait_converged(state: LabState, timeout: float, progress: Callable[[int, int], None] | None = None) -> float:
    """Poll until every router has every route; returns the seconds it took. LabError on timeout."""
    start = time.monotonic()
    total = sum(1 for n in state.plan.nodes if n.routes)
    with ThreadPoolExecutor(max_workers=8) as pool:
        while True:
            left = unconverged(state, pool)
            if progress:
                progress(total - len(left), total)
            if not left:
                return time.monotonic() - start
            if time.monotonic() - start > timeout:
                raise LabError(
                    f"routing did not converge within {timeout:.0f} s (still missing routes: {', '.join(left[:8])}); "
                    "see 'netwarden lab status'"
                )
            time.sleep(0.1)


def daemon_health(state: LabState) -> dict[str, dict[str, str]]:
    """node -> daemon -> "up" | "down"."""
    out: dict[str, dict[str, str]] = {n.name: {} for n in state.plan.nodes}
    for proc in state.processes:
        pid = netns.read_pid(Path(proc.pidfile)) if proc.pidfile else proc.pid
        out.setdefault(proc.node, {})[proc.name] = "up" if pid and netns.alive(pid) else "down"
    return out
