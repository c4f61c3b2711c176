"""SNMP trap receiver: v1, v2c and v3 notifications in, :class:`~netwarden.alerts.events.Event` batches out.

:class:`TrapReceiver` is the asyncio UDP endpoint: a per-source token bucket bounds floods before
any decoding (:mod:`netwarden.monitor.trap_decode`), informs are answered, traps become events
(:mod:`netwarden.monitor.trap_events`) named after the sending device (a :data:`Lookup` callable,
see :func:`inventory_lookup`), and events reach the sink in batches (a batch leaves when full or
``flush_interval`` seconds after its first event) so a storm of traps costs a few transactions.
Nothing a sender does raises out of the receiver: every datagram is decoded, answered as an
SNMPv3 discovery probe, or dropped with a reason, and :meth:`TrapReceiver.stats` counts them all.

``netwarden serve`` runs :func:`start_from_settings`; ``netwarden traps listen`` runs one in the
foreground. See docs/decisions/0014-trap-receiver.md.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, cast

from netwarden.alerts.events import Event
from netwarden.collect import snmp
from netwarden.errors import InvalidInput
from netwarden.jobs.batches import BatchQueue, SenderBuckets, sender_key
from netwarden.monitor.trap_decode import Decoded, Trap, TrapDecoder, TrapError
from netwarden.monitor.trap_events import render, trap_events

if TYPE_CHECKING:
    from netwarden.access.schemas import Actor
    from netwarden.context import Context

__all__ = [
    "Decoded",
    "EventSink",
    "InventoryLookup",
    "Lookup",
    "Trap",
    "TrapDecoder",
    "TrapError",
    "TrapReceiver",
    "TrapStats",
    "alert_sink",
    "inventory_lookup",
    "render",
    "start_from_settings",
    "trap_events",
    "users_from_credentials",
]

log = logging.getLogger(__name__)
EventSink = Callable[[list[Event]], Awaitable[None] | None]
Lookup = Callable[[str], str | None]  # sender address -> device name


@dataclass
class TrapStats:
    """Counters: every datagram ``received`` is ``decoded``, a v3 discovery ``probe``, or ``dropped`` by reason."""

    received: int = 0
    decoded: int = 0
    probes: int = 0
    answered: int = 0
    duplicates: int = 0  # resent informs, among ``decoded``
    dropped: dict[str, int] = field(default_factory=dict)
    events: int = 0
    delivered: int = 0
    batches: int = 0
    events_lost: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, receiver: TrapReceiver) -> None:
        self.receiver = receiver
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        reply = self.receiver.handle_datagram(data, str(addr[0]))
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("trap socket error=%r", str(exc))


class TrapReceiver:
    """The UDP trap listener: decode, rate-limit, map to events, deliver in batches.

    Args:
        sink: called with each batch of events (sync or async).
        communities: v1/v2c communities accepted.
        users: SNMPv3 users accepted (see :func:`users_from_credentials`).
        lookup: sender address -> device name (see :func:`inventory_lookup`); the address otherwise.
        rate, burst: per-source token bucket (traps per second, bucket depth).
        flush_interval, batch_size: a batch leaves when it is full or this many seconds after its first event.
        max_pending: events waiting for the sink beyond this are dropped (``events_lost["queue_full"]``).
    """

    def __init__(
        self,
        sink: EventSink,
        *,
        communities: Iterable[str] = ("public",),
        users: Iterable[snmp.V3] = (),
        lookup: Lookup | None = None,
        rate: float = 200.0,
        burst: float = 1000.0,
        flush_interval: float = 0.5,
        batch_size: int = 500,
        max_pending: int = 100_000,
        engine_id: bytes | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.decoder = TrapDecoder(communities, users, engine_id)
        self.lookup = lookup
        self.flush_interval, self.batch_size, self.max_pending = flush_interval, max(1, batch_size), max_pending
        self._limits = SenderBuckets(rate, burst, clock)
        self._stats = TrapStats()
        self._batches: BatchQueue[Event] = BatchQueue(
            sink,
            what="trap event",
            lose=self._lose,
            delivered=self._delivered,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_pending=max_pending,
        )
        self._transport: asyncio.DatagramTransport | None = None
        self.address: tuple[str, int] = ("", 0)
        self._informs: OrderedDict[tuple[str, str, int, str], None] = OrderedDict()

    async def start(self, host: str = "0.0.0.0", port: int = 162) -> None:
        """Listen on ``host``:``port`` (0 picks a free port; see :attr:`address`)."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            # A burst of traps must wait in the kernel while a batch is delivered, not be lost there.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            hint = "; ports below 1024 need root, use --port 1162 or another" if port < 1024 else ""
            raise TrapError(
                "bind", f"cannot listen for traps on udp {host}:{port}: {exc.strerror or exc}{hint}"
            ) from None
        transport, _ = await loop.create_datagram_endpoint(lambda: _Protocol(self), sock=sock)
        self._transport = transport
        self.address = sock.getsockname()[:2]
        log.info("trap receiver listening address=%s:%s", *self.address)

    async def close(self, timeout: float = 60.0) -> None:
        """Stop listening and deliver what is pending (a batch being delivered is finished, not cut).

        A sink still busy after ``timeout`` seconds is abandoned and its events counted as lost.
        """
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        await self._batches.close(timeout)

    def stats(self) -> TrapStats:
        """A copy of the counters."""
        s = self._stats
        return TrapStats(**{**asdict(s), "dropped": dict(s.dropped), "events_lost": dict(s.events_lost)})

    # ------------------------------------------------------------ one datagram

    def handle_datagram(self, data: bytes, address: str) -> bytes | None:
        """Account for, decode and queue one datagram; returns the reply to send (inform or report)."""
        stats = self._stats
        stats.received += 1
        sender = sender_key(address)
        if not self._limits.allow(sender):
            self._drop("rate_limited")
            return None
        try:
            decoded = self.decoder.decode(data, sender)
        except TrapError as exc:
            self._drop(exc.reason)
            log.debug("trap dropped reason=%s detail=%r", exc.reason, str(exc))
            return None
        except Exception as exc:  # a decoder bug must not stop the listener: counted and logged
            self._drop("internal_error")
            log.warning("trap decoding failed sender=%s error=%r", sender, repr(exc))
            return None
        if decoded.reply is not None:
            stats.answered += 1
        if decoded.trap is None:
            stats.probes += 1
            return decoded.reply
        stats.decoded += 1
        trap = decoded.trap
        if trap.inform and self._seen_before(trap):
            stats.duplicates += 1  # a resent inform (our answer was lost): answered again, not counted twice
            return decoded.reply
        device = self._device(trap)
        self._queue(trap_events(trap, device))
        return decoded.reply

    def _seen_before(self, trap: Trap) -> bool:
        key = (trap.sender, trap.version, trap.request_id, trap.oid)
        if key in self._informs:
            return True
        self._informs[key] = None
        if len(self._informs) > 4096:
            self._informs.popitem(last=False)
        return False

    def _device(self, trap: Trap) -> str:
        if self.lookup is not None:
            for address in (trap.sender, trap.agent):
                if address:
                    try:
                        name = self.lookup(address)
                    except Exception as exc:  # the inventory being unreachable must not lose the trap
                        log.warning("trap device lookup failed error=%r", str(exc))
                        break
                    if name:
                        return name
        return trap.sender

    def _drop(self, reason: str) -> None:
        self._stats.dropped[reason] = self._stats.dropped.get(reason, 0) + 1

    def _lose(self, reason: str, count: int) -> None:
        self._stats.events_lost[reason] = self._stats.events_lost.get(reason, 0) + count

    def _queue(self, events: list[Event]) -> None:
        self._stats.events += len(events)
        self._batches.put(events)

    # ------------------------------------------------------------ batches

    def _delivered(self, count: int) -> None:
        self._stats.delivered += count
        self._stats.batches += 1


# ---------------------------------------------------------------- wiring to the store


class InventoryLookup:
    """Sender address -> device name from the inventory (management and interface addresses).

    The map is read at most every ``refresh`` seconds, so a trap storm costs no queries; a device
    added since is named after the next refresh (its traps carry the address until then).
    """

    def __init__(self, ctx: Context, refresh: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx, self.refresh, self.clock = ctx, refresh, clock
        self._names: dict[str, str] = {}
        self._loaded: float | None = None

    def __call__(self, address: str) -> str | None:
        now = self.clock()
        if self._loaded is None or now - self._loaded >= self.refresh:
            self._loaded = now
            try:
                self._names = self._load()
            except Exception as exc:  # keep the last map; the next refresh tries again
                log.warning("trap inventory lookup could not read the store error=%r", str(exc))
        return self._names.get(sender_key(address))

    def _load(self) -> dict[str, str]:
        from sqlalchemy import select

        from netwarden.inventory.models import Device, Interface, IPAddress

        names: dict[str, str] = {}
        with self.ctx.db() as db:
            query = select(IPAddress.address, Device.name).join(Interface, IPAddress.interface_id == Interface.id)
            for address, name in db.execute(query.join(Device, Interface.device_id == Device.id)):
                names[sender_key(address)] = name
            for name, mgmt in db.execute(select(Device.name, Device.mgmt_ip).where(Device.mgmt_ip.is_not(None))):
                names[sender_key(str(mgmt))] = name  # the management address wins over an interface's
        return names


def inventory_lookup(ctx: Context, refresh: float = 60.0) -> Lookup:
    """A :data:`Lookup` over the inventory of ``ctx``, cached for ``refresh`` seconds."""
    return InventoryLookup(ctx, refresh)


def users_from_credentials(ctx: Context, actor: Actor, names: Iterable[str]) -> list[snmp.V3]:
    """The SNMPv3 users of stored ``snmp-v3`` credentials (other kinds are refused)."""
    from netwarden.collect.snmp_facts import auth_from_secret
    from netwarden.inventory.credentials import reveal_credential

    users: list[snmp.V3] = []
    with ctx.db() as db:
        for name in names:
            cred = reveal_credential(db, actor, ctx.vault, name)
            auth = auth_from_secret(cred) if cred.kind == "snmp-v3" else None
            if not isinstance(auth, snmp.V3):
                raise InvalidInput(f"traps_credentials names {name!r}, a {cred.kind} credential: name snmp-v3 ones")
            users.append(auth)
    return users


def alert_sink(ctx: Context, actor: Actor) -> EventSink:
    """A sink that ingests each batch into the alert engine in one transaction, in a worker thread.

    One transaction per event would cap intake at a few traps a second (the engine re-plans root
    causes per call); a batch of 500 new alerts takes seconds, so it runs off the event loop, which
    keeps reading traps meanwhile. The receiver delivers one batch at a time; the engine's unique
    active-alert key makes it safe beside the poller's own ingest.
    """
    from netwarden.alerts.schemas import AlertPolicy
    from netwarden.alerts.service import ingest

    policy = AlertPolicy.from_settings(ctx.settings)

    def write(events: list[Event]) -> None:
        with ctx.db() as db:
            ingest(db, actor, events, policy=policy)

    async def sink(events: list[Event]) -> None:
        if events:
            await asyncio.to_thread(write, events)

    return sink


async def start_from_settings(ctx: Context, sink: EventSink | None = None, actor: Actor | None = None) -> TrapReceiver:
    """The receiver ``netwarden serve`` runs: settings' host, port, communities and v3 credentials.

    ``sink`` defaults to :func:`alert_sink`; device names come from :func:`inventory_lookup`.
    """
    from netwarden.access.schemas import SYSTEM

    who = actor or SYSTEM
    s = ctx.settings
    users = users_from_credentials(ctx, who, s.traps_credentials)
    receiver = TrapReceiver(
        sink or alert_sink(ctx, who), communities=s.traps_communities, users=users, lookup=inventory_lookup(ctx)
    )
    await receiver.start(s.traps_host, s.traps_port)
    return receiver
