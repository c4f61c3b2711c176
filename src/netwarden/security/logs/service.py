"""The log service: ingest files, search events (with role checks), the syslog-to-store sink, retention.

The CLI, API and ``serve`` call these; detections read the store through
:mod:`netwarden.security.logs.store` directly.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import io
import logging
import re
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import InvalidInput, NotFound
from netwarden.security.logs.model import LogEvent
from netwarden.security.logs.parse import Lookup, is_parsed, parse_line, parse_message
from netwarden.security.logs.store import BATCH, prune_events, query_events, store_events
from netwarden.security.syslog import MessageSink, SyslogMessage

if TYPE_CHECKING:
    from netwarden.context import Context

__all__ = [
    "EventFilter",
    "IngestResult",
    "fan_out",
    "ingest_files",
    "list_events",
    "parse_since",
    "prune",
    "retention_loop",
    "store_sink",
]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]  # (step, bytes done, bytes total)
_GZIP_MAGIC = b"\x1f\x8b"
_DURATION = re.compile(r"\d{1,9}[smhdw]?")


class IngestResult(BaseModel):
    """``logs ingest --json``: lines read, read by a format rule, kept by the generic fallback."""

    received: int = 0
    parsed: int = 0
    unparsed: int = 0
    stored: int = 0
    files: int = 0


@dataclass(frozen=True)
class EventFilter:
    """The filters of ``logs events`` and ``GET /api/v1/logs``."""

    kinds: Sequence[str] | None = None
    host: str | None = None
    source_ip: str | None = None
    user: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    search: str | None = None
    limit: int = 100


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``1h``, ``30m``, ``7d``, ``90s`` back from now, or an ISO 8601 time (no zone: UTC)."""
    from netwarden.monitor.metrics import parse_duration

    value = text.strip()
    if _DURATION.fullmatch(value):
        return (now or dt.datetime.now(dt.UTC)) - dt.timedelta(seconds=parse_duration(value))
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"bad --since {text!r}: give a duration (30m, 1h, 7d) or an ISO time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


# ------------------------------------------------------------------ files


def _open(path: Path) -> tuple[io.BufferedReader, io.BufferedReader | gzip.GzipFile]:
    """(the file, what to read lines from: the file or its gzip decompression)."""
    try:
        raw = path.open("rb")
    except FileNotFoundError:
        raise NotFound(f"log file {path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInput(f"{path} is a directory: give log files") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    head = raw.peek(2)[:2] if hasattr(raw, "peek") else b""
    if head == _GZIP_MAGIC:
        return raw, gzip.GzipFile(fileobj=raw, mode="rb")
    return raw, raw


def _lines(path: Path, progress: Progress | None) -> Iterator[str]:
    """Text lines of a plain or gzip file; InvalidInput for binary data, a broken gzip or a read error."""
    total = path.stat().st_size if path.exists() else 0
    raw, stream = _open(path)
    number = 0
    try:
        text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace", newline=None)
        for number, line in enumerate(text, 1):
            if "\x00" in line:
                raise InvalidInput(f"{path} is not a text log (binary data on line {number}); give plain or gzip logs")
            yield line
            if progress is not None and number % 5000 == 0:
                with suppress(OSError, ValueError):
                    progress(path.name, raw.tell(), total)
    except (OSError, EOFError, zlib.error) as exc:
        what = "a broken gzip file" if isinstance(stream, gzip.GzipFile) else "unreadable"
        raise InvalidInput(f"{path} is {what} (after line {number}): {exc}") from None
    finally:
        stream.close()
        raw.close()
    if progress is not None:
        progress(path.name, total, total)


def ingest_files(
    db: Session,
    actor: Actor,
    paths: Sequence[Path],
    *,
    host: str | None = None,
    received: dt.datetime | None = None,
    progress: Progress | None = None,
) -> IngestResult:
    """Parse and store every line of the files, in the caller's transaction.

    A binary, unreadable or broken file raises InvalidInput (or NotFound) before the transaction
    commits, so nothing of any file is stored then.

    Args:
        host: the host the logs are from (default: each line's HOSTNAME).
        received: the time lines without a stamp get, and the reference year of BSD stamps (default now).
        progress: called with (file name, bytes read, bytes in the file).
    """
    require(actor, Role.operator, "ingest logs")
    if not paths:
        raise InvalidInput("no log file given")
    now = received or dt.datetime.now(dt.UTC)
    result = IngestResult(files=len(paths))
    batch: list[LogEvent] = []
    for path in paths:
        for line in _lines(path, progress):
            if not line.strip():
                continue
            event = parse_line(line, received=now, host=host)
            result.received += 1
            if is_parsed(event):
                result.parsed += 1
            else:
                result.unparsed += 1
            batch.append(event)
            if len(batch) >= BATCH:
                result.stored += store_events(db, batch)
                batch.clear()
    result.stored += store_events(db, batch)
    audit.record(
        db,
        actor,
        "ingest",
        "logs",
        ", ".join(p.name for p in paths)[:255],
        {"received": result.received, "parsed": result.parsed, "unparsed": result.unparsed},
    )
    log.info("logs ingested files=%d received=%d parsed=%d", len(paths), result.received, result.parsed)
    return result


# ------------------------------------------------------------------ search


def list_events(db: Session, actor: Actor, flt: EventFilter) -> list[LogEvent]:
    """The newest ``limit`` events matching the filter, in time order (oldest of them first)."""
    require(actor, Role.viewer, "read logs")
    if flt.limit < 1:
        raise InvalidInput(f"limit must be at least 1, not {flt.limit}")
    events = query_events(
        db,
        since=flt.since,
        until=flt.until,
        kinds=flt.kinds or None,
        host=flt.host,
        source_ip=flt.source_ip,
        user=flt.user,
        text=flt.search,
        limit=flt.limit,
        newest_first=True,
    )
    events.reverse()
    return events


# ------------------------------------------------------------------ syslog


def store_sink(
    ctx: Context,
    lookup: Lookup | None = None,
    on_stored: Callable[[list[LogEvent]], object] | None = None,
) -> MessageSink:
    """A syslog sink that parses each batch and stores it, one transaction per batch, in a worker thread.

    Hosts are named by :func:`netwarden.monitor.traps.inventory_lookup` unless ``lookup`` is given.
    ``on_stored`` sees each stored batch (the foreground ``logs syslog`` prints them). A store error
    propagates: the receiver's batch queue retries the batch and counts it lost (``sink_failed``)
    after the third failure, so a store outage is never a silent drop.
    """
    from netwarden.monitor.traps import inventory_lookup

    names = lookup or inventory_lookup(ctx)

    def write(messages: list[SyslogMessage]) -> list[LogEvent]:
        events = [parse_message(m, lookup=names) for m in messages]
        with ctx.db() as db:
            store_events(db, events)
        return events

    async def sink(messages: list[SyslogMessage]) -> None:
        if not messages:
            return
        events = await asyncio.to_thread(write, messages)
        if on_stored is not None:
            on_stored(events)

    return sink


def fan_out(*sinks: MessageSink) -> MessageSink:
    """One sink handing each batch to every one of ``sinks`` in turn.

    When one fails the batch queue retries the batch; the sinks that already took that batch are
    skipped then, so a store outage does not feed the alert engine the same events twice (nor the
    reverse).
    """
    # batch key -> (its messages, indexes of the sinks that took it). Holding the messages keeps their ids
    # from being reused by a later batch while the key is remembered.
    done: dict[tuple[int, int, int], tuple[list[SyslogMessage], set[int]]] = {}

    async def sink(messages: list[SyslogMessage]) -> None:
        if not messages:
            return
        key = (id(messages[0]), id(messages[-1]), len(messages))  # a retried batch holds the same objects
        took = done.setdefault(key, (messages, set()))[1]
        for index, part in enumerate(sinks):
            if index in took:
                continue
            result = part(messages)
            if asyncio.iscoroutine(result):
                await result
            took.add(index)
        done.pop(key, None)
        while len(done) > 16:  # batches abandoned after their last retry
            done.pop(next(iter(done)))

    return sink


# ------------------------------------------------------------------ retention


def prune(ctx: Context, now: dt.datetime | None = None) -> int:
    """Delete events older than ``logs_retention_days``; returns how many went."""
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=ctx.settings.logs_retention_days)
    with ctx.db() as db:
        return prune_events(db, cutoff)


async def retention_loop(ctx: Context, interval: float = 3600.0, first_after: float = 600.0) -> None:
    """Prune ``first_after`` seconds after the server starts, then every ``interval`` seconds.

    The first pass waits so that a server started to look at logs (an archive just ingested, a
    test) is not raced by a delete; nothing is due sooner than an hour's worth anyway.
    """
    await asyncio.sleep(first_after)
    while True:
        try:
            await asyncio.to_thread(prune, ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed pass is logged; the next one tries again
            log.warning("log retention failed error=%s", type(exc).__name__)
        await asyncio.sleep(interval)
