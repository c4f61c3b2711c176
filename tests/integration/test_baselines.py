"""Baselines and capacity learned from the real metrics store, on SQLite and PostgreSQL.

Points go in through ``metrics.write`` and are rolled up by ``metrics_rollup.rollup`` exactly as in
production; the test then checks what was learned against medians it computes itself from the
points it wrote.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics

from sqlalchemy import text

from netwarden.context import Context
from netwarden.inventory import service as inventory
from netwarden.inventory.schemas import DeviceIn, SiteIn
from netwarden.monitor import metrics, metrics_rollup
from netwarden.monitor.baselines import DAY, HOUR, MAD_TO_SIGMA, Baselines, evaluate_round
from netwarden.monitor.metrics import MetricsPolicy
from netwarden.monitor.records import Point
from netwarden.monitor.thresholds import ThresholdEngine
from tests.conftest import ADMIN

MONDAY = int(dt.datetime(2027, 1, 4, tzinfo=dt.UTC).timestamp())
WEEK = 7 * DAY
NOW = MONDAY + 4 * WEEK + 14 * HOUR  # Monday 14:00, after four weeks of history
POLICY = MetricsPolicy(raw_days=31, m5_days=31)
STEP = 300


def office_cpu(start: int, end: int, device: str, seed: int) -> list[Point]:
    rnd = random.Random(seed)
    return [
        Point(device, "cpu_pct", "", ts, 10 + (20 if 9 <= ts // HOUR % 24 < 17 else 0) + rnd.gauss(0, 2))
        for ts in range(start, end, STEP)
    ]


def growing_util(start: int, end: int) -> list[Point]:
    """Interface utilisation whose busiest hour grows 1.2 points a day: 40 % four weeks ago."""
    out = []
    for ts in range(start, end, STEP):
        days = (ts - start) / DAY
        busy = 1.0 if 9 <= ts // HOUR % 24 < 17 else 0.5
        out.append(Point("r1", "if_util_pct", "eth1", ts, (40 + 1.2 * days) * busy))
    return out


def store(ctx: Context, points: list[Point]) -> None:
    with ctx.db() as db:
        result = metrics.write(db, points, now=NOW, policy=POLICY)
        assert result.refused == {} and result.written == len(points)
    with ctx.db() as db:
        metrics_rollup.rollup(db, now=NOW, policy=POLICY)


def test_learn_from_rollups_then_judge_live_points(ctx: Context) -> None:
    r1 = office_cpu(NOW - 4 * WEEK - 14 * HOUR, NOW, "r1", seed=1)
    r2 = office_cpu(NOW - 2 * WEEK, NOW, "r2", seed=2)  # too little history for a verdict
    store(ctx, r1 + r2)

    b = Baselines()
    with ctx.db() as db:
        got = b.learn(db, until=NOW)
    assert (got.series, got.slots) == (1, 168)
    # One row an hour of each series, up to the 1-hour rollup mark (13:00: the 13:00 hour is not complete).
    assert got.rows == len({(p.device, int(p.ts) // HOUR) for p in r1 + r2 if p.ts < NOW - HOUR})
    assert set(b.learned) == {("r1", "cpu_pct", "")}

    # What was learned for Monday 14:00 is the median and MAD of that hour's averages, week by week.
    hourly: dict[int, list[float]] = {}
    for p in r1:
        hourly.setdefault(int(p.ts) // HOUR * HOUR, []).append(p.value)
    mondays_14 = [statistics.fmean(hourly[MONDAY + w * WEEK + 14 * HOUR]) for w in range(4)]
    usual = statistics.median(mondays_14)
    mad = statistics.median([abs(v - usual) for v in mondays_14])
    dev = b.deviation("r1", "cpu_pct", "", NOW, 78.0)
    assert dev is not None
    assert abs(dev.usual - usual) < 1e-9
    assert abs(dev.spread - MAD_TO_SIGMA * mad) < 1e-9

    engine = ThresholdEngine()
    b.next_refresh = NOW + DAY  # learned just now
    events = []
    with ctx.db() as db:
        for i in range(4):
            events += evaluate_round(db, [Point("r1", "cpu_pct", "", NOW + i * STEP, 78.0)], engine, b, now=NOW)
    assert [e.kind for e in events] == ["baseline"]
    assert events[0].summary.startswith("r1 cpu 78% is ")
    assert f"deviations above its usual {usual:.1f}".rstrip("0").rstrip(".") in events[0].summary
    assert events[0].summary.endswith("for Monday 14:00 UTC")


def test_learning_from_the_five_minute_tier(ctx: Context) -> None:
    store(ctx, office_cpu(NOW - 4 * WEEK - 14 * HOUR, NOW, "r1", seed=3))
    b = Baselines(tier="5m")
    with ctx.db() as db:
        got = b.learn(db, since=NOW - 4 * WEEK - 14 * HOUR, until=NOW)
    assert (got.series, got.slots) == (1, 168)
    assert got.rows > 12 * 4 * 168 - 12 * 24  # every 5-minute bucket rolled up so far
    dev = b.deviation("r1", "cpu_pct", "", NOW, 30.0)
    assert dev is not None and abs(dev.usual - 30) < 2
    assert dev.spread > 1  # five-minute values carry the within-hour noise (sigma 2)


def test_refresh_in_a_round_forecasts_capacity_with_roles_from_the_inventory(ctx: Context) -> None:
    store(ctx, growing_util(NOW - 4 * WEEK, NOW))
    with ctx.db() as db:
        inventory.add_site(db, ADMIN, SiteIn(name="hq"))
        inventory.add_device(db, ADMIN, DeviceIn(name="r1", site="hq", platform="frr", role="core"))
    # The busiest hour is at about 74 % now, +1.2 a day: the built-in 80 % is about five days away;
    # a rule for core devices warning at 75 % brings it to about a day.
    for rules, reaches, days in (([], "80%", 5), ([{"metric": "if_util_pct", "role": "core", "warn": 75}], "75%", 1)):
        engine = ThresholdEngine(rules)
        b = Baselines()
        with ctx.db() as db:
            events = evaluate_round(db, [], engine, b, now=NOW)
        assert [e.kind for e in events] == ["capacity"], rules
        e = events[0]
        assert (e.subject, e.metric) == ("r1:eth1", "if_util_pct:eth1")
        assert f"reaches {reaches} around" in e.summary
        left = float(e.summary.split(", in ")[1].split(" days")[0])
        assert abs(left - days) <= 1.5, e.summary
        assert b.next_refresh == NOW + b.refresh_seconds
        # Not again until the next refresh, and not again at the next refresh either: only on change.
        with ctx.db() as db:
            assert evaluate_round(db, [], engine, b, now=NOW + 60) == []
            assert evaluate_round(db, [], engine, b, now=NOW + b.refresh_seconds) == []


def test_a_store_error_while_refreshing_keeps_the_rounds_threshold_events(ctx: Context) -> None:
    with ctx.db() as db:
        db.execute(text("DROP TABLE metric_rollup_1h"))
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": 90}])
    b = Baselines()
    with ctx.db() as db:
        events = evaluate_round(db, [Point("r1", "cpu_pct", "", NOW, 95.0)], engine, b, now=NOW)
        assert [e.kind for e in events] == ["threshold"]
        assert b.next_refresh == NOW + 300  # tried again in five minutes, not at every round
        assert db.execute(text("SELECT COUNT(*) FROM metric_series")).scalar_one() == 0  # session still usable
        assert evaluate_round(db, [Point("r1", "cpu_pct", "", NOW + 60, 95.0)], engine, b, now=NOW + 60) == []
