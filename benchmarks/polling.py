"""SNMP polling of a simulated fleet through the real poller and metrics store.

Per device and round: ICMP availability (3 echo requests), then SNMP sysUpTime plus one
multi-column walk of IF-MIB (HC counters, status, errors, discards, speed) and HOST-RESOURCES
(CPU, memory); rates computed against the previous round; every point written to the metrics
store of a fresh data dir (SQLite, or NETWARDEN_DATABASE_URL). The path is the one ``serve`` runs:
``Monitor.run_round`` over the inventory's devices, with the credential each device answered to.

The simulator (snmpsim) shares the machine's 2 cores and is slow, so the figure that matters is
netwarden's own CPU seconds per device poll (process time of this process, simulator excluded),
and what it implies: devices per 5 minutes per core. Goal: 10,000 devices per 5 minutes per core.

Peer in the same run: net-snmp's ``snmpbulkwalk`` doing the same walks (ifTable, ifXTable,
hrProcessorLoad, hrStorage) on a sample, as children's CPU time per device.

    .venv/bin/python benchmarks/polling.py [--devices 1000] [--rounds 2] [--sample 20]

Run as root (the fleet binds loopback addresses as its own user); traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

NW = str(Path(sys.executable).with_name("netwarden"))
WALKS = ["1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1", "1.3.6.1.2.1.25.3.3.1.2", "1.3.6.1.2.1.25.2.3"]


def fleet(devices: int) -> dict[str, Any]:
    status = subprocess.run([NW, "lab", "fleet", "status", "--json"], capture_output=True, text=True)
    if status.returncode == 0 and len(json.loads(status.stdout).get("targets", [])) >= devices:
        return dict(json.loads(status.stdout))
    subprocess.run([NW, "lab", "fleet", "down"], capture_output=True, check=False)
    up = subprocess.run([NW, "lab", "fleet", "up", "--devices", str(devices), "--json"], capture_output=True, text=True)
    if up.returncode != 0:
        sys.exit(f"fleet up failed: {up.stderr.strip() or up.stdout.strip()}")
    return dict(json.loads(up.stdout))


def store_with_fleet(state: dict[str, Any], devices: int, data_dir: Path) -> Any:
    from netwarden.access.schemas import SYSTEM
    from netwarden.context import Context
    from netwarden.inventory import porting

    ctx = Context.create(data_dir=data_dir, database_url=os.environ.get("NETWARDEN_DATABASE_URL"))
    doc = {
        "version": 1,
        "sites": [{"name": "fleet"}],
        "devices": [
            {"name": t["name"], "site": "fleet", "platform": "generic", "mgmt_ip": t["address"]}
            for t in state["targets"][:devices]
        ],
        "credentials": [
            {"name": "fleet-snmp", "kind": "snmp-v2c", "secret": state["community"], "params": {"port": state["port"]}}
        ],
    }
    with ctx.db() as db:
        porting.import_inventory(db, SYSTEM, ctx.vault, porting._to_doc(doc))
    settings = ctx.settings.model_copy(
        update={"monitor_credentials": ["fleet-snmp"], "monitor_snmp_port": state["port"]}
    )
    return dataclasses.replace(ctx, settings=settings)


def cli_sample(targets: list[str], port: int, community: str) -> float:
    env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for host in targets:
        base = ["-v2c", "-c", community, "-On", "-t", "10", "-r", "2", f"{host}:{port}"]
        subprocess.run(["snmpget", *base, "1.3.6.1.2.1.1.3.0"], capture_output=True, env=env)
        for oid in WALKS:
            subprocess.run(["snmpbulkwalk", "-Cr25", *base, oid], capture_output=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)) / len(targets)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2, help="measured rounds after the first (baseline) one")
    ap.add_argument("--sample", type=int, default=20)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the simulated fleet needs it (netwarden lab fleet up)")
    from netwarden.access.schemas import SYSTEM
    from netwarden.monitor.service import Monitor

    state = fleet(args.devices)
    with tempfile.TemporaryDirectory(prefix="nw-poll-bench-") as tmp:
        ctx = store_with_fleet(state, args.devices, Path(tmp) / "data")
        monitor = Monitor(ctx, SYSTEM)
        first = asyncio.run(monitor.run_round())
        print(
            f"fleet: {args.devices} devices; first round (learns credentials, baselines counters): "
            f"{first.elapsed:.1f} s, {len(first.failed)} failed"
        )
        cpu = wall = 0.0
        points = 0
        for _ in range(args.rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            summary = asyncio.run(monitor.run_round())
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            points += summary.points
            if summary.failed:
                print(f"  {len(summary.failed)} failed, e.g. {summary.failed[0].reason}")
        polls = args.devices * args.rounds
        ms = cpu / polls * 1000
        print(
            f"netwarden: {ms:.2f} ms CPU per device poll (ping + SNMP + rates + store), "
            f"{points / polls:.0f} points per device poll, {wall / args.rounds:.1f} s wall per round"
        )
        print(f"  metrics written: {points / cpu:,.0f} points per CPU second")
        print(f"  implied: {300_000 / ms:,.0f} devices per 5 minutes per core (goal 10,000)")
    sample = [t["address"] for t in state["targets"][: args.sample]]
    peer = cli_sample(sample, state["port"], state["community"]) * 1000
    print(
        f"peer snmpbulkwalk, same walks, sample of {len(sample)}: {peer:.1f} ms CPU per device "
        f"-> netwarden is {peer / ms:.1f}x cheaper"
    )


if __name__ == "__main__":
    main()
