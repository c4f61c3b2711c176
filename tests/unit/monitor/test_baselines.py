"""Learned baselines and capacity forecasts on synthetic series."""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.alerts.events import Event
from netwarden.errors import ConfigError
from netwarden.monitor.baselines import (
    DAY,
    HOUR,
    Baselines,
    CapacityPolicy,
    Row,
    evaluate_round,
    median_mad,
    theil_sen,
)
from netwarden.monitor.records import Point
from netwarden.monitor.thresholds import ThresholdEngine

MONDAY = int(dt.datetime(2027, 1, 4, tzinfo=dt.UTC).timestamp())  # a Monday, 00:00 UTC
WEEK = 7 * DAY
STEP = 300


def office_cpu(weeks: int, seed: int = 1, noise: float = 1.0, start: int = MONDAY) -> list[Row]:
    """Hourly cpu_pct: 10 % at night, 30 % in office hours (09-17), with some noise."""
    rnd = random.Random(seed)
    return [
        ("r1", "cpu_pct", "", start + h * HOUR, 10 + (20 if 9 <= h % 24 < 17 else 0) + rnd.gauss(0, noise))
        for h in range(weeks * 168)
    ]


def live(start: float, values: list[float], metric: str = "cpu_pct", instance: str = "") -> list[Point]:
    return [Point("r1", metric, instance, start + i * STEP, v) for i, v in enumerate(values)]


def feed(b: Baselines, points: list[Point]) -> list[Event]:
    out: list[Event] = []
    for p in points:
        out += b.evaluate([p])
    return out


AFTER = MONDAY + 4 * WEEK  # the Monday after four weeks of history


# -- statistics and clock -----------------------------------------------------------------------


def test_median_mad_and_theil_sen() -> None:
    assert median_mad([1, 2, 3, 4, 100]) == (3, 1)
    slope, intercept = theil_sen([0, 1, 2, 3, 4, 5, 6], [1, 3, 5, 7, 9, 11, 1000]) or (0, 0)
    assert (slope, intercept) == (2, 1)  # one wild day does not bend the line
    assert theil_sen([1, 1], [2, 3]) is None


def test_hour_of_week_slots_follow_the_time_zone_and_its_summer_time() -> None:
    utc = Baselines()
    assert utc.clock.slot(MONDAY)[0] == 0
    assert utc.clock.slot(MONDAY + 14 * HOUR + 59 * 60)[0] == 14
    assert utc.clock.slot(MONDAY + 6 * DAY + 23 * HOUR)[0] == 167
    assert utc.clock.slot(MONDAY + WEEK)[1] == utc.clock.slot(MONDAY)[1] + 1
    assert utc.clock.label(14) == "Monday 14:00 UTC"
    paris = Baselines(tz="Europe/Paris")
    winter = int(dt.datetime(2027, 1, 4, 9, tzinfo=dt.UTC).timestamp())  # 10:00 in Paris
    summer = int(dt.datetime(2027, 7, 5, 8, tzinfo=dt.UTC).timestamp())  # 10:00 in Paris, a Monday too
    assert paris.clock.slot(winter)[0] == paris.clock.slot(summer)[0] == 10
    with pytest.raises(ConfigError, match="time zone"):
        Baselines(tz="Mars/Olympus")


@pytest.mark.parametrize(("kwargs", "says"), [({"k": 2, "clear_k": 3}, "clear_k"), ({"window_days": 14}, "min_weeks")])
def test_bad_parameters(kwargs: dict[str, float], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        Baselines(**kwargs)  # type: ignore[arg-type]


# -- learning -----------------------------------------------------------------------------------


def test_a_slot_needs_three_weeks_of_history() -> None:
    b = Baselines()
    got = b.learn_rows(office_cpu(2))
    assert (got.series, got.slots, got.rows) == (0, 0, 336)
    assert b.deviation("r1", "cpu_pct", "", AFTER, 90) is None
    got = b.learn_rows(office_cpu(3))
    assert (got.series, got.slots) == (1, 168)
    dev = b.deviation("r1", "cpu_pct", "", AFTER + 14 * HOUR, 30)
    assert dev is not None and abs(dev.usual - 30) < 3 and abs(dev.deviations) < 2
    # Two weeks without 05:00 on Monday leave that slot without a verdict.
    holes = [r for r in office_cpu(3) if (r[3] - MONDAY) % WEEK // HOUR != 5 or r[3] < MONDAY + WEEK]
    b.learn_rows(holes)
    assert b.deviation("r1", "cpu_pct", "", AFTER + 5 * HOUR, 10) is None
    assert b.deviation("r1", "cpu_pct", "", AFTER + 6 * HOUR, 10) is not None


def test_metrics_without_a_spec_and_bad_values_are_not_learned() -> None:
    b = Baselines()
    rows = [(d, "uptime_seconds", i, ts, v) for d, _, i, ts, v in office_cpu(4)]
    rows += [(d, m, i, ts, math.nan if ts % (2 * HOUR) else v) for d, m, i, ts, v in office_cpu(4)]
    b.learn_rows(rows)
    assert ("r1", "uptime_seconds", "") not in b.learned
    assert b.deviation("r1", "uptime_seconds", "", AFTER, 1) is None
    assert b.deviation("r1", "cpu_pct", "", AFTER, 10) is not None  # even hours, four weeks


# -- judging points -------------------------------------------------------------------------------


def test_a_deviation_held_long_enough_gives_one_event_saying_how_far_off() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4))
    at = AFTER + 14 * HOUR
    events = feed(b, live(at, [78, 78, 78, 79, 80, 78]))
    assert [e.kind for e in events] == ["baseline"]
    e = events[0]
    assert (e.subject, e.device, e.metric, e.value, e.severity) == ("r1", "r1", "cpu_pct", 78, "warning")
    assert e.at.timestamp() == at + 600  # the hold time: three polls five minutes apart
    dev = b.deviation("r1", "cpu_pct", "", at, 78)
    assert dev is not None
    usual = f"{dev.usual:.1f}".rstrip("0").rstrip(".")
    assert e.summary == f"r1 cpu 78% is {dev.deviations:.1f} deviations above its usual {usual}% for Monday 14:00 UTC"
    assert b.active() == {("r1", "cpu_pct", "")}
    back = feed(b, live(at + 3600, [33]))
    assert [x.kind for x in back] == ["baseline_clear"]
    assert "back near its usual" in back[0].summary


def test_a_spike_shorter_than_the_hold_time_raises_nothing() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4))
    assert feed(b, live(AFTER + 14 * HOUR, [78, 78, 30, 78, 78, 30, 30])) == []


def test_only_the_direction_that_matters() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4))
    assert feed(b, live(AFTER + 14 * HOUR, [0.0] * 6)) == []  # idle cpu is no problem
    rnd = random.Random(3)
    traffic = [("r1", "if_in_bps", "eth1", MONDAY + h * HOUR, 50e6 + rnd.gauss(0, 1e6)) for h in range(4 * 168)]
    b.learn_rows(traffic)
    events = feed(b, live(AFTER + 3 * HOUR, [0.0] * 4, metric="if_in_bps", instance="eth1"))
    assert [e.kind for e in events] == ["baseline"]
    assert events[0].subject == "r1:eth1" and events[0].metric == "if_in_bps:eth1"
    assert events[0].summary.startswith("r1 eth1 in 0 b/s is ")
    assert " deviations below its usual " in events[0].summary
    assert events[0].summary.endswith(" Mb/s for Monday 03:00 UTC")


def test_floor_keeps_a_flat_series_quiet_on_small_wobbles() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4, noise=0))  # MAD 0
    # The floor at 30 % is max(2, 10 % of 30) = 3 points: 36 % is 2 deviations, 45 % is 5.
    assert feed(b, live(AFTER + 14 * HOUR, [36.0] * 6)) == []
    assert len(feed(b, live(AFTER + 15 * HOUR, [45.0] * 6))) == 1


def test_series_past_a_threshold_are_not_raised_again() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4))
    points = live(AFTER + 14 * HOUR, [97.0] * 6)
    assert b.evaluate(points, skip={("r1", "cpu_pct", "")}) == []
    assert len(b.evaluate([p._replace(ts=p.ts + 3600) for p in points])) == 1


def test_disabled_or_unlearned_judges_nothing() -> None:
    off = Baselines(enabled=False)
    off.learn_rows(office_cpu(4))
    assert off.evaluate(live(AFTER + 14 * HOUR, [99.0] * 6)) == []
    assert Baselines().evaluate(live(AFTER + 14 * HOUR, [99.0] * 6)) == []


def test_a_baseline_lost_on_relearning_clears_what_it_raised() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4))
    assert len(feed(b, live(AFTER + 14 * HOUR, [90.0] * 4))) == 1
    b.learn_rows([(d, "mem_used_pct", i, ts, v) for d, _, i, ts, v in office_cpu(4)])
    events = feed(b, live(AFTER + 16 * HOUR, [90.0]))
    assert [e.kind for e in events] == ["baseline_clear"]
    assert "no baseline any more" in events[0].summary


def test_restore_after_a_restart() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4))
    opened = feed(b, live(AFTER + 14 * HOUR, [90.0] * 4))
    again = Baselines()
    again.learn_rows(office_cpu(4))
    again.restore(opened)
    assert again.active() == {("r1", "cpu_pct", "")}
    assert [e.kind for e in feed(again, live(AFTER + 20 * HOUR, [10.0]))] == ["baseline_clear"]


def test_evaluate_round_without_refresh_suppresses_baselines_past_a_threshold() -> None:
    b = Baselines()
    b.learn_rows(office_cpu(4))
    b.next_refresh = math.inf
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": 95}])
    events: list[Event] = []
    for p in live(AFTER + 14 * HOUR, [97.0] * 4):
        events += evaluate_round(None, [p], engine, b)  # type: ignore[arg-type]
    assert [e.kind for e in events] == ["threshold"]
    events = []
    for p in live(AFTER + 15 * HOUR, [80.0] * 4):
        events += evaluate_round(None, [p], engine, b)  # type: ignore[arg-type]
    assert [e.kind for e in events] == ["threshold_clear", "baseline"]
    only = evaluate_round(None, live(AFTER, [99.0]), ThresholdEngine([{"metric": "cpu_pct", "warn": 95}]), None)  # type: ignore[arg-type]
    assert [e.kind for e in only] == ["threshold"]


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    value=st.floats(min_value=0, max_value=1e9),
    weeks=st.integers(3, 6),
    metric=st.sampled_from(["cpu_pct", "if_in_bps", "rtt_ms", "sla_mos", "loss_pct"]),
    start=st.integers(0, 2 * WEEK),
    n=st.integers(1, 40),
)
def test_a_constant_series_never_raises(value: float, weeks: int, metric: str, start: int, n: int) -> None:
    b = Baselines()
    b.learn_rows([("r1", metric, "x", MONDAY + h * HOUR, value) for h in range(weeks * 168)])
    at = MONDAY + weeks * WEEK + start
    assert feed(b, live(at, [value] * n, metric=metric, instance="x")) == []


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    base=st.floats(min_value=0, max_value=1e4),
    noise=st.floats(min_value=0, max_value=100),
    excess=st.floats(min_value=0.01, max_value=50),
    start=st.integers(0, WEEK),
    hold=st.sampled_from([0, 300, 600, 1800]),
    extra=st.integers(0, 10),
)
def test_a_spike_beyond_k_always_raises_after_the_hold_time(
    seed: int, base: float, noise: float, excess: float, start: int, hold: int, extra: int
) -> None:
    b = Baselines(hold_seconds=hold)
    rnd = random.Random(seed)
    b.learn_rows([("r1", "rtt_ms", "", MONDAY + h * HOUR, base + abs(rnd.gauss(0, noise))) for h in range(4 * 168)])
    at = AFTER + start
    points = []
    for i in range(hold // STEP + 1 + extra):
        ts = at + i * STEP
        probe = b.deviation("r1", "rtt_ms", "", ts, 0.0)
        assert probe is not None
        points.append(Point("r1", "rtt_ms", "", ts, probe.usual + (b.k + excess) * probe.scale))
    events = feed(b, points)
    assert [e.kind for e in events] == ["baseline"]
    assert events[0].at.timestamp() == at + (hold // STEP) * STEP
    reported = float(events[0].summary.split(" is ")[1].split(" deviations")[0])
    assert reported >= round(b.k, 1)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    wobble=st.lists(st.floats(min_value=0, max_value=1), min_size=2, max_size=40),
)
def test_hysteresis_stops_flapping(seed: int, wobble: list[float]) -> None:
    """Once raised, values anywhere above clear_k deviations keep one open event, never a storm."""
    b = Baselines(hold_seconds=0)
    b.learn_rows(office_cpu(4, seed=seed, noise=3))
    at = AFTER + 10 * HOUR
    values = []
    for i, w in enumerate(wobble):
        ts = at + i * STEP
        ref = b.deviation("r1", "cpu_pct", "", ts, 0.0)
        assert ref is not None
        # The first value is past k; then between clear_k and k + 1 deviations, alternately.
        dev = b.k + 1 if i == 0 else b.clear_k + 0.01 + w * (b.k + 1 - b.clear_k) * (i % 2)
        values.append(Point("r1", "cpu_pct", "", ts, ref.usual + dev * ref.scale))
    assert [e.kind for e in feed(b, values)] == ["baseline"]


# -- capacity -------------------------------------------------------------------------------------


def days_of(values: list[float], metric: str = "if_util_pct", instance: str = "eth1", start: int = MONDAY) -> list[Row]:
    return [("r1", metric, instance, start + d * DAY, v) for d, v in enumerate(values)]


NOW = MONDAY + 28 * DAY


def test_a_rising_busy_hour_warns_with_the_date_it_reaches_the_threshold() -> None:
    b = Baselines()
    engine = ThresholdEngine()  # if_util_pct warns at 80
    rnd = random.Random(5)
    rows = days_of([40 + 1.2 * d + rnd.gauss(0, 1) for d in range(28)])
    events = b.capacity_rows(rows, engine, {}, NOW)
    assert [e.kind for e in events] == ["capacity"]
    e = events[0]
    assert (e.subject, e.metric, e.severity) == ("r1:eth1", "if_util_pct:eth1", "warning")
    # The line is at about 74 % now and reaches 80 % in about five days.
    days_left = float(e.summary.split(", in ")[1].split(" days")[0])
    reached = dt.datetime.fromtimestamp(NOW + days_left * DAY, dt.UTC).date().isoformat()
    assert f"around {reached}" in e.summary
    assert e.summary.startswith("r1 eth1 utilisation is trending up 1.")
    assert "reaches 80%" in e.summary and "(warning threshold)" in e.summary
    assert b.capacity_rows(rows, engine, {}, NOW) == []  # no repeat
    flat = days_of([40 + rnd.gauss(0, 1) for _ in range(28)])
    assert [x.kind for x in b.capacity_rows(flat, engine, {}, NOW)] == ["capacity_clear"]


def test_capacity_event_date_matches_the_fitted_line() -> None:
    b = Baselines()
    rows = days_of([50 + 1.0 * d for d in range(28)])  # exact line: 50 + d, d = 28 now -> 78 %
    events = b.capacity_rows(rows, ThresholdEngine(), {}, NOW)
    assert len(events) == 1
    assert events[0].value == pytest.approx(78)
    assert ", in 2 days" in events[0].summary
    assert (dt.datetime.fromtimestamp(NOW, dt.UTC) + dt.timedelta(days=2)).date().isoformat() in events[0].summary


@pytest.mark.parametrize(
    "values",
    [
        [40.0] * 28,  # flat
        [40 - 0.5 * d for d in range(28)],  # falling
        [20 + 0.5 * d for d in range(28)],  # rising, but reaches 80 % in about 90 days
        [40.0 if d % 7 else 99.0 for d in range(28)],  # a few wild days: Theil-Sen ignores them
        [40 + 2.0 * d for d in range(5)],  # too few days to say
    ],
)
def test_no_capacity_warning(values: list[float]) -> None:
    assert Baselines().capacity_rows(days_of(values), ThresholdEngine(), {}, NOW) == []


def test_capacity_needs_a_threshold_and_recent_data() -> None:
    rows = days_of([40 + 1.5 * d for d in range(28)])
    b = Baselines()
    silenced = ThresholdEngine([{"metric": "if_util_pct", "off": True}])
    assert b.capacity_rows(rows, silenced, {}, NOW) == []
    assert b.capacity_rows(rows, ThresholdEngine(), {}, NOW + 10 * DAY) == []  # series stopped
    assert b.capacity_rows(rows, ThresholdEngine(), {}, NOW, skip={("r1", "if_util_pct", "eth1")}) == []
    core = ThresholdEngine([{"metric": "if_util_pct", "role": "core", "warn": 60}])
    got = b.capacity_rows(rows, core, {"r1": "core"}, NOW)
    assert len(got) == 1 and "reaches 60%" in got[0].summary
    assert [e.kind for e in b.capacity_rows([], core, {}, NOW)] == ["capacity_clear"]


def test_capacity_policy_horizon() -> None:
    rows = days_of([20 + 0.5 * d for d in range(28)])  # 34 % now, +0.5/day: 80 % in 92 days
    assert Baselines(capacity=CapacityPolicy(horizon_days=100)).capacity_rows(rows, ThresholdEngine(), {}, NOW)
    assert Baselines(capacity=None).capacity_rows(rows, ThresholdEngine(), {}, NOW) == []
