"""TCP connect probes: is a port open, closed or filtered, and what does the service say first.

A probe is a full ``connect()`` (no raw sockets, no privilege): connected means ``open``, a reset
means ``closed``, silence until the timeout means ``filtered``. With ``banner=True`` an open port
is read for up to ``banner_bytes`` bytes; whatever arrives is returned escaped (printable text,
``\\xNN`` for anything else), so a binary or hostile banner can never break a terminal, a log line
or a JSON document. Every connection is closed with a reset (``SO_LINGER`` 0): a scan leaves no
TIME_WAIT sockets behind.

Each (address, port) ends in one :class:`TargetResult` named ``address:port`` (``[v6]:port``)
whose ``value`` is always a :class:`PortState`:

=========================================  ======  ===========  =================
what happened                              ok      reason       ``value.state``
=========================================  ======  ===========  =================
connected (and banner read, if asked)      True    -            open
connected, but no banner in banner_timeout False   timeout      open
reset                                      False   refused      closed
no answer after 1 + ``retries`` attempts    False   timeout      filtered
no route (host/network unreachable)        False   no_route     filtered
=========================================  ======  ===========  =================

Usage::

    results = await probe(["10.0.0.1", "10.0.0.2"], [22, 80, 161], banner=True)
    open_ports = [r.value.port for r in results if r.value and r.value.state == "open"]
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from netwarden.collect._targets import DEFAULT_MAX_ADDRESSES, parse_targets
from netwarden.collect.records import FailureReason, TargetResult
from netwarden.errors import InvalidInput

__all__ = [
    "PortState",
    "PortStateName",
    "TcpOptions",
    "escape_banner",
    "parse_ports",
    "probe",
    "probe_iter",
    "probe_port",
]

Progress = Callable[[int, int], None]
PortStateName = Literal["open", "closed", "filtered"]

_LINGER_RESET = struct.pack("ii", 1, 0)
_NO_ROUTE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


@dataclass(frozen=True)
class PortState:
    """What one TCP port answered."""

    address: str
    port: int
    state: PortStateName
    banner: str | None = None  # escaped; None when not asked for or nothing arrived
    rtt: float | None = None  # seconds to the SYN-ACK (open) or the reset (closed)


@dataclass(frozen=True)
class TcpOptions:
    """How to probe. Per (address, port) the time is bounded by
    ``(1 + retries) * timeout + banner_timeout``.

    Attributes:
        timeout: seconds for each connection attempt.
        retries: further attempts after a timeout (a reset or no-route answer is final).
        concurrency: connection attempts in flight at once.
        banner: read what an open port sends first.
        banner_bytes: read at most this many bytes of banner.
        banner_timeout: seconds to wait for the banner; a service that accepts and stays silent
            ends as a ``timeout`` result (its state is still ``open``).
    """

    timeout: float = 1.0
    retries: int = 1
    concurrency: int = 256
    banner: bool = False
    banner_bytes: int = 256
    banner_timeout: float = 0.5

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.timeout <= 60:
            problems.append(f"timeout must be in (0, 60] seconds, not {self.timeout}")
        if not 0 <= self.retries <= 10:
            problems.append(f"retries must be 0..10, not {self.retries}")
        if not 1 <= self.concurrency <= 10_000:
            problems.append(f"concurrency must be 1..10000, not {self.concurrency}")
        if not 1 <= self.banner_bytes <= 65_536:
            problems.append(f"banner_bytes must be 1..65536, not {self.banner_bytes}")
        if not 0 < self.banner_timeout <= 60:
            problems.append(f"banner_timeout must be in (0, 60] seconds, not {self.banner_timeout}")
        if problems:
            raise InvalidInput("invalid TCP probe options: " + "; ".join(problems))


# ---------------------------------------------------------------- pure helpers


def escape_banner(data: bytes) -> str:
    """Printable text for any bytes: UTF-8 text stays, everything else becomes an escape.

    One trailing line end is dropped; backslashes are doubled, so the escaping is unambiguous.
    """
    if data.endswith(b"\r\n"):
        data = data[:-2]
    elif data.endswith(b"\n"):
        data = data[:-1]
    out: list[str] = []
    for ch in data.decode("utf-8", errors="surrogateescape"):
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


def parse_ports(spec: str | Iterable[int]) -> list[int]:
    """Ports from ``"22,80,8000-8010"`` or a list of numbers; sorted, without duplicates.

    Raises:
        InvalidInput: a port outside 1..65535, a reversed range, or text that is not a port list.
    """
    ports: set[int] = set()
    if isinstance(spec, str):
        for part in (p.strip() for p in spec.split(",")):
            if not part:
                continue
            low, sep, high = part.partition("-")
            try:
                first, last = int(low), int(high) if sep else int(low)
            except ValueError:
                raise InvalidInput(
                    f"invalid port {part[:20]!r}: expected a number or a range such as 8000-8010"
                ) from None
            if not 1 <= first <= last <= 65535:
                raise InvalidInput(f"invalid port range {part[:20]!r}: ports are 1..65535, low to high")
            ports.update(range(first, last + 1))
    else:
        for port in spec:
            if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
                raise InvalidInput(f"invalid port {port!r}: ports are 1..65535")
            ports.add(port)
    if not ports:
        raise InvalidInput("no ports given: name at least one, such as 22 or 22,80,443")
    return sorted(ports)


def _label(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


# ---------------------------------------------------------------- one probe


def _abort(sock: socket.socket) -> None:
    """Close with a reset, so the probe leaves no TIME_WAIT behind."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    sock.close()


async def _read_banner(loop: asyncio.AbstractEventLoop, sock: socket.socket, options: TcpOptions) -> bytes | None:
    """Up to ``banner_bytes`` bytes, stopping at the first line end; None when nothing came in time."""
    deadline = time.perf_counter() + options.banner_timeout
    data = b""
    while len(data) < options.banner_bytes:  # each pass reads at least one byte or returns
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        try:
            chunk = await asyncio.wait_for(loop.sock_recv(sock, options.banner_bytes - len(data)), left)
        except TimeoutError:
            break
        except OSError:
            break  # reset after accepting: report what arrived, if anything
        if not chunk:
            return data  # the service closed: an empty banner is still an answer
        data += chunk
        if b"\n" in chunk:
            break
    return data or None


async def probe_port(address: str, port: int, options: TcpOptions | None = None) -> TargetResult[PortState]:
    """Probe one TCP port of one address (an IP address, not a name); never raises for network errors."""
    options = options or TcpOptions()
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    label = _label(address, port)
    started = time.perf_counter()
    attempts = 0

    def result(
        state: PortStateName,
        reason: FailureReason | None = None,
        detail: str = "",
        banner: str | None = None,
        rtt: float | None = None,
    ) -> TargetResult[PortState]:
        value = PortState(address, port, state, banner, rtt)
        elapsed = time.perf_counter() - started
        return TargetResult(label, reason is None, value, reason, detail, elapsed, attempts)

    for _ in range(options.retries + 1):
        attempts += 1
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sent_at = time.perf_counter()
            try:
                await asyncio.wait_for(loop.sock_connect(sock, (address, port)), options.timeout)
            except TimeoutError:
                continue
            except ConnectionRefusedError:
                return result("closed", "refused", "connection refused", rtt=time.perf_counter() - sent_at)
            except OSError as exc:
                if exc.errno in _NO_ROUTE:
                    return result("filtered", "no_route", exc.strerror or str(exc))
                return result("filtered", "error", exc.strerror or str(exc))
            rtt = time.perf_counter() - sent_at
            if not options.banner:
                return result("open", rtt=rtt)
            data = await _read_banner(loop, sock, options)
            if data is None:
                return result(
                    "open", "timeout", f"port open, but no banner within {options.banner_timeout:g} s", rtt=rtt
                )
            return result("open", banner=escape_banner(data), rtt=rtt)
        finally:
            _abort(sock)
    tries = f"{attempts} connection attempt{'s' if attempts > 1 else ''}"
    return result("filtered", "timeout", f"no answer to {tries} in {options.timeout:g} s")


# ---------------------------------------------------------------- many probes


def _pairs(addresses: Iterable[str], ports: Sequence[int]) -> Iterator[tuple[str, int]]:
    for address in addresses:  # lazily: a /16 is never materialised
        for port in ports:
            yield address, port


async def probe_iter(
    targets: Iterable[str] | str,
    ports: str | Iterable[int],
    *,
    options: TcpOptions | None = None,
    max_addresses: int = DEFAULT_MAX_ADDRESSES,
    force: bool = False,
    hosts_only: bool = True,
    progress: Progress | None = None,
) -> AsyncGenerator[TargetResult[PortState], None]:
    """Probe every port of every address; yield each result as soon as it is known.

    At most ``options.concurrency`` probes are in flight and no more results are held than that,
    whatever the range. Wrap it in ``contextlib.aclosing`` when you may stop early: closing it
    cancels the probes in flight and closes their sockets.

    Args:
        targets: addresses and CIDRs (IPv4 and IPv6).
        ports: ``"22,80,8000-8010"`` or numbers.
        options: timeouts, retries, concurrency, banner grabbing.
        max_addresses: refuse larger ranges unless ``force``.
        force: allow ranges beyond ``max_addresses``.
        hosts_only: skip IPv4 network/broadcast addresses of prefixes shorter than /31.
        progress: called with (probes done, probes in total).

    Raises:
        InvalidInput: invalid CIDR, port list or options, or an over-size range, before any connection.
    """
    options = options or TcpOptions()
    port_list = parse_ports(ports)
    addresses = parse_targets(targets, max_addresses=max_addresses, force=force, hosts_only=hosts_only)
    total = addresses.total * len(port_list)
    pairs = _pairs(addresses, port_list)
    loop = asyncio.get_running_loop()
    finished: deque[asyncio.Task[TargetResult[PortState]]] = deque()
    in_flight: set[asyncio.Task[TargetResult[PortState]]] = set()
    waiter: list[asyncio.Future[None]] = []

    def on_done(task: asyncio.Task[TargetResult[PortState]]) -> None:
        finished.append(task)
        if waiter and not waiter[0].done():
            waiter[0].set_result(None)

    def top_up() -> None:
        while len(in_flight) < options.concurrency:
            pair = next(pairs, None)
            if pair is None:
                return
            task = loop.create_task(probe_port(pair[0], pair[1], options))
            in_flight.add(task)
            task.add_done_callback(on_done)

    done = 0
    try:
        top_up()
        while in_flight:
            if not finished:
                waiter[:] = [loop.create_future()]
                await waiter[0]
            while finished:
                task = finished.popleft()
                in_flight.discard(task)
                top_up()
                done += 1
                if progress is not None:
                    progress(done, total)
                yield task.result()
    finally:
        for task in in_flight:
            task.cancel()
        if in_flight:
            await asyncio.gather(*in_flight, return_exceptions=True)


def _sort_key(result: TargetResult[PortState]) -> tuple[int, bytes, int]:
    assert result.value is not None
    address = result.value.address
    if ":" in address:
        return 6, socket.inet_pton(socket.AF_INET6, address), result.value.port
    return 4, socket.inet_aton(address), result.value.port


async def probe(
    targets: Iterable[str] | str,
    ports: str | Iterable[int],
    *,
    timeout: float = 1.0,
    retries: int = 1,
    concurrency: int = 256,
    banner: bool = False,
    banner_bytes: int = 256,
    banner_timeout: float = 0.5,
    max_addresses: int = DEFAULT_MAX_ADDRESSES,
    force: bool = False,
    hosts_only: bool = True,
    progress: Progress | None = None,
) -> list[TargetResult[PortState]]:
    """Probe ports of addresses; one result per (address, port), sorted by address then port.

    The probing arguments are :class:`TcpOptions` fields; see :func:`probe_iter` for the rest and
    for the errors raised.
    """
    options = TcpOptions(
        timeout=timeout,
        retries=retries,
        concurrency=concurrency,
        banner=banner,
        banner_bytes=banner_bytes,
        banner_timeout=banner_timeout,
    )
    results: list[TargetResult[PortState]] = []
    stream = probe_iter(
        targets,
        ports,
        options=options,
        max_addresses=max_addresses,
        force=force,
        hosts_only=hosts_only,
        progress=progress,
    )
    async with contextlib.aclosing(stream) as items:
        async for result in items:
            results.append(result)
    results.sort(key=_sort_key)
    return results
