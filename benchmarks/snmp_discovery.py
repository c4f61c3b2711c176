"""SNMP identification + interface collection of a simulated fleet: netwarden against pysnmp,
ezsnmp and net-snmp's snmpbulkwalk, doing the same walks in the same run.

Per device every tool does the same: GET sysDescr, sysObjectID, sysUpTime, sysName; then walk
IF-MIB ifTable (1.3.6.1.2.1.2.2) and ifXTable (1.3.6.1.2.1.31.1.1) with GETBULK.

    netwarden     netwarden.collect.snmp over the whole fleet (asyncio, 100 devices in flight),
                  and the varbinds mapped onto typed InterfaceFacts records
    pysnmp        pysnmp 7 asyncio (get_cmd, bulk_walk_cmd), 25 repetitions, on a sample
    ezsnmp        ezsnmp 2 (net-snmp's C library) Session.get / bulkwalk, on a sample
    snmpbulkwalk  net-snmp's CLI, one snmpget + two snmpbulkwalk processes per device, on a sample

The simulator (snmpsim) runs on the same 2 cores and is slow, so wall time says more about it than
about the clients: the fair figure is each client's own CPU seconds per device (process CPU time
for the in-process clients, children's CPU time for the CLI). The goal is <= 30 ms of netwarden
CPU per device with a 600-varbind interface table (10,000 devices per 5 minutes on one core).
Every tool must return the same number of varbinds per sampled device.

    .venv/bin/python benchmarks/snmp_discovery.py [--devices 1000] [--sample 40]

Needs root (the fleet binds loopback addresses as the simulator's user): it starts the fleet with
``netwarden lab fleet up`` unless one of at least --devices is running, and leaves it running.
Traffic goes to 127.0.0.0/8 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

SYSTEM = ["1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.5.0"]
TABLES = ["1.3.6.1.2.1.2.2", "1.3.6.1.2.1.31.1.1"]
NW = str(Path(sys.executable).with_name("netwarden"))


def fleet(devices: int) -> dict[str, Any]:
    status = subprocess.run([NW, "lab", "fleet", "status", "--json"], capture_output=True, text=True)
    if status.returncode == 0:
        state = json.loads(status.stdout)
        if len(state.get("targets", [])) >= devices:
            return state
        subprocess.run([NW, "lab", "fleet", "down"], capture_output=True, check=False)
    up = subprocess.run([NW, "lab", "fleet", "up", "--devices", str(devices), "--json"], capture_output=True, text=True)
    if up.returncode != 0:
        sys.exit(f"fleet up failed: {up.stderr.strip() or up.stdout.strip()}")
    return dict(json.loads(up.stdout))


# ---------------------------------------------------------------- netwarden


async def netwarden_all(targets: list[str], port: int, community: str) -> tuple[float, float, dict[str, int], int]:
    from netwarden.collect import snmp
    from netwarden.collect.snmp_facts import TABLES as COLUMNS
    from netwarden.collect.snmp_facts import snapshot_from

    key_of = {oid: key for key, oid in COLUMNS.items()}

    async def identify_and_interfaces(s: snmp.Session) -> int:
        system = dict(await s.get(SYSTEM))
        tables = await s.walk_columns(TABLES)
        # Map the walked tables onto typed records, as discovery does (index suffix: entry.column.row).
        columns: dict[str, dict[str, Any]] = {key: {} for key in COLUMNS}
        for root, rows in tables.items():
            for index, value in rows.items():
                _entry, column, row = index.split(".", 2)
                key = key_of.get(f"{root}.1.{column}")
                if key is not None:
                    columns[key][row] = value
        snapshot = snapshot_from(s.host, system, columns)
        assert snapshot.interfaces
        return len(system) + sum(len(rows) for rows in tables.values())

    cpu0, wall0 = time.process_time(), time.perf_counter()
    results = await snmp.collect_many(
        targets, snmp.V2c(community), identify_and_interfaces, port=port, concurrency=100, timeout=10, retries=2
    )
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    counts = {r.target: int(r.value or 0) for r in results if r.ok}
    failed = sum(1 for r in results if not r.ok)
    return cpu, wall, counts, failed


# ---------------------------------------------------------------- peers


async def pysnmp_sample(targets: list[str], port: int, community: str) -> tuple[float, dict[str, int]]:
    from pysnmp.hlapi.v3arch.asyncio import (
        CommunityData,
        ContextData,
        ObjectIdentity,
        ObjectType,
        SnmpEngine,
        UdpTransportTarget,
        bulk_walk_cmd,
        get_cmd,
    )

    engine = SnmpEngine()
    counts: dict[str, int] = {}
    cpu0 = time.process_time()

    async def one(host: str) -> None:
        target = await UdpTransportTarget.create((host, port), timeout=10, retries=2)
        n = 0
        err, _status, _idx, binds = await get_cmd(
            engine, CommunityData(community), target, ContextData(), *(ObjectType(ObjectIdentity(o)) for o in SYSTEM)
        )
        n += len(binds) if not err else 0
        for table in TABLES:
            async for err, _status, _idx, binds in bulk_walk_cmd(
                engine,
                CommunityData(community),
                target,
                ContextData(),
                0,
                25,
                ObjectType(ObjectIdentity(table)),
                lexicographicMode=False,
            ):
                if err:
                    break
                n += len(binds)
        counts[host] = n

    sem = asyncio.Semaphore(20)

    async def bounded(host: str) -> None:
        async with sem:
            await one(host)

    await asyncio.gather(*(bounded(h) for h in targets))
    engine.close_dispatcher()
    return time.process_time() - cpu0, counts


def ezsnmp_sample(targets: list[str], port: int, community: str) -> tuple[float, dict[str, int]]:
    from ezsnmp import Session

    counts: dict[str, int] = {}
    cpu0 = time.process_time()
    for host in targets:
        session = Session(
            hostname=host,
            port_number=str(port),
            version="2c",
            community=community,
            timeout="10",
            retries="2",
            set_max_repeaters_to_num="25",
            print_oids_numerically=True,
        )
        n = len(session.get(SYSTEM))
        for table in TABLES:
            n += len(session.bulk_walk([table]))
        counts[host] = n
    return time.process_time() - cpu0, counts


def cli_sample(targets: list[str], port: int, community: str) -> tuple[float, dict[str, int]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    counts: dict[str, int] = {}
    env = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}
    for host in targets:
        agent = f"{host}:{port}"
        base = ["-v2c", "-c", community, "-On", "-t", "10", "-r", "2", agent]
        out = subprocess.run(["snmpget", *base, *SYSTEM], capture_output=True, text=True, env=env).stdout
        n = out.count("\n")
        for table in TABLES:
            walk = ["snmpbulkwalk", "-Cr25", *base, table]
            n += subprocess.run(walk, capture_output=True, text=True, env=env).stdout.count("\n")
        counts[host] = n
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), counts


# ---------------------------------------------------------------- report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=40, help="devices the peers collect (they are slow)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the simulated fleet needs it (netwarden lab fleet up)")
    state = fleet(args.devices)
    port, community = int(state.get("port", 1161)), str(state.get("community", "public"))
    all_targets = [t["address"] for t in state["targets"]][: args.devices]
    kind_of = {t["address"]: t["kind"] for t in state["targets"]}
    # The sample takes every kind in turn, so each tool sees the same mix.
    by_kind: dict[str, list[str]] = defaultdict(list)
    for t in all_targets:
        by_kind[kind_of[t]].append(t)
    sample = [t for group in zip(*by_kind.values(), strict=False) for t in group][: args.sample]

    print(f"fleet: {len(all_targets)} devices on port {port}, kinds {dict(Counter(kind_of[t] for t in all_targets))}")
    nw_cpu, nw_wall, nw_counts, failed = asyncio.run(netwarden_all(all_targets, port, community))
    done = len(nw_counts)
    print(f"netwarden    {done} devices ({failed} failed) in {nw_wall:.1f} s wall, {nw_cpu:.2f} s CPU")
    per_kind_cpu: dict[str, float] = {}
    for kind, hosts in by_kind.items():
        sub = hosts[: max(5, args.sample // len(by_kind))]
        cpu, _wall, counts, _failed = asyncio.run(netwarden_all(sub, port, community))
        per_kind_cpu[kind] = cpu / max(1, len(counts)) * 1000
        varbinds = sorted(set(counts.values()))
        print(
            f"  kind {kind:<14} {per_kind_cpu[kind]:6.1f} ms CPU/device  ({varbinds[-1] if varbinds else 0} varbinds)"
        )

    nw_sample_cpu, _w, nw_sample_counts, _f = asyncio.run(netwarden_all(sample, port, community))
    peers = {
        "pysnmp": asyncio.run(pysnmp_sample(sample, port, community)),
        "ezsnmp": ezsnmp_sample(sample, port, community),
        "snmpbulkwalk": cli_sample(sample, port, community),
    }
    nw_ms = nw_sample_cpu / len(sample) * 1000
    print(f"\nsample of {len(sample)} devices, CPU per device (same walks, same run):")
    print(f"  netwarden      {nw_ms:7.1f} ms")
    same = True
    for name, (cpu, counts) in peers.items():
        ms = cpu / len(sample) * 1000
        agree = all(counts.get(h) == nw_sample_counts.get(h) for h in sample)
        same &= agree
        print(f"  {name:<14} {ms:7.1f} ms   ratio {ms / nw_ms:5.1f}x   varbinds agree: {agree}")
    fleet_ms = nw_cpu / max(1, done) * 1000
    rate = len(all_targets) / nw_wall
    print(f"\nnetwarden over the whole fleet: {fleet_ms:.1f} ms CPU/device; {rate:.0f} devices/s wall")
    biggest = max(per_kind_cpu, key=per_kind_cpu.get)  # type: ignore[arg-type]
    goal = per_kind_cpu[biggest] <= 30
    print(f"goal <= 30 ms CPU/device on the largest table ({biggest}): {'met' if goal else 'NOT met'}")
    print(f"devices per 5 minutes on one core at that cost: {300_000 / per_kind_cpu[biggest]:,.0f}")
    if failed or not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
