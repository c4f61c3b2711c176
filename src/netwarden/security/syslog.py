"""Syslog receiver: RFC 3164 and RFC 5424 messages over UDP and TCP in, :class:`SyslogMessage` batches out.

:func:`parse` turns one frame into a :class:`SyslogMessage` (or raises :class:`SyslogError` with a
``reason`` for the counters). :class:`SyslogReceiver` listens on UDP (one message per datagram) and
TCP (RFC 6587: octet-counted ``LEN SP MSG`` frames or LF-terminated lines, chosen per frame), bounds a
flood before parsing with a token bucket per sender address, keeps at most ``max_pending`` messages
waiting for the sink, and hands them over in batches (a batch leaves when full or ``flush_interval``
seconds after its first message). Nothing a sender does raises out of the receiver: every frame is
parsed or dropped with a reason, and :meth:`SyslogReceiver.stats` counts them all.

The receiver knows nothing of what the messages mean: :mod:`netwarden.security.network_events`
maps them to alert events, and a log store (issue 7) can take the same batches. See
docs/decisions/0020-syslog-receiver.md.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from netwarden.errors import InvalidInput
from netwarden.jobs.batches import BatchQueue, SenderBuckets, sender_key

if TYPE_CHECKING:
    from netwarden.context import Context

__all__ = [
    "FACILITIES",
    "SEVERITIES",
    "MessageSink",
    "SyslogError",
    "SyslogMessage",
    "SyslogReceiver",
    "SyslogStats",
    "parse",
    "start_from_settings",
    "tls_context",
]

log = logging.getLogger(__name__)

SEVERITIES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
FACILITIES = (
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv", "ftp",
    "ntp", "security", "console", "solaris-cron", "local0", "local1", "local2", "local3", "local4", "local5",
    "local6", "local7",
)  # fmt: skip
MAX_FRAME = 65536  # bytes; RFC 5425 asks receivers to take at least 2048, rsyslog's default is 8096
TLS_HANDSHAKE_TIMEOUT = 30.0  # seconds a TLS client has to finish its handshake


class SyslogError(InvalidInput):
    """A frame that is not a syslog message; ``reason`` names why (for the counters)."""

    code = "bad-syslog"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SyslogMessage:
    """One message as received.

    ``time`` is the sender's timestamp (None when the message has none or an unreadable one; RFC 3164
    stamps without a year or zone are read as this year, UTC); ``received`` is the collector's clock.
    ``host`` is the HOSTNAME field ("" when absent), ``source`` the sender's address.
    """

    time: dt.datetime | None
    host: str
    app: str
    pid: str
    severity: int
    facility: int
    msgid: str
    text: str
    raw: str
    source: str
    received: dt.datetime
    structured: str = ""  # RFC 5424 STRUCTURED-DATA, verbatim ("" for none)
    rfc: int = 3164

    @property
    def severity_name(self) -> str:
        return SEVERITIES[self.severity]

    @property
    def facility_name(self) -> str:
        return FACILITIES[self.facility] if self.facility < len(FACILITIES) else str(self.facility)


# ---------------------------------------------------------------- parsing

_PRI = re.compile(r"<(\d{1,3})>")
_MONTHS = {
    m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)
}
# BSD stamp "Mmm dd hh:mm:ss", optionally with Cisco's sequence number and origin-id ("123: r1: "),
# time-not-set marker ("*" or "."), year (NX-OS puts it first), milliseconds and zone ("*Mar  1 00:01:02.345 UTC:").
_BSD_TIME = re.compile(
    r"(?:\d{1,10}: )?(?:(?P<origin>[\w.-]{1,64}): )?[*.]?(?:(?P<year0>\d{4}) )?"
    r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(?P<day>\d{1,2})"
    r"(?: (?P<year>\d{4}))? (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d{1,6}))?(?: (?P<tz>[A-Z]{2,5}))?:? ?"
)
_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) ")
_TAG = re.compile(r"(?P<app>[^\s\[\]:]{1,48})(?:\[(?P<pid>[^\]\s]{0,32})\])?: ?")


def parse(data: bytes, source: str = "", received: dt.datetime | None = None) -> SyslogMessage:
    """One syslog frame (no transport framing) as a message; raises :class:`SyslogError` if it is none.

    Args:
        data: the frame; a trailing NUL, CR or LF is ignored.
        source: the sender's address, kept on the message.
        received: when it arrived (now when None); also the reference year for RFC 3164 stamps.
    """
    now = received or dt.datetime.now(dt.UTC)
    body = data.rstrip(b"\x00\r\n")
    if not body:
        raise SyslogError("empty", "empty syslog frame")
    if len(body) > MAX_FRAME:
        raise SyslogError("too_long", f"syslog frame of {len(body)} bytes; at most {MAX_FRAME} are read")
    text = body.decode("utf-8", errors="replace")
    pri = _PRI.match(text)
    if pri is None:
        raise SyslogError("no_pri", "syslog frame does not start with <PRI>")
    value = int(pri.group(1))
    if value > 191 or (len(pri.group(1)) > 1 and pri.group(1)[0] == "0"):
        raise SyslogError("bad_pri", f"syslog PRI {pri.group(1)} is out of range 0-191")
    facility, severity = divmod(value, 8)
    rest = text[pri.end() :]
    if rest.startswith("1 "):
        return _rfc5424(rest[2:], text, facility, severity, source, now)
    return _rfc3164(rest, text, facility, severity, source, now)


def _rfc5424(rest: str, raw: str, facility: int, severity: int, source: str, now: dt.datetime) -> SyslogMessage:
    parts = rest.split(" ", 5)
    if len(parts) < 6:
        raise SyslogError("malformed", "RFC 5424 header is missing fields (TIMESTAMP HOSTNAME APP PROCID MSGID SD)")
    stamp, host, app, pid, msgid, tail = parts
    when = None if stamp == "-" else _iso(stamp)
    if stamp != "-" and when is None:
        raise SyslogError("bad_timestamp", f"RFC 5424 timestamp {stamp[:40]!r} is not RFC 3339")
    structured, msg = _structured(tail)
    if msg.startswith("\ufeff"):
        msg = msg[1:]  # the BOM that marks a UTF-8 MSG
    return SyslogMessage(
        time=when,
        host=_nil(host),
        app=_nil(app),
        pid=_nil(pid),
        severity=severity,
        facility=facility,
        msgid=_nil(msgid),
        text=msg,
        raw=raw,
        source=source,
        received=now,
        structured=structured,
        rfc=5424,
    )


def _structured(tail: str) -> tuple[str, str]:
    """Split ``SD [SP MSG]``: ``-`` or one or more ``[id k="v" ...]`` elements (``\\]`` and ``\\"`` escaped)."""
    if tail == "-" or tail.startswith("- "):
        return "", tail[2:]
    if not tail.startswith("["):
        raise SyslogError("malformed", "RFC 5424 STRUCTURED-DATA is neither '-' nor '[...]'")
    i, n, quoted = 0, len(tail), False
    while i < n:  # bounded by the frame size
        c = tail[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "]" and not quoted and (i + 1 == n or tail[i + 1] != "["):
            return tail[: i + 1], tail[i + 2 :]
        i += 1
    raise SyslogError("malformed", "RFC 5424 STRUCTURED-DATA is not closed")


def _rfc3164(rest: str, raw: str, facility: int, severity: int, source: str, now: dt.datetime) -> SyslogMessage:
    when: dt.datetime | None = None
    stamped, host = False, ""
    if m := _BSD_TIME.match(rest):
        when, stamped, host = _bsd(m, now), True, m.group("origin") or ""
        rest = rest[m.end() :]
    elif m2 := _ISO_TIME.match(rest):  # rsyslog's RFC 3339 stamp in a BSD-style message
        when, stamped = _iso(m2.group(1)), True
        rest = rest[m2.end() :]
    if stamped and not host:
        # HOSTNAME follows the stamp, unless the sender left it out (Cisco IOS without
        # "logging origin-id", logger without --rfc3164): then the next word is already TAG or text.
        word, sep, after = rest.partition(" ")
        if sep and word and not word.endswith(":") and "[" not in word and not word.startswith("%"):
            host, rest = word, after
    app = pid = ""
    t = _TAG.match(rest)
    # "%LINK-3-UPDOWN:" is the message, not a tag; "52:" is a Cisco sequence number.
    if t and not t.group("app").startswith("%") and not t.group("app").isdigit():
        app, pid, rest = t.group("app"), t.group("pid") or "", rest[t.end() :]
    return SyslogMessage(
        time=when,
        host=host,
        app=app,
        pid=pid,
        severity=severity,
        facility=facility,
        msgid="",
        text=rest,
        raw=raw,
        source=source,
        received=now,
    )


def _nil(value: str) -> str:
    return "" if value == "-" else value


def _iso(stamp: str) -> dt.datetime | None:
    if len(stamp) > 40:
        return None
    fixed = re.sub(r"(\.\d{6})\d+", r"\1", stamp)  # Python reads microseconds, RFC 3339 allows more
    try:
        when = dt.datetime.fromisoformat(fixed)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _bsd(m: re.Match[str], now: dt.datetime) -> dt.datetime | None:
    month = _MONTHS[m.group("mon")]
    given = m.group("year") or m.group("year0")
    year = int(given) if given else now.year
    if not given and month > now.month + 1:
        year -= 1  # December's message read in January
    frac = (m.group("frac") or "0").ljust(6, "0")
    try:
        return dt.datetime(
            year, month, int(m.group("day")), int(m.group("h")), int(m.group("m")), int(m.group("s")),
            int(frac), tzinfo=dt.UTC,
        )  # fmt: skip
    except ValueError:
        return None


# ---------------------------------------------------------------- receiver

MessageSink = Callable[[list[SyslogMessage]], Awaitable[None] | None]


@dataclass
class SyslogStats:
    """Counters: every frame ``received`` is ``parsed`` or ``dropped`` by reason; every parsed message is
    ``delivered``, still pending, or ``lost`` by reason."""

    received: int = 0
    parsed: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    batches: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    connections: int = 0
    connections_refused: int = 0
    tls_handshakes_failed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, receiver: SyslogReceiver) -> None:
        self.receiver = receiver

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.receiver.handle_frame(data, str(addr[0]))

    def error_received(self, exc: Exception) -> None:
        log.debug("syslog udp socket error=%r", str(exc))


class _Tcp(asyncio.Protocol):
    """RFC 6587 framing, decided per frame: a digit starts ``LEN SP MSG``, anything else a LF-ended line.

    With ``tls`` the connection is upgraded (RFC 5425) before any byte is read as syslog; RFC 5425 frames
    are octet-counted, and a LF-framed sender over TLS is read as over TCP.
    """

    def __init__(self, receiver: SyslogReceiver, tls: ssl.SSLContext | None = None) -> None:
        self.receiver = receiver
        self.tls = tls
        self.ready = tls is None  # False until the TLS handshake is done
        self.buffer = bytearray()
        self.skip = 0  # bytes of an oversized frame still to throw away
        self.skip_line = False  # an oversized LF-framed line: throw away up to its LF
        self.source = ""
        self.transport: asyncio.Transport | None = None
        self.handshake: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = self.transport.get_extra_info("peername")
        self.source = sender_key(str(peer[0])) if peer else ""
        if not self.receiver._connected(self):
            self.transport.close()
            return
        if self.tls is not None:
            self.transport.pause_reading()  # no byte is read before the handshake takes the stream over
            self.handshake = asyncio.get_running_loop().create_task(self._start_tls(self.transport, self.tls))

    async def _start_tls(self, raw: asyncio.Transport, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            wrapped = await loop.start_tls(
                raw, self, context, server_side=True, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT
            )
        except (OSError, TimeoutError, ConnectionError) as exc:  # ssl.SSLError is an OSError
            self.receiver._tls_failed(self.source, exc)
            raw.close()
            self.receiver._disconnected(self)
            return
        if wrapped is None:  # the peer went away during the handshake
            self.receiver._tls_failed(self.source, ConnectionResetError("closed during the TLS handshake"))
            self.receiver._disconnected(self)
            return
        self.transport, self.ready = wrapped, True
        if self.buffer:  # what was decrypted right after the handshake, before this task resumed
            self._frames()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready and self.buffer:  # plaintext decrypted before the handshake task resumed
            self._frames()
        if self.buffer and not self.skip_line:
            self.receiver.handle_frame(bytes(self.buffer), self.source)  # the last line may lack its LF
        self.buffer.clear()
        self.receiver._disconnected(self)

    def data_received(self, data: bytes) -> None:
        view = memoryview(data)
        if self.skip:
            cut = min(self.skip, len(view))
            self.skip -= cut
            view = view[cut:]
        self.buffer += view
        if self.ready:
            self._frames()

    def _frames(self) -> None:
        buf = self.buffer
        start = 0
        receiver = self.receiver
        while start < len(buf):  # each pass consumes at least one byte or stops
            if self.skip_line:
                nl = buf.find(b"\n", start)
                if nl < 0:
                    start = len(buf)
                    break
                self.skip_line, start = False, nl + 1
                continue
            if 0x30 <= buf[start] <= 0x39:
                sp = buf.find(b" ", start, start + 11)
                if sp < 0:
                    if len(buf) - start < 11:
                        break  # the length is still arriving
                    receiver._reject("bad_frame")
                    self.skip_line = True
                    continue
                digits = bytes(buf[start:sp])
                if not digits.isdigit():
                    receiver._reject("bad_frame")
                    self.skip_line = True
                    continue
                size = int(digits)
                if size > MAX_FRAME:
                    receiver._reject("too_long")
                    available = len(buf) - (sp + 1)
                    if available >= size:
                        start = sp + 1 + size
                    else:
                        self.skip, start = size - available, len(buf)
                    continue
                if len(buf) - (sp + 1) < size:
                    break
                receiver.handle_frame(bytes(buf[sp + 1 : sp + 1 + size]), self.source)
                start = sp + 1 + size
            else:
                nl = buf.find(b"\n", start)
                if nl < 0:
                    if len(buf) - start > MAX_FRAME:
                        receiver._reject("too_long")
                        self.skip_line, start = True, len(buf)
                    break
                if nl > start:  # blank lines between frames are not messages
                    receiver.handle_frame(bytes(buf[start:nl]), self.source)
                start = nl + 1
        del buf[:start]


class SyslogReceiver:
    """The UDP and TCP syslog listener: parse, rate-limit, deliver in batches.

    Args:
        sink: called with each batch of messages (sync or async).
        rate, burst: per-sender token bucket (messages per second, bucket depth), applied before parsing.
        flush_interval, batch_size: a batch leaves when it is full or this many seconds after its first message.
        max_pending: messages waiting for the sink beyond this are dropped (``lost["queue_full"]``).
        max_connections: TCP connections open at once; more are closed on arrival.
    """

    def __init__(
        self,
        sink: MessageSink,
        *,
        rate: float = 1000.0,
        burst: float = 5000.0,
        flush_interval: float = 0.5,
        batch_size: int = 500,
        max_pending: int = 100_000,
        max_connections: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.flush_interval, self.batch_size, self.max_pending = flush_interval, max(1, batch_size), max_pending
        self.max_connections = max_connections
        self._limits = SenderBuckets(rate, burst, clock)
        self._stats = SyslogStats()
        self._batches: BatchQueue[SyslogMessage] = BatchQueue(
            sink,
            what="syslog message",
            lose=self._lose,
            delivered=self._delivered,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_pending=max_pending,
        )
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp: asyncio.Server | None = None
        self._tls: asyncio.Server | None = None
        self._conns: set[_Tcp] = set()
        self.udp_address: tuple[str, int] | None = None
        self.tcp_address: tuple[str, int] | None = None
        self.tls_address: tuple[str, int] | None = None

    @property
    def listening(self) -> bool:
        return self._udp is not None or self._tcp is not None or self._tls is not None

    async def start(
        self,
        host: str = "0.0.0.0",
        port: int = 514,
        *,
        udp: bool = True,
        tcp: bool = True,
        tls: ssl.SSLContext | None = None,
        tls_port: int = 6514,
    ) -> None:
        """Listen on ``host``:``port`` over UDP and TCP (port 0: a free port each; see ``udp_address``).

        With ``tls`` (see :func:`tls_context`) also syslog over TLS (RFC 5425) on ``tls_port`` (0: a free port).
        """
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            if udp:
                sock = socket.socket(family, socket.SOCK_DGRAM)
                try:
                    # A burst must wait in the kernel while a batch is delivered, not be lost there.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                    sock.bind((host, port))
                except OSError:
                    sock.close()
                    raise
                self._udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), sock=sock)
                self.udp_address = sock.getsockname()[:2]
            if tcp:
                tcp_port = port if port or not udp or self.udp_address is None else self.udp_address[1]
                self._tcp = await loop.create_server(lambda: _Tcp(self), host, tcp_port, reuse_address=True)
                self.tcp_address = self._tcp.sockets[0].getsockname()[:2]
            if tls is not None:
                port = tls_port
                self._tls = await loop.create_server(lambda: _Tcp(self, tls), host, tls_port, reuse_address=True)
                self.tls_address = self._tls.sockets[0].getsockname()[:2]
        except OSError as exc:
            await self._stop_listening()
            hint = "; ports below 1024 need root, use --port 5514 or another" if port < 1024 else ""
            raise SyslogError(
                "bind", f"cannot listen for syslog on {host}:{port}: {exc.strerror or exc}{hint}"
            ) from None
        log.info("syslog receiver listening udp=%s tcp=%s tls=%s", self.udp_address, self.tcp_address, self.tls_address)

    async def _stop_listening(self) -> None:
        if self._udp is not None:
            self._udp.close()
            self._udp = None
        for server in (self._tcp, self._tls):
            if server is not None:
                server.close()
        self._tcp = self._tls = None
        for conn in list(self._conns):
            if conn.handshake is not None and not conn.handshake.done():
                conn.handshake.cancel()
            if conn.transport is not None:
                conn.transport.close()  # connection_lost hands over a last unterminated line

    async def close(self, timeout: float = 60.0) -> None:
        """Stop listening and deliver what is pending (a batch being delivered is finished, not cut).

        A sink still busy after ``timeout`` seconds is abandoned and its messages counted as lost.
        """
        await self._stop_listening()
        await asyncio.sleep(0)  # let connection_lost callbacks run
        await self._batches.close(timeout)

    def stats(self) -> SyslogStats:
        """A copy of the counters."""
        s = self._stats
        return SyslogStats(**{**asdict(s), "dropped": dict(s.dropped), "lost": dict(s.lost)})

    @property
    def pending(self) -> int:
        return len(self._batches)

    # ------------------------------------------------------------ one frame

    def handle_frame(self, data: bytes, address: str) -> None:
        """Account for, parse and queue one frame (a datagram or a TCP frame) from ``address``."""
        self._stats.received += 1
        sender = sender_key(address)
        if not self._limits.allow(sender):
            self._drop("rate_limited")
            return
        try:
            message = parse(data, sender)
        except SyslogError as exc:
            self._drop(exc.reason)
            return
        except Exception as exc:  # a parser bug must not stop the listener: counted and logged
            self._drop("internal_error")
            log.warning("syslog parsing failed sender=%s error=%r", sender, repr(exc))
            return
        self._stats.parsed += 1
        self._queue(message)

    def _connected(self, conn: _Tcp) -> bool:
        if len(self._conns) >= self.max_connections or self._batches.closing:
            self._stats.connections_refused += 1
            return False
        self._conns.add(conn)
        self._stats.connections += 1
        return True

    def _disconnected(self, conn: _Tcp) -> None:
        self._conns.discard(conn)

    def _tls_failed(self, source: str, exc: BaseException) -> None:
        self._stats.tls_handshakes_failed += 1
        log.info("syslog tls handshake failed sender=%s error=%r", source, str(exc) or type(exc).__name__)

    def _reject(self, reason: str) -> None:
        """A frame that framing alone refuses (it never reaches :func:`parse`)."""
        self._stats.received += 1
        self._drop(reason)

    def _drop(self, reason: str) -> None:
        self._stats.dropped[reason] = self._stats.dropped.get(reason, 0) + 1

    def _lose(self, reason: str, count: int) -> None:
        if count:
            self._stats.lost[reason] = self._stats.lost.get(reason, 0) + count

    def _queue(self, message: SyslogMessage) -> None:
        if len(self._batches) >= self.max_pending:
            self._lose("queue_full", 1)
            return
        self._batches.put([message])

    # ------------------------------------------------------------ batches

    def _delivered(self, count: int) -> None:
        self._stats.delivered += count
        self._stats.batches += 1


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """The server side of RFC 5425: TLS 1.2 or later with this certificate chain (PEM) and its private key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SyslogError(
            "tls",
            f"cannot load the syslog TLS certificate {cert} with key {key}: {getattr(exc, 'strerror', None) or exc}; "
            "check syslog_tls_cert and syslog_tls_key (PEM files)",
        ) from None
    return context


async def start_from_settings(ctx: Context, sink: MessageSink) -> SyslogReceiver:
    """The receiver ``netwarden serve`` runs on settings' ``syslog_host``:``syslog_port`` (UDP and TCP), and
    over TLS on ``syslog_tls_port`` when it is set (then ``syslog_tls_cert`` and ``syslog_tls_key`` are needed).

    With ``syslog_enabled`` false the receiver is returned without listening (``listening`` is False;
    ``close`` still works), so the caller needs no branch.
    """
    s = ctx.settings
    receiver = SyslogReceiver(sink)
    if not s.syslog_enabled:
        log.info("syslog receiver disabled (syslog_enabled is false)")
        return receiver
    tls = None
    if s.syslog_tls_port:
        if s.syslog_tls_cert is None or s.syslog_tls_key is None:
            raise SyslogError(
                "tls", "syslog_tls_port is set but syslog_tls_cert or syslog_tls_key is not: give both PEM files"
            )
        tls = tls_context(s.syslog_tls_cert, s.syslog_tls_key)
    await receiver.start(s.syslog_host, s.syslog_port, tls=tls, tls_port=s.syslog_tls_port)
    return receiver
