"""Monitoring as a service: which devices to poll, one round now, and the rounds ``serve`` repeats.

A round takes the inventory's active devices with a management address, checks availability
over ICMP, reads SNMP from those a monitoring credential opens, stores the points in the metrics
store and hands the events to the alert engine. Sinks are passed in, so tests and the distributed
workers can route points and events elsewhere.

``serve`` runs two loops (ping every ``monitor_ping_interval`` s, SNMP every ``monitor_snmp_interval``
s). Each loop is one task, so a check never overlaps with itself; a round that overruns its
interval is cut there and recorded, and the devices it did not reach are polled next round.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from pydantic import BaseModel, Field
from sqlalchemy import select

from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.alerts.events import Event
from netwarden.collect import snmp
from netwarden.collect.records import TargetResult
from netwarden.collect.snmp_facts import auth_from_secret
from netwarden.context import Context
from netwarden.inventory.models import Device
from netwarden.monitor.baselines import Baselines
from netwarden.monitor.checks import ServiceCheck, ServiceChecker, check_round, load_checks
from netwarden.monitor.neighbors import NeighborWatch, neighbor_round
from netwarden.monitor.poller import SYS_UPTIME, Poller, PollOutcome, Target, observe_each, poll_round
from netwarden.monitor.records import Point
from netwarden.monitor.thresholds import ThresholdEngine
from netwarden.monitor.tunnels import TunnelWatch
from netwarden.monitor.wireless import WirelessWatch, wireless_round

log = logging.getLogger(__name__)
T = TypeVar("T")
Check = Literal["ping", "snmp", "service"]
CHECKS: tuple[Check, ...] = ("ping", "snmp", "service")
# A device whose wireless tables answered nothing is asked again only every this many SNMP rounds.
WIRELESS_RECHECK = 12
PointSink = Callable[[list[Point]], Awaitable[None] | None]
EventSink = Callable[[list[Event]], Awaitable[None] | None]


class Failure(BaseModel):
    device: str
    reason: str


class RoundSummary(BaseModel):
    """What ``netwarden poll --json`` prints."""

    devices: int
    polled: list[str] = Field(default_factory=list)
    points: int = 0
    events: list[Event] = Field(default_factory=list)
    failed: list[Failure] = Field(default_factory=list)
    skipped: dict[str, int] = Field(default_factory=dict, description="readings refused, by reason")
    elapsed: float = 0.0


@dataclass
class Monitor:
    """Keeps the poller's memory (previous counters, states) and each device's working SNMP credential."""

    ctx: Context
    actor: Actor
    poller: Poller = field(default_factory=Poller)
    auth: dict[str, snmp.Auth | None] = field(default_factory=dict)
    seeded: set[str] = field(default_factory=set)
    concurrency: int = 256  # devices asked over SNMP at once
    # Where events go when run_round is given no sink: serve's AlertPipeline, else straight to the engine.
    events_to: EventSink | None = None
    thresholds: ThresholdEngine | None = None
    baselines: Baselines | None = None
    neighbor_watch: NeighborWatch = field(default_factory=NeighborWatch)
    wireless_watch: WirelessWatch = field(default_factory=WirelessWatch)
    wireless_quiet: dict[str, int] = field(default_factory=dict)
    checker: ServiceChecker = field(default_factory=ServiceChecker)
    tunnel_watch: TunnelWatch = field(default_factory=TunnelWatch)
    service_checks: list[ServiceCheck] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.service_checks:
            self.service_checks = load_checks(self.ctx.settings.monitor_service_checks)
        if self.thresholds is None:
            self.thresholds = ThresholdEngine.from_settings(self.ctx.settings)
        if self.baselines is None:
            self.baselines = Baselines.from_settings(self.ctx.settings)

    def seed(self, names: Iterable[str]) -> None:
        """Start the poller's memory of devices it has not seen from the alerts active in the store.

        A device that was down when this process (or, in distributed mode, this worker) took it over
        then clears its alert on the first poll that finds it up, instead of never.
        """
        fresh = set(names) - self.seeded
        if not fresh:
            return
        from netwarden.alerts.models import ACTIVE_STATES, Alert

        with self.ctx.db() as db:
            rows = db.execute(
                select(Alert.kind, Alert.subject, Alert.ends).where(
                    Alert.state.in_(ACTIVE_STATES), Alert.kind.in_(("device_down", "interface_down", "link_down"))
                )
            ).all()
        for kind, subject, ends in rows:
            if kind == "device_down" and subject in fresh:
                self.poller.device_up[subject] = False
            for end in ends if kind == "link_down" else [subject] if kind == "interface_down" else []:
                device, _, port = str(end).partition(":")
                if device in fresh and port:
                    self.poller.if_down[(device, port)] = True
        self.seeded |= fresh

    def devices(self, only: Iterable[str] = ()) -> list[tuple[str, str]]:
        """(name, mgmt address) of the active devices to poll, or of ``only`` when given."""
        wanted = set(only)
        with self.ctx.db() as db:
            query = select(Device.name, Device.mgmt_ip).where(Device.mgmt_ip.is_not(None))
            query = query.where(Device.status.in_(("active", "offline", "missing")))
            rows = [(n, str(ip)) for n, ip in db.execute(query.order_by(Device.name)) if ip]
        if wanted:
            known = {n for n, _ in rows}
            missing = wanted - known
            if missing:
                from netwarden.errors import NotFound

                raise NotFound(f"no device to poll named {', '.join(sorted(missing))} (it needs a management IP)")
            rows = [(n, ip) for n, ip in rows if n in wanted]
        return rows

    async def targets(self, devices: list[tuple[str, str]], with_snmp: bool) -> list[Target]:
        port = self.ctx.settings.monitor_snmp_port
        if not with_snmp:
            return [Target(n, ip) for n, ip in devices]
        unknown = [(n, ip) for n, ip in devices if n not in self.auth]
        if unknown:
            await self._learn_auth(unknown, port)
        return [Target(n, ip, self.auth.get(n), port) for n, ip in devices]

    async def _learn_auth(self, devices: list[tuple[str, str]], port: int) -> None:
        """Try the monitoring credentials in order on each device; keep the first that answers."""
        names = self.ctx.settings.monitor_credentials
        if not names:
            return
        from netwarden.inventory.credentials import reveal_credential

        with self.ctx.db() as db:
            creds = [reveal_credential(db, self.actor, self.ctx.vault, n) for n in names]
        auths = [auth_from_secret(c) for c in creds if c.kind.startswith("snmp")]
        left = list(devices)
        for auth in auths:
            results = await snmp.collect_many(
                [ip for _, ip in left], auth, lambda s: s.get([SYS_UPTIME]), port=port, timeout=1.0, retries=1
            )
            still = []
            for (name, ip), result in zip(left, results, strict=True):
                if result.ok:
                    self.auth[name] = auth
                else:
                    still.append((name, ip))
            left = still
        # Devices no credential opened are tried again on the next discovery of credentials only.
        for name, _ in left:
            self.auth.setdefault(name, None)

    async def run_round(
        self,
        checks: Iterable[Check] = CHECKS,
        only: Iterable[str] = (),
        points_to: PointSink | None = None,
        events_to: EventSink | None = None,
    ) -> RoundSummary:
        """One polling round now; points and events go to the sinks (default: metrics store, alert engine)."""
        require(self.actor, Role.operator, "poll devices")
        started = time.perf_counter()
        wanted = set(checks)
        devices = self.devices(only) if wanted & {"ping", "snmp"} else []
        self.seed(n for n, _ in devices)
        targets = await self.targets(devices, "snmp" in wanted)
        outcomes = await poll_round(
            self.poller,
            targets if "snmp" in wanted else [Target(t.name, t.address) for t in targets],
            ping="ping" in wanted,
            concurrency=self.concurrency,
        )
        if "snmp" in wanted:
            _fold_in(outcomes, await self._state_checks(targets))
        if "service" in wanted and self.service_checks:
            wanted_checks = [c for c in self.service_checks if not only or c.device in set(only)]
            _fold_in(outcomes, await check_round(self.checker, wanted_checks))
        summary = _summarise(outcomes, len(devices))
        points = [p for o in outcomes for p in o.points]
        events = [e for o in outcomes for e in o.events]
        await _deliver(points_to or self._store_points, points)
        judged = await asyncio.to_thread(self._judge, points)
        summary.events.extend(judged)
        await _deliver(events_to or self.events_to or self._raise_alerts, events + judged)
        summary.elapsed = round(time.perf_counter() - started, 3)
        return summary

    async def _state_checks(self, targets: list[Target]) -> list[PollOutcome]:
        """Routing neighbours of every SNMP device; wireless tables where a controller or AP answers them."""
        alive = [t for t in targets if t.snmp is not None and self.poller.device_up.get(t.name, True)]
        out = await neighbor_round(self.neighbor_watch, alive, concurrency=self.concurrency)
        due = []
        for t in alive:
            left = self.wireless_quiet.get(t.name, 0)
            self.wireless_quiet[t.name] = max(0, left - 1)
            if left == 0:
                due.append(t)
        for outcome in await wireless_round(self.wireless_watch, due, concurrency=self.concurrency):
            if not outcome.points and not outcome.events:
                self.wireless_quiet[outcome.device] = WIRELESS_RECHECK
            out.append(outcome)
        out += await self._tunnels([t for t in targets if self.poller.device_up.get(t.name, True)])
        return out

    def gateways(self) -> set[str]:
        """Devices with a tunnel interface (WireGuard, IPsec, GRE...) in the inventory."""
        from netwarden.discover.topology import is_tunnel
        from netwarden.inventory.models import Interface

        with self.ctx.db() as db:
            rows = db.execute(select(Device.name, Interface.name, Interface.kind).join(Interface)).all()
        return {dev for dev, name, kind in rows if is_tunnel(name, kind)}

    async def _tunnels(self, targets: list[Target]) -> list[PollOutcome]:
        """WireGuard peers and IPsec SAs of the VPN gateways, over SSH (``monitor_tunnel_credential``)."""
        name = self.ctx.settings.monitor_tunnel_credential
        if not name:
            return []
        from netwarden.inventory.credentials import reveal_credential
        from netwarden.monitor.tunnels import TunnelReading, read_tunnels

        gateways = self.gateways()
        wanted = [t for t in targets if t.name in gateways]
        if not wanted:
            return []
        with self.ctx.db() as db:
            secret = reveal_credential(db, self.actor, self.ctx.vault, name)

        async def read(target: Target) -> TargetResult[TunnelReading]:
            return await read_tunnels(target.address, secret)

        return await observe_each(wanted, read, self.tunnel_watch.observe, min(self.concurrency, 32))

    def _judge(self, points: list[Point]) -> list[Event]:
        """Threshold, baseline and capacity events for this round's points."""
        if not points or self.thresholds is None:
            return []
        from netwarden.monitor.baselines import evaluate_round

        with self.ctx.db() as db:
            return evaluate_round(db, points, self.thresholds, self.baselines)

    def _store_points(self, points: list[Point]) -> None:
        from netwarden.monitor import metrics

        with self.ctx.db() as db:
            metrics.write(db, points, policy=metrics.MetricsPolicy.from_settings(self.ctx.settings))

    def _raise_alerts(self, events: list[Event]) -> None:
        if not events:
            return
        from netwarden.alerts.schemas import AlertPolicy
        from netwarden.alerts.service import ingest

        with self.ctx.db() as db:
            ingest(db, self.actor, events, policy=AlertPolicy.from_settings(self.ctx.settings))


async def _deliver(sink: Callable[[list[T]], Awaitable[None] | None], items: list[T]) -> None:
    got = sink(items)
    if asyncio.iscoroutine(got):
        await got


def _fold_in(outcomes: list[PollOutcome], extra: list[PollOutcome]) -> None:
    """Add the points and events of extra checks to each device's outcome (their failures are their own)."""
    by_device = {o.device: o for o in outcomes}
    for o in extra:
        mine = by_device.get(o.device)
        if mine is None:
            mine = by_device[o.device] = PollOutcome(o.device)
            outcomes.append(mine)
        mine.points += o.points
        mine.events += o.events
        mine.skipped += o.skipped


def _summarise(outcomes: list[PollOutcome], devices: int) -> RoundSummary:
    summary = RoundSummary(devices=devices)
    for o in outcomes:
        summary.polled.append(o.device)
        summary.points += len(o.points)
        summary.events.extend(o.events)
        if o.failed:
            summary.failed.append(Failure(device=o.device, reason=o.failed))
        for reason, n in o.skipped.items():
            summary.skipped[reason] = summary.skipped.get(reason, 0) + n
    return summary


async def loop(monitor: Monitor, check: Check, interval: float) -> None:
    """Repeat one check for ever: first round after a random offset (jitter), then every ``interval``.

    A round is cut at ``interval`` (recorded as an overrun); the loop itself never stops on a failure.
    """
    await asyncio.sleep(random.uniform(0, min(interval, 10.0)))
    while True:
        started = time.monotonic()
        try:
            summary = await asyncio.wait_for(monitor.run_round((check,)), timeout=interval)
            log.info(
                "poll round check=%s devices=%s points=%s events=%s failed=%s elapsed=%s",
                check,
                summary.devices,
                summary.points,
                len(summary.events),
                len(summary.failed),
                summary.elapsed,
            )
        except TimeoutError:
            log.warning("poll round overran check=%s interval=%s: cut; the rest is polled next round", check, interval)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one bad round is logged; monitoring goes on
            log.warning("poll round failed check=%s error=%r", check, str(exc))
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
