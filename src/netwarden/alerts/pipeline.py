"""The alert pipeline inside ``netwarden serve``: events from every source → engine → notifications.

Polls, the trap receiver and the syslog receiver all hand their events to one
:class:`AlertPipeline`. Ingest runs in a worker thread (it is database work) under a lock, so batches
from different sources apply one after the other; announcements are sent in the background, so a
slow mail server never holds up the next batch. :func:`tick_loop` applies the time-driven changes
(escalation, flapping alerts settling, maintenance windows ending) every 30 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from netwarden.access.schemas import Actor
from netwarden.alerts import service
from netwarden.alerts.events import Event
from netwarden.alerts.models import Alert
from netwarden.alerts.notify import Notice, Notifier
from netwarden.alerts.schemas import AlertPolicy, EscalationResult, IngestResult
from netwarden.context import Context

log = logging.getLogger(__name__)
Transition = Literal["opened", "acknowledged", "escalated", "resolved"]
TICK_SECONDS = 30.0


class AlertPipeline:
    def __init__(self, ctx: Context, actor: Actor, notifier: Notifier | None = None) -> None:
        self.ctx = ctx
        self.actor = actor
        self.notifier = notifier
        self.policy = AlertPolicy.from_settings(ctx.settings)
        self._lock = asyncio.Lock()
        self._sending: set[asyncio.Task[None]] = set()

    async def __call__(self, events: list[Event]) -> None:
        """An event sink (see :data:`netwarden.monitor.service.EventSink`)."""
        if events:
            await self.ingest(events)

    async def ingest(self, events: Sequence[Event]) -> IngestResult:
        async with self._lock:
            result, notices = await asyncio.to_thread(self._ingest, list(events))
        self.announce(notices)
        return result

    def _ingest(self, events: list[Event]) -> tuple[IngestResult, list[Notice]]:
        with self.ctx.db() as db:
            result = service.ingest(db, self.actor, events, policy=self.policy)
            notices = _notices(db, result.notify, "opened") + _notices(db, result.resolved, "resolved")
        return result, notices

    async def tick(self) -> EscalationResult:
        async with self._lock:
            result, notices = await asyncio.to_thread(self._tick)
        self.announce(notices)
        return result

    def _tick(self) -> tuple[EscalationResult, list[Notice]]:
        with self.ctx.db() as db:
            result = service.tick(db, self.policy)
            notices = _notices(db, result.escalated, "escalated") + _notices(db, result.unsuppressed, "opened")
        return result, notices

    def announce(self, notices: list[Notice]) -> None:
        """Send in the background; delivery failures are recorded by the notifier, never raised here."""
        if self.notifier is None or not notices:
            return
        task = asyncio.get_running_loop().create_task(self._send(notices))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, notices: list[Notice]) -> None:
        assert self.notifier is not None
        result = await self.notifier.send(notices)
        if result.failed:
            log.warning("notifications failed count=%s first=%r", len(result.failed), result.failed[0].reason)

    async def drain(self) -> None:
        """Wait for announcements under way (tests, shutdown)."""
        while self._sending:
            await asyncio.gather(*list(self._sending), return_exceptions=True)


def _notices(db: Session, ids: Iterable[int], transition: Transition) -> list[Notice]:
    """Notices for root, unsilenced alerts among ``ids`` (folded alerts are told through their root)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    rows = db.scalars(select(Alert).where(Alert.id.in_(wanted)).order_by(Alert.id))
    return [
        Notice(alert=service.alert_out(a), transition=transition)
        for a in rows
        if a.parent_id is None and not a.suppressed
    ]


async def tick_loop(pipeline: AlertPipeline, interval: float = TICK_SECONDS) -> None:
    """Apply time-driven alert changes for ever; a failed tick is logged and the loop goes on."""
    while True:
        try:
            result = await pipeline.tick()
            if result.escalated or result.settled or result.unsuppressed:
                log.info(
                    "alert tick escalated=%s settled=%s unsuppressed=%s",
                    result.escalated,
                    result.settled,
                    result.unsuppressed,
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one failed tick is logged; the next one runs
            log.warning("alert tick failed error=%r", str(exc))
        await asyncio.sleep(interval)
