"""Static thresholds: rule parsing, hold time, hysteresis, one event per change."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.alerts.events import Event
from netwarden.config import Settings
from netwarden.errors import ConfigError
from netwarden.monitor.records import Point
from netwarden.monitor.thresholds import (
    BUILTIN_RULES,
    ThresholdEngine,
    describe,
    format_value,
    parse_rules,
)

STEP = 300


def series(values: list[float], metric: str = "if_util_pct", instance: str = "eth1", device: str = "r1") -> list[Point]:
    return [Point(device, metric, instance, 1_800_000_000 + i * STEP, v) for i, v in enumerate(values)]


def run(engine: ThresholdEngine, points: list[Point], roles: dict[str, str] | None = None) -> list[Event]:
    """Feed the points one poll at a time, as the polling rounds do."""
    out: list[Event] = []
    for p in points:
        out += engine.evaluate([p], roles or {})
    return out


# -- rules ------------------------------------------------------------------------------------


def test_builtin_rules_cover_the_usual_metrics() -> None:
    engine = ThresholdEngine()
    levels = {
        m: (r.warn, r.crit, r.direction)
        for m in ("if_util_pct", "cpu_pct", "mem_used_pct", "loss_pct", "sla_mos")
        if (r := engine.rule_for("r1", m, "")) is not None
    }
    assert levels == {
        "if_util_pct": (80, 95, "above"),
        "cpu_pct": (85, 95, "above"),
        "mem_used_pct": (90, 97, "above"),
        "loss_pct": (5, 20, "above"),
        "sla_mos": (3.6, 3.1, "below"),
    }
    assert engine.rule_for("r1", "if_in_bps", "eth1") is None


def test_configured_rules_come_before_builtins_first_match_wins() -> None:
    engine = ThresholdEngine(
        [
            {"metric": "if_util_pct", "device": "core-*", "warn": 60, "crit": 70},
            {"metric": "if_util_pct", "role": "access", "warn": 90, "crit": 99},
            {"metric": "cpu_pct", "device": "fw*", "off": True},
            {"metric": "if_*_errors_ps", "warn": 1},
        ]
    )
    assert engine.rule_for("core-1", "if_util_pct", "eth1", "access").warn == 60  # type: ignore[union-attr]
    assert engine.rule_for("sw1", "if_util_pct", "eth1", "access").warn == 90  # type: ignore[union-attr]
    assert engine.rule_for("sw1", "if_util_pct", "eth1", "distribution").warn == 80  # type: ignore[union-attr]
    assert engine.rule_for("fw1", "cpu_pct", "") is None
    assert engine.rule_for("r1", "cpu_pct", "").warn == 85  # type: ignore[union-attr]
    assert engine.rule_for("r1", "if_in_errors_ps", "eth0").warn == 1  # type: ignore[union-attr]
    assert engine.uses_roles


def test_settings_thresholds_feed_the_engine() -> None:
    s = Settings(thresholds=[{"metric": "rtt_ms", "warn": 50, "instance": ""}])
    engine = ThresholdEngine.from_settings(s)
    assert engine.rule_for("r1", "rtt_ms", "").warn == 50  # type: ignore[union-attr]
    assert engine.rule_for("r1", "cpu_pct", "") is not None
    assert len(engine.rules) == 1 + len(BUILTIN_RULES)


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ({"metric": "cpu_pct", "warn": 90, "crit": 80}, "crit 80 is under warn 90"),
        ({"metric": "sla_mos", "warn": 3.0, "crit": 3.5, "direction": "below"}, "crit 3.5 is over warn 3"),
        ({"metric": "cpu_pct"}, "give warn and/or crit"),
        ({"metric": "cpu_pct", "warn": 1, "colour": "red"}, "colour: unknown key"),
        ({"metric": "cpu_pct", "warn": "high"}, "warn:"),
        ({"metric": "cpu_pct", "warn": 1, "direction": "sideways"}, "direction:"),
        ({"metric": "CPU %", "warn": 1}, "metric:"),
        ({"metric": "cpu_pct", "warn": float("nan")}, "finite"),
        ({"metric": "cpu_pct", "warn": 1, "for_seconds": -5}, "for_seconds"),
        ({"warn": 1}, "metric:"),
    ],
)
def test_bad_rules_raise_one_line_config_error_naming_the_rule(rule: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_rules([{"metric": "cpu_pct", "warn": 1}, rule])
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("threshold rule thresholds[1]")
    assert says in message


@pytest.mark.parametrize("raw", ["cpu_pct", {"metric": "cpu_pct"}, 5])
def test_thresholds_must_be_a_list_of_tables(raw: object) -> None:
    with pytest.raises(ConfigError):
        parse_rules(raw)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        parse_rules([raw])  # type: ignore[list-item]


# -- the engine -------------------------------------------------------------------------------


def test_raise_escalate_descend_and_clear_once_each() -> None:
    engine = ThresholdEngine()  # if_util_pct: 80/95, 300 s hold, 4 points hysteresis
    events = run(engine, series([50, 93, 93, 93, 97, 97, 97, 85, 85, 70, 70, 70]))
    assert [(e.kind, e.severity) for e in events] == [
        ("threshold", "warning"),
        ("threshold", "critical"),
        ("threshold", "warning"),
        ("threshold_clear", "info"),
    ]
    first = events[0]
    assert first.subject == "r1:eth1"
    assert first.device == "r1"
    assert first.metric == "if_util_pct:eth1"
    assert first.value == 93
    assert first.summary == "r1 eth1 utilisation 93% > 80% (warning threshold, for 5m)"
    # Raised at the second point past the level: the hold time is one poll interval.
    assert first.at.timestamp() == 1_800_000_000 + 2 * STEP
    assert events[-1].summary == "r1 eth1 utilisation 70% back under 76% (threshold cleared)"


def test_device_wide_metric_and_below_direction() -> None:
    engine = ThresholdEngine(
        [{"metric": "cpu_pct", "warn": 90}, {"metric": "sla_mos", "crit": 3.1, "direction": "below"}]
    )
    cpu = run(engine, series([95], metric="cpu_pct", instance=""))
    assert [(e.subject, e.metric, e.summary) for e in cpu] == [
        ("r1", "cpu_pct", "r1 cpu 95% > 90% (warning threshold)")
    ]
    mos = run(engine, series([4.2, 2.9, 2.8, 3.2, 3.4], metric="sla_mos", instance="10.0.0.2"))
    assert [e.kind for e in mos] == ["threshold", "threshold_clear"]
    assert mos[0].summary == "r1 MOS to 10.0.0.2 2.9 < 3.1 (critical threshold)"
    assert mos[1].value == 3.4  # 3.2 is still within the hysteresis (3.1 + 5%)


def test_short_spike_within_hold_time_raises_nothing() -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": 80, "for_seconds": 900}])
    assert run(engine, series([99, 99, 99, 10, 99, 99, 10], metric="cpu_pct", instance="")) == []
    assert len(run(engine, series([99] * 5, metric="cpu_pct", instance=""))) == 0  # same times: repeats
    later = [p._replace(ts=p.ts + 10 * STEP) for p in series([99] * 4, metric="cpu_pct", instance="")]
    events = run(engine, later)
    assert len(events) == 1
    assert events[0].at.timestamp() == later[3].ts


def test_one_batch_with_many_points_is_ordered_by_time() -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": 80}])
    points = series([90, 50, 90, 50], metric="cpu_pct", instance="")
    events = engine.evaluate(list(reversed(points)), {})
    assert [e.kind for e in events] == ["threshold", "threshold_clear", "threshold", "threshold_clear"]


def test_out_of_order_and_bad_values_are_ignored() -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": 80}])
    assert len(run(engine, series([90], metric="cpu_pct", instance=""))) == 1
    stale = Point("r1", "cpu_pct", "", 1_700_000_000, 10.0)
    nan = Point("r1", "cpu_pct", "", 1_900_000_000, math.nan)
    assert engine.evaluate([stale, nan], {}) == []
    assert engine.active() == {("r1", "cpu_pct", ""): 1}


def test_series_are_independent() -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": 80}])
    points = series([90, 90], metric="cpu_pct", instance="") + series([90, 10], "cpu_pct", "", device="r2")
    events = run(engine, points)
    assert [(e.device, e.kind) for e in events] == [("r1", "threshold"), ("r2", "threshold"), ("r2", "threshold_clear")]


def test_role_change_moves_a_series_to_another_rule() -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "role": "core", "warn": 50}, {"metric": "cpu_pct", "warn": 80}])
    events = run(engine, series([60], metric="cpu_pct", instance=""), {"r1": "core"})
    assert [e.kind for e in events] == ["threshold"]
    moved = series([60, 60], metric="cpu_pct", instance="")
    events = run(engine, [p._replace(ts=p.ts + STEP) for p in moved], {"r1": "edge"})
    assert [e.kind for e in events] == ["threshold_clear"]
    assert events[0].summary == "r1 cpu 60%: its threshold rule changed"
    assert engine.active() == {}


def test_off_rule_clears_what_was_open() -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "role": "lab", "off": True}, {"metric": "cpu_pct", "warn": 80}])
    assert [e.kind for e in run(engine, series([90], "cpu_pct", ""), {"r1": "core"})] == ["threshold"]
    later = [p._replace(ts=p.ts + STEP) for p in series([90], "cpu_pct", "")]
    events = run(engine, later, {"r1": "lab"})
    assert [e.kind for e in events] == ["threshold_clear"]
    assert events[0].summary == "r1 cpu 90%: no threshold applies any more"


def test_restore_sends_the_clear_of_an_alert_opened_before_a_restart() -> None:
    before = ThresholdEngine()
    opened = run(before, series([99] * 3, metric="cpu_pct", instance=""))
    assert [e.severity for e in opened] == ["critical"]
    after = ThresholdEngine()
    after.restore(opened)
    assert after.active() == {("r1", "cpu_pct", ""): 2}
    later = [p._replace(ts=p.ts + 10 * STEP) for p in series([99, 10], metric="cpu_pct", instance="")]
    assert [e.kind for e in run(after, later)] == ["threshold_clear"]


def test_formatting() -> None:
    assert format_value("if_in_bps", 93_123_456) == "93.1 Mb/s"
    assert format_value("if_in_bps", 999) == "999 b/s"
    assert format_value("rtt_ms", 12.34) == "12.3 ms"
    assert format_value("cpu_pct", 7.25) == "7.25%"
    assert format_value("if_in_errors_ps", 3) == "3/s"
    assert describe("r1", "if_in_errors_ps", "eth0") == "r1 eth0 in errors"
    assert describe("r1", "mem_used_pct", "") == "r1 memory"


# -- properties -------------------------------------------------------------------------------

levels = st.floats(min_value=1, max_value=1000, allow_nan=False)
values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(warn=levels, value=values, n=st.integers(1, 50), hold=st.sampled_from([0, 300, 900]))
def test_a_constant_series_gives_at_most_one_event(warn: float, value: float, n: int, hold: int) -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": warn, "for_seconds": hold}], builtins=False)
    events = run(engine, series([value] * n, metric="cpu_pct", instance=""))
    expected = 1 if value > warn and (n - 1) * STEP >= hold else 0
    assert len(events) == expected
    assert all(e.kind == "threshold" for e in events)


@settings(max_examples=200, deadline=None)
@given(
    warn=levels,
    hysteresis=st.floats(min_value=0.01, max_value=100),
    wobble=st.lists(st.floats(min_value=0.0, max_value=0.999), min_size=1, max_size=60),
)
def test_hysteresis_stops_flapping(warn: float, hysteresis: float, wobble: list[float]) -> None:
    """Once raised, a value moving anywhere inside (warn - hysteresis, +inf) never clears or re-raises."""
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": warn, "hysteresis": hysteresis}], builtins=False)
    # Start past the level, then wander between warn - 0.999 * hysteresis and warn + hysteresis.
    path = [warn + hysteresis] + [warn - hysteresis * w * (1 if i % 2 else -1) for i, w in enumerate(wobble)]
    path = [v for v in path if v > warn - hysteresis]
    events = run(engine, series(path, metric="cpu_pct", instance=""))
    assert [e.kind for e in events] == ["threshold"]


@settings(max_examples=200, deadline=None)
@given(
    path=st.lists(st.floats(min_value=0, max_value=100), min_size=1, max_size=80),
    hold=st.sampled_from([0, 300, 600]),
)
def test_events_follow_the_state_and_respect_the_hold_time(path: list[float], hold: int) -> None:
    engine = ThresholdEngine([{"metric": "cpu_pct", "warn": 60, "crit": 90, "for_seconds": hold}], builtins=False)
    points = series(path, metric="cpu_pct", instance="")
    events = run(engine, points)
    level = 0
    by_ts = {p.ts: i for i, p in enumerate(points)}
    for e in events:
        new = {"warning": 1, "critical": 2, "info": 0}[e.severity]
        assert new != level, "an event is only sent on a change"
        if e.kind == "threshold_clear":
            assert level > 0 and e.value is not None and e.value <= 60
        elif new > level:
            # Every point over the hold time before the raise was past the level raised to.
            i = by_ts[e.at.timestamp()]
            limit = 60 if new == 1 else 90
            first = i - hold // STEP
            assert first >= 0
            assert all(p.value > limit for p in points[first : i + 1])
        level = new
