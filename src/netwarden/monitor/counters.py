"""Counter arithmetic: rates from two readings, with wraps, resets and absurd values named.

SNMP counters only grow, modulo 2**32 (Counter32) or 2**64 (Counter64), and start again from
zero when the device reboots or the interface is re-created. A rate is only honest when both
readings come from the same counter life:

==========================================  ==========================================
what happened                               result
==========================================  ==========================================
new >= old, same life                       (new - old) / dt
new < old, device rebooted (uptime fell)    no rate, reason ``reset``
new < old, 32-bit counter, plausible wrap   (new + 2**32 - old) / dt
new < old, 64-bit counter                   no rate, reason ``reset`` (a 64-bit counter
                                            does not wrap within a poll interval)
dt <= 0 (clock went back, same timestamp)   no rate, reason ``clock``
rate above ``ceiling`` (e.g. 2x line rate)  no rate, reason ``absurd``
==========================================  ==========================================
"""

from __future__ import annotations

from typing import Literal, NamedTuple

WRAP32 = 2**32
WRAP64 = 2**64
Reason = Literal["reset", "clock", "absurd"]


class Rate(NamedTuple):
    value: float | None
    reason: Reason | None = None


def rate(
    old: int,
    old_ts: float,
    new: int,
    new_ts: float,
    *,
    bits: Literal[32, 64] = 64,
    rebooted: bool = False,
    ceiling: float | None = None,
) -> Rate:
    """Per-second rate between two readings of one counter.

    Args:
        old, old_ts: the previous reading and when it was taken (seconds).
        new, new_ts: this reading and when.
        bits: the counter's width (Counter32 or Counter64).
        rebooted: the device's uptime went down between the readings.
        ceiling: the highest believable rate (per second); above it the reading is refused.
    """
    dt = new_ts - old_ts
    if dt <= 0:
        return Rate(None, "clock")
    if rebooted:
        return Rate(None, "reset")
    delta = new - old
    if delta < 0:
        if bits == 64:
            return Rate(None, "reset")
        delta += WRAP32
    value = delta / dt
    if ceiling is not None and value > ceiling:
        return Rate(None, "absurd")
    return Rate(value)


def utilisation(bps: float, speed_bps: int | None) -> float | None:
    """Percent of the line rate, or None when the speed is unknown or zero."""
    if not speed_bps:
        return None
    return min(100.0, 100.0 * bps / speed_bps)
