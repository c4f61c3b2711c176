"""The engines behind :mod:`netwarden.collect.icmp`: one socket per family, many targets in flight.

Both engines share the socket handling, the waiting and the reply parsing (:class:`_EngineBase`):

* :class:`SweepEngine`: one request per target (plus retries), the discovery sweep. It keeps a
  three-item list per target in flight and nothing else, because a /16 sweep is bounded by how
  little Python runs per address.
* :class:`StatsEngine`: ``count`` requests per target at ``interval``, for loss and jitter; several
  requests of one target may be in flight at once.

Timing: the send time of each request is read right after its ``sendto``, the receive time right
after its ``recvfrom``. Replies are read after every ``batch`` sends and whenever the socket is
readable, so a reply that arrives during a burst waits at most ``batch`` sends to be timestamped.

Deadlines are kept in FIFO queues: every request of a run has the same timeout, so deadlines
arrive in send order and expiring is a pop from the left. Answered requests are dropped from the
queue lazily, and the queue is compacted when it outgrows what is in flight.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

from netwarden.collect._sockets import (
    ICMP6_ECHO_REPLY,
    ICMP_ECHO_REPLY,
    TOKEN_LEN,
    IcmpMode,
    IcmpSocket,
    echo_request,
    open_icmp_socket,
    parse_raw_error,
    read_error_queue,
    send_error_reason,
)
from netwarden.collect._targets import TargetSet
from netwarden.collect.icmp import PingOptions, PingStats, Progress, fast_success, stats_of
from netwarden.collect.records import FailureReason, TargetResult

DRAIN_LIMIT = 4096  # datagrams read per wake-up: a flood of foreign ICMP cannot pin the loop
ROUND_LIMIT = 1024  # requests sent before the loop (and the consumer) get control back


def _family_of(target: str) -> int:
    return socket.AF_INET6 if ":" in target else socket.AF_INET


def _no_reply(sent: int, timeout: float) -> str:
    return f"no echo reply to {sent} request{'s' if sent > 1 else ''} in {timeout:g} s"


class _EngineBase:
    """Sockets, waiting, reading; the subclasses decide what to send and what a reply means."""

    def __init__(self, targets: TargetSet, options: PingOptions, progress: Progress | None) -> None:
        self.options = options
        self.total = targets.total
        self.progress = progress
        self.out: deque[TargetResult[PingStats]] = deque()
        self._families = targets.families
        self._targets: Iterator[str] = iter(targets)
        self._exhausted = False
        self._socks: dict[int, IcmpSocket] = {}
        self._packets: dict[int, list[bytes]] = {}
        self._token = os.urandom(TOKEN_LEN)
        self._done = 0
        self._reported = -1
        self._tokens = float(options.batch)
        self._tokens_at = time.perf_counter()
        self._waiter: asyncio.Future[None] | None = None
        self._blocked: set[int] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._compact_at = 4096

    # -- lifecycle

    def open(self) -> None:
        """Open one socket per family the targets need; raises NeedsRoot when none may be opened."""
        self._loop = asyncio.get_running_loop()
        nseq = self.options.count + self.options.retries
        try:
            for family in sorted(self._families):
                isock = open_icmp_socket(family, self.options.mode)
                self._socks[family] = isock
                self._packets[family] = [echo_request(family, isock.ident, seq, self._token) for seq in range(nseq)]
                self._loop.add_reader(isock.sock.fileno(), self._readable, isock)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for isock in self._socks.values():
            fd = isock.sock.fileno()
            if self._loop is not None and fd >= 0:
                self._loop.remove_reader(fd)
                self._loop.remove_writer(fd)
            isock.close()
        self._socks.clear()
        self._forget()

    @property
    def modes(self) -> dict[int, IcmpMode]:
        return {family: isock.mode for family, isock in self._socks.items()}

    # -- the run

    async def run(self) -> AsyncIterator[deque[TargetResult[PingStats]]]:
        """Yield the queue of finished results whenever it has some; the caller empties it.

        One async step per batch rather than per target, and the caller pops results one by
        one, so each can be freed as soon as it has been consumed.
        """
        while True:
            now = time.perf_counter()
            self._expire(now)
            more = self._send_round(now)
            for isock in self._socks.values():
                self._drain(isock)
            self._expire(time.perf_counter())
            if self.out:
                yield self.out
            self._report()
            if self._exhausted and not self._in_flight():
                break
            if more:
                await asyncio.sleep(0)  # a long burst still lets other tasks run
            else:
                await self._wait(self._next_event())
        self._report(final=True)

    def _report(self, final: bool = False) -> None:
        if self.progress is not None and (self._done != self._reported or final):
            self._reported = self._done
            self.progress(self._done, self.total)

    def _token_time(self) -> float | None:
        if self.options.rate is None or (self._exhausted and not self._has_ready()):
            return None
        return self._tokens_at + (1.0 - self._tokens) / self.options.rate

    async def _wait(self, until: float | None) -> None:
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        self._waiter = fut
        handle = None
        if until is not None:
            handle = self._loop.call_later(max(0.0, until - time.perf_counter()), self._wake)
        try:
            await fut
        finally:
            self._waiter = None
            if handle is not None:
                handle.cancel()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _readable(self, isock: IcmpSocket) -> None:
        self._drain(isock)
        if self.out or self._has_ready():
            self._wake()

    def _writable(self, fd: int) -> None:
        assert self._loop is not None
        self._loop.remove_writer(fd)
        self._blocked.discard(fd)
        self._wake()

    def _block(self, isock: IcmpSocket) -> None:
        """The send buffer is full: pause sending until the socket can take more."""
        fd = isock.sock.fileno()
        if fd not in self._blocked:
            assert self._loop is not None
            self._blocked.add(fd)
            self._loop.add_writer(fd, self._writable, fd)

    def _has_token(self, now: float) -> bool:
        rate = self.options.rate
        if rate is None:
            return True
        self._tokens = min(float(self.options.batch), self._tokens + (now - self._tokens_at) * rate)
        self._tokens_at = now
        return self._tokens >= 1.0

    # -- receiving

    def _drain(self, isock: IcmpSocket) -> None:
        recv = isock.sock.recvfrom
        raw = isock.mode == "raw"
        v4 = isock.family == socket.AF_INET
        reply_type = ICMP_ECHO_REPLY if v4 else ICMP6_ECHO_REPLY
        token, ident = self._token, isock.ident
        on_reply = self._on_reply
        mode = isock.mode
        clock = time.perf_counter
        for _ in range(DRAIN_LIMIT):
            try:
                data, address = recv(256)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # A ping socket reports an ICMP error this way; the details wait in the error queue.
                self._read_errors(isock)
                continue
            now = clock()
            off = (data[0] & 0x0F) << 2 if raw and v4 else 0
            if len(data) < off + 8 + TOKEN_LEN or data[off] != reply_type:
                self._not_a_reply(isock, data, address[0])
                continue
            if not data.endswith(token):
                continue  # another program's echo, or a reply to an earlier run
            if raw and (data[off + 4] << 8 | data[off + 5]) != ident:
                continue
            on_reply(address[0], data[off + 6] << 8 | data[off + 7], now, mode)

    def _not_a_reply(self, isock: IcmpSocket, data: bytes, sender: str) -> None:
        """Anything but an echo reply: on a raw socket, maybe an ICMP error about one of ours."""
        if isock.mode == "raw":
            error = parse_raw_error(data, isock.family, isock.ident, sender)
            if error is not None:
                self._on_error(error.target, error.seq, error.reason, error.detail)

    def _read_errors(self, isock: IcmpSocket) -> None:
        for _ in range(DRAIN_LIMIT):
            error = read_error_queue(isock.sock, isock.family)
            if error is False:
                return
            if error is not None:
                self._on_error(error.target, error.seq, error.reason, error.detail)

    def _send_again(self, isock: IcmpSocket, packet: bytes, target: str, exc: OSError) -> OSError | None:
        """A send failed: return the error if it was this target's, None if a second send went out.

        An ICMP error about an earlier request sets the socket's pending error, and the kernel
        hands that to the next call on the socket, whatever its target. So the error queue is
        read first (a ping socket queues the details there; a raw socket gets the ICMP message
        itself), then the request is sent once more: failing again means the error is ours.
        Raises BlockingIOError when the send buffer is full.
        """
        if isinstance(exc, (BlockingIOError, InterruptedError)):
            raise exc
        if isock.mode == "dgram":
            self._read_errors(isock)
        try:
            isock.sock.sendto(packet, (target, 0))
        except (BlockingIOError, InterruptedError):
            raise
        except OSError as again:
            return again
        return None

    # -- what the engines provide

    def _send_round(self, now: float) -> bool:
        raise NotImplementedError

    def _expire(self, now: float) -> None:
        raise NotImplementedError

    def _next_event(self) -> float | None:
        raise NotImplementedError

    def _on_reply(self, target: str, seq: int, now: float, mode: IcmpMode) -> None:
        raise NotImplementedError

    def _on_error(self, target: str, seq: int, reason: FailureReason, detail: str) -> None:
        raise NotImplementedError

    def _in_flight(self) -> int:
        raise NotImplementedError

    def _has_ready(self) -> bool:
        raise NotImplementedError

    def _forget(self) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------- one request per target


class SweepEngine(_EngineBase):
    """One request per target, ``retries`` more while unanswered: the sweep.

    State per target in flight: ``[sent_at, requests_sent, started, error]``; the request in
    flight is always the last one sent (sequence ``requests_sent - 1``).
    """

    def __init__(self, targets: TargetSet, options: PingOptions, progress: Progress | None) -> None:
        super().__init__(targets, options, progress)
        self._active: dict[str, list[Any]] = {}
        self._ready: deque[str] = deque()  # retries, and targets the full send buffer pushed back
        self._expiry: deque[tuple[float, str, int]] = deque()  # (deadline, target, requests_sent)

    def _in_flight(self) -> int:
        return len(self._active)

    def _has_ready(self) -> bool:
        return bool(self._ready)

    def _forget(self) -> None:
        self._active.clear()
        self._ready.clear()
        self._expiry.clear()

    def _next_event(self) -> float | None:
        times = [t for t in (self._token_time(),) if t is not None]
        if self._expiry:
            times.append(self._expiry[0][0])
        return min(times) if times else None

    def _send_round(self, now: float) -> bool:
        options = self.options
        active, ready, expiry = self._active, self._ready, self._expiry
        timeout, concurrency, batch, limited = (
            options.timeout,
            options.concurrency,
            options.batch,
            options.rate is not None,
        )
        targets = self._targets
        clock = time.perf_counter
        sock4 = self._socks.get(socket.AF_INET)
        sock6 = self._socks.get(socket.AF_INET6)
        send4 = sock4.sock.sendto if sock4 is not None else None
        send6 = sock6.sock.sendto if sock6 is not None else None
        packets4 = self._packets.get(socket.AF_INET, [])
        packets6 = self._packets.get(socket.AF_INET6, [])
        for sent in range(ROUND_LIMIT):
            if self._blocked or (limited and not self._has_token(now)):
                return False
            if ready:
                target = ready.popleft()
                state = active[target]
            elif self._exhausted or len(active) >= concurrency:
                return False
            else:
                next_target = next(targets, None)
                if next_target is None:
                    self._exhausted = True
                    return False
                target = next_target
                state = [0.0, 0, now, None]
                active[target] = state
            attempt = state[1]
            v6 = ":" in target
            try:
                if v6:
                    send6(packets6[attempt], (target, 0))  # type: ignore[misc]
                else:
                    send4(packets4[attempt], (target, 0))  # type: ignore[misc]
                failure = None
            except OSError as exc:
                isock = self._socks[socket.AF_INET6 if v6 else socket.AF_INET]
                packets = packets6 if v6 else packets4
                try:
                    failure = self._send_again(isock, packets[attempt], target, exc)
                except (BlockingIOError, InterruptedError):
                    ready.appendleft(target)
                    self._block(isock)
                    return False
            if failure is not None:
                state[1] = attempt + 1
                state[3] = send_error_reason(failure)
                self._lost(target, state)
            else:
                sent_at = clock()
                state[0] = sent_at
                state[1] = attempt + 1
                expiry.append((sent_at + timeout, target, attempt + 1))
            if limited:
                self._tokens -= 1.0
            if sent % batch == batch - 1:
                for isock in self._socks.values():
                    self._drain(isock)
                now = clock()
                self._expire(now)
        return True

    def _drain(self, isock: IcmpSocket) -> None:
        """The base class's reader with the reply handling inlined: this runs once per address."""
        recv = isock.sock.recvfrom
        raw_v4 = isock.mode == "raw" and isock.family == socket.AF_INET
        check_id = isock.mode == "raw"
        reply_type = ICMP_ECHO_REPLY if isock.family == socket.AF_INET else ICMP6_ECHO_REPLY
        token, ident, mode = self._token, isock.ident, isock.mode
        active = self._active
        get = active.get
        append = self.out.append
        clock = time.perf_counter
        done = 0
        try:
            for _ in range(DRAIN_LIMIT):
                try:
                    data, address = recv(256)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError:
                    self._read_errors(isock)
                    continue
                now = clock()
                off = (data[0] & 0x0F) << 2 if raw_v4 else 0
                if len(data) < off + 8 + TOKEN_LEN or data[off] != reply_type:
                    self._not_a_reply(isock, data, address[0])
                    continue
                if not data.endswith(token) or (check_id and (data[off + 4] << 8 | data[off + 5]) != ident):
                    continue
                target = address[0]
                state = get(target)
                if state is None or state[1] != (data[off + 6] << 8 | data[off + 7]) + 1 or state[0] == -1.0:
                    continue
                del active[target]
                done += 1
                append(fast_success(target, state[1], now - state[0], now - state[2], mode))
        finally:
            self._done += done

    def _on_reply(self, target: str, seq: int, now: float, mode: IcmpMode) -> None:
        state = self._active.get(target)
        if state is None or state[1] != seq + 1 or state[0] == -1.0:
            return  # a duplicate, or the answer to a request that already timed out
        del self._active[target]
        self._done += 1
        self.out.append(fast_success(target, state[1], now - state[0], now - state[2], mode))

    def _on_error(self, target: str, seq: int, reason: FailureReason, detail: str) -> None:
        state = self._active.get(target)
        if state is None or state[1] != seq + 1 or state[0] == -1.0:
            return
        state[3] = (reason, detail)
        self._lost(target, state)

    def _lost(self, target: str, state: list[Any]) -> None:
        """The request in flight is lost: retry, or report the target failed."""
        sent: int = state[1]
        state[0] = -1.0  # nothing in flight: its deadline entry and any late reply no longer count
        if sent <= self.options.retries and state[3] is None:  # an error is an answer: no retry
            self._ready.append(target)
            return
        del self._active[target]
        self._done += 1
        started: float = state[2]
        mode = self._socks[_family_of(target)].mode
        stats = PingStats(sent, 0, 100.0, None, None, None, None, (), mode)
        error = state[3]
        elapsed = time.perf_counter() - started
        if isinstance(error, tuple):
            self.out.append(TargetResult(target, False, stats, error[0], error[1], elapsed, sent))
        else:
            self.out.append(
                TargetResult(target, False, stats, "timeout", _no_reply(sent, self.options.timeout), elapsed, sent)
            )

    def _expire(self, now: float) -> None:
        expiry, active = self._expiry, self._active
        if len(expiry) > self._compact_at:
            # Answered requests stay queued until their deadline; on a fast network that is far
            # more than are in flight. Drop them so memory follows concurrency, not speed.
            self._expiry = expiry = deque(e for e in expiry if (s := active.get(e[1])) is not None and s[1] == e[2])
            self._compact_at = 2 * len(expiry) + 4096
        while expiry and expiry[0][0] <= now:
            _, target, sent = expiry.popleft()
            state = active.get(target)
            if state is not None and state[1] == sent and state[0] != -1.0:
                self._lost(target, state)


# ---------------------------------------------------------------- several requests per target


class _Slot:
    """A target in flight in a stats run: what was sent, what came back."""

    __slots__ = ("error", "family", "pending", "retries_left", "samples", "scheduled", "sent", "started", "target")

    def __init__(self, target: str, retries: int, now: float) -> None:
        self.target = target
        self.family = _family_of(target)
        self.sent = 0
        self.samples: list[tuple[int, float]] = []
        self.pending: dict[int, float] = {}
        self.error: tuple[FailureReason, str] | None = None
        self.retries_left = retries
        self.scheduled = False
        self.started = now


class StatsEngine(_EngineBase):
    """``count`` requests per target, ``interval`` apart, each with its own deadline."""

    def __init__(self, targets: TargetSet, options: PingOptions, progress: Progress | None) -> None:
        super().__init__(targets, options, progress)
        self._active: dict[str, _Slot] = {}
        self._ready: deque[_Slot] = deque()  # retries and sends the socket pushed back on
        self._resend: deque[tuple[float, _Slot]] = deque()  # next request per target, due-time order
        self._expiry: deque[tuple[float, _Slot, int]] = deque()  # requests awaiting a reply, deadline order

    def _in_flight(self) -> int:
        return len(self._active)

    def _has_ready(self) -> bool:
        return bool(self._ready)

    def _forget(self) -> None:
        self._active.clear()
        self._ready.clear()
        self._resend.clear()
        self._expiry.clear()

    def _next_event(self) -> float | None:
        times = [t for t in (self._token_time(),) if t is not None]
        if self._expiry:
            times.append(self._expiry[0][0])
        if self._resend:
            times.append(self._resend[0][0])
        return min(times) if times else None

    def _next_slot(self, now: float) -> _Slot | None:
        if self._ready:
            return self._ready.popleft()
        if self._resend and self._resend[0][0] <= now:
            slot = self._resend.popleft()[1]
            slot.scheduled = False
            return slot
        if self._exhausted or len(self._active) >= self.options.concurrency:
            return None
        target = next(self._targets, None)
        if target is None:
            self._exhausted = True
            return None
        slot = _Slot(target, self.options.retries, now)
        self._active[target] = slot
        return slot

    def _send_round(self, now: float) -> bool:
        batch = self.options.batch
        for sent in range(ROUND_LIMIT):
            if self._blocked or not self._has_token(now):
                return False
            slot = self._next_slot(now)
            if slot is None:
                return False
            if self.options.rate is not None:
                self._tokens -= 1.0
            self._send(slot)
            if sent % batch == batch - 1:
                for isock in self._socks.values():
                    self._drain(isock)
                now = time.perf_counter()
                self._expire(now)
        return True

    def _send(self, slot: _Slot) -> None:
        isock = self._socks[slot.family]
        seq = slot.sent
        packet = self._packets[slot.family][seq]
        try:
            try:
                isock.sock.sendto(packet, (slot.target, 0))
                failure = None
            except OSError as exc:
                failure = self._send_again(isock, packet, slot.target, exc)
        except (BlockingIOError, InterruptedError):
            self._ready.appendleft(slot)
            self._block(isock)
            return
        if failure is not None:
            failed_at = time.perf_counter()
            slot.sent += 1
            slot.error = send_error_reason(failure)
            self._schedule_next(slot, failed_at)
            self._after_probe(slot)
            return
        sent_at = time.perf_counter()
        slot.sent += 1
        slot.pending[seq] = sent_at
        self._expiry.append((sent_at + self.options.timeout, slot, seq))
        self._schedule_next(slot, sent_at)

    def _schedule_next(self, slot: _Slot, sent_at: float) -> None:
        if slot.sent < self.options.count:
            slot.scheduled = True
            self._resend.append((sent_at + self.options.interval, slot))

    def _on_reply(self, target: str, seq: int, now: float, mode: IcmpMode) -> None:
        slot = self._active.get(target)
        if slot is None:
            return
        sent_at = slot.pending.pop(seq, None)
        if sent_at is None:
            return  # a duplicate, or the answer to a request that already timed out
        slot.samples.append((seq, now - sent_at))
        self._after_probe(slot)

    def _on_error(self, target: str, seq: int, reason: FailureReason, detail: str) -> None:
        slot = self._active.get(target)
        if slot is None or slot.pending.pop(seq, None) is None:
            return
        slot.error = (reason, detail)
        self._after_probe(slot)

    def _expire(self, now: float) -> None:
        expiry = self._expiry
        if len(expiry) > self._compact_at:
            self._expiry = expiry = deque(e for e in expiry if e[2] in e[1].pending)
            self._compact_at = 2 * len(expiry) + 4096
        while expiry and expiry[0][0] <= now:
            _, slot, seq = expiry.popleft()
            if slot.pending.pop(seq, None) is not None:
                self._after_probe(slot)

    def _after_probe(self, slot: _Slot) -> None:
        """A request of ``slot`` was answered, lost or refused: finish, retry, or keep waiting."""
        if slot.pending or slot.scheduled or slot.sent < self.options.count:
            return
        if not slot.samples and slot.retries_left > 0 and slot.error is None:
            slot.retries_left -= 1
            self._ready.append(slot)
            return
        self._finish(slot)

    def _finish(self, slot: _Slot) -> None:
        del self._active[slot.target]
        self._done += 1
        mode = self._socks[slot.family].mode
        slot.samples.sort()
        stats = stats_of(slot.sent, [rtt for _, rtt in slot.samples], mode)
        elapsed = time.perf_counter() - slot.started
        if slot.samples:
            result: TargetResult[PingStats] = TargetResult(
                slot.target, True, stats, elapsed=elapsed, attempts=slot.sent
            )
        elif slot.error is not None:
            result = TargetResult(slot.target, False, stats, slot.error[0], slot.error[1], elapsed, slot.sent)
        else:
            result = TargetResult(
                slot.target, False, stats, "timeout", _no_reply(slot.sent, self.options.timeout), elapsed, slot.sent
            )
        self.out.append(result)


def make_engine(targets: TargetSet, options: PingOptions, progress: Progress | None) -> _EngineBase:
    """The engine for ``options``: the lean sweep engine for one request per target."""
    if options.count == 1:
        return SweepEngine(targets, options, progress)
    return StatsEngine(targets, options, progress)
