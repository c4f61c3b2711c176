"""Upkeep of the metrics store inside ``netwarden serve``: roll up and prune every 5 minutes.

``metrics_maintenance_loop(ctx)`` runs for as long as the server does. Each pass
(``metrics_maintenance_pass``) runs ``metrics_rollup.maintain`` in a worker thread, so the event
loop and the pollers keep going, with a time budget: past it, the rollup stops at the next window
and the following pass goes on from the marks, so a long backlog (a server that was down for
days) is caught up over several bounded passes instead of one endless one. A failed pass is
logged and the loop goes on; passes never overlap, because the loop awaits each one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import suppress

from pydantic import BaseModel

from netwarden.context import Context
from netwarden.monitor.metrics import MetricsPolicy
from netwarden.monitor.metrics_rollup import PruneResult, RollupResult, maintain

log = logging.getLogger(__name__)

INTERVAL = 300.0  # seconds from the start of one pass to the start of the next
BUDGET = 240.0  # seconds a pass may spend rolling up before it leaves the rest to the next


class MaintenanceOutcome(BaseModel):
    rollup: RollupResult
    prune: PruneResult
    seconds: float


def run_maintenance(
    ctx: Context, now: float | None = None, budget: float = BUDGET, stopping: threading.Event | None = None
) -> MaintenanceOutcome:
    """One pass, synchronously: rollup (within ``budget`` seconds, or until ``stopping`` is set), then prune."""
    started = time.monotonic()
    deadline = started + budget

    def should_stop() -> bool:
        return time.monotonic() > deadline or (stopping is not None and stopping.is_set())

    with ctx.db() as db:
        rolled, pruned = maintain(db, now, MetricsPolicy.from_settings(ctx.settings), should_stop)
    return MaintenanceOutcome(rollup=rolled, prune=pruned, seconds=round(time.monotonic() - started, 3))


async def metrics_maintenance_pass(
    ctx: Context, *, now: float | None = None, budget: float = BUDGET, stopping: threading.Event | None = None
) -> MaintenanceOutcome | None:
    """One pass in a worker thread; logs and returns None when it fails, never raises (but cancellation)."""
    try:
        outcome = await asyncio.to_thread(run_maintenance, ctx, now, budget, stopping)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # a failed pass is logged; the next one tries again
        first_line = (str(exc).splitlines() or [""])[0][:300]  # driver errors go on with the SQL
        log.warning("metrics maintenance failed error=%s reason=%r", type(exc).__name__, first_line)
        return None
    r, p = outcome.rollup, outcome.prune
    log.info(
        "metrics maintenance rows_5m=%d rows_1h=%d pruned_raw=%d pruned_5m=%d pruned_1h=%d pruned_series=%d"
        " seconds=%.3f done=%s",
        r.rows_5m,
        r.rows_1h,
        p.raw,
        p.rollup_5m,
        p.rollup_1h,
        p.series,
        outcome.seconds,
        r.done,
    )
    if not r.done:
        log.warning("metrics maintenance behind: rollup stopped at its %.0f s budget; the next pass goes on", budget)
    return outcome


async def metrics_maintenance_loop(
    ctx: Context, *, interval: float = INTERVAL, budget: float = BUDGET, stop: asyncio.Event | None = None
) -> None:
    """Run a maintenance pass every ``interval`` seconds until cancelled or ``stop`` is set.

    A pass still running when the loop is cancelled is told to stop at its next window.
    """
    stopping = threading.Event()
    stop = stop or asyncio.Event()
    try:
        while not stop.is_set():
            started = time.monotonic()
            await metrics_maintenance_pass(ctx, budget=min(budget, interval), stopping=stopping)
            wait = max(0.0, interval - (time.monotonic() - started))
            with suppress(TimeoutError):  # the schedule's pause; it ends early only when told to stop
                await asyncio.wait_for(stop.wait(), timeout=wait)
    finally:
        stopping.set()
