"""Lab bring-up: time to converge and memory per node, against named peers measured in the same run.

Figures:
  1. the default lab (12 nodes) up and converged, fast timers     goal < 10 s
     peer: the same lab with FRR's default timers
     floor: bare namespaces + veth links for the same topology (no daemons)
  2. a generated 50-router OSPF topology up and converged          goal < 60 s
     floor: bare namespaces + veth links for it
  3. memory per node (PSS of every process in the node's namespace), default lab

Run as root: .venv/bin/python benchmarks/lab.py [--skip-default-timers]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from netwarden.lab import netns, runner
from netwarden.lab.api import Lab
from netwarden.lab.plan import make_plan
from netwarden.lab.topology import Topology, load_topology, parse_topology

PREFIX = "nwbench"
MGMT = "198.18.110.0/24"


def generated(routers: int) -> Topology:
    """A ring of routers with a chord every fifth router (redundant paths), one host at each end."""
    lines = ["name: gen", "mgmt_cidr: 198.18.110.0/24", "nodes:"]
    lines += [f"  r{i}: {{kind: router, ospf: {{area: 0}}}}" for i in range(1, routers + 1)]
    lines += ["  h1: {kind: host}", "  h2: {kind: host}", "links:"]
    port = {i: 0 for i in range(1, routers + 1)}

    def link(a: int, b: int) -> str:
        port[a] += 1
        port[b] += 1
        return f"  - endpoints: [r{a}:eth{port[a]}, r{b}:eth{port[b]}]"

    for i in range(1, routers + 1):
        lines.append(link(i, i % routers + 1))
    for i in range(1, routers + 1 - 5, 5):
        lines.append(link(i, i + routers // 2 if i + routers // 2 <= routers else i + 5))
    port[1] += 1
    lines.append(f"  - endpoints: [r1:eth{port[1]}, h1:eth1]")
    mid = routers // 2
    port[mid] += 1
    lines.append(f"  - endpoints: [r{mid}:eth{port[mid]}, h2:eth1]")
    return parse_topology("\n".join(lines) + "\n", "generated")


def floor(topo: Topology) -> float:
    """Namespaces and veth pairs only: what any netns lab pays before a single daemon starts."""
    plan = make_plan(topo, PREFIX)
    start = time.monotonic()
    for node in plan.nodes:
        netns.run(["ip", "netns", "add", node.namespace])
    for link in plan.links:
        a, b = plan.node(link.a), plan.node(link.b)
        netns.run(
            ["ip", "-n", a.namespace, "link", "add", "name", link.a_port, "type", "veth",
             "peer", "name", link.b_port, "netns", b.namespace]
        )  # fmt: skip
    elapsed = time.monotonic() - start
    for node in plan.nodes:
        netns.run(["ip", "netns", "del", node.namespace], check=False)
    return elapsed


def timed_up(topo: Topology, fast: bool, timeout: float) -> tuple[float, float, Lab]:
    runner.down(PREFIX)
    start = time.monotonic()
    lab = Lab.start(topo, prefix=PREFIX, mgmt_cidr=MGMT, traffic=False, fast_timers=fast, timeout=timeout)
    total = time.monotonic() - start
    return total, lab.state.converge_seconds or 0.0, lab


def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(lab: Lab) -> dict[str, float]:
    """Mean PSS (MiB) per node kind: every process in the node's network namespace."""
    per_kind: dict[str, list[int]] = {}
    for node in lab.nodes:
        total = sum(pss_kib(p) for p in netns.ns_pids(node.namespace))
        per_kind.setdefault(node.kind, []).append(total)
    return {k: sum(v) / len(v) / 1024 for k, v in per_kind.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-default-timers", action="store_true", help="skip the slow default-timers peer")
    parser.add_argument("--routers", type=int, default=50)
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("benchmarks/lab.py needs root (CAP_NET_ADMIN); skipped")
        return 0
    default = load_topology()
    try:
        floor_default = floor(default)
        up_fast, conv_fast, lab = timed_up(default, fast=True, timeout=120)
        mem = memory(lab)
        lab.down()
        print(
            f"default lab ({len(default.nodes)} nodes), fast timers: up+converged {up_fast:.2f} s "
            f"(routing converged {conv_fast:.2f} s after daemons started); goal < 10 s"
        )
        print(
            f"  floor, bare netns + veth for the same topology: {floor_default:.2f} s "
            f"-> netwarden/floor = {up_fast / floor_default:.1f}x"
        )
        if not args.skip_default_timers:
            up_slow, _conv_slow, lab = timed_up(default, fast=False, timeout=300)
            lab.down()
            print(
                f"  peer, same lab with FRR default timers: up+converged {up_slow:.2f} s "
                f"-> fast/default = {up_fast / up_slow:.2f} ({up_slow / up_fast:.1f}x faster)"
            )
        kinds = ", ".join(f"{k} {v:.1f} MiB" for k, v in sorted(mem.items()))
        print(f"memory per node (PSS of all processes in the namespace): {kinds}")
        gen = generated(args.routers)
        floor_gen = floor(gen)
        up_gen, conv_gen, lab = timed_up(gen, fast=True, timeout=300)
        mem_gen = memory(lab)
        lab.down()
        print(
            f"generated {args.routers}-router ring with chords ({len(gen.nodes)} nodes, {len(gen.links)} links): "
            f"up+converged {up_gen:.2f} s (converged {conv_gen:.2f} s after daemons); goal < 60 s"
        )
        print(f"  floor, bare netns + veth: {floor_gen:.2f} s -> netwarden/floor = {up_gen / floor_gen:.1f}x")
        print(f"  memory per router (PSS): {mem_gen.get('router', 0):.1f} MiB")
    finally:
        runner.down(PREFIX)
    return 0


if __name__ == "__main__":
    sys.exit(main())
