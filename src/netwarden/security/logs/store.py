"""The log store: batch inserts, field and full-text search, retention.

:func:`store_events` and :func:`query_events` are the interface other packages (detections,
correlation) build on; they take a session and no actor (the service layer checks roles).

Full-text search (``text``): every word (or ``"quoted phrase"``) must occur in the raw line,
case-insensitively (ASCII case on SQLite, where LIKE folds ASCII only), as a substring. It runs
inside the rows the indexed field and time filters select, so a search bounded by time or host
stays fast; decision 0026 has the figures.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any, cast

from sqlalchemy import Dialect, Select, Table, delete, func, select
from sqlalchemy.orm import Session

from netwarden.errors import InvalidInput
from netwarden.security.logs.model import KINDS, LogEvent
from netwarden.security.logs.tables import LogEventRow

__all__ = [
    "BATCH",
    "count_events",
    "from_micros",
    "prune_events",
    "query_events",
    "store_events",
    "to_micros",
]

log = logging.getLogger(__name__)

BATCH = 1000  # rows per INSERT round trip
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_T = cast(Table, LogEventRow.__table__)
_COLUMNS = (
    _T.c.ts,
    _T.c.utc_offset,
    _T.c.host,
    _T.c.kind,
    _T.c.app,
    _T.c.source_ip,
    _T.c.source_port,
    _T.c.dest_ip,
    _T.c.dest_port,
    _T.c.proto,
    _T.c.username,
    _T.c.action,
    _T.c.outcome,
    _T.c.parser,
    _T.c.msg_at,
    _T.c.message,
    _T.c.raw,
    _T.c.fields,
)
_WORDS = re.compile(r'"([^"]*)"|(\S+)')


def to_micros(when: dt.datetime) -> int:
    """Microseconds since the epoch; a naive time is read as UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(ts: int, utc_offset: int = 0) -> dt.datetime:
    """The time of ``ts`` at ``utc_offset`` minutes east of UTC."""
    when = _EPOCH + dt.timedelta(microseconds=ts)
    if utc_offset:
        return when.astimezone(dt.timezone(dt.timedelta(minutes=utc_offset)))
    return when


def _offset(when: dt.datetime) -> int:
    off = when.utcoffset()
    return 0 if off is None else int(off.total_seconds() // 60)


def _clip(value: str | None, limit: int) -> str | None:
    return value if value is None or len(value) <= limit else value[:limit]


_INSERT_COLUMNS = (
    "ts", "utc_offset", "host", "kind", "app", "source_ip", "source_port", "dest_ip", "dest_port", "proto",
    "username", "action", "outcome", "parser", "msg_at", "message", "raw", "fields",
)  # fmt: skip
_INSERT_SQL: dict[str, str] = {}


def _insert_sql(dialect: Dialect) -> str:
    """The driver-level INSERT in the driver's own placeholder style (qmark for sqlite3, %s for psycopg)."""
    sql = _INSERT_SQL.get(dialect.name)
    if sql is None:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"INSERT INTO log_events ({', '.join(_INSERT_COLUMNS)}) VALUES ({', '.join([mark] * len(_INSERT_COLUMNS))})"
        )
        _INSERT_SQL[dialect.name] = sql
    return sql


def _row(event: LogEvent) -> tuple[Any, ...]:
    """The row of one event, in :data:`_INSERT_COLUMNS` order; values too long for their column are cut."""
    raw, message, when = event.raw, event.message, event.time
    if message and raw.endswith(message):
        msg_at, stored_message = len(raw) - len(message), None
    elif not message:
        msg_at, stored_message = len(raw), None
    else:
        msg_at, stored_message = 0, message
    fields = json.dumps(event.fields, separators=(",", ":"), default=str) if event.fields else None
    return (
        to_micros(when),
        _offset(when),
        _clip(event.host, 255) or "",
        _clip(event.kind, 32) or "other",
        _clip(event.app, 64) or "",
        _clip(event.source_ip, 64),
        event.source_port,
        _clip(event.dest_ip, 64),
        event.dest_port,
        _clip(event.proto, 16),
        _clip(event.user, 255),
        _clip(event.action, 32),
        event.outcome,
        _clip(event.parser, 32) or "",
        msg_at,
        stored_message,
        raw,
        fields,
    )


def _chunks(events: Iterable[LogEvent], size: int) -> Iterator[list[LogEvent]]:
    it = iter(events)
    while chunk := list(islice(it, size)):
        yield chunk


def store_events(db: Session, events: Iterable[LogEvent]) -> int:
    """Insert events in batches of :data:`BATCH` rows; returns how many were stored.

    The caller's session commits (one transaction for everything given). The rows go to the driver's
    executemany as tuples: SQLAlchemy's per-parameter processing cost more than SQLite's insert (0026).
    """
    conn = db.connection()
    sql = _insert_sql(conn.dialect)
    stored = 0
    for chunk in _chunks(events, BATCH):
        conn.exec_driver_sql(sql, [_row(e) for e in chunk])
        stored += len(chunk)
    return stored


def _event(row: Sequence[Any]) -> LogEvent:
    ts, off, host, kind, app, sip, sport, dip, dport, proto, user, action, outcome, parser, at, msg, raw, extra = row
    return LogEvent(
        time=from_micros(ts, off),
        host=host,
        kind=kind,
        raw=raw,
        app=app,
        message=msg if msg is not None else raw[at:],
        source_ip=sip,
        source_port=sport,
        dest_ip=dip,
        dest_port=dport,
        proto=proto,
        user=user,
        action=action,
        outcome=outcome,
        parser=parser,
        fields=dict(extra) if extra else {},
    )


def search_terms(text: str) -> list[str]:
    """The words and ``"quoted phrases"`` of a search, in order; empty ones left out."""
    return [t for m in _WORDS.finditer(text) if (t := m.group(1) if m.group(1) is not None else m.group(2))]


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _filtered(
    db: Session,
    q: Select[Any],
    *,
    since: dt.datetime | None,
    until: dt.datetime | None,
    kinds: Iterable[str] | None,
    host: str | None,
    source_ip: str | None,
    user: str | None,
    text: str | None,
) -> Select[Any]:
    if since is not None:
        q = q.where(_T.c.ts >= to_micros(since))
    if until is not None:
        q = q.where(_T.c.ts < to_micros(until))
    if kinds is not None:
        wanted = sorted(set(kinds))
        unknown = [k for k in wanted if k not in KINDS]
        if unknown:
            raise InvalidInput(f"unknown log event kind {unknown[0]!r}: use one of {', '.join(KINDS)}")
        q = q.where(_T.c.kind.in_(wanted)) if len(wanted) != 1 else q.where(_T.c.kind == wanted[0])
    if host is not None:
        q = q.where(_T.c.host == host)
    if source_ip is not None:
        q = q.where(_T.c.source_ip == source_ip)
    if user is not None:
        q = q.where(_T.c.username == user)
    if text:
        # SQLite's LIKE already ignores ASCII case; lower() there would cost a call per row.
        fold = db.get_bind().dialect.name != "sqlite"
        for term in search_terms(text):
            pattern = f"%{_escape(term)}%"
            q = q.where(_T.c.raw.ilike(pattern, escape="\\") if fold else _T.c.raw.like(pattern, escape="\\"))
    return q


def query_events(
    db: Session,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kinds: Iterable[str] | None = None,
    host: str | None = None,
    source_ip: str | None = None,
    user: str | None = None,
    text: str | None = None,
    limit: int | None = 10_000,
    newest_first: bool = False,
) -> list[LogEvent]:
    """Stored events matching every filter given, oldest first (or newest first), at most ``limit``.

    Args:
        since, until: the half-open time range ``[since, until)`` (aware datetimes; naive ones are UTC).
        kinds: event kinds (:data:`~netwarden.security.logs.model.KINDS`); InvalidInput for an unknown one.
        host, source_ip, user: exact values.
        text: words and ``"quoted phrases"`` that must all occur in the raw line (case-insensitive).
        limit: at most this many (None: all).
        newest_first: order by time descending (with ``limit``: the newest ones).
    """
    q = _filtered(
        db,
        select(*_COLUMNS),
        since=since,
        until=until,
        kinds=kinds,
        host=host,
        source_ip=source_ip,
        user=user,
        text=text,
    )
    q = q.order_by(_T.c.ts.desc(), _T.c.id.desc()) if newest_first else q.order_by(_T.c.ts, _T.c.id)
    if limit is not None:
        q = q.limit(max(0, limit))
    return [_event(row) for row in db.execute(q)]


def count_events(
    db: Session,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    kinds: Iterable[str] | None = None,
    host: str | None = None,
    source_ip: str | None = None,
    user: str | None = None,
    text: str | None = None,
) -> int:
    """How many stored events match (the same filters as :func:`query_events`)."""
    q = _filtered(
        db,
        select(func.count()).select_from(_T),
        since=since,
        until=until,
        kinds=kinds,
        host=host,
        source_ip=source_ip,
        user=user,
        text=text,
    )
    return int(db.execute(q).scalar_one())


def prune_events(db: Session, older_than: dt.datetime, *, batch: int = 50_000, max_batches: int = 1000) -> int:
    """Delete events logged before ``older_than``, ``batch`` rows per statement; returns how many.

    Bounded: at most ``max_batches`` statements per call (the next maintenance pass goes on).
    """
    cutoff = to_micros(older_than)
    removed = 0
    for _ in range(max_batches):
        ids = select(_T.c.id).where(_T.c.ts < cutoff).order_by(_T.c.ts).limit(batch).scalar_subquery()
        gone = db.execute(delete(_T).where(_T.c.id.in_(ids))).rowcount or 0  # type: ignore[attr-defined]
        removed += gone
        if gone < batch:
            break
    if removed:
        log.info("log retention pruned=%d before=%s", removed, older_than.isoformat())
    return removed
