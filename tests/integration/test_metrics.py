"""The metrics store on SQLite and PostgreSQL: writes, rollups, tiers, retention, bad points, API and CLI.

Times are fixed (``NOW``) and passed to the store as ``now``, so every tier boundary is known; the API
and CLI tests use the real clock because the endpoints read it.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from netwarden.cli.main import main
from netwarden.context import Context
from netwarden.errors import NotFound
from netwarden.monitor import metrics
from netwarden.monitor.metrics import MetricsPolicy, WriteResult
from netwarden.monitor.metrics_rollup import maintain, prune, rollup
from netwarden.monitor.models import MetricRollup1h, MetricRollup5m, MetricSample, MetricSeries
from netwarden.monitor.records import Point
from tests.conftest import VIEWER, auth

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z: a whole hour, so the tier boundaries are easy to name
M5, H1 = 300, 3600

Summary = tuple[float, float, float, int, float]  # min, max, avg, count, last


def put(
    ctx: Context, points: Iterable[Point], now: float, policy: MetricsPolicy = metrics.DEFAULT_POLICY
) -> WriteResult:
    with ctx.db() as db:
        return metrics.write(db, points, now=now, policy=policy)


def summarise(samples: Sequence[tuple[int, float]], width: int) -> dict[int, Summary]:
    """The expected buckets, computed here from the samples themselves."""
    buckets: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for ts, v in samples:
        buckets[ts // width * width].append((ts, v))
    out = {}
    for b, rows in buckets.items():
        values = [v for _, v in rows]
        out[b] = (min(values), max(values), sum(values) / len(values), len(values), max(rows)[1])
    return out


def as_summaries(points: Iterable[metrics.SeriesPoint]) -> dict[int, Summary]:
    return {p.ts: (p.min, p.max, p.avg, p.count, p.last) for p in points}


def assert_same(got: dict[int, Summary], want: dict[int, Summary]) -> None:
    assert sorted(got) == sorted(want)
    for b, (lo, hi, avg, n, last) in want.items():
        g = got[b]
        assert (g[0], g[1], g[3], g[4]) == (lo, hi, n, last), b
        assert math.isclose(g[2], avg, rel_tol=1e-9, abs_tol=1e-9), b


def irregular(start: int, end: int, seed: int) -> list[tuple[int, float]]:
    """One sample a minute with jittered times and noisy values, like a real poller's."""
    rng = random.Random(seed)
    return [(t + rng.randrange(0, 50), round(rng.uniform(-50, 1000), 3)) for t in range(start, end, 60)]


def rows_of(ctx: Context, table: type[MetricRollup5m] | type[MetricRollup1h], sid: int) -> dict[int, Summary]:
    with ctx.db() as db:
        return {
            r.ts: (r.min, r.max, r.avg, r.count, r.last)
            for r in db.scalars(select(table).where(table.series_id == sid).order_by(table.ts))
        }


def series_id(ctx: Context, device: str, metric: str, instance: str) -> int:
    with ctx.db() as db:
        sid = db.scalar(
            select(MetricSeries.id).where(
                MetricSeries.device == device, MetricSeries.metric == metric, MetricSeries.instance == instance
            )
        )
    assert sid is not None
    return sid


def count(ctx: Context, table: type[object]) -> int:
    with ctx.db() as db:
        return db.scalar(select(func.count()).select_from(table)) or 0


# -- writing and reading ------------------------------------------------------------------------


def test_write_then_query_raw(ctx: Context) -> None:
    eth = irregular(NOW - H1, NOW, 1)
    pts = [Point("r1", "if_in_bps", "eth0", ts, v) for ts, v in eth]
    pts += [Point("r1", "if_in_bps", "eth1", ts, v * 2) for ts, v in eth]
    pts += [Point("r1", "cpu_pct", "", NOW - 30, 12.5)]
    res = put(ctx, pts, NOW)
    assert (res.written, res.refused, res.late, res.new_series) == (len(pts), {}, 0, 3)

    with ctx.db() as db:
        both = metrics.query(db, "r1", "if_in_bps", start=NOW - H1, end=NOW, step=60, now=NOW)
        assert [s.instance for s in both] == ["eth0", "eth1"]
        assert {s.resolution for s in both} == {"raw"} and {s.step for s in both} == {60}
        assert [(p.ts, p.last, p.count) for p in both[0].points] == [(ts // 60 * 60, v, 1) for ts, v in eth]
        assert [p.avg for p in both[1].points] == [v * 2 for _, v in eth]
        one = metrics.query(db, "r1", "if_in_bps", "eth1", start=NOW - 600, end=NOW, step=1, now=NOW)
        assert len(one) == 1 and [p.ts for p in one[0].points] == [ts for ts, _ in eth if ts >= NOW - 600]
        assert metrics.query(db, "r1", "no_such_metric", now=NOW) == []
        assert metrics.read_series(db, VIEWER, "r1", "cpu_pct", start=NOW - 60, end=NOW)[0].points[0].last == 12.5
        with pytest.raises(NotFound):
            metrics.read_series(db, VIEWER, "nobody", "cpu_pct")
        with pytest.raises(metrics.InvalidInput, match="start"):
            metrics.query(db, "r1", "cpu_pct", start=NOW, end=NOW - 60, now=NOW)
        with pytest.raises(metrics.InvalidInput, match="buckets"):
            metrics.query(db, "r1", "cpu_pct", start=NOW - 2 * 86400, end=NOW, step=1, now=NOW)

    # The series ids cached by the first write are used again: no new series for known names.
    assert put(ctx, [Point("r1", "cpu_pct", "", NOW, 13.0)], NOW).new_series == 0


def test_rollup_summaries_5m_and_1h(ctx: Context) -> None:
    a = irregular(NOW - 3 * H1, NOW, 2)
    b = irregular(NOW - 2 * H1, NOW, 3)
    put(ctx, [Point("r1", "if_out_bps", "eth0", ts, v) for ts, v in a], NOW)
    put(ctx, [Point("r2", "if_out_bps", "eth0", ts, v) for ts, v in b], NOW)
    with ctx.db() as db:
        res = rollup(db, now=NOW)
    # grace 120 s: the bucket ending at NOW is not complete enough yet; hours up to the last whole one.
    assert (res.mark_5m, res.mark_1h) == (NOW - M5, NOW - H1)
    assert (res.rows_5m, res.rows_1h) == (35 + 23, 2 + 1)
    for sid, samples in (
        (series_id(ctx, "r1", "if_out_bps", "eth0"), a),
        (series_id(ctx, "r2", "if_out_bps", "eth0"), b),
    ):
        want5 = {k: v for k, v in summarise(samples, M5).items() if k < NOW - M5}
        assert_same(rows_of(ctx, MetricRollup5m, sid), want5)
        want1 = {k: v for k, v in summarise(samples, H1).items() if k < NOW - H1}
        assert_same(rows_of(ctx, MetricRollup1h, sid), want1)

    # Idempotent: a second run at the same time changes nothing.
    with ctx.db() as db:
        again = rollup(db, now=NOW)
    assert (again.rows_5m, again.rows_1h) == (0, 0)
    assert count(ctx, MetricRollup5m) == 58 and count(ctx, MetricRollup1h) == 3


def test_query_picks_tier_by_step_and_fills_the_tail(ctx: Context) -> None:
    samples = irregular(NOW - 3 * H1, NOW, 4)
    put(ctx, [Point("sw1", "cpu_pct", "", ts, v) for ts, v in samples], NOW)
    with ctx.db() as db:
        rollup(db, now=NOW)
        start = NOW - 3 * H1

        def q(step: int) -> metrics.Series:
            return metrics.query(db, "sw1", "cpu_pct", start=start, end=NOW - 1, step=step, now=NOW)[0]

        raw, m5, h1, odd = q(60), q(300), q(3600), q(400)
    assert (raw.resolution, m5.resolution, h1.resolution, odd.resolution) == ("raw", "5m", "1h", "5m")
    assert (raw.step, m5.step, h1.step, odd.step) == (60, 300, 3600, 600)  # 400 s rounds up to whole 5m buckets
    assert_same(as_summaries(raw.points), summarise(samples, 60))
    # The newest 5-minute bucket and the newest hour are not rolled up yet: they come from finer tiers.
    assert_same(as_summaries(m5.points), summarise(samples, M5))
    assert_same(as_summaries(h1.points), summarise(samples, H1))
    assert_same(as_summaries(odd.points), summarise(samples, 600))
    assert metrics.pick_tier(60, NOW - 3 * 86400, NOW) == "5m"  # raw is gone after 2 days
    assert metrics.pick_tier(60, NOW - 31 * 86400, NOW) == "1h"
    assert metrics.pick_tier(300, NOW - 86400, NOW) == "5m"


def test_late_points_within_grace_are_rolled_up_later_ones_stay_raw(ctx: Context) -> None:
    b = NOW - 2 * M5  # the bucket [b, b + 300)
    assert put(ctx, [Point("r1", "rtt_ms", "", b + 10, 1.0)], b + 360).late == 0
    with ctx.db() as db:
        assert rollup(db, now=b + 360).mark_5m == 0  # the bucket ended 60 s ago: inside the 120 s grace
    assert put(ctx, [Point("r1", "rtt_ms", "", b + 290, 3.0)], b + 400).late == 0  # 100 s late: still counted
    with ctx.db() as db:
        assert rollup(db, now=b + 420).mark_5m == b + M5
    sid = series_id(ctx, "r1", "rtt_ms", "")
    assert rows_of(ctx, MetricRollup5m, sid) == {b: (1.0, 3.0, 2.0, 2, 3.0)}

    # After the rollup: stored and counted as late, kept in the raw tier only.
    assert put(ctx, [Point("r1", "rtt_ms", "", b + 295, 9.0)], b + 430).late == 1
    with ctx.db() as db:
        rollup(db, now=b + 430)
        raw = metrics.query(db, "r1", "rtt_ms", start=b, end=b + 299, step=300 - 1, now=b + 430)[0]
        m5 = metrics.query(db, "r1", "rtt_ms", start=b, end=b + 299, step=300, now=b + 430)[0]
    assert rows_of(ctx, MetricRollup5m, sid) == {b: (1.0, 3.0, 2.0, 2, 3.0)}
    assert raw.resolution == "raw" and sum(p.count for p in raw.points) == 3
    assert m5.resolution == "5m" and [(p.count, p.max) for p in m5.points] == [(2, 3.0)]


def test_prune_by_retention_then_series(ctx: Context) -> None:
    # Short retentions (1 h raw, 3 h 5m, 6 h 1h) so the whole life of a series fits in a few runs.
    policy = MetricsPolicy(raw_days=1 / 24, m5_days=3 / 24, h1_days=6 / 24)
    t0 = NOW - 10 * H1
    samples = irregular(t0, t0 + H1, 5)
    put(ctx, [Point("old", "mem_pct", "", ts, v) for ts, v in samples], t0 + H1, policy)

    def run(at: int) -> tuple[int, int, int, int]:
        with ctx.db() as db:
            maintain(db, now=at, policy=policy)
        return (
            count(ctx, MetricSample),
            count(ctx, MetricRollup5m),
            count(ctx, MetricRollup1h),
            count(ctx, MetricSeries),
        )

    assert run(t0 + H1 + M5) == (55, 12, 1, 1)  # all rolled up; the first 5 minutes of raw are past 1 h
    assert run(t0 + 2 * H1 + M5) == (0, 12, 1, 1)  # raw gone: it was rolled up and is past 1 h
    with ctx.db() as db:
        s = metrics.query(db, "old", "mem_pct", start=t0, end=t0 + H1 - 1, step=60, now=t0 + 2 * H1 + M5, policy=policy)
    assert s[0].resolution == "5m" and s[0].step == M5
    assert_same(as_summaries(s[0].points), summarise(samples, M5))
    assert run(t0 + 4 * H1 + M5) == (0, 0, 1, 1)  # 5-minute buckets past 3 h
    with ctx.db() as db:
        s = metrics.query(db, "old", "mem_pct", start=t0, end=t0 + H1 - 1, step=60, now=t0 + 4 * H1 + M5, policy=policy)
    assert s[0].resolution == "1h"
    assert_same(as_summaries(s[0].points), summarise(samples, H1))
    assert run(t0 + 7 * H1 + M5) == (0, 0, 0, 0)  # the hour too, and then the empty series

    # The name comes back: a new series, not the deleted id from the cache.
    res = put(ctx, [Point("old", "mem_pct", "", t0 + 7 * H1, 42.0)], t0 + 7 * H1 + M5, policy)
    assert (res.written, res.new_series) == (1, 1)
    with ctx.db() as db:
        assert metrics.latest(db, "old")[0].value == 42.0


def test_prune_never_drops_what_is_not_rolled_up(ctx: Context) -> None:
    t0 = NOW - 10 * 86400
    samples = irregular(t0, t0 + H1, 6)
    put(ctx, [Point("r9", "temp_c", "", ts, v) for ts, v in samples], t0 + H1)
    with ctx.db() as db:
        prune(db, now=NOW)  # 10 days later, but never rolled up
    assert count(ctx, MetricSample) == len(samples)
    with ctx.db() as db:
        res = rollup(db, now=NOW)  # the first rollup starts at the oldest sample, not at now - retention
        prune(db, now=NOW)
    assert res.rows_5m == 12 and res.rows_1h == 1
    assert count(ctx, MetricSample) == 0
    assert_same(rows_of(ctx, MetricRollup5m, series_id(ctx, "r9", "temp_c", "")), summarise(samples, M5))


# -- bad points ---------------------------------------------------------------------------------


def test_bad_points_are_refused_and_counted(ctx: Context, caplog: pytest.LogCaptureFixture) -> None:
    written0, _, refused0 = metrics.TOTALS.snapshot()
    good = Point("r1", "cpu_pct", "", NOW - 10, 50.0)
    bad: list[object] = [
        Point("r1", "cpu_pct", "", NOW + 301, 1.0),  # clock skew: ahead of the store by more than 300 s
        Point("r1", "cpu_pct", "", NOW + 3 * 86400, 1.0),
        Point("r1", "cpu_pct", "", NOW - 3 * 86400, 1.0),  # older than raw retention
        Point("r1", "cpu_pct", "", NOW, float("nan")),
        Point("r1", "cpu_pct", "", NOW, float("-inf")),
        Point("r1", "cpu_pct", "", float("nan"), 1.0),
        Point("r1", "cpu_pct", "", NOW, 2.0**65),
        Point("r1", "cpu_pct", "", NOW, "12abc"),  # type: ignore[arg-type]
        Point("r1", "cpu_pct", "", None, 1.0),  # type: ignore[arg-type]
        ("r1", "cpu_pct"),  # too short
        Point("", "cpu_pct", "", NOW, 1.0),
        Point("r1", "CPU-pct", "", NOW, 1.0),
        Point("r1", "cpu_pct", "bad\nline", NOW, 1.0),
        Point("r1" * 200, "cpu_pct", "", NOW, 1.0),
        Point(["r1"], "cpu_pct", "", NOW, 1.0),  # type: ignore[arg-type]
        Point(7, "cpu_pct", "", NOW, 1.0),  # type: ignore[arg-type]
    ]
    edge = Point("r1", "cpu_pct", "", NOW + 299, 2.0)  # just inside the skew limit
    res = put(ctx, [good, *bad, edge], NOW)  # type: ignore[list-item]
    assert res.written == 2
    assert res.refused == {
        "future": 2,
        "too-old": 1,
        "not-finite": 3,
        "out-of-range": 1,
        "not-a-number": 3,
        "bad-name": 6,
    }
    assert any("refused" in r.getMessage() and "future=2" in r.getMessage() for r in caplog.records)
    written1, _, refused1 = metrics.TOTALS.snapshot()
    assert written1 - written0 == 2 and refused1["future"] - refused0.get("future", 0) == 2
    with ctx.db() as db:
        assert _raw(db, "r1", "cpu_pct") == [(NOW - 10, 50.0), (NOW + 299, 2.0)]
        assert db.scalar(select(func.count()).select_from(MetricSeries)) == 1


def _raw(db: Session, device: str, metric: str) -> list[tuple[int, float]]:
    """Every raw sample of the series, read back through ``query`` at a 1-second step."""
    return [
        (p.ts, p.last)
        for s in metrics.query(db, device, metric, start=NOW - 600, end=NOW + 600, step=1, now=NOW)
        for p in s.points
    ]


def test_duplicates_last_value_wins(ctx: Context) -> None:
    res = put(
        ctx,
        [
            Point("r1", "rtt_ms", "", NOW - 60.2, 1.0),
            Point("r1", "rtt_ms", "", NOW - 60.7, 2.0),  # the same second: replaces
            Point("r1", "rtt_ms", "", NOW - 60, 3.0),
            Point("r1", "rtt_ms", "", NOW - 60, 4.0),
        ],
        NOW,
    )
    assert res.written == 2
    assert put(ctx, [Point("r1", "rtt_ms", "", NOW - 60, 5.0)], NOW).written == 1  # again in a later write
    with ctx.db() as db:
        assert _raw(db, "r1", "rtt_ms") == [(NOW - 61, 2.0), (NOW - 60, 5.0)]
    assert count(ctx, MetricSample) == 2
    # Two writes in one transaction (PostgreSQL stages each through the same temporary table).
    with ctx.db() as db:
        metrics.write(db, [Point("r1", "rtt_ms", "", NOW - 60, 6.0)], now=NOW)
        metrics.write(db, [Point("r1", "rtt_ms", "", NOW - 60, 7.0), Point("r1", "rtt_ms", "", NOW - 59, 0.1)], now=NOW)
    with ctx.db() as db:
        assert _raw(db, "r1", "rtt_ms") == [(NOW - 61, 2.0), (NOW - 60, 7.0), (NOW - 59, 0.1)]


def test_latest_and_prometheus_text(ctx: Context) -> None:
    odd = 'Gi0/1 "uplink" \\ 1'
    put(
        ctx,
        [
            Point("r1", "if_in_bps", "eth0", NOW - 120, 10.0),
            Point("r1", "if_in_bps", "eth0", NOW - 60, 11.0),
            Point("r1", "if_in_bps", odd, NOW - 60, 1.5e19),
            Point("r1", "cpu_pct", "", NOW - 3000, 7.0),
            Point("r2", "cpu_pct", "", NOW - 30, -0.5),
        ],
        NOW,
    )
    with ctx.db() as db:
        r1 = metrics.latest(db, "r1")
        recent = metrics.latest(db, None, since=NOW - 600)
        cpu = metrics.latest(db, None, "cpu_pct")
    assert [(v.metric, v.instance, v.ts, v.value) for v in r1] == [
        ("cpu_pct", "", NOW - 3000, 7.0),
        ("if_in_bps", odd, NOW - 60, 1.5e19),
        ("if_in_bps", "eth0", NOW - 60, 11.0),
    ]
    assert [(v.device, v.metric) for v in recent] == [("r2", "cpu_pct"), ("r1", "if_in_bps"), ("r1", "if_in_bps")]
    assert [(v.device, v.value) for v in cpu] == [("r1", 7.0), ("r2", -0.5)]

    exposition = metrics.prometheus_text(r1 + cpu)
    families = {f.name: f for f in text_string_to_metric_families(exposition)}
    assert set(families) == {"netwarden_cpu_pct", "netwarden_if_in_bps"}
    assert {f.type for f in families.values()} == {"gauge"}
    got = {(s.labels["device"], s.labels["item"]): s.value for s in families["netwarden_if_in_bps"].samples}
    assert got == {("r1", odd): 1.5e19, ("r1", "eth0"): 11.0}
    assert sorted(s.value for s in families["netwarden_cpu_pct"].samples) == [-0.5, 7.0, 7.0]
    assert all(set(s.labels) == {"device"} for s in families["netwarden_cpu_pct"].samples)  # no empty item
    assert metrics.prometheus_text([]) == ""


# -- API and CLI --------------------------------------------------------------------------------


def test_api_series_prometheus_and_errors(ctx: Context, api: httpx.Client, tokens: dict[str, str]) -> None:
    now = int(time.time())
    samples = irregular(now - 1800, now - 60, 7)
    written = put(ctx, [Point("edge1", "if_in_bps", "xe-0/0/0", ts, v) for ts, v in samples], now)
    put(ctx, [Point("edge1", "cpu_pct", "", now + 3600, 1.0)], now)  # refused: from the future
    assert written.written == len(samples)
    v = auth(tokens["viewer"])
    params = {"device": "edge1", "metric": "if_in_bps", "start": str(now - 1800), "end": str(now), "step": "5m"}

    r = api.get("/api/v1/metrics", params=params, headers=v)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 1 and set(page["items"][0]) == {
        "device",
        "metric",
        "instance",
        "start",
        "end",
        "step",
        "resolution",
        "points",
    }
    item = page["items"][0]
    assert (item["instance"], item["step"], item["resolution"]) == ("xe-0/0/0", 300, "5m")
    got = {p["ts"]: (p["min"], p["max"], p["avg"], p["count"], p["last"]) for p in item["points"]}
    assert_same(got, summarise(samples, M5))
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 1800))
    r = api.get("/api/v1/metrics", params={**params, "start": iso, "step": "60"}, headers=v)
    assert r.status_code == 200 and r.json()["items"][0]["resolution"] == "raw"

    assert api.get("/api/v1/metrics", params=params).status_code == 401
    assert api.get("/api/v1/metrics/prometheus").status_code == 401
    for bad, word in (
        ({"step": "5x"}, "bad duration"),
        ({"step": "0"}, "bad duration"),
        ({"start": "yesterday"}, "bad time"),
        ({"end": str(now - 3600)}, "must be before"),
    ):
        r = api.get("/api/v1/metrics", params={**params, **bad}, headers=v)
        assert r.status_code == 400 and r.headers["content-type"] == "application/problem+json", bad
        assert word in r.json()["detail"] and "\n" not in r.json()["detail"]
    r = api.get("/api/v1/metrics", params={"device": "edge1"}, headers=v)
    assert r.status_code == 422 and r.json()["detail"].startswith("metric")
    assert api.get("/api/v1/metrics", params={**params, "device": "nobody"}, headers=v).status_code == 404

    r = api.get("/api/v1/metrics/prometheus", params={"device": "edge1"}, headers=v)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    (family,) = text_string_to_metric_families(r.text)
    assert family.name == "netwarden_if_in_bps" and [s.value for s in family.samples] == [samples[-1][1]]
    assert api.get("/api/v1/metrics/prometheus", params={"max_age": 1}, headers=v).text == ""

    own = {f.name: f for f in text_string_to_metric_families(api.get("/metrics").text)}
    refused = {s.labels["reason"]: s.value for s in own["netwarden_metrics_points_refused"].samples}
    assert refused["future"] >= 1
    assert own["netwarden_metrics_points_written"].samples[0].value >= len(samples)
    assert own["netwarden_metrics_series"].samples[0].value == 1  # a refused point makes no series


def test_cli_query_latest_maintain_json(
    ctx: Context, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NETWARDEN_DATA_DIR", str(ctx.data_dir))
    if ctx.settings.database_url:
        monkeypatch.setenv("NETWARDEN_DATABASE_URL", ctx.settings.database_url)
    now = int(time.time())
    samples = irregular(now - 1200, now - 60, 8)
    put(ctx, [Point("core1", "if_out_bps", "eth2", ts, v) for ts, v in samples], now)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    code, out, err = run("metrics", "query", "core1", "if_out_bps", "--since", "30m", "--step", "5m", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert [(s["device"], s["metric"], s["instance"], s["step"], s["resolution"]) for s in doc] == [
        ("core1", "if_out_bps", "eth2", 300, "5m")
    ]
    assert set(doc[0]["points"][0]) == {"ts", "min", "max", "avg", "count", "last"}
    assert sum(p["count"] for p in doc[0]["points"]) == len(samples)

    code, out, _ = run("metrics", "latest", "core1", "--json")
    assert code == 0 and json.loads(out) == [
        {"device": "core1", "metric": "if_out_bps", "instance": "eth2", "ts": samples[-1][0], "value": samples[-1][1]}
    ]
    code, out, _ = run("metrics", "maintain", "--json")
    doc = json.loads(out)
    assert code == 0 and set(doc) == {"rollup", "prune"} and doc["rollup"]["rows_5m"] >= 3

    code, out, err = run("metrics", "query", "core1", "if_out_bps", "--step", "fast")
    assert code != 0 and "bad duration" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("metrics", "latest", "nobody")
    assert code != 0 and "nobody" in err and len(err.strip().splitlines()) == 1


# -- maintenance --------------------------------------------------------------------------------


def test_rollup_told_to_stop_leaves_the_rest_to_the_next_run(ctx: Context) -> None:
    samples = irregular(NOW - 3 * H1, NOW, 9)
    put(ctx, [Point("r1", "cpu_pct", "", ts, v) for ts, v in samples], NOW)
    with ctx.db() as db:
        first = rollup(db, now=NOW, should_stop=lambda: True)  # one window (an hour of 5m buckets) at least
    assert (first.done, first.mark_5m, first.mark_1h, first.rows_5m) == (False, NOW - 2 * H1, 0, 12)
    with ctx.db() as db:
        prune(db, now=NOW + 3 * 86400)  # raw past retention, but only the first hour is summarised
    assert count(ctx, MetricSample) == len(samples) - 60
    with ctx.db() as db:
        second = rollup(db, now=NOW)
    assert (second.done, second.mark_5m, second.mark_1h) == (True, NOW - M5, NOW - H1)
    sid = series_id(ctx, "r1", "cpu_pct", "")
    assert_same(rows_of(ctx, MetricRollup5m, sid), {k: v for k, v in summarise(samples, M5).items() if k < NOW - M5})


def test_maintenance_pass_rolls_up_prunes_and_survives_failures(
    ctx: Context, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netwarden.jobs import maintenance

    samples = irregular(NOW - 3 * 86400, NOW - 3 * 86400 + H1, 10)  # past raw retention at NOW
    put(ctx, [Point("r1", "cpu_pct", "", ts, v) for ts, v in samples], NOW - 3 * 86400 + H1)
    put(ctx, [Point("r1", "cpu_pct", "", ts, v) for ts, v in irregular(NOW - H1, NOW, 11)], NOW)

    outcome = asyncio.run(maintenance.metrics_maintenance_pass(ctx, now=NOW))
    assert outcome is not None and outcome.rollup.done
    assert (outcome.rollup.mark_5m, outcome.rollup.mark_1h) == (NOW - M5, NOW - H1)
    assert outcome.prune.raw == len(samples)  # the old hour: summarised first, then dropped
    assert_same(rows_of(ctx, MetricRollup1h, series_id(ctx, "r1", "cpu_pct", "")), summarise(samples, H1))

    # A store that cannot be reached: logged in one line, no exception.
    broken = Context(ctx.settings.model_copy(update={"database_url": "postgresql+psycopg://nw@127.0.0.1:9/none"}))
    caplog.clear()
    assert asyncio.run(maintenance.metrics_maintenance_pass(broken)) is None
    assert [r.getMessage() for r in caplog.records if "maintenance failed" in r.getMessage()]


def test_maintenance_loop_goes_on_after_a_failure_and_stops_when_told(
    ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from netwarden.jobs import maintenance

    calls: list[float | None] = []
    real = maintenance.run_maintenance

    def flaky(*args: object) -> maintenance.MaintenanceOutcome:
        calls.append(None)
        if len(calls) == 1:
            raise RuntimeError("disk full")
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(maintenance, "run_maintenance", flaky)

    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(maintenance.metrics_maintenance_loop(ctx, interval=0.01, stop=stop))
        deadline = time.monotonic() + 30
        while len(calls) < 3 and time.monotonic() < deadline and not task.done():
            await asyncio.sleep(0.01)  # polling a condition with a deadline, not a timed wait
        assert len(calls) >= 3 and not task.done()  # the first pass failed; the loop went on
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    asyncio.run(scenario())
