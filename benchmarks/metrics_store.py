"""Metrics store figures (issue 5, item 2), each against a peer measured in the same run on the same engine.

1. Write rate. A poll round of N devices x S series (default 1,000 x 50 = 50,000 points) written
   with ``metrics.write`` (name -> id lookup, checks, upsert on (series_id, ts), commit), against a
   plain ``executemany`` of the same (series_id, ts, value) rows into a plain table with no key in
   the same engine, into a table with the same primary key (plain INSERT, no upsert) and, on
   PostgreSQL, with COPY into the plain table (its fastest bulk path). The first
   round (which creates the series) is printed apart; the figure is the median of later rounds.

2. Bytes per device per day. A typical device (48 interfaces x 8 metrics and 4 device metrics every
   300 s, 4 ping metrics every 60 s) polled for some hours on a few devices, rolled up into 5-minute
   and 1-hour buckets, then VACUUM/ANALYZE; bytes per row of each tier are measured (SQLite: dbstat;
   PostgreSQL: pg_total_relation_size, heap + key index) and turned into:
   - ingest: bytes a device adds per day, over every tier (the growth while the tiers fill);
   - steady state: the disk a device holds once every tier is at its retention (raw 2 days, 5m 30
     days, 1h 400 days by default): the bound the store never passes for that device;
   against the peer of keeping raw samples for the 1h tier's whole retention (no rollups).
   On SQLite also: the raw tier as an ordinary rowid table with a separate key index, against
   WITHOUT ROWID (the layout chosen).

PostgreSQL runs when its binaries are installed (a throwaway cluster, as the tests use: fsync off).

    .venv/bin/python benchmarks/metrics_store.py [--devices 1000] [--series 50] [--rounds 5]
        [--size-devices 20] [--size-hours 12] [--no-pg]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from netwarden.context import Context
from netwarden.monitor import metrics
from netwarden.monitor.metrics_rollup import rollup
from netwarden.monitor.records import Point
from netwarden.store import base

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z

# The typical device of figure 2, as the poller names its metrics.
IF_METRICS = [
    "if_in_bps",
    "if_out_bps",
    "if_util_pct",
    "if_oper_up",
    "if_in_errors_ps",
    "if_out_errors_ps",
    "if_in_discards_ps",
    "if_out_discards_ps",
]
DEVICE_METRICS = ["snmp_ms", "uptime_seconds", "cpu_pct", "mem_used_pct"]
PING_METRICS = ["up", "loss_pct", "rtt_ms", "jitter_ms"]
INTERFACES = 48
SNMP_EVERY, PING_EVERY = 300, 60
TIERS = {"raw": "metric_samples", "5m": "metric_rollup_5m", "1h": "metric_rollup_1h", "series": "metric_series"}


@dataclass
class Engine_:
    name: str
    ctx: Context

    @property
    def engine(self) -> Engine:
        return base.get_engine(self.ctx.url)


@contextmanager
def engines(tmp: Path, want_pg: bool) -> Iterator[Callable[[str], Engine_]]:
    """A factory of fresh stores: ``make(label)`` gives a new SQLite data dir or PostgreSQL database."""
    cluster: Any = None
    if want_pg:
        from tests.support.pg import PgCluster, find_bindir

        bindir = find_bindir()
        if bindir is None:
            print("PostgreSQL: binaries not found, skipped")
        else:
            cluster = PgCluster(bindir)
            cluster.start()
    counter = iter(range(1_000_000))

    def make(kind: str) -> Engine_:
        n = next(counter)
        data_dir = tmp / f"{kind}-{n}"
        if kind == "sqlite":
            return Engine_(kind, Context.create(data_dir=data_dir))
        name = cluster.new_database()
        return Engine_(kind, Context.create(data_dir=data_dir, database_url=cluster.url(name)))

    try:
        yield make
    finally:
        base.dispose_engines()
        if cluster is not None:
            cluster.stop()


# -- 1. write rate ------------------------------------------------------------------------------


def poll_round(devices: int, series: int, ts: int, rng: random.Random) -> list[Point]:
    """One round: each device polled at its own (jittered) moment, values as rates and percentages."""
    out: list[Point] = []
    per_if = len(IF_METRICS)
    for d in range(devices):
        when = ts + d % 280 + rng.random()
        name = f"dev{d:05d}"
        for s in range(series):
            metric = IF_METRICS[s % per_if]
            out.append(Point(name, metric, f"eth{s // per_if}", when, rng.random() * 1e8))
    return out


def write_rate(env: Engine_, devices: int, series: int, rounds: int) -> None:
    rng = random.Random(1)
    engine = env.engine
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE bench_plain (series_id INTEGER, ts BIGINT, value DOUBLE PRECISION)")
        conn.exec_driver_sql("CREATE TABLE bench_copy (series_id INTEGER, ts BIGINT, value DOUBLE PRECISION)")
        conn.exec_driver_sql(
            "CREATE TABLE bench_keyed (series_id INTEGER, ts BIGINT, value DOUBLE PRECISION,"
            " PRIMARY KEY (series_id, ts))" + (" WITHOUT ROWID" if env.name == "sqlite" else "")
        )
    mark = "?" if env.name == "sqlite" else "%s"
    now = T0 + (rounds + 1) * 300

    def timed_write(points: list[Point]) -> float:
        start = time.perf_counter()
        with env.ctx.db() as db:
            metrics.write(db, points, now=now)
        return time.perf_counter() - start

    def timed_plain(table: str, rows: list[tuple[int, int, float]]) -> float:
        start = time.perf_counter()
        with engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {table} (series_id, ts, value) VALUES ({mark}, {mark}, {mark})", rows)
        return time.perf_counter() - start

    def timed_copy(rows: list[tuple[int, int, float]]) -> float:
        """PostgreSQL's fastest bulk path: COPY ... FROM STDIN through psycopg."""
        start = time.perf_counter()
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cur, cur.copy("COPY bench_copy (series_id, ts, value) FROM STDIN") as copy:  # type: ignore[attr-defined]
                for row in rows:
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return time.perf_counter() - start

    first = poll_round(devices, series, T0, rng)
    cold = timed_write(first)
    with engine.connect() as conn:
        ids = {
            (d, m, i): sid
            for sid, d, m, i in conn.exec_driver_sql("SELECT id, device, metric, instance FROM metric_series")
        }
    n = len(first)
    times: dict[str, list[float]] = {"ours": [], "plain": [], "keyed": [], "copy": []}
    for r in range(1, rounds + 1):
        points = poll_round(devices, series, T0 + r * 300, rng)
        rows = [(ids[(p.device, p.metric, p.instance)], int(p.ts), p.value) for p in points]
        jobs: list[tuple[str, Callable[[], float]]] = [
            ("ours", lambda pts=points: timed_write(pts)),  # type: ignore[misc]
            ("plain", lambda rs=rows: timed_plain("bench_plain", rs)),  # type: ignore[misc]
            ("keyed", lambda rs=rows: timed_plain("bench_keyed", rs)),  # type: ignore[misc]
        ]
        if env.name == "postgresql":
            jobs.append(("copy", lambda rs=rows: timed_copy(rs)))  # type: ignore[misc]
        # Rotate who goes first, so no one always runs on a warmer cache.
        for name, job in jobs[r % len(jobs) :] + jobs[: r % len(jobs)]:
            times[name].append(job())
    rate = {k: n / statistics.median(v) for k, v in times.items() if v}
    o = rate["ours"]
    print(f"{env.name}: {devices:,} devices x {series} series = {n:,} points a round, median of {rounds} rounds")
    print(f"  first round (creates {n:,} series): {n / cold:,.0f} points/s")
    print(f"  metrics.write:                        {o:,.0f} points/s")
    print(f"  peer, executemany into a plain table: {rate['plain']:,.0f} points/s -> ratio {o / rate['plain']:.2f}")
    print(f"  peer, executemany, same primary key:  {rate['keyed']:,.0f} points/s -> ratio {o / rate['keyed']:.2f}")
    if "copy" in rate:
        print(f"  peer, COPY into a plain table:        {rate['copy']:,.0f} points/s -> ratio {o / rate['copy']:.2f}")


# -- 2. bytes per device per day ----------------------------------------------------------------


def device_series() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    snmp = [(m, f"eth{i}") for i in range(INTERFACES) for m in IF_METRICS] + [(m, "") for m in DEVICE_METRICS]
    ping = [(m, "") for m in PING_METRICS]
    return snmp, ping


def value_of(metric: str, rng: random.Random) -> float:
    """Values shaped like the poller's: rates with fractions, percentages, status 1, mostly-zero errors."""
    if metric.endswith("_bps"):
        return rng.random() * 1e9
    if metric in ("if_oper_up", "up"):
        return 1.0
    if metric.endswith(("_errors_ps", "_discards_ps")):
        return 0.0 if rng.random() < 0.95 else rng.random()
    if metric == "uptime_seconds":
        return float(rng.randrange(10**6, 10**8))
    if metric == "loss_pct":
        return 0.0
    return round(rng.random() * 100, 3)


def fill(env: Engine_, devices: int, hours: int) -> None:
    rng = random.Random(2)
    snmp, ping = device_series()
    end = T0 + hours * 3600
    for minute in range(0, hours * 60):
        at = T0 + minute * 60
        points = []
        for d in range(devices):
            name = f"dev{d:03d}"
            when = at + d % 50 + rng.random()
            points += [Point(name, m, i, when, value_of(m, rng)) for m, i in ping]
            if minute % (SNMP_EVERY // PING_EVERY) == 0:
                points += [Point(name, m, i, when, value_of(m, rng)) for m, i in snmp]
        with env.ctx.db() as db:
            metrics.write(db, points, now=end)
    start = time.perf_counter()
    with env.ctx.db() as db:
        rollup(db, now=end + 3600)
    took = time.perf_counter() - start
    print(
        f"  rollup of {hours} h x {devices} devices: {took:.1f} s"
        f" = {took / hours / devices * 1000:.1f} ms per device-hour (maintenance runs it every 5 minutes)"
    )


def table_bytes(env: Engine_) -> dict[str, tuple[int, int]]:
    """(bytes, rows) of each tier's table, key index included."""
    out = {}
    with env.engine.connect() as conn:
        for tier, table in TIERS.items():
            rows = conn.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar() or 0
            if env.name == "sqlite":
                size = _sqlite_size(conn, table)
            else:
                size = conn.exec_driver_sql(f"SELECT pg_total_relation_size('{table}')").scalar()
            out[tier] = (int(size or 0), int(rows))
    return out


def _sqlite_size(conn: Any, table: str) -> int:
    """Pages of the table and of every index on it (dbstat names b-trees; sqlite_schema maps them)."""
    names = [table] + [
        r[0]
        for r in conn.exec_driver_sql("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?", (table,))
    ]
    marks = ",".join("?" * len(names))
    return int(
        conn.exec_driver_sql(f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({marks})", tuple(names)).scalar() or 0
    )


def vacuum(env: Engine_) -> None:
    with env.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if env.name == "sqlite":
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("VACUUM ANALYZE")


def rowid_peer(env: Engine_) -> tuple[int, int]:
    """The raw tier's rows copied into an ordinary rowid table with a separate (series_id, ts) index."""
    with env.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE bench_rowid (series_id INTEGER NOT NULL, ts BIGINT NOT NULL, value FLOAT NOT NULL,"
            " PRIMARY KEY (series_id, ts))"
        )
        conn.exec_driver_sql("INSERT INTO bench_rowid SELECT series_id, ts, value FROM metric_samples")
    vacuum(env)
    with env.engine.connect() as conn:
        return _sqlite_size(conn, "bench_rowid"), int(
            conn.exec_driver_sql("SELECT COUNT(*) FROM bench_rowid").scalar() or 0
        )


def per_device(env: Engine_, devices: int, hours: int) -> None:
    policy = metrics.DEFAULT_POLICY
    snmp, ping = device_series()
    n_series = len(snmp) + len(ping)
    raw_day = len(snmp) * 86400 // SNMP_EVERY + len(ping) * 86400 // PING_EVERY
    m5_day, h1_day = n_series * 288, n_series * 24
    print(f"{env.name}: {devices} devices x {n_series} series, {hours} h polled ({raw_day:,} raw rows/device/day)")
    fill(env, devices, hours)
    written = table_bytes(env)
    vacuum(env)
    packed = table_bytes(env)
    for label, sizes in (("as written", written), ("after VACUUM", packed)):
        b = {t: sizes[t][0] / max(1, sizes[t][1]) for t in TIERS}
        ingest = raw_day * b["raw"] + m5_day * b["5m"] + h1_day * b["1h"]
        steady = (
            raw_day * policy.raw_days * b["raw"]
            + m5_day * policy.m5_days * b["5m"]
            + h1_day * policy.h1_days * b["1h"]
            + n_series * b["series"]
        )
        flat = raw_day * policy.h1_days * b["raw"]
        print(
            f"  {label}: bytes/row raw {b['raw']:.1f}, 5m {b['5m']:.1f}, 1h {b['1h']:.1f}, series {b['series']:.0f}"
            f" (rows {sizes['raw'][1]:,} / {sizes['5m'][1]:,} / {sizes['1h'][1]:,})"
        )
        per_day = {"raw": raw_day * b["raw"], "5m": m5_day * b["5m"], "1h": h1_day * b["1h"]}
        print(
            f"    ingest: {ingest / 1e6:.2f} MB per device per day = raw {per_day['raw'] / 1e6:.2f}"
            f" + 5m {per_day['5m'] / 1e6:.2f} + 1h {per_day['1h'] / 1e6:.2f} MB; a device holds"
            f" {per_day['raw'] / 1e6:.2f} x raw_days + {per_day['5m'] / 1e6:.2f} x 5m_days"
            f" + {per_day['1h'] / 1e6:.2f} x 1h_days MB"
        )
        print(
            f"    steady state (raw {policy.raw_days:g} d, 5m {policy.m5_days:g} d, 1h {policy.h1_days:g} d):"
            f" {steady / 1e6:.1f} MB per device, i.e. {steady / policy.h1_days / 1e3:.0f} kB per device per day"
            f" of history kept"
        )
        print(
            f"    peer, raw kept {policy.h1_days:g} d without rollups: {flat / 1e6:.0f} MB per device"
            f" -> rollups store {flat / steady:.1f}x less"
        )
    if env.name == "sqlite":
        rb, rr = rowid_peer(env)
        ours = packed["raw"][0] / max(1, packed["raw"][1])
        print(f"  raw tier WITHOUT ROWID {ours:.1f} bytes/row; peer rowid table + key index {rb / max(1, rr):.1f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--devices", type=int, default=1000)
    ap.add_argument("--series", type=int, default=50)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--size-devices", type=int, default=20)
    ap.add_argument("--size-hours", type=int, default=12)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="nw-metrics-bench-") as tmp, engines(Path(tmp), not args.no_pg) as make:
        kinds = ["sqlite"] + (["postgresql"] if not args.no_pg and _pg_ok() else [])
        print("== 1. write rate ==")
        for kind in kinds:
            write_rate(make(kind), args.devices, args.series, args.rounds)
        print("== 2. bytes per device per day ==")
        for kind in kinds:
            per_device(make(kind), args.size_devices, args.size_hours)


def _pg_ok() -> bool:
    from tests.support.pg import find_bindir

    return find_bindir() is not None


if __name__ == "__main__":
    main()
