"""The shapes monitoring passes between its parts: metric points and check outcomes.

A *point* is one sample of one series. A series is named by (device, metric, instance):
``("r1", "if_in_bps", "eth1")``, ``("r1", "rtt_ms", "")``. Metric names are snake_case with their unit
as suffix (``_bps``, ``_pct``, ``_ms``, ``_count``, ``_seconds``); ``instance`` is the interface,
peer or probe the value belongs to, empty for device-wide values. Times are UNIX seconds (UTC).
"""

from __future__ import annotations

from typing import NamedTuple


class Point(NamedTuple):
    """One sample; a NamedTuple because a poll round makes hundreds of thousands of them."""

    device: str
    metric: str
    instance: str
    ts: float
    value: float
