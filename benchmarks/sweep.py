"""ICMP sweep of 127.0.0.0/16 (65,536 addresses): netwarden against fping and nmap, in the same run.

    netwarden   netwarden.collect.icmp.sweep_iter, one request per address, no retry, 200 ms timeout,
                its default window (1,024 addresses in flight)
    fping       fping -g 127.0.0.0/16 -a -q -r 0 -t 200 -i 0
    nmap        nmap -sn -n 127.0.0.0/16

Each tool runs ``--rounds`` times, interleaved, so that load from elsewhere on the machine hits all
of them alike; the median wall time of each is compared. netwarden runs in a child process that
times the sweep alone (not the interpreter start) and reports its memory: resident set after the
imports, and the peak during the sweep, with a /24 sweep for comparison (bounded memory means the
/16 costs no more than the /24). Every tool must find every address alive (fping's ``-g`` leaves
out the network and broadcast addresses: 65,534 of them).

Traffic goes to 127.0.0.0/16 only. Run as root (raw socket) or with ping sockets allowed:
    .venv/bin/python benchmarks/sweep.py [--rounds 5] [--mode auto|raw|dgram]
Ping sockets without touching the host's sysctl: in a fresh network namespace,
    unshare -n sh -c 'ip link set lo up; sysctl -qw net.ipv4.ping_group_range="0 0";
                      .venv/bin/python benchmarks/sweep.py --mode dgram'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CIDR = "127.0.0.0/16"
TOTAL = 65_536


def _vm(field: str) -> int:
    """A VmRSS/VmHWM figure of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(cidr: str, mode: str, batch: int) -> None:
    """Sweep ``cidr`` once and print one JSON line: time, alive, memory, socket kind."""
    from netwarden.collect.icmp import PingOptions, sweep_iter

    async def run() -> dict[str, object]:
        options = PingOptions(timeout=0.2, retries=0, mode=mode, batch=batch)  # type: ignore[arg-type]
        rss_before = _vm("VmRSS")
        cpu0 = os.times()
        start = time.perf_counter()
        seen = alive = 0
        modes: set[str] = set()
        async with contextlib.aclosing(sweep_iter([cidr], options=options, hosts_only=False)) as results:
            async for result in results:
                seen += 1
                if result.ok:
                    alive += 1
                if result.value is not None:
                    modes.add(result.value.mode)
        wall = time.perf_counter() - start
        cpu1 = os.times()
        return {
            "wall": wall,
            "user": cpu1.user - cpu0.user,
            "sys": cpu1.system - cpu0.system,
            "seen": seen,
            "alive": alive,
            "mode": ",".join(sorted(modes)),
            "rss_before_kib": rss_before,
            "peak_kib": _vm("VmHWM"),
        }

    print(json.dumps(asyncio.run(run())))


def netwarden(cidr: str, mode: str, batch: int) -> dict[str, float | int | str]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", cidr, "--mode", mode, "--batch", str(batch)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float | int | str] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def peer(argv: list[str], count_alive: str) -> tuple[float, float, int]:
    """Run a peer tool; return its wall time, its CPU time (user + sys) and how many it found alive."""
    cpu = _children_cpu()
    start = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if count_alive == "lines":
        alive = sum(1 for line in out.stdout.splitlines() if line.strip())
    else:  # nmap's greppable output: one "Status: Up" line per host
        alive = sum(1 for line in out.stdout.splitlines() if "Status: Up" in line)
    return wall, cpu, alive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", default="auto", choices=["auto", "raw", "dgram"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--skip-nmap", action="store_true")
    parser.add_argument("--child", metavar="CIDR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.mode, args.batch)
        return 0

    for tool in ("fping", "nmap"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (make system installs it)", file=sys.stderr)
            return 2
    fping_cmd = ["fping", "-g", CIDR, "-a", "-q", "-r", "0", "-t", "200", "-i", "0"]
    nmap_cmd = ["nmap", "-sn", "-n", CIDR, "-oG", "-"]

    nw: list[dict[str, float | int | str]] = []
    fp: list[tuple[float, float, int]] = []
    nm: list[tuple[float, float, int]] = []
    for _ in range(args.rounds):
        nw.append(netwarden(CIDR, args.mode, args.batch))
        fp.append(peer(fping_cmd, "lines"))
        if not args.skip_nmap:
            nm.append(peer(nmap_cmd, "nmap"))
    small = netwarden("127.0.0.0/24", args.mode, args.batch)

    med = statistics.median
    nw_wall = med(float(r["wall"]) for r in nw)
    nw_cpu = med(float(r["user"]) + float(r["sys"]) for r in nw)
    fp_wall, fp_cpu = med(w for w, _, _ in fp), med(c for _, c, _ in fp)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"ICMP sweep of {CIDR} ({TOTAL:,} addresses): median of {args.rounds} interleaved rounds")
    print(f"  {os.cpu_count()} CPUs, load average now {load} (other work on the machine slows every tool alike)")
    print(f"  {'':10} {'wall':>8} {'CPU':>8}   wall per round")
    nw_rounds = ", ".join(f"{float(r['wall']):.2f}" for r in nw)
    print(f"  {'netwarden':10} {nw_wall:7.3f}s {nw_cpu:7.3f}s   {nw_rounds}   (socket: {nw[0]['mode']})")
    print(f"  {'fping':10} {fp_wall:7.3f}s {fp_cpu:7.3f}s   {', '.join(f'{w:.2f}' for w, _, _ in fp)}")
    if nm:
        nm_wall, nm_cpu = med(w for w, _, _ in nm), med(c for _, c, _ in nm)
        print(f"  {'nmap -sn':10} {nm_wall:7.3f}s {nm_cpu:7.3f}s   {', '.join(f'{w:.2f}' for w, _, _ in nm)}")
    print(f"  fping / netwarden: wall {fp_wall / nw_wall:.2f}x, CPU {fp_cpu / nw_cpu:.2f}x  (> 1: netwarden is faster)")
    if nm:
        print(f"  nmap / netwarden:  wall {nm_wall / nw_wall:.2f}x, CPU {nm_cpu / nw_cpu:.2f}x")

    ok = all(r["alive"] == TOTAL and r["seen"] == TOTAL for r in nw)
    print(f"  netwarden found alive: {', '.join(str(r['alive']) for r in nw)} of {TOTAL:,}")
    ok &= all(a == TOTAL - 2 for _, _, a in fp)
    print(
        f"  fping found alive:     {', '.join(str(a) for _, _, a in fp)} of {TOTAL - 2:,} (-g skips network/broadcast)"
    )
    if nm:
        ok &= all(a == TOTAL for _, _, a in nm)
        print(f"  nmap found alive:      {', '.join(str(a) for _, _, a in nm)} of {TOTAL:,}")

    peak = max(int(r["peak_kib"]) for r in nw)
    base = min(int(r["rss_before_kib"]) for r in nw)
    print(
        f"  netwarden memory: {base / 1024:.1f} MiB after imports, peak {peak / 1024:.1f} MiB during the /16 sweep "
        f"(+{(peak - base) / 1024:.1f} MiB); a /24 sweep peaks at {int(small['peak_kib']) / 1024:.1f} MiB"
    )
    print("every address found alive by every tool" if ok else "MISSING ADDRESSES: see the counts above")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
