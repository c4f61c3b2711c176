"""The metrics store's pure parts: durations, times, tier choice, steps and the Prometheus text."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from netwarden.errors import InvalidInput
from netwarden.monitor.metrics import (
    LatestValue,
    MetricsPolicy,
    auto_step,
    parse_duration,
    parse_time,
    pick_tier,
    prometheus_text,
)

NOW = 1_767_225_600.0
DAY = 86400


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("5m", 300), (" 1h ", 3600), ("2d", 172800), ("1w", 604800)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "0m", "-5m", "5x", "m", "1.5h", "5 m", "1h30m", "9999999999"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(InvalidInput, match="bad duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1767225600", NOW),
        ("1767225600.5", NOW + 0.5),
        ("2026-01-01T00:00:00Z", NOW),
        ("2026-01-01T00:00:00", NOW),  # no zone: UTC
        ("2026-01-01T01:00:00+01:00", NOW),
        ("2026-01-01", NOW),
    ],
)
def test_times(text: str, seconds: float) -> None:
    assert parse_time(text) == seconds


@pytest.mark.parametrize(
    "text", ["yesterday", "", "-1", "nan", "inf", "1e400", "2026-13-01", "0001-01-01T00:00:00+01:00", "9" * 20]
)
def test_bad_times(text: str) -> None:
    with pytest.raises(InvalidInput, match="bad time"):
        parse_time(text)


@given(st.text(max_size=40))
def test_any_text_is_a_time_duration_or_invalid_input(text: str) -> None:
    for parse in (parse_time, parse_duration):
        try:
            value = parse(text)
        except InvalidInput as exc:
            assert "\n" not in str(exc).replace(repr(text), "")
        else:
            assert 0 <= value < 2**40


@given(st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)))
def test_iso_times_round_trip(when: dt.datetime) -> None:
    assert parse_time(when.isoformat()) == when.timestamp()


def test_tier_by_step_and_age() -> None:
    p = MetricsPolicy()
    assert pick_tier(1, NOW - 3600, NOW, p) == "raw"
    assert pick_tier(299, NOW - 3600, NOW, p) == "raw"
    assert pick_tier(300, NOW - 3600, NOW, p) == "5m"
    assert pick_tier(3599, NOW - 3600, NOW, p) == "5m"
    assert pick_tier(3600, NOW - 3600, NOW, p) == "1h"
    assert pick_tier(60, NOW - 2 * DAY + 1, NOW, p) == "raw"
    assert pick_tier(60, NOW - 2 * DAY - 1, NOW, p) == "5m"  # raw is gone there
    assert pick_tier(60, NOW - 30 * DAY - 1, NOW, p) == "1h"
    assert pick_tier(60, NOW - DAY, NOW, MetricsPolicy(raw_days=0.5)) == "5m"


@given(st.integers(min_value=1, max_value=10**10))
def test_auto_step_gives_at_most_about_1000_points(span: int) -> None:
    step = auto_step(span)
    assert step >= 60 and span / step <= 1000


printable = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=0, max_size=30)


@given(
    st.lists(st.tuples(printable.filter(bool), printable, st.floats(allow_nan=False, allow_infinity=False)), max_size=8)
)
def test_prometheus_text_parses_back(rows: list[tuple[str, str, float]]) -> None:
    values = [LatestValue(device=d, metric="if_in_bps", instance=i, ts=0, value=v) for d, i, v in rows]
    families = list(text_string_to_metric_families(prometheus_text(values)))
    got = sorted((s.labels["device"], s.labels.get("item", ""), s.value) for f in families for s in f.samples)
    assert got == sorted((d, i, v) for d, i, v in rows)
