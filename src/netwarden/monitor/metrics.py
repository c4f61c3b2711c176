"""The metrics store: bulk writes of points, rollups, retention, queries and latest values.

Raw samples live ``metrics_raw_days``; ``rollup`` summarises them into 5-minute buckets and
those into 1-hour buckets (min, max, avg, count, last); ``prune`` drops what is past each tier's
retention (never raw samples or 5-minute buckets that are not yet rolled up). ``query`` reads the
coarsest tier that fits the step and fills the not-yet-rolled tail from the finer tiers, so a
graph always reaches the present. Decision 0012 has the measurements behind the layout.

Series ids are cached in-process per engine; an id only enters the cache once the transaction
that created or read it has committed, so a rolled-back write never leaves a wrong id behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import threading
import time
import weakref
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, event, select, text
from sqlalchemy.orm import Session

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.config import Settings
from netwarden.errors import InvalidInput
from netwarden.monitor.models import MetricRollup1h, MetricRollup5m, MetricRollupMark, MetricSample, MetricSeries
from netwarden.monitor.records import Point

log = logging.getLogger(__name__)

DAY = 86400
M5 = 300
H1 = 3600
Tier = Literal["raw", "5m", "1h"]
Key = tuple[str, str, str]

# Larger than any 64-bit SNMP counter: anything beyond is a broken agent or a unit error.
MAX_ABS_VALUE = 2.0**64
METRIC_NAME = re.compile(r"[a-z][a-z0-9_]{0,127}")
MAX_NAME = 255
MAX_BUCKETS = 100_000
_CACHE_MAX = 1_000_000  # about 200 bytes a series; cleared when full rather than grown without bound
# Cleared this often too, so an id ``prune`` deleted in another process is never used for long.
_CACHE_MAX_AGE = 6 * 3600


@dataclass(frozen=True)
class MetricsPolicy:
    """Retention and acceptance limits; ``from_settings`` reads them from netwarden's settings."""

    raw_days: float = 2
    m5_days: float = 30
    h1_days: float = 400
    rollup_grace_seconds: int = 120
    max_future_seconds: int = 300

    @classmethod
    def from_settings(cls, s: Settings) -> MetricsPolicy:
        return cls(
            raw_days=s.metrics_raw_days,
            m5_days=s.metrics_5m_days,
            h1_days=s.metrics_1h_days,
            rollup_grace_seconds=s.metrics_rollup_grace_seconds,
            max_future_seconds=s.metrics_max_future_seconds,
        )


DEFAULT_POLICY = MetricsPolicy()


class WriteResult(BaseModel):
    """What one ``write`` did: rows written, points refused by reason, late points, new series."""

    written: int = 0
    refused: dict[str, int] = Field(default_factory=dict)
    late: int = Field(0, description="accepted, but older than the 5-minute rollup mark: kept raw only")
    new_series: int = 0


class SeriesPoint(BaseModel):
    """One step bucket of a series, starting at ``ts``."""

    ts: int
    min: float
    max: float
    avg: float
    count: int
    last: float


class Series(BaseModel):
    device: str
    metric: str
    instance: str
    start: int
    end: int
    step: int = Field(description="bucket width in seconds (at least the resolution of the tier read)")
    resolution: Tier = Field(description="the finest tier the buckets were read from")
    points: list[SeriesPoint]


class LatestValue(BaseModel):
    device: str
    metric: str
    instance: str
    ts: int
    value: float


# -- series ids ---------------------------------------------------------------------------------

_CACHES: weakref.WeakKeyDictionary[Engine, dict[Key, int]] = weakref.WeakKeyDictionary()
_CACHE_BORN: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()
_PENDING = "netwarden.metrics.pending"


class WriteTotals:
    """What this process's ``write`` calls did since it started, for netwarden's own ``/metrics``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.written = 0
        self.late = 0
        self.refused: Counter[str] = Counter()

    def add(self, result: WriteResult) -> None:
        with self._lock:
            self.written += result.written
            self.late += result.late
            self.refused.update(result.refused)

    def snapshot(self) -> tuple[int, int, dict[str, int]]:
        with self._lock:
            return self.written, self.late, dict(self.refused)


TOTALS = WriteTotals()


def _engine(db: Session) -> Engine:
    bind = db.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def _cache(db: Session) -> dict[Key, int]:
    engine = _engine(db)
    cache = _CACHES.get(engine)
    born = _CACHE_BORN.get(engine, 0.0)
    if cache is None or time.monotonic() - born > _CACHE_MAX_AGE:
        cache = _CACHES[engine] = {}
        _CACHE_BORN[engine] = time.monotonic()
    return cache


def _promote(session: Session) -> None:
    pending: dict[Key, int] = session.info.pop(_PENDING, {})
    if pending:
        cache = _cache(session)
        if len(cache) + len(pending) > _CACHE_MAX:
            cache.clear()
        cache.update(pending)


def _forget(session: Session, *_: Any) -> None:
    session.info.pop(_PENDING, None)


def _pending(db: Session) -> dict[Key, int]:
    pending: dict[Key, int] | None = db.info.get(_PENDING)
    if pending is None:
        pending = db.info[_PENDING] = {}
        if not db.info.get("netwarden.metrics.listening"):
            db.info["netwarden.metrics.listening"] = True
            event.listen(db, "after_commit", _promote)
            event.listen(db, "after_rollback", _forget)
    return pending


def forget_series_ids(db: Session) -> None:
    """Empty this process's series-id cache for the store behind ``db`` (after series are deleted)."""
    _cache(db).clear()


def _valid_key(key: Key) -> bool:
    device, metric, instance = key
    return (
        isinstance(device, str)
        and isinstance(metric, str)
        and isinstance(instance, str)
        and 0 < len(device) <= MAX_NAME
        and len(instance) <= MAX_NAME
        and METRIC_NAME.fullmatch(metric) is not None
        and device.isprintable()
        and instance.isprintable()
    )


def _load_ids(db: Session, keys: set[Key]) -> dict[Key, int]:
    """Ids of those ``keys`` that exist, read device by device (a device has a few hundred series)."""
    found: dict[Key, int] = {}
    devices = sorted({k[0] for k in keys})
    for i in range(0, len(devices), 500):
        rows = db.execute(
            select(MetricSeries.id, MetricSeries.device, MetricSeries.metric, MetricSeries.instance).where(
                MetricSeries.device.in_(devices[i : i + 500])
            )
        )
        for sid, device, metric, instance in rows:
            key = (device, metric, instance)
            if key in keys:
                found[key] = sid
    return found


def _resolve(db: Session, keys: set[Key]) -> tuple[dict[Key, int], int]:
    """Series ids for ``keys`` (all valid), creating the missing series; returns (ids, created)."""
    pending = _pending(db)
    ids = {k: pending[k] for k in keys if k in pending}
    todo = keys - ids.keys()
    if not todo:
        return ids, 0
    found = _load_ids(db, todo)
    missing = todo - found.keys()
    if missing:
        db.connection().execute(
            text(
                "INSERT INTO metric_series (device, metric, instance) VALUES (:d, :m, :i)"
                " ON CONFLICT (device, metric, instance) DO NOTHING"
            ),
            [{"d": d, "m": m, "i": i} for d, m, i in sorted(missing)],
        )
        found.update(_load_ids(db, missing))
    pending.update(found)
    ids.update(found)
    return ids, len(missing)


# -- writing ------------------------------------------------------------------------------------


def rollup_mark(db: Session, tier: str) -> int:
    """Every bucket of ``tier`` ("5m", "1h") starting before this UNIX time is rolled up (0: none yet)."""
    return db.scalar(select(MetricRollupMark.until).where(MetricRollupMark.tier == tier)) or 0


def write(
    db: Session, points: Iterable[Point], *, now: float | None = None, policy: MetricsPolicy = DEFAULT_POLICY
) -> WriteResult:
    """Store ``points`` in bulk; a rewrite of the same (series, second) replaces the value.

    Each bad point is refused and counted by reason, never raised: ``not-a-number`` (value or
    time not a number), ``not-finite`` (NaN, infinity), ``out-of-range`` (|value| > 2**64),
    ``future`` (more than ``max_future_seconds`` ahead of ``now``: clock skew), ``too-old``
    (older than raw retention), ``bad-name`` (empty or over-long device, metric not snake_case).
    Times are truncated to whole seconds; within one call the last point of a second wins.
    """
    now = time.time() if now is None else now
    horizon = now + policy.max_future_seconds
    oldest = now - policy.raw_days * DAY
    refused: Counter[str] = Counter()
    cache = _cache(db)
    pending = db.info.get(_PENDING) or {}
    rows: dict[tuple[int, int], float] = {}
    unknown: list[tuple[Key, int, float]] = []
    isfinite = math.isfinite
    for point in points:
        try:
            value = float(point[4])
            ts = float(point[3])
        except (TypeError, ValueError, IndexError, OverflowError):
            refused["not-a-number"] += 1
            continue
        if not isfinite(value) or not isfinite(ts):
            refused["not-finite"] += 1
            continue
        if abs(value) > MAX_ABS_VALUE:
            refused["out-of-range"] += 1
            continue
        if ts > horizon:
            refused["future"] += 1
            continue
        if ts < oldest:
            refused["too-old"] += 1
            continue
        key = (point[0], point[1], point[2])
        try:
            sid = cache.get(key) or pending.get(key)
        except TypeError:  # an unhashable name
            refused["bad-name"] += 1
            continue
        if sid is None:
            unknown.append((key, int(ts), value))
        else:
            rows[(sid, int(ts))] = value
    new_series = 0
    if unknown:
        keys = {k for k, _, _ in unknown}
        good = {k for k in keys if _valid_key(k)}
        ids, new_series = _resolve(db, good)
        for key, ts_, value in unknown:
            sid = ids.get(key)
            if sid is None:
                refused["bad-name"] += 1
            else:
                rows[(sid, ts_)] = value
    late = 0
    if rows:
        _insert(db, rows)
        mark = rollup_mark(db, "5m")
        if mark:
            late = sum(1 for _, ts_ in rows if ts_ < mark)
    result = WriteResult(written=len(rows), refused=dict(refused), late=late, new_series=new_series)
    TOTALS.add(result)
    if refused or late:
        log.warning(
            "metrics points refused written=%d late=%d %s",
            result.written,
            late,
            " ".join(f"{reason}={n}" for reason, n in sorted(refused.items())),
        )
    return result


def _insert(db: Session, rows: dict[tuple[int, int], float]) -> None:
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        # COPY into a per-connection temporary table, then one upsert from it: twice the rate of
        # one INSERT over unnest() arrays, ten times that of executemany (decision 0012).
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cur:
            cur.execute(
                "CREATE TEMPORARY TABLE IF NOT EXISTS netwarden_metric_stage"
                " (series_id integer, ts bigint, value double precision) ON COMMIT DELETE ROWS"
            )
            cur.execute("DELETE FROM netwarden_metric_stage")  # a second write in the same transaction
            with cur.copy("COPY netwarden_metric_stage (series_id, ts, value) FROM STDIN") as copy:
                for (sid, ts), value in rows.items():
                    copy.write_row((sid, ts, value))
            cur.execute(
                "INSERT INTO metric_samples (series_id, ts, value)"
                " SELECT series_id, ts, value FROM netwarden_metric_stage"
                " ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value"
            )
    else:
        conn.exec_driver_sql(
            "INSERT INTO metric_samples (series_id, ts, value) VALUES (?, ?, ?)"
            " ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value",
            [(sid, ts, value) for (sid, ts), value in rows.items()],
        )


# -- reading ------------------------------------------------------------------------------------


def _series(db: Session, device: str, metric: str, instance: str | None) -> list[MetricSeries]:
    stmt = select(MetricSeries).where(MetricSeries.device == device, MetricSeries.metric == metric)
    if instance is not None:
        stmt = stmt.where(MetricSeries.instance == instance)
    # Sorted here, not in SQL: PostgreSQL's collation and SQLite's byte order disagree.
    return sorted(db.scalars(stmt), key=lambda s: s.instance)


def pick_tier(step: int, start: float, now: float, policy: MetricsPolicy = DEFAULT_POLICY) -> Tier:
    """The coarsest tier not coarser than ``step``, or coarser still when finer data is gone."""
    tier: Tier = "raw" if step < M5 else "5m" if step < H1 else "1h"
    if tier == "raw" and start < now - policy.raw_days * DAY:
        tier = "5m"
    if tier == "5m" and start < now - policy.m5_days * DAY:
        tier = "1h"
    return tier


def auto_step(span: float) -> int:
    """A step giving at most about 1,000 points over ``span`` seconds."""
    for step in (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, DAY):
        if span / step <= 1000:
            return step
    return max(DAY, math.ceil(span / 1000))


def query(
    db: Session,
    device: str,
    metric: str,
    instance: str | None = None,
    start: float | None = None,
    end: float | None = None,
    step: int | None = None,
    *,
    now: float | None = None,
    policy: MetricsPolicy = DEFAULT_POLICY,
) -> list[Series]:
    """The series of ``metric`` on ``device`` (one instance, or every instance when None).

    ``end`` defaults to now and ``start`` to an hour before it; ``step`` (seconds) defaults to one
    giving about 1,000 points. An unknown device or metric gives an empty list.
    """
    now = time.time() if now is None else now
    end_i = int(now if end is None else end)
    start_i = int(end_i - H1 if start is None else start)
    if end_i <= start_i:
        raise InvalidInput(f"metrics query: start ({start_i}) must be before end ({end_i})")
    step = auto_step(end_i - start_i) if step is None else step
    if step < 1:
        raise InvalidInput("metrics query: step must be at least 1 second")
    tier = pick_tier(step, start_i, now, policy)
    # A whole number of the tier's buckets per step, so no step bucket gets one more than another.
    resolution = {"raw": 1, "5m": M5, "1h": H1}[tier]
    step = -(-step // resolution) * resolution
    if (end_i - start_i) // step > MAX_BUCKETS:
        raise InvalidInput(f"metrics query: more than {MAX_BUCKETS} buckets; use a larger step or a shorter range")
    series = _series(db, device, metric, instance)
    if not series:
        return []
    ids = [s.id for s in series]
    z = end_i + 1  # end is inclusive
    mark5, mark1 = (rollup_mark(db, "5m"), rollup_mark(db, "1h")) if tier != "raw" else (0, 0)
    # (table, from, to): the chosen tier up to its mark, then the finer tiers up to now.
    if tier == "raw":
        parts = [("raw", start_i, z)]
    elif tier == "5m":
        parts = [("5m", start_i, min(z, mark5)), ("raw", max(start_i, mark5), z)]
    else:
        parts = [
            ("1h", start_i, min(z, mark1)),
            ("5m", max(start_i, mark1), min(z, mark5)),
            ("raw", max(start_i, mark5, mark1), z),
        ]
    acc: dict[int, dict[int, list[float]]] = {sid: {} for sid in ids}
    for source, a, b in parts:
        if b > a:
            _accumulate(db, source, ids, a, b, step, acc)
    return [
        Series(
            device=s.device,
            metric=s.metric,
            instance=s.instance,
            start=start_i,
            end=end_i,
            step=step,
            resolution=tier,
            points=[
                SeriesPoint(ts=b, min=v[0], max=v[1], avg=v[2] / v[3], count=int(v[3]), last=v[5])
                for b, v in sorted(acc[s.id].items())
            ],
        )
        for s in series
    ]


def _accumulate(
    db: Session, source: str, ids: Sequence[int], a: int, b: int, step: int, acc: dict[int, dict[int, list[float]]]
) -> None:
    """Fold rows of ``source`` in [a, b) into step buckets: [min, max, sum, count, last_ts, last]."""
    rows: Iterable[Sequence[Any]]
    if source == "raw":
        rows = db.execute(
            select(MetricSample.series_id, MetricSample.ts, MetricSample.value).where(
                MetricSample.series_id.in_(ids), MetricSample.ts >= a, MetricSample.ts < b
            )
        )
        rows = ((sid, ts, v, v, v, 1, v) for sid, ts, v in rows)
    else:
        table = MetricRollup5m if source == "5m" else MetricRollup1h
        rows = db.execute(
            select(table.series_id, table.ts, table.min, table.max, table.avg, table.count, table.last).where(
                table.series_id.in_(ids), table.ts >= a, table.ts < b
            )
        )
    for sid, ts, lo, hi, avg, count, last in rows:
        bucket = ts // step * step
        cur = acc[sid].get(bucket)
        if cur is None:
            acc[sid][bucket] = [lo, hi, avg * count, count, ts, last]
            continue
        cur[0] = min(cur[0], lo)
        cur[1] = max(cur[1], hi)
        cur[2] += avg * count
        cur[3] += count
        if ts >= cur[4]:
            cur[4], cur[5] = ts, last


def latest(
    db: Session, device: str | None, metric: str | None = None, *, since: float | None = None
) -> list[LatestValue]:
    """The newest raw sample of each series of ``device`` (every device when None), newer than ``since``."""
    sql = (
        "SELECT s.device, s.metric, s.instance, m.ts, m.value FROM metric_series s"
        " JOIN metric_samples m ON m.series_id = s.id"
        " AND m.ts = (SELECT MAX(x.ts) FROM metric_samples x WHERE x.series_id = s.id)"
        " WHERE 1 = 1"
    )
    params: dict[str, Any] = {}
    if device is not None:
        sql += " AND s.device = :device"
        params["device"] = device
    if metric is not None:
        sql += " AND s.metric = :metric"
        params["metric"] = metric
    if since is not None:
        sql += " AND m.ts >= :since"
        params["since"] = int(since)
    rows = sorted(db.execute(text(sql), params), key=lambda r: (r[1], r[0], r[2]))  # metric, device, instance
    return [LatestValue(device=d, metric=m, instance=i, ts=ts, value=v) for d, m, i, ts, v in rows]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(values: Iterable[LatestValue]) -> str:
    """Prometheus text exposition: ``netwarden_<metric>{device="..",item=".."} value`` as gauges.

    The series' instance (interface, peer, probe) is the label ``item``, left out when empty:
    Prometheus keeps ``instance`` for the scrape target and would rename ours ``exported_instance``.
    """
    lines: list[str] = []
    family = None
    for v in sorted(values, key=lambda v: (v.metric, v.device, v.instance)):
        if v.metric != family:
            family = v.metric
            lines.append(f"# TYPE netwarden_{family} gauge")
        item = f',item="{_label(v.instance)}"' if v.instance else ""
        lines.append(f'netwarden_{v.metric}{{device="{_label(v.device)}"{item}}} {v.value!r}')
    return "\n".join(lines) + "\n" if lines else ""


# -- what the API and CLI call ------------------------------------------------------------------

_UNITS = {"s": 1, "m": 60, "h": H1, "d": DAY, "w": 7 * DAY}
_DURATION = re.compile(r"(\d{1,9})([smhdw]?)")


def parse_duration(text_: str) -> int:
    """Seconds in ``"300"``, ``"5m"``, ``"1h"``, ``"2d"``, ``"1w"``; InvalidInput otherwise."""
    m = _DURATION.fullmatch(text_.strip())
    if m is None or int(m.group(1)) == 0:
        raise InvalidInput(f"bad duration {text_!r}: give a positive number with s, m, h, d or w (e.g. 5m)")
    return int(m.group(1)) * _UNITS[m.group(2) or "s"]


def parse_time(text_: str) -> float:
    """UNIX seconds from ``"1767225600"`` or ISO 8601 (``"2026-01-01T00:00:00Z"``; no zone means UTC)."""
    value = text_.strip()
    try:
        number = float(value)
    except ValueError:
        try:
            when = dt.datetime.fromisoformat(value)
        except ValueError as exc:
            raise InvalidInput(f"bad time {text_!r}: give UNIX seconds or ISO 8601 (2026-01-01T00:00:00Z)") from exc
        number = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    if math.isfinite(number) and 0 <= number < 2**40:
        return number
    raise InvalidInput(f"bad time {text_!r}: before 1970 or too far ahead")


def read_series(
    db: Session,
    actor: Actor,
    device: str,
    metric: str,
    instance: str | None = None,
    start: float | None = None,
    end: float | None = None,
    step: int | None = None,
    policy: MetricsPolicy = DEFAULT_POLICY,
) -> list[Series]:
    """``query`` for a viewer; NotFound when the device has no series and is not in the inventory."""
    require(actor, Role.viewer, "read metrics")
    series = query(db, device, metric, instance, start, end, step, policy=policy)
    if not series and not _has_series(db, device):
        from netwarden.inventory.devices import get_device

        get_device(db, device)  # raises NotFound for a device nobody knows
    return series


def read_latest(db: Session, actor: Actor, device: str, metric: str | None = None) -> list[LatestValue]:
    """``latest`` for a viewer; NotFound when the device has no series and is not in the inventory."""
    require(actor, Role.viewer, "read metrics")
    values = latest(db, device, metric)
    if not values and not _has_series(db, device):
        from netwarden.inventory.devices import get_device

        get_device(db, device)
    return values


def _has_series(db: Session, device: str) -> bool:
    return db.scalar(select(MetricSeries.id).where(MetricSeries.device == device).limit(1)) is not None


def exposition(db: Session, actor: Actor, device: str | None = None, max_age: int = 900) -> str:
    """Prometheus text of the latest value of every series (of ``device``) updated in ``max_age`` seconds."""
    require(actor, Role.viewer, "read metrics")
    return prometheus_text(latest(db, device, since=time.time() - max_age))
