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


def fleet(devices: int) -> tuple[dict[str, Any], bool]:
    """The fleet's state, and whether this run started it (and so takes it down)."""
    status = subprocess.run([NW, "lab", "fleet", "status", "--json"], capture_output=True, text=True)
    if status.returncode == 0 and len(json.loads(status.stdout).get("targets", [])) >= devices:
        return dict(json.loads(status.stdout)), False
    subprocess.run([NW, "lab", "fleet", "down"], capture_output=True, check=False)
    up = subprocess.run([NW, "lab", "fleet", "up", "--devices", str(devices), "--json"], capture_output=True, text=True)
    if up.returncode != 0:
        sys.exit(f"fleet up failed: {up.stderr.strip() or up.stdout.strip()}")
    return dict(json.loads(up.stdout)), True


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
        porting.import_inventory(db, SYSTEM, ctx.vault, porting.parse_yaml(json.dumps(doc)))
    settings = ctx.settings.model_copy(
        update={"monitor_credentials": ["fleet-snmp"], "monitor_snmp_port": state["port"]}
    )
    return dataclasses.replace(ctx, settings=settings)


def _keep(ctx: Any, points: list[Any], kept: list[Any]) -> None:
    """The metrics sink the monitor uses by default (every point stored), keeping the last round's points."""
    from netwarden.monitor import metrics

    with ctx.db() as db:
        metrics.write(db, points, policy=metrics.MetricsPolicy.from_settings(ctx.settings))
    kept[:] = points


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


def store_rate(ctx: Any, points: list[Any], reps: int = 3) -> tuple[float, float]:
    """Points/s of metrics.write against executemany into a plain table of the same engine, same points."""
    from sqlalchemy import text

    from netwarden.monitor import metrics

    ours = plain = 0.0
    with ctx.db() as db:
        db.execute(text("CREATE TABLE bench_plain (device TEXT, metric TEXT, instance TEXT, ts REAL, value REAL)"))
    for rep in range(1, reps + 1):
        shifted = [p._replace(ts=p.ts + 300 * rep) for p in points]
        rows = [{"d": p.device, "m": p.metric, "i": p.instance, "t": p.ts, "v": p.value} for p in shifted]
        with ctx.db() as db:
            t0 = time.perf_counter()
            metrics.write(db, shifted, now=max(p.ts for p in shifted))
            db.commit()
            ours += time.perf_counter() - t0
        with ctx.db() as db:
            t0 = time.perf_counter()
            db.execute(text("INSERT INTO bench_plain VALUES (:d, :m, :i, :t, :v)"), rows)
            db.commit()
            plain += time.perf_counter() - t0
    n = len(points) * reps
    return n / ours, n / plain


async def _until(check: Any, deadline: float) -> float | None:
    """Seconds until check() is true, polling the store every 0.1 s, or None by the deadline."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while loop.time() - start < deadline:
        if await asyncio.to_thread(check):
            return loop.time() - start
        await asyncio.sleep(0.1)
    return None


def lab_latency(interval: float) -> None:
    """Fault to alert on the lab: link-down r1 r2 through the trap path, then through polls every ``interval`` s."""
    from netwarden.access.schemas import SYSTEM
    from netwarden.alerts import service as alerts
    from netwarden.context import Context
    from netwarden.discover.run import Options, run_discovery
    from netwarden.jobs.scheduler import start_monitoring
    from netwarden.lab import credentials, runner
    from netwarden.lab.api import Lab

    prefix = "nwbp"
    runner.down(prefix)
    lab = Lab.start(prefix=prefix, mgmt_cidr="198.18.230.0/24", timeout=90)
    try:
        plan = lab.state.plan
        ssh, snmp = credentials.names(prefix)
        with tempfile.TemporaryDirectory(prefix="nw-latency-") as tmp:
            data_dir = Path(tmp) / "data"
            base = Context.create(data_dir=data_dir)
            credentials.store(lab.state, data_dir)
            opts = Options(cidrs=[str(plan.mgmt_cidr)], credentials=[snmp, ssh], exclude=[str(plan.mgmt_gateway)])
            asyncio.run(run_discovery(base, SYSTEM, opts))

            def link_alert() -> bool:
                with base.db() as db:
                    return any(a.device == "r1--r2" for a in alerts.list_alerts(db, SYSTEM))

            def quiet() -> bool:
                with base.db() as db:
                    return not alerts.list_alerts(db, SYSTEM, include_folded=True)

            async def measure(**settings: Any) -> float | None:
                ctx = dataclasses.replace(base, settings=base.settings.model_copy(update=settings))
                tasks: list[asyncio.Task[None]] = []
                parts = await start_monitoring(ctx, tasks)
                try:
                    await asyncio.sleep(
                        2 * interval if settings.get("monitor_enabled") else 1
                    )  # rounds on the healthy lab
                    await asyncio.to_thread(lab.fault, "link-down", "r1", "r2")
                    took = await _until(link_alert, 4 * interval + 15)
                    await asyncio.to_thread(lab.heal)
                    await _until(quiet, 6 * interval + 30)
                    return took
                finally:
                    for task in tasks:
                        task.cancel()
                    await asyncio.gather(*tasks, return_exceptions=True)
                    if "traps" in parts:
                        await parts["traps"].close(timeout=5)

            trap = asyncio.run(
                measure(
                    traps_enabled=True,
                    traps_host=str(plan.trap_collector),
                    traps_port=plan.trap_port,
                    traps_communities=[lab.state.community],
                )
            )
            polled = asyncio.run(
                measure(
                    monitor_enabled=True,
                    monitor_credentials=[snmp],
                    monitor_ping_interval=int(interval),
                    monitor_snmp_interval=int(interval),
                )
            )
        show = lambda t: "no alert" if t is None else f"{t:.1f} s"  # noqa: E731
        print(f"fault to alert, lab link-down r1 r2: trap path {show(trap)} (goal 15 s)")
        ratio = "" if polled is None else f" = {polled / interval:.2f} intervals (goal 2)"
        print(f"fault to alert, poll-only path at {interval:.0f} s intervals: {show(polled)}{ratio}")
    finally:
        runner.down(prefix)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2, help="measured rounds after the first (baseline) one")
    ap.add_argument("--sample", type=int, default=20)
    ap.add_argument("--concurrency", type=int, default=64, help="devices polled at once (the simulator is slow)")
    ap.add_argument("--no-lab", action="store_true", help="skip the fault-to-alert latency on the lab")
    ap.add_argument("--interval", type=float, default=10.0, help="poll interval for the lab's poll-only path")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the simulated fleet needs it (netwarden lab fleet up)")

    state, started = fleet(args.devices)
    try:
        measure(args, state)
    finally:
        if started:
            subprocess.run([NW, "lab", "fleet", "down"], capture_output=True, check=False)
    if not args.no_lab:
        lab_latency(args.interval)


def measure(args: argparse.Namespace, state: dict[str, Any]) -> None:
    from netwarden.access.schemas import SYSTEM
    from netwarden.monitor.service import Monitor

    with tempfile.TemporaryDirectory(prefix="nw-poll-bench-") as tmp:
        ctx = store_with_fleet(state, args.devices, Path(tmp) / "data")
        monitor = Monitor(ctx, SYSTEM, concurrency=args.concurrency)
        first = asyncio.run(monitor.run_round())
        print(
            f"fleet: {args.devices} devices; first round (learns credentials, baselines counters): "
            f"{first.elapsed:.1f} s, {len(first.failed)} failed"
        )
        cpu = wall = 0.0
        points = failed = 0
        kept: list[Any] = []
        for _ in range(args.rounds):
            c0, w0 = time.process_time(), time.perf_counter()
            summary = asyncio.run(monitor.run_round(points_to=lambda pts: _keep(ctx, pts, kept)))
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            points += summary.points
            failed += len(summary.failed)
            if summary.failed:
                print(f"  {len(summary.failed)} failed, e.g. {summary.failed[0].reason}")
        # Failed polls (the simulator sharing the cores drops requests under load) cost little; the
        # figure divides all CPU by the complete polls only, so it overstates rather than flatters.
        polls = args.devices * args.rounds - failed
        ms = cpu / max(1, polls) * 1000
        print(
            f"netwarden: {ms:.2f} ms CPU per complete device poll (ping + SNMP + neighbours + rates + thresholds + "
            f"store + alerts; {polls} complete of {args.devices * args.rounds}), "
            f"{points / max(1, polls):.0f} points per device poll, {wall / args.rounds:.1f} s wall per round"
        )
        print(f"  metrics written: {points / cpu:,.0f} points per CPU second")
        print(f"  implied: {300_000 / ms:,.0f} devices per 5 minutes per core (goal 10,000)")
        ours, plain = store_rate(ctx, kept)
        print(
            f"metrics store write rate, this round's points: {ours:,.0f} points/s against {plain:,.0f} for a plain "
            f"bulk insert into the same engine ({ours / plain:.2f}x)"
        )
    sample = [t["address"] for t in state["targets"][: args.sample]]
    peer = cli_sample(sample, state["port"], state["community"]) * 1000
    print(
        f"peer snmpbulkwalk, same walks, sample of {len(sample)}: {peer:.1f} ms CPU per device "
        f"-> netwarden is {peer / ms:.1f}x cheaper"
    )


if __name__ == "__main__":
    main()
