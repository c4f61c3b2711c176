"""Config backups inside ``netwarden serve``: on a schedule, and soon after a device says it changed.

A config-change syslog message (``%SYS-5-CONFIG_I``, Junos ``UI_COMMIT``, FRR's logged commands)
queues a backup of that device; messages keep coming while someone types, so the backup waits until
the device has been quiet for ``debounce`` seconds (at most ``max_wait`` after the first one). Runs
never overlap: devices that change during a run are backed up by the next. After each run the
devices whose configuration changed are checked for compliance.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from netwarden.access.schemas import Actor
from netwarden.alerts.events import Event
from netwarden.configs.backup import BackupReport, backup
from netwarden.context import Context

log = logging.getLogger(__name__)

EventsTo = Callable[[list[Event]], Awaitable[object]]
AfterRun = Callable[[BackupReport], Awaitable[object]]


class ConfigJobs:
    def __init__(
        self,
        ctx: Context,
        actor: Actor,
        events_to: EventsTo | None = None,
        *,
        debounce: float = 5.0,
        max_wait: float = 60.0,
        after_run: AfterRun | None = None,
    ) -> None:
        self.ctx = ctx
        self.actor = actor
        self.events_to = events_to
        self.debounce = debounce
        self.max_wait = max_wait
        self.after_run = after_run
        self._lock = asyncio.Lock()
        self._pending: dict[str, tuple[float, float]] = {}  # device -> (first, last) change time
        self._wake = asyncio.Event()
        self.runs = 0
        self.last: BackupReport | None = None

    async def run(self, devices: Sequence[str] | None, why: str) -> BackupReport | None:
        """One backup run (serialised with the others); a failed run is logged, not raised."""
        async with self._lock:
            try:
                report = await backup(self.ctx, self.actor, devices, why=why, events_to=self.events_to)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the schedule goes on; the reason is in the log
                log.warning("config backup run failed why=%r error=%r", why, str(exc))
                return None
            self.runs += 1
            self.last = report
            log.info(
                "config backup done why=%r revision=%s changed=%s failed=%s",
                why,
                report.revision,
                [o.device for o in report.outcomes if o.changed],
                [o.device for o in report.outcomes if not o.ok],
            )
        if self.after_run is not None:
            try:
                await self.after_run(report)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("after-backup step failed error=%r", str(exc))
        return report

    async def scheduled(self, interval: float) -> None:
        """Back up every device now and then every ``interval`` seconds."""
        while True:
            await self.run(None, "scheduled")
            await asyncio.sleep(interval)

    # ------------------------------------------------------------ change-triggered

    def changed(self, device: str) -> None:
        now = time.monotonic()
        first, _ = self._pending.get(device, (now, now))
        self._pending[device] = (first, now)
        self._wake.set()

    def sink(self, events_to: EventsTo) -> EventsTo:
        """Wrap an event sink: config-change events also queue a backup of their device."""

        async def forward(events: list[Event]) -> None:
            for e in events:
                if e.kind == "config_change" and e.source != "backup":
                    self.changed(e.device)
            await events_to(events)

        return forward

    def _due(self, now: float) -> list[str]:
        return sorted(
            d
            for d, (first, last) in self._pending.items()
            if now - last >= self.debounce or now - first >= self.max_wait
        )

    async def triggered(self) -> None:
        """Back up devices that reported a change, once each has been quiet for ``debounce`` seconds."""
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            now = time.monotonic()
            due = self._due(now)
            if not due:
                nearest = min(
                    min(last + self.debounce, first + self.max_wait) for first, last in self._pending.values()
                )
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=max(0.05, nearest - now))
                continue
            for d in due:
                self._pending.pop(d, None)
            await self.run(due, "configuration change reported by syslog")
