"""Learned baselines (what is usual for this hour of the week) and capacity forecasts.

**Baselines.** ``Baselines.learn`` reads the hourly rollups of the last ``window_days`` (8 weeks) in
one query ordered by series (plus one for the series' names) and keeps, per series and hour of
the week (168 slots, in ``tz``), the median and the spread ``1.4826 * MAD`` (the median absolute
deviation scaled to a standard deviation for normal data, but not moved by the odd outage or
spike). A slot needs values from at least ``min_weeks`` (3) different weeks, else it gives no
verdict. A point is then

    deviations = (value - median) / (spread + floor)

where ``floor`` (per metric: an absolute amount and a share of the median, :data:`DEFAULT_SPECS`)
keeps a flat series (MAD 0) from alarming on a wobble. Past ``k`` (4) deviations, in the direction
that matters for the metric, for ``hold_seconds`` (600), gives one ``baseline`` event saying how
many deviations and what is usual; back under ``clear_k`` (2) gives one ``baseline_clear``.

Cost: learning reads R = series x hours-in-window rows (8 weeks: 1,344 a series) once per
``refresh_seconds``, streaming (memory: one series' rows at a time), in O(R log R); what is kept
is two arrays of 168 doubles a series (2.7 kB). Judging a point is O(1).

**Capacity.** ``Baselines.assess_capacity`` takes each day's busiest hour (one grouped query over
the hourly rollups: series x days rows) of the metrics with a threshold, fits a Theil-Sen line
(the median of pairwise slopes: a few outlier days do not bend it) over the last ``days`` (28),
and warns when the line reaches the threshold's first level within ``horizon_days`` (30); the
warning clears when the crossing moves past ``clear_days`` (45) or the trend turns.

:func:`evaluate_round` is what a polling round calls with its points.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import statistics
import threading
import time
from array import array
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from netwarden.alerts.events import Event
from netwarden.config import Settings
from netwarden.errors import ConfigError, NetwardenError
from netwarden.monitor.records import Point
from netwarden.monitor.thresholds import (
    Key,
    ThresholdEngine,
    describe,
    format_value,
    key_of_event,
    metric_field,
    subject_of,
)

log = logging.getLogger(__name__)

HOUR = 3600
DAY = 86400
SLOTS = 168
MAD_TO_SIGMA = 1.4826
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
Row = tuple[str, str, str, float, float]


@dataclass(frozen=True)
class MetricSpec:
    """How one metric is judged: which way is bad, and the smallest spread that counts."""

    direction: Literal["above", "below", "both"]
    floor: float
    rel_floor: float = 0.0

    def floor_at(self, usual: float) -> float:
        return max(self.floor, self.rel_floor * abs(usual))


_TRAFFIC = MetricSpec("both", 100_000, 0.1)  # 100 kb/s or 10 %: a drop to zero is news too
_ERRORS = MetricSpec("above", 1, 0.1)
_DELAY = MetricSpec("above", 2, 0.2)
_LOSS = MetricSpec("above", 1)
#: Metrics with a baseline. Interface utilisation is left out: it moves with if_in/out_bps.
DEFAULT_SPECS: dict[str, MetricSpec] = {
    "if_in_bps": _TRAFFIC,
    "if_out_bps": _TRAFFIC,
    "if_in_errors_ps": _ERRORS,
    "if_out_errors_ps": _ERRORS,
    "if_in_discards_ps": _ERRORS,
    "if_out_discards_ps": _ERRORS,
    "cpu_pct": MetricSpec("above", 2, 0.1),
    "mem_used_pct": MetricSpec("above", 2, 0.05),
    "rtt_ms": _DELAY,
    "jitter_ms": _DELAY,
    "loss_pct": _LOSS,
    "sla_rtt_ms": _DELAY,
    "sla_jitter_ms": _DELAY,
    "sla_loss_pct": _LOSS,
    "sla_mos": MetricSpec("below", 0.1),
}


@dataclass(frozen=True)
class CapacityPolicy:
    metrics: tuple[str, ...] = ("if_util_pct", "cpu_pct", "mem_used_pct")
    days: int = 28
    min_days: int = 7
    horizon_days: float = 30
    clear_days: float = 45


class LearnResult(BaseModel):
    """What one ``learn`` did: rows read, series and hour-of-week slots with a verdict."""

    rows: int = 0
    series: int = 0
    slots: int = 0
    since: int = 0
    until: int = 0


@dataclass(frozen=True, slots=True)
class Deviation:
    """How far a value is from what is usual for its hour of the week."""

    usual: float
    spread: float  # 1.4826 x MAD
    scale: float  # spread + floor: what one deviation is worth, in the metric's unit
    deviations: float  # signed: positive above the usual value
    slot: int


class _Clock:
    """Hour of the week (0 = Monday 00:00) and week number of an hour, in a time zone; cached per hour."""

    def __init__(self, tz: str) -> None:
        try:
            self.zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(
                f"unknown time zone {tz!r} for baselines; give an IANA name such as Europe/Paris"
            ) from exc
        self.name = tz
        self.cache: dict[int, tuple[int, int]] = {}

    def slot(self, ts: float) -> tuple[int, int]:
        hour = int(ts // HOUR)
        got = self.cache.get(hour)
        if got is None:
            when = dt.datetime.fromtimestamp(hour * HOUR, self.zone)
            offset = when.utcoffset() or dt.timedelta(0)
            # The UNIX epoch was a Thursday: 72 hours after a Monday 00:00.
            local = (hour * HOUR + int(offset.total_seconds())) // HOUR + 72
            got = (local % SLOTS, local // SLOTS)
            if len(self.cache) > 100_000:
                self.cache.clear()
            self.cache[hour] = got
        return got

    def label(self, slot: int) -> str:
        return f"{DAYS[slot // 24]} {slot % 24:02d}:00 {self.name}"


# -- statistics -------------------------------------------------------------------------------


def median_mad(values: Sequence[float]) -> tuple[float, float]:
    """The median and the median absolute deviation of ``values`` (not empty)."""
    mid = statistics.median(values)
    return mid, statistics.median([abs(v - mid) for v in values])


def theil_sen(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float] | None:
    """(slope, intercept) of the Theil-Sen line, None with fewer than two distinct x. O(n^2) pairs."""
    slopes = [(yj - yi) / (xj - xi) for (xi, yi), (xj, yj) in combinations(zip(xs, ys, strict=True), 2) if xj != xi]
    if not slopes:
        return None
    slope = statistics.median(slopes)
    return slope, statistics.median([y - slope * x for x, y in zip(xs, ys, strict=True)])


# -- baselines --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Watch:
    level: int = 0
    since: float | None = None
    sign: float = 1.0
    last_ts: float = -math.inf


_LEARN_SQL = (
    "SELECT r.series_id, r.ts / 3600, r.avg FROM metric_series s JOIN {table} r ON r.series_id = s.id"
    " WHERE s.metric IN :metrics AND r.ts >= :a AND r.ts < :z ORDER BY r.series_id, r.ts"
)
_NAMES_SQL = "SELECT id, device, metric, instance FROM metric_series WHERE metric IN :metrics"
_CAPACITY_SQL = (
    "SELECT s.device, s.metric, s.instance, (r.ts / 86400) * 86400 AS day, MAX(r.avg) AS peak"
    " FROM metric_series s JOIN metric_rollup_1h r ON r.series_id = s.id"
    " WHERE s.metric IN :metrics AND r.ts >= :a AND r.ts < :z"
    " GROUP BY r.series_id, s.device, s.metric, s.instance, (r.ts / 86400) * 86400"
    " ORDER BY r.series_id, day"
)


class Baselines:
    """Learned hour-of-week baselines, the deviation watch on live points, and capacity forecasts.

    One object lives as long as the monitoring loop; ``evaluate_round`` refreshes it every
    ``refresh_seconds``. With ``enabled`` false it learns nothing and judges no point, but still
    forecasts capacity (which depends on the thresholds, not on baselines).
    """

    def __init__(
        self,
        *,
        enabled: bool = True,
        k: float = 4.0,
        clear_k: float = 2.0,
        hold_seconds: float = 600,
        min_weeks: int = 3,
        window_days: float = 56,
        tier: Literal["1h", "5m"] = "1h",
        tz: str = "UTC",
        specs: Mapping[str, MetricSpec] | None = None,
        refresh_seconds: float = 6 * HOUR,
        capacity: CapacityPolicy | None = CapacityPolicy(),
    ) -> None:
        if not 0 <= clear_k < k:
            raise ConfigError(f"baselines: clear_k ({clear_k}) must be at least 0 and under k ({k})")
        if min_weeks < 1 or window_days < 7 * min_weeks:
            raise ConfigError(f"baselines: window_days ({window_days}) must hold min_weeks ({min_weeks}) weeks")
        self.enabled = enabled
        self.k, self.clear_k, self.hold_seconds = k, clear_k, hold_seconds
        self.min_weeks, self.window_days, self.tier = min_weeks, window_days, tier
        self.specs: dict[str, MetricSpec] = dict(DEFAULT_SPECS if specs is None else specs)
        self.refresh_seconds = refresh_seconds
        self.capacity = capacity
        self.clock = _Clock(tz)
        self.learned: dict[Key, tuple[array[float], array[float]]] = {}
        self.learned_at: float | None = None
        self.next_refresh = 0.0
        self._watch: dict[Key, _Watch] = {}
        self._capacity: set[Key] = set()
        self.refresh_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Baselines:
        return cls(enabled=settings.baselines_enabled)

    # -- learning -----------------------------------------------------------------------------

    def learn(self, db: Session, since: float | None = None, until: float | None = None) -> LearnResult:
        """Learn from the rollups in [since, until) (default: the last ``window_days`` up to now).

        Two queries: the names of the series of baselined metrics, then their rollup rows in
        (series, time) order, fetched in batches and folded one series at a time.
        """
        until_i = int(time.time() if until is None else until)
        since_i = int(until_i - self.window_days * DAY if since is None else since)
        table = "metric_rollup_1h" if self.tier == "1h" else "metric_rollup_5m"
        wanted = {"metrics": sorted(self.specs)}
        names_stmt = text(_NAMES_SQL).bindparams(bindparam("metrics", expanding=True))
        names: dict[int, Key] = {sid: (d, m, i) for sid, d, m, i in db.execute(names_stmt, wanted)}
        stmt = text(_LEARN_SQL.format(table=table)).bindparams(bindparam("metrics", expanding=True))
        rows = db.execute(stmt, {**wanted, "a": since_i, "z": until_i}, execution_options={"yield_per": 20_000})
        learned: dict[Key, tuple[array[float], array[float]]] = {}
        result = LearnResult(since=since_i, until=until_i)
        current = -1
        hours: list[int] = []
        values: list[float] = []
        for part in rows.partitions(20_000):
            for sid, hour, value in part:
                if sid != current:
                    self._keep(learned, result, names.get(current), hours, values)
                    current, hours, values = sid, [], []
                hours.append(hour)
                values.append(value)
        self._keep(learned, result, names.get(current), hours, values)
        self.learned, self.learned_at = learned, time.time()
        log.info(
            "baselines learned rows=%d series=%d slots=%d since=%d until=%d",
            result.rows,
            result.series,
            result.slots,
            since_i,
            until_i,
        )
        return result

    def learn_rows(self, rows: Iterable[Row]) -> LearnResult:
        """Learn from (device, metric, instance, ts, value) rows grouped by series; replaces what was learned."""
        learned: dict[Key, tuple[array[float], array[float]]] = {}
        result = LearnResult()
        for key, pairs in _by_series(rows):
            self._keep(learned, result, key, [int(t // HOUR) for t, _ in pairs], [v for _, v in pairs])
        self.learned, self.learned_at = learned, time.time()
        return result

    def _keep(
        self,
        learned: dict[Key, tuple[array[float], array[float]]],
        result: LearnResult,
        key: Key | None,
        hours: list[int],
        values: list[float],
    ) -> None:
        """Fold one series' rows (UNIX hours, ascending) into its 168 slots; keep it when a slot has a verdict."""
        result.rows += len(hours)
        if key is None or key[1] not in self.specs or not hours:
            return
        by_slot: list[list[float]] = [[] for _ in range(SLOTS)]
        weeks = [0] * SLOTS
        last_week = [-1] * SLOTS
        cache, slot_of, isfinite = self.clock.cache, self.clock.slot, math.isfinite
        for hour, v in zip(hours, values, strict=True):
            if not isfinite(v):
                continue
            slot, week = cache.get(hour) or slot_of(hour * HOUR)
            by_slot[slot].append(v)
            if week != last_week[slot]:  # times ascend, so a slot sees its weeks in order
                last_week[slot] = week
                weeks[slot] += 1
        usual = array("d", [math.nan]) * SLOTS
        spread = array("d", [math.nan]) * SLOTS
        good = 0
        for slot, vals in enumerate(by_slot):
            if weeks[slot] >= self.min_weeks:
                mid, mad = median_mad(vals)
                usual[slot], spread[slot] = mid, MAD_TO_SIGMA * mad
                good += 1
        if good:
            learned[key] = (usual, spread)
            result.series += 1
            result.slots += good

    def deviation(self, device: str, metric: str, instance: str, ts: float, value: float) -> Deviation | None:
        """How far ``value`` at ``ts`` is from the usual for that hour of the week; None without a verdict."""
        spec = self.specs.get(metric)
        got = self.learned.get((device, metric, instance))
        if spec is None or got is None:
            return None
        slot, _ = self.clock.slot(ts)
        usual, spread = got[0][slot], got[1][slot]
        if math.isnan(usual):
            return None
        scale = spread + spec.floor_at(usual)
        if scale <= 0:
            return None
        return Deviation(usual=usual, spread=spread, scale=scale, deviations=(value - usual) / scale, slot=slot)

    # -- judging points -----------------------------------------------------------------------

    def active(self) -> set[Key]:
        return {k for k, w in self._watch.items() if w.level}

    def restore(self, events: Iterable[Event]) -> None:
        """Take back open ``baseline`` and ``capacity`` alerts (after a restart) so their clear is sent."""
        for e in events:
            if e.kind == "baseline":
                self._watch[key_of_event(e)] = _Watch(level=1, sign=-1.0 if " below " in e.summary else 1.0)
            elif e.kind == "capacity":
                self._capacity.add(key_of_event(e))

    def evaluate(self, points: Iterable[Point], skip: Collection[Key] = ()) -> list[Event]:
        """Baseline events the points cause; series in ``skip`` (past a threshold already) are not raised."""
        if not self.enabled or not self.learned:
            return []
        events: list[Event] = []
        specs = self.specs
        for device, metric, instance, ts, value in sorted((p for p in points if p[1] in specs), key=lambda p: p[3]):
            if not (math.isfinite(ts) and math.isfinite(value)):
                continue
            key = (device, metric, instance)
            watch = self._watch.get(key)
            if watch is None:
                if key not in self.learned:
                    continue
                watch = self._watch[key] = _Watch()
            if ts <= watch.last_ts:
                continue
            watch.last_ts = ts
            dev = self.deviation(device, metric, instance, ts, value)
            if dev is None:
                watch.since = None  # no verdict: a pending deviation is not confirmed
                if watch.level and key not in self.learned:
                    watch.level = 0
                    events.append(self._event("baseline_clear", key, ts, value, None))
                continue
            if watch.level:
                if watch.sign * dev.deviations < self.clear_k:
                    watch.level, watch.since = 0, None
                    events.append(self._event("baseline_clear", key, ts, value, dev))
                continue
            direction = specs[metric].direction
            sign = 1.0 if dev.deviations >= 0 else -1.0
            if direction != "both" and sign != (1.0 if direction == "above" else -1.0):
                watch.since = None
                continue
            if abs(dev.deviations) <= self.k or key in skip:
                watch.since = None
                continue
            if watch.since is None or sign != watch.sign:
                watch.since, watch.sign = ts, sign
            if ts - watch.since >= self.hold_seconds:
                watch.level = 1
                events.append(self._event("baseline", key, ts, value, dev))
        return events

    def _event(
        self, kind: Literal["baseline", "baseline_clear"], key: Key, ts: float, value: float, dev: Deviation | None
    ) -> Event:
        device, metric, instance = key
        what = f"{describe(device, metric, instance)} {format_value(metric, value)}"
        usual = f"{format_value(metric, dev.usual)} for {self.clock.label(dev.slot)}" if dev else ""
        if dev is None:
            summary = f"{what}: no baseline any more (the series has too little history now)"
        elif kind == "baseline":
            way = "above" if dev.deviations > 0 else "below"
            summary = f"{what} is {abs(dev.deviations):.1f} deviations {way} its usual {usual}"
        else:
            summary = f"{what} is back near its usual {usual} ({abs(dev.deviations):.1f} deviations)"
        return Event(
            source="poll",
            kind=kind,
            subject=subject_of(device, instance),
            device=device,
            severity="warning" if kind == "baseline" else "info",
            metric=metric_field(metric, instance),
            value=value,
            at=dt.datetime.fromtimestamp(ts, dt.UTC),
            summary=summary,
        )

    # -- capacity -----------------------------------------------------------------------------

    def assess_capacity(
        self, db: Session, engine: ThresholdEngine, roles: Mapping[str, str], now: float, skip: Collection[Key] = ()
    ) -> list[Event]:
        """Capacity events from the daily busiest hours of the last ``capacity.days`` (one grouped query)."""
        if self.capacity is None:
            return []
        stmt = text(_CAPACITY_SQL).bindparams(bindparam("metrics", expanding=True))
        since = int(now - self.capacity.days * DAY) // DAY * DAY
        rows = db.execute(stmt, {"metrics": sorted(self.capacity.metrics), "a": since, "z": int(now)})
        return self.capacity_rows(((d, m, i, float(t), float(v)) for d, m, i, t, v in rows), engine, roles, now, skip)

    def capacity_rows(
        self,
        rows: Iterable[Row],
        engine: ThresholdEngine,
        roles: Mapping[str, str],
        now: float,
        skip: Collection[Key] = (),
    ) -> list[Event]:
        """Capacity events from (device, metric, instance, day start, busiest hour) rows grouped by series."""
        policy = self.capacity
        if policy is None:
            return []
        events: list[Event] = []
        seen: set[Key] = set()
        for key, days in _by_series(rows):
            seen.add(key)
            device, metric, instance = key
            rule = engine.rule_for(device, metric, instance, roles.get(device, ""))
            forecast, level, name = None, math.nan, ""
            if rule is not None and key not in skip:
                level, name = rule.first_level(), f"{'warning' if rule.warn is not None else 'critical'} threshold"
                forecast = _forecast(days, level, rule.direction, now, policy)
            active = key in self._capacity
            if forecast is not None and not active and forecast[2] <= policy.horizon_days:
                self._capacity.add(key)
                events.append(self._capacity_event(key, now, forecast, level, name, policy))
            elif active and (forecast is None or forecast[2] > policy.clear_days):
                self._capacity.discard(key)
                events.append(self._capacity_event(key, now, forecast, level, "", policy, raised=False))
        for key in sorted(self._capacity - seen):  # no data any more: nothing left to forecast
            self._capacity.discard(key)
            events.append(self._capacity_event(key, now, None, math.nan, "", policy, raised=False))
        return events

    def _capacity_event(
        self,
        key: Key,
        now: float,
        forecast: tuple[float, float, float] | None,
        level: float,
        rule: str,
        policy: CapacityPolicy,
        *,
        raised: bool = True,
    ) -> Event:
        device, metric, instance = key
        what = describe(device, metric, instance)
        if raised and forecast is not None:
            slope, current, days = forecast
            when = dt.datetime.fromtimestamp(now + days * DAY, dt.UTC).date().isoformat()
            way = "up" if slope > 0 else "down"
            summary = (
                f"{what} is trending {way} {format_value(metric, abs(slope))}/day (busiest hour now "
                f"{format_value(metric, current)}): reaches {format_value(metric, level)} around {when}, "
                f"in {days:.0f} days ({rule})"
            )
            value: float | None = current
        else:
            summary = f"{what} no longer trends to its threshold within {policy.horizon_days:g} days"
            value = forecast[1] if forecast is not None else None
        return Event(
            source="poll",
            kind="capacity" if raised else "capacity_clear",
            subject=subject_of(device, instance),
            device=device,
            severity="warning" if raised else "info",
            metric=metric_field(metric, instance),
            value=value,
            at=dt.datetime.fromtimestamp(now, dt.UTC),
            summary=summary,
        )

    # -- refreshing ---------------------------------------------------------------------------

    def refresh(
        self,
        db: Session,
        engine: ThresholdEngine,
        roles: Mapping[str, str] | None = None,
        now: float | None = None,
        skip: Collection[Key] | None = None,
    ) -> list[Event]:
        """Learn again (when enabled) and forecast capacity; the next refresh is due ``refresh_seconds`` on.

        ``skip``: series past a threshold (default: the engine's), which get no capacity warning.
        """
        now = time.time() if now is None else now
        self.next_refresh = now + self.refresh_seconds
        if self.enabled:
            self.learn(db, until=now)
        if self.capacity is None:
            return []
        if roles is None:
            roles = device_roles(db) if engine.uses_roles else {}
        return self.assess_capacity(db, engine, roles, now, skip=engine.active() if skip is None else skip)


def _by_series(rows: Iterable[Row]) -> Iterator[tuple[Key, list[tuple[float, float]]]]:
    """Consecutive rows of one series together: (key, [(ts, value), ...])."""
    key: Key | None = None
    values: list[tuple[float, float]] = []
    for device, metric, instance, ts, value in rows:
        k = (device, metric, instance)
        if k != key:
            if key is not None and values:
                yield key, values
            key, values = k, []
        values.append((ts, value))
    if key is not None and values:
        yield key, values


def _forecast(
    days: list[tuple[float, float]], level: float, direction: str, now: float, policy: CapacityPolicy
) -> tuple[float, float, float] | None:
    """(slope per day, fitted value now, days until the line reaches ``level``) or None when it does not."""
    days = [(ts, v) for ts, v in days if math.isfinite(v)]
    if len(days) < policy.min_days or days[-1][0] < now - 2 * DAY:
        return None  # too little history, or the series stopped
    fit = theil_sen([ts / DAY for ts, _ in days], [v for _, v in days])
    if fit is None:
        return None
    slope, intercept = fit
    sign = 1.0 if direction == "above" else -1.0
    if sign * slope <= 0:
        return None
    current = intercept + slope * now / DAY
    left = max(0.0, (level - current) / slope)
    return slope, current, left


# -- the polling round --------------------------------------------------------------------------


def device_roles(db: Session, names: Collection[str] | None = None) -> dict[str, str]:
    """Each device's inventory role ('' when none), for the devices named (all when None)."""
    from netwarden.inventory.models import Device

    if names is None:
        return {n: r or "" for n, r in db.execute(select(Device.name, Device.role))}
    wanted = sorted(names)
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        rows = db.execute(select(Device.name, Device.role).where(Device.name.in_(wanted[i : i + 500])))
        out.update({n: r or "" for n, r in rows})
    return out


def evaluate_round(
    db: Session,
    points: Sequence[Point],
    engine: ThresholdEngine,
    baselines: Baselines | None,
    *,
    roles: Mapping[str, str] | None = None,
    now: float | None = None,
) -> list[Event]:
    """Threshold, baseline and capacity events for one polling round's points.

    Thresholds are judged on every point; baselines on the points of metrics that have one,
    except for series already past a threshold (one alert per problem). Every
    ``baselines.refresh_seconds`` the baselines are learned again and capacity is forecast; a
    store error there is logged and tried again in five minutes, and never loses the round's
    threshold events (the session is rolled back then: give this call a session of its own).

    Safe to call from several threads at once (``asyncio.to_thread`` from the ping and the SNMP
    loops): the engines' state is changed under ``engine.lock``, and one refresh runs at a time,
    outside that lock, so a long learning run does not hold up another loop's round.
    """
    now = time.time() if now is None else now
    if roles is None:
        roles = device_roles(db, {p[0] for p in points}) if engine.uses_roles else {}
    with engine.lock:
        events = engine.evaluate(points, roles)
        active = set(engine.active())
    if baselines is None:
        return events
    if now >= baselines.next_refresh and baselines.refresh_lock.acquire(blocking=False):
        try:
            events += baselines.refresh(db, engine, None, now, skip=active)
        except (SQLAlchemyError, NetwardenError) as exc:
            db.rollback()  # leave the session usable; the refresh only read
            baselines.next_refresh = now + 300
            log.warning("baselines refresh failed, retrying in 5 minutes error=%r", str(exc).splitlines()[0])
        finally:
            baselines.refresh_lock.release()
    with engine.lock:
        events += baselines.evaluate(points, skip=active)
    return events
