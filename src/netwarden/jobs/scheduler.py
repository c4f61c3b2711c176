"""In-process periodic jobs for ``netwarden serve``: discovery, monitoring, traps, alerting, config backups.

Each job runs on the server's event loop, one run at a time, and stops with the server.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from typing import Any

from fastapi import FastAPI

from netwarden.access.schemas import SYSTEM
from netwarden.alerts.events import Event
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


def _site_lookup(ctx: Context) -> Callable[[str], str | None]:
    """Device name -> site name, read once a minute at most (the notifier calls it per alert)."""
    from sqlalchemy import select

    from netwarden.inventory.models import Device, Site

    cache: dict[str, str] = {}
    read_at = [-1e9]

    def site_of(device: str) -> str | None:
        if time.monotonic() - read_at[0] > 60:
            with ctx.db() as db:
                rows = db.execute(select(Device.name, Site.name).join(Site, Device.site_id == Site.id)).all()
            cache.clear()
            cache.update({d: s for d, s in rows})
            read_at[0] = time.monotonic()
        return cache.get(device)

    return site_of


def compliance_after(ctx: Context) -> Callable[[Any], Awaitable[object]]:
    """After a backup run in serve: a compliance check of the devices whose configuration is new or changed."""
    from netwarden.configs.compliance import check_after_backup

    async def after(report: Any) -> None:
        await asyncio.to_thread(check_after_backup, ctx, SYSTEM, report)

    return after


async def start_monitoring(ctx: Context, tasks: list[asyncio.Task[None]]) -> dict[str, Any]:
    """The alert pipeline, notifications, the trap receiver and the polling loops, as settings ask.

    Returns the running parts by name (kept on ``app.state`` for the API and for shutdown).
    """
    from netwarden.alerts.notify import Notifier, digest_loop, store_credentials
    from netwarden.alerts.pipeline import AlertPipeline, tick_loop
    from netwarden.jobs.maintenance import metrics_maintenance_loop

    s = ctx.settings
    parts: dict[str, Any] = {}
    notifier = None
    if s.notify_routes:
        notifier = Notifier.from_settings(s, site_of=_site_lookup(ctx), resolve_credential=store_credentials(ctx))
        tasks.append(asyncio.create_task(digest_loop(notifier)))
    pipeline = AlertPipeline(ctx, SYSTEM, notifier)
    parts["alerts"] = pipeline
    tasks.append(asyncio.create_task(tick_loop(pipeline)))
    tasks.append(asyncio.create_task(metrics_maintenance_loop(ctx)))
    if s.traps_enabled:
        from netwarden.monitor.traps import start_from_settings

        parts["traps"] = await start_from_settings(ctx, pipeline)
    events_to: Callable[[list[Event]], Awaitable[object]] = pipeline.ingest
    if s.config_credentials:
        from netwarden.configs.jobs import ConfigJobs

        jobs = ConfigJobs(ctx, SYSTEM, pipeline.ingest, after_run=compliance_after(ctx))
        parts["configs"] = jobs
        tasks.append(asyncio.create_task(jobs.triggered()))
        if s.config_backup_interval > 0:
            tasks.append(asyncio.create_task(jobs.scheduled(s.config_backup_interval)))
        events_to = jobs.sink(pipeline.ingest)  # a config-change message also queues a backup
    from netwarden.security.logs import service as logs

    tasks.append(asyncio.create_task(logs.retention_loop(ctx)))  # logs_retention_days, hourly
    if s.syslog_enabled:
        from netwarden.monitor.traps import inventory_lookup
        from netwarden.security import network_events, syslog

        # Every message goes to the alert engine's network events and, parsed, into the log store.
        names = inventory_lookup(ctx)
        sink = logs.fan_out(network_events.events_sink(ctx, events_to, names), logs.store_sink(ctx, names))
        parts["syslog"] = await syslog.start_from_settings(ctx, sink)
        from netwarden.security.detect.service import detection_loop

        tasks.append(asyncio.create_task(detection_loop(ctx, SYSTEM)))  # detections and incidents, every minute
    if s.monitor_enabled:
        from netwarden.monitor.service import Monitor, loop

        monitor = Monitor(ctx, SYSTEM, events_to=pipeline)  # one memory of counters and states for both checks
        parts["monitor"] = monitor
        if s.monitor_ping_interval > 0:
            tasks.append(asyncio.create_task(loop(monitor, "ping", s.monitor_ping_interval)))
        if s.monitor_snmp_interval > 0 and s.monitor_credentials:
            tasks.append(asyncio.create_task(loop(monitor, "snmp", s.monitor_snmp_interval)))
        if s.monitor_service_interval > 0 and monitor.service_checks:
            tasks.append(asyncio.create_task(loop(monitor, "service", s.monitor_service_interval)))
    return parts


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    ctx: Context = app.state.ctx
    tasks: list[asyncio.Task[None]] = []
    if ctx.settings.discovery_interval_minutes > 0 and ctx.settings.discovery_ranges:
        tasks.append(asyncio.create_task(_discovery_loop(ctx)))
    parts = await start_monitoring(ctx, tasks)
    for name, part in parts.items():
        setattr(app.state, name, part)
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        if "syslog" in parts:
            with suppress(Exception):
                await parts["syslog"].close(timeout=10)
        if "traps" in parts:
            with suppress(Exception):
                await parts["traps"].close(timeout=10)  # delivers the batch it holds: nothing acknowledged is lost
        if "alerts" in parts:
            await parts["alerts"].drain()
