"""Rollups and retention of the metrics store: ``rollup``, ``prune`` and ``maintain``.

Raw samples are summarised into 5-minute buckets, those into 1-hour buckets (min, max, avg,
count, last). A mark per tier says how far it is complete; ``prune`` never deletes raw samples or
5-minute buckets that the next tier has not summarised yet, whatever the retention says.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pydantic import BaseModel, Field
from sqlalchemy import func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from netwarden.monitor.metrics import DAY, DEFAULT_POLICY, H1, M5, MetricsPolicy, forget_series_ids, rollup_mark
from netwarden.monitor.models import MetricRollup5m, MetricRollupMark, MetricSample, MetricSeries

log = logging.getLogger(__name__)

_ROLLUP_SERIES_CHUNK = 20_000
StopCheck = Callable[[], bool]
_ROLLUP_WINDOW_BUCKETS = 12

_ROLLUP_SET = (
    " WHERE true ON CONFLICT (series_id, ts) DO UPDATE SET min = excluded.min, max = excluded.max,"
    " avg = excluded.avg, count = excluded.count, last = excluded.last"
)
_RAW_TO_5M = (
    "INSERT INTO metric_rollup_5m (series_id, ts, min, max, avg, count, last)"
    " SELECT g.series_id, g.b, g.mn, g.mx, g.av, g.n, l.value FROM ("
    "  SELECT m.series_id AS series_id, (m.ts / 300) * 300 AS b, MIN(m.value) AS mn, MAX(m.value) AS mx,"
    "   AVG(m.value) AS av, COUNT(*) AS n, MAX(m.ts) AS lt"
    "  FROM metric_series s CROSS JOIN metric_samples m"
    "  WHERE m.series_id = s.id AND s.id >= :lo AND s.id < :hi AND m.ts >= :a AND m.ts < :z"
    "  GROUP BY m.series_id, (m.ts / 300) * 300"
    " ) g JOIN metric_samples l ON l.series_id = g.series_id AND l.ts = g.lt" + _ROLLUP_SET
)
_5M_TO_1H = (
    "INSERT INTO metric_rollup_1h (series_id, ts, min, max, avg, count, last)"
    " SELECT g.series_id, g.b, g.mn, g.mx, g.sm / g.n, g.n, l.last FROM ("
    "  SELECT m.series_id AS series_id, (m.ts / 3600) * 3600 AS b, MIN(m.min) AS mn, MAX(m.max) AS mx,"
    "   SUM(m.avg * m.count) AS sm, SUM(m.count) AS n, MAX(m.ts) AS lt"
    "  FROM metric_series s CROSS JOIN metric_rollup_5m m"
    "  WHERE m.series_id = s.id AND s.id >= :lo AND s.id < :hi AND m.ts >= :a AND m.ts < :z"
    "  GROUP BY m.series_id, (m.ts / 3600) * 3600"
    " ) g JOIN metric_rollup_5m l ON l.series_id = g.series_id AND l.ts = g.lt" + _ROLLUP_SET
)

# PostgreSQL plans the portable statements above as hash joins over whole tables (two sequential
# scans of the raw samples per window); a LATERAL subquery per series makes it walk the
# (series_id, ts) key of each series instead, and array_agg gives the last value without a join.
_PG_RAW_TO_5M = (
    "INSERT INTO metric_rollup_5m (series_id, ts, min, max, avg, count, last)"
    " SELECT s.id, g.b, g.mn, g.mx, g.av, g.n, g.lst FROM metric_series s CROSS JOIN LATERAL ("
    "  SELECT (m.ts / 300) * 300 AS b, MIN(m.value) AS mn, MAX(m.value) AS mx, AVG(m.value) AS av,"
    "   COUNT(*) AS n, (array_agg(m.value ORDER BY m.ts DESC))[1] AS lst"
    "  FROM metric_samples m WHERE m.series_id = s.id AND m.ts >= :a AND m.ts < :z"
    "  GROUP BY (m.ts / 300) * 300"
    " ) g WHERE s.id >= :lo AND s.id < :hi" + _ROLLUP_SET.replace(" WHERE true", "")
)
_PG_5M_TO_1H = (
    "INSERT INTO metric_rollup_1h (series_id, ts, min, max, avg, count, last)"
    " SELECT s.id, g.b, g.mn, g.mx, g.sm / g.n, g.n, g.lst FROM metric_series s CROSS JOIN LATERAL ("
    "  SELECT (m.ts / 3600) * 3600 AS b, MIN(m.min) AS mn, MAX(m.max) AS mx, SUM(m.avg * m.count) AS sm,"
    "   SUM(m.count) AS n, (array_agg(m.last ORDER BY m.ts DESC))[1] AS lst"
    "  FROM metric_rollup_5m m WHERE m.series_id = s.id AND m.ts >= :a AND m.ts < :z"
    "  GROUP BY (m.ts / 3600) * 3600"
    " ) g WHERE s.id >= :lo AND s.id < :hi" + _ROLLUP_SET.replace(" WHERE true", "")
)
_PRUNE_CHUNK = 5_000


class RollupResult(BaseModel):
    rows_5m: int = 0
    rows_1h: int = 0
    mark_5m: int = 0
    mark_1h: int = 0
    done: bool = Field(True, description="false when told to stop early; the next run goes on from the marks")


def _set_mark(db: Session, tier: str, until: int) -> None:
    row = db.get(MetricRollupMark, tier)
    if row is None:
        db.add(MetricRollupMark(tier=tier, until=until))
    else:
        row.until = until
    db.flush()


def _roll(db: Session, sql: str, start: int, end: int, width: int, should_stop: StopCheck) -> tuple[int, int]:
    """Run ``sql`` over [start, end) window by window and series chunk by series chunk.

    Returns (rows written, how far it got): ``end``, or the start of the first window not done
    when ``should_stop`` said so (asked between windows, after the first one).
    """
    top = db.scalar(select(MetricSeries.id).order_by(MetricSeries.id.desc()).limit(1)) or 0
    pg = _is_pg(db)
    rows = 0
    for a in range(start, end, width * _ROLLUP_WINDOW_BUCKETS):
        if a > start and should_stop():
            return rows, a
        z = min(end, a + width * _ROLLUP_WINDOW_BUCKETS)
        for lo in range(1, top + 1, _ROLLUP_SERIES_CHUNK):
            if pg:  # compiling the plan (its cost looks high) takes longer than running it
                db.execute(text("SET LOCAL jit = off"))
            res = db.execute(text(sql), {"lo": lo, "hi": lo + _ROLLUP_SERIES_CHUNK, "a": a, "z": z})
            rows += max(0, getattr(res, "rowcount", 0) or 0)
            # Commit chunk by chunk so pollers writing to SQLite are not held off for the whole run;
            # the upserts are idempotent, so a run cut short is simply done again.
            db.commit()
    return rows, end


def _oldest(db: Session, column: InstrumentedAttribute[int], width: int, default: int) -> int:
    """Where a tier's first rollup starts: its source's oldest row (whatever retention says, so
    samples stored before the first run are summarised before ``prune`` may drop them)."""
    oldest = db.scalar(select(func.min(column)))
    return default if oldest is None else int(oldest) // width * width


def _is_pg(db: Session) -> bool:
    return db.get_bind().dialect.name == "postgresql"


def _never() -> bool:
    return False


def rollup(
    db: Session,
    now: float | None = None,
    policy: MetricsPolicy = DEFAULT_POLICY,
    should_stop: StopCheck = _never,
) -> RollupResult:
    """Summarise every complete 5-minute bucket (ended ``rollup_grace_seconds`` ago) and every hour.

    Idempotent; commits as it goes. Raw points that arrive after their bucket was rolled up are
    counted as ``late`` by ``write`` and stay in the raw tier only. ``should_stop`` is asked
    between windows (an hour of 5-minute buckets, 12 hours of hourly ones): when it says yes, the
    marks stay where the work got to and ``done`` is false, so a long backlog is caught up over
    several bounded runs.
    """
    now = time.time() if now is None else now
    end5 = int(now - policy.rollup_grace_seconds) // M5 * M5
    start5 = rollup_mark(db, "5m") or _oldest(db, MetricSample.ts, M5, end5)
    result = RollupResult()
    if end5 > start5:
        sql = _PG_RAW_TO_5M if _is_pg(db) else _RAW_TO_5M
        result.rows_5m, reached = _roll(db, sql, start5, end5, M5, should_stop)
        _set_mark(db, "5m", reached)
        db.commit()
        result.done = reached == end5
    mark5 = rollup_mark(db, "5m")
    end1 = mark5 // H1 * H1
    start1 = rollup_mark(db, "1h") or _oldest(db, MetricRollup5m.ts, H1, end1)
    if end1 > start1 and result.done:
        sql = _PG_5M_TO_1H if _is_pg(db) else _5M_TO_1H
        result.rows_1h, reached = _roll(db, sql, start1, end1, H1, should_stop)
        _set_mark(db, "1h", reached)
        db.commit()
        result.done = reached == end1
    result.mark_5m, result.mark_1h = mark5, rollup_mark(db, "1h")
    log.info(
        "metrics rollup rows_5m=%d rows_1h=%d mark_5m=%d mark_1h=%d done=%s",
        result.rows_5m,
        result.rows_1h,
        result.mark_5m,
        result.mark_1h,
        result.done,
    )
    return result


class PruneResult(BaseModel):
    raw: int = 0
    rollup_5m: int = 0
    rollup_1h: int = 0
    series: int = 0


def _delete_before(db: Session, table: str, cut: int) -> int:
    """Delete rows of ``table`` older than ``cut``, walking each series' key from its start."""
    if not _is_pg(db):
        # SQLite runs "series_id IN (all series)" as one key lookup per series.
        res = db.execute(
            text(f"DELETE FROM {table} WHERE series_id IN (SELECT id FROM metric_series) AND ts < :cut"),
            {"cut": cut},
        )
        return max(0, getattr(res, "rowcount", 0) or 0)
    # PostgreSQL would hash-join that with a sequential scan of the whole table; "= ANY(ids)" is
    # one index descent per series, bounded by ts < cut.
    deleted = 0
    for ids in _id_chunks(db):
        res = db.execute(
            text(f"DELETE FROM {table} WHERE series_id = ANY(:ids) AND ts < :cut"), {"ids": ids, "cut": cut}
        )
        deleted += max(0, getattr(res, "rowcount", 0) or 0)
    return deleted


def _id_chunks(db: Session) -> list[list[int]]:
    ids = list(db.scalars(select(MetricSeries.id).order_by(MetricSeries.id)))
    return [ids[i : i + _PRUNE_CHUNK] for i in range(0, len(ids), _PRUNE_CHUNK)]


_EMPTY = (
    " NOT EXISTS (SELECT 1 FROM metric_samples x WHERE x.series_id = metric_series.id)"
    " AND NOT EXISTS (SELECT 1 FROM metric_rollup_5m x WHERE x.series_id = metric_series.id)"
    " AND NOT EXISTS (SELECT 1 FROM metric_rollup_1h x WHERE x.series_id = metric_series.id)"
)


def _delete_empty_series(db: Session) -> int:
    """Delete series with no row in any tier (one key probe per series and tier)."""
    if not _is_pg(db):
        res = db.execute(text("DELETE FROM metric_series WHERE" + _EMPTY))
        return max(0, getattr(res, "rowcount", 0) or 0)
    deleted = 0
    for ids in _id_chunks(db):
        res = db.execute(text("DELETE FROM metric_series WHERE id = ANY(:ids) AND" + _EMPTY), {"ids": ids})
        deleted += max(0, getattr(res, "rowcount", 0) or 0)
    return deleted


def prune(db: Session, now: float | None = None, policy: MetricsPolicy = DEFAULT_POLICY) -> PruneResult:
    """Delete what is past retention, and series left with no data in any tier.

    Raw samples are kept until rolled up into 5-minute buckets, and those until rolled into hours,
    whatever the retention says, so pruning never loses data a rollup has not summarised yet.
    """
    now = time.time() if now is None else now
    mark5, mark1 = rollup_mark(db, "5m"), rollup_mark(db, "1h")
    cut_raw = min(int(now - policy.raw_days * DAY), mark5)
    cut_5m = min(int(now - policy.m5_days * DAY), mark1)
    cut_1h = int(now - policy.h1_days * DAY)
    out = PruneResult()
    for table, cut, field in (
        ("metric_samples", cut_raw, "raw"),
        ("metric_rollup_5m", cut_5m, "rollup_5m"),
        ("metric_rollup_1h", cut_1h, "rollup_1h"),
    ):
        setattr(out, field, _delete_before(db, table, cut))
        db.commit()
    out.series = _delete_empty_series(db)
    db.commit()
    if out.series:
        forget_series_ids(db)
    log.info("metrics prune raw=%d rollup_5m=%d rollup_1h=%d series=%d", *out.model_dump().values())
    return out


def maintain(
    db: Session, now: float | None = None, policy: MetricsPolicy = DEFAULT_POLICY, should_stop: StopCheck = _never
) -> tuple[RollupResult, PruneResult]:
    """Roll up then prune: what a scheduler runs every few minutes (``should_stop``: see ``rollup``)."""
    rolled = rollup(db, now, policy, should_stop)
    # Prune follows the marks, so it is safe after a rollup cut short: it only drops what is summarised.
    return rolled, prune(db, now, policy)
