"""In-process periodic jobs for ``netwarden serve``: scheduled discovery and the monitoring loops.

Each job runs on the server's event loop, one run at a time, and stops with the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from netwarden.access.schemas import SYSTEM
from netwarden.context import Context

log = logging.getLogger(__name__)


async def _discovery_loop(ctx: Context) -> None:
    from netwarden.discover.run import Options, run_discovery

    s = ctx.settings
    opts = Options(
        cidrs=s.discovery_ranges,
        credentials=s.discovery_credentials,
        site=s.discovery_site,
        snmp_port=s.discovery_snmp_port,
    )
    while True:
        try:
            summary = await run_discovery(ctx, SYSTEM, opts)
            log.info(
                "scheduled discovery done found=%s new=%s changed=%s failed=%s",
                summary.found,
                summary.new,
                summary.changed,
                len(summary.failed),
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed run is logged; the schedule goes on
            log.warning("scheduled discovery failed error=%r", str(exc))
        await asyncio.sleep(s.discovery_interval_minutes * 60)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: Context = app.state.ctx
    tasks: list[asyncio.Task[None]] = []
    if ctx.settings.discovery_interval_minutes > 0 and ctx.settings.discovery_ranges:
        tasks.append(asyncio.create_task(_discovery_loop(ctx)))
    if ctx.settings.monitor_enabled:
        from netwarden.monitor.service import Monitor, loop

        monitor = Monitor(ctx, SYSTEM)  # one memory of counters and states, shared by both checks
        app.state.monitor = monitor
        if ctx.settings.monitor_ping_interval > 0:
            tasks.append(asyncio.create_task(loop(monitor, "ping", ctx.settings.monitor_ping_interval)))
        if ctx.settings.monitor_snmp_interval > 0 and ctx.settings.monitor_credentials:
            tasks.append(asyncio.create_task(loop(monitor, "snmp", ctx.settings.monitor_snmp_interval)))
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
