"""``netwarden worker``: one of many pollers sharing the inventory's devices through Redis.

A worker beats its heartbeat into Redis every ``worker_heartbeat_seconds`` (TTL: three beats). For
each check (ping every ``monitor_ping_interval`` s, SNMP every ``monitor_snmp_interval`` s) a loop
takes the live workers, computes its share of the devices by rendezvous hashing
(:mod:`netwarden.jobs.broker`), claims those of its share that are due and polls them through
:class:`~netwarden.monitor.service.Monitor` (points to the metrics store, events to the alert engine).
It then waits until the next of its devices is due, or one heartbeat, whichever comes first, so a
change of membership is seen within one heartbeat.

When a worker dies (SIGKILL, a lost machine), its heartbeat stops; after the TTL the others' next
tick leaves it out of the live set and its devices fall to them: due at the time its last claim
said, or at once if it died holding them in a round. So a device waits at most one interval + TTL +
one heartbeat + one round: within two intervals while ``worker_heartbeat_seconds`` <= interval / 5.

On SIGTERM/SIGINT a worker leaves the live set at once, cuts its rounds and makes their devices due
again, so the others poll them immediately.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from netwarden.access.schemas import Actor
from netwarden.alerts.events import Event
from netwarden.context import Context
from netwarden.errors import ConfigError, NetwardenError
from netwarden.jobs.broker import Broker, share
from netwarden.monitor.service import Check, EventSink, Monitor

log = logging.getLogger(__name__)
TTL_BEATS = 3
EARLY_FRACTION = 0.05  # a device within 5% of an interval from due is polled with this tick's batch


def new_worker_id() -> str:
    """host:pid:random, unique across restarts (a restarted worker is a new member)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class CheckState:
    check: Check
    interval: float
    claimed: list[str] = field(default_factory=list)  # the devices of the round in flight
    rounds: int = 0


class Worker:
    """Runs the heartbeat and one polling loop per enabled check until :meth:`stop`."""

    def __init__(
        self, ctx: Context, actor: Actor, broker: Broker, worker_id: str | None = None, monitor: Monitor | None = None
    ) -> None:
        self.ctx = ctx
        self.actor = actor
        self.broker = broker
        self.id = worker_id or new_worker_id()
        self.monitor = monitor or Monitor(ctx, actor)
        s = ctx.settings
        self.beat = s.worker_heartbeat_seconds
        self.ttl = self.beat * TTL_BEATS
        self.checks: list[CheckState] = []
        if s.monitor_ping_interval > 0:
            self.checks.append(CheckState("ping", float(s.monitor_ping_interval)))
        if s.monitor_snmp_interval > 0 and s.monitor_credentials:
            self.checks.append(CheckState("snmp", float(s.monitor_snmp_interval)))
        self._stop = asyncio.Event()
        self._shared: tuple[tuple[tuple[str, ...], tuple[str, ...]], list[str]] | None = None
        # Events go to the alert engine (the monitor's default sink) once it is installed.
        self._events: EventSink | None = None
        if importlib.util.find_spec("netwarden.alerts.service") is None:
            log.warning("no alert engine (netwarden.alerts.service): poll events are only logged")
            self._events = self._log_events

    def validate(self) -> None:
        """Refuse settings that cannot work; warn where the two-interval promise does not hold."""
        if not self.checks:
            raise ConfigError(
                "the worker has nothing to poll: set monitor_ping_interval > 0, or monitor_snmp_interval > 0"
                " with monitor_credentials"
            )
        for state in self.checks:
            if self.beat * 5 > state.interval:
                log.warning(
                    "worker heartbeat=%s s is over a fifth of check=%s interval=%s s: a dead worker's devices"
                    " may wait more than two intervals",
                    self.beat,
                    state.check,
                    state.interval,
                )

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Beat, poll the share of each check, and on :meth:`stop` leave at once."""
        self.validate()
        await self.broker.heartbeat(self.id, self.ttl)
        log.info(
            "worker started id=%s checks=%s heartbeat=%s",
            self.id,
            ",".join(f"{c.check}/{c.interval:g}s" for c in self.checks),
            self.beat,
        )
        tasks = [asyncio.create_task(self._beat_loop(), name="heartbeat")]
        tasks += [asyncio.create_task(self._check_loop(c), name=c.check) for c in self.checks]
        try:
            await self._stop.wait()
        finally:
            # Leave first, so the others take the share on their next tick; then cut the rounds.
            with contextlib.suppress(Exception):
                await self.broker.leave(self.id)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            log.info("worker stopped id=%s", self.id)

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the worker is told to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), timeout=max(0.0, seconds))

    async def _beat_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                await self.broker.heartbeat(self.id, self.ttl)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: keep trying; the others will have taken the share
                log.warning("heartbeat failed id=%s error=%r", self.id, str(exc))
            await self._pause(self.beat - (time.monotonic() - started))

    async def _check_loop(self, state: CheckState) -> None:
        while not self._stop.is_set():
            wait = self.beat
            try:
                wait = await self.tick(state)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one failed tick is logged; the loop goes on
                log.warning("worker tick failed id=%s check=%s error=%r", self.id, state.check, str(exc))
            await self._pause(wait)

    async def tick(self, state: CheckState) -> float:
        """Claim and poll the due devices of this worker's share; returns the seconds to wait before the next."""
        _, live = await self.broker.live(self.ttl)
        mine = self._share(tuple(name for name, _ in self.monitor.devices()), tuple(live))
        early = state.interval * EARLY_FRACTION
        claim = await self.broker.claim(state.check, self.id, mine, state.interval, early=early, ttl=self.ttl)
        claimed_at = time.monotonic()
        if claim.devices:
            await self._poll(state, claim.devices)
        wait = claim.wait_seconds()
        if wait is None:
            return self.beat
        return min(self.beat, wait - (time.monotonic() - claimed_at))

    def _share(self, devices: tuple[str, ...], live: tuple[str, ...]) -> list[str]:
        """This worker's devices; recomputed only when the inventory or the membership changed."""
        if self._shared is None or self._shared[0] != (devices, live):
            self._shared = ((devices, live), share(devices, live, self.id))
        return self._shared[1]

    async def _poll(self, state: CheckState, devices: list[str]) -> None:
        state.claimed = devices
        try:
            summary = await asyncio.wait_for(
                self.monitor.run_round((state.check,), devices, events_to=self._events), timeout=state.interval
            )
        except asyncio.CancelledError:
            # Stopping: the others poll these now rather than one interval after our claim.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.broker.release(state.check, devices), timeout=2)
            raise
        except (TimeoutError, NetwardenError) as exc:
            # Like serve's loops: the devices stay claimed and are polled again at their next due time,
            # so a round that keeps failing does not spin.
            reason = "overran its interval" if isinstance(exc, TimeoutError) else str(exc)
            log.warning("worker round cut id=%s check=%s devices=%d: %s", self.id, state.check, len(devices), reason)
            await self.broker.unhold(state.check, self.id, devices)
            return
        finally:
            state.claimed = []
        failed = {f.device for f in summary.failed}
        await self.broker.done(state.check, self.id, [(d, d not in failed) for d in summary.polled])
        unpolled = set(devices) - set(summary.polled)
        if unpolled:  # e.g. SNMP for a device no credential opens: tried again at its next due time
            await self.broker.unhold(state.check, self.id, sorted(unpolled))
        state.rounds += 1
        log.info(
            "worker round id=%s check=%s devices=%d points=%d events=%d failed=%d elapsed=%s",
            self.id,
            state.check,
            len(summary.polled),
            summary.points,
            len(summary.events),
            len(summary.failed),
            summary.elapsed,
        )

    def _log_events(self, events: Sequence[Event]) -> None:
        """Where events go while no alert engine is installed: the log, so that none is silent."""
        for e in events:
            log.info("event kind=%s subject=%s severity=%s", e.kind, e.subject, e.severity)
