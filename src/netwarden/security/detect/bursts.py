"""Sliding-window grouping shared by the threshold rules.

:func:`bursts` finds the runs of a time-ordered event list in which some window of ``window`` holds
at least ``threshold`` counted events (or, with ``distinct``, that many distinct values: ports,
users, addresses). Events of a window that reached the threshold are marked; marked events no more
than ``window`` apart form one burst, and a burst keeps the unmarked events between its ends (they
belong to the same story). One pass, each event entering and leaving the window once.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import TypeVar

from netwarden.security.logs.model import LogEvent

__all__ = ["bursts", "group_by", "listed", "span_seconds"]

K = TypeVar("K", bound=Hashable)


def group_by(events: Iterable[LogEvent], key: Callable[[LogEvent], K | None]) -> dict[K, list[LogEvent]]:
    """Events by ``key`` (events whose key is None are left out), each list keeping the input order."""
    out: dict[K, list[LogEvent]] = defaultdict(list)
    for e in events:
        k = key(e)
        if k is not None:
            out[k].append(e)
    return out


def bursts(
    events: Sequence[LogEvent],
    threshold: int,
    window: dt.timedelta,
    *,
    distinct: Callable[[LogEvent], Hashable | None] | None = None,
    counted: Callable[[LogEvent], bool] | None = None,
) -> list[list[LogEvent]]:
    """The runs of ``events`` (time-ordered) where ``threshold`` is reached within ``window``.

    Args:
        threshold: events (or distinct values) needed inside one window.
        window: the window's length; also the largest gap inside one burst.
        distinct: count distinct values of this (None values are not counted) instead of events.
        counted: which events count (all by default); the others still join a burst as evidence.
    """
    n = len(events)
    if n < threshold or threshold < 1:
        return []  # fewer events than the threshold cannot reach it (most groups of a busy log)
    marked = [False] * n
    values: Counter[Hashable] = Counter()
    inside = 0  # counted events in the window (without ``distinct``)
    left = 0

    def key(e: LogEvent) -> Hashable | None:
        if counted is not None and not counted(e):
            return None
        return distinct(e) if distinct is not None else True

    for right, event in enumerate(events):
        k = key(event)
        if k is not None:
            values[k] += 1
            inside += 1
        while event.time - events[left].time > window:  # left <= right always holds: the gap of one event is 0
            old = key(events[left])
            if old is not None:
                values[old] -= 1
                inside -= 1
                if values[old] == 0:
                    del values[old]
            left += 1
        measure = len(values) if distinct is not None else inside
        if measure >= threshold and k is not None:
            for i in range(right, left - 1, -1):
                if marked[i]:
                    break  # everything before it in this window was marked by an earlier pass
                marked[i] = True
    runs: list[list[LogEvent]] = []
    start = last = -1
    for i in range(n):
        if not marked[i]:
            continue
        if start >= 0 and events[i].time - events[last].time > window:
            runs.append(list(events[start : last + 1]))
            start = -1
        if start < 0:
            start = i
        last = i
    if start >= 0:
        runs.append(list(events[start : last + 1]))
    return runs


def span_seconds(events: Sequence[LogEvent]) -> float:
    """Seconds from the first to the last event."""
    return (events[-1].time - events[0].time).total_seconds() if events else 0.0


def listed(values: Sequence[str], most: int = 6) -> str:
    """'a, b, c and 4 more'."""
    shown = ", ".join(values[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")
