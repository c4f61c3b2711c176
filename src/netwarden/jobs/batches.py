"""Flood-proof intake for the trap and syslog receivers: per-sender rate limits and a batch queue.

:class:`SenderBuckets` bounds what one sender may push per second.

:class:`BatchQueue`: a batch leaves when ``batch_size`` items wait or ``flush_interval`` seconds after the first of
them, so a flood costs a few sink calls (transactions), not one per item. At most ``max_pending``
items wait; beyond that they are counted lost (``queue_full``), never silently dropped. A failing
sink is retried twice, after a pause, then its batch is counted lost (``sink_failed``). ``close``
delivers what is pending, and counts as lost (``closed``) what a sink still busy after the
timeout did not take.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
Sink = Callable[[list[T]], Awaitable[None] | None]


def sender_key(address: str) -> str:
    """Canonical text of a sender's address (IPv4-mapped IPv6 becomes IPv4; a scope suffix is kept off)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


class SenderBuckets:
    """Token buckets per sender (``rate`` per second, ``burst`` deep); at most ``size`` senders kept."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float], size: int = 65536) -> None:
        self.rate, self.burst, self.clock, self.size = rate, burst, clock, size
        self.buckets: OrderedDict[str, list[float]] = OrderedDict()

    def allow(self, source: str) -> bool:
        now = self.clock()
        bucket = self.buckets.get(source)
        if bucket is None:
            bucket = self.buckets[source] = [self.burst, now]
            if len(self.buckets) > self.size:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(source)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.rate)
            bucket[1] = now
        if bucket[0] >= 1:
            bucket[0] -= 1
            return True
        return False


class BatchQueue(Generic[T]):
    def __init__(
        self,
        sink: Sink[T],
        *,
        what: str,
        lose: Callable[[str, int], None],
        delivered: Callable[[int], None],
        batch_size: int = 500,
        flush_interval: float = 0.5,
        max_pending: int = 100_000,
    ) -> None:
        self.sink = sink
        self.what = what  # for the log: "trap event", "syslog message"
        self._lose = lose
        self._delivered = delivered
        self.batch_size = max(1, batch_size)
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._pending: list[T] = []
        self._has_pending = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._attempts = 0

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    def put(self, items: Sequence[T]) -> None:
        """Queue items (from the event loop); what does not fit is counted lost as ``queue_full``."""
        room = max(0, self.max_pending - len(self._pending))
        if room < len(items):
            self._lose("queue_full", len(items) - room)
            items = items[:room]
        self._pending.extend(items)
        if self._flusher is None and not self._closing.is_set():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())
        if self._pending:
            self._has_pending.set()
        if len(self._pending) >= self.batch_size:
            self._full.set()

    async def close(self, timeout: float = 60.0) -> None:
        """Deliver what is pending (a batch being delivered is finished, not cut), then stop."""
        self._closing.set()
        self._has_pending.set()
        self._full.set()
        flusher = self._flusher
        if flusher is None:
            await self._drain()
            return
        try:
            await asyncio.wait_for(asyncio.shield(flusher), timeout)
        except TimeoutError:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            log.warning("%s sink still busy at close; lost=%s", self.what, len(self._pending))
            self._lose("closed", len(self._pending))
            self._pending.clear()

    async def _flush_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._closing.is_set():
            await self._has_pending.wait()
            deadline = loop.time() + self.flush_interval
            while (
                len(self._pending) < self.batch_size
                and not self._closing.is_set()
                and (left := deadline - loop.time()) > 0
            ):
                self._full.clear()
                try:
                    await asyncio.wait_for(self._full.wait(), left)
                except TimeoutError:
                    break
            if self._pending and not await self._deliver_one():
                # Back off before retrying a failing sink; close() cuts the wait short.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self.flush_interval)
            if not self._pending and not self._closing.is_set():
                self._has_pending.clear()
                self._full.clear()
        await self._drain()

    async def _drain(self) -> None:
        """Deliver everything pending, one attempt per batch (closing)."""
        for _ in range(len(self._pending) // self.batch_size + 1):
            if not self._pending:
                break
            await self._deliver_one(final=True)

    async def _deliver_one(self, final: bool = False) -> bool:
        """Hand the oldest batch to the sink; a failing batch is retried twice, then counted lost."""
        batch = self._pending[: self.batch_size]
        del self._pending[: self.batch_size]
        try:
            result = self.sink(batch)
            if asyncio.iscoroutine(result):
                await result
        except asyncio.CancelledError:
            self._pending[:0] = batch
            raise
        except Exception as exc:
            attempts = self._attempts + 1
            log.warning("%s sink failed items=%s attempt=%s error=%r", self.what, len(batch), attempts, str(exc))
            if attempts >= 3 or final:
                self._lose("sink_failed", len(batch))
                self._attempts = 0
            else:
                self._attempts = attempts
                self._pending[:0] = batch
            return False
        self._attempts = 0
        self._delivered(len(batch))
        return True
