"""Syslog receiver: RFC 3164 and RFC 5424 messages over UDP, TCP and TLS in, :class:`SyslogMessage` batches out.

:func:`parse` turns one frame into a :class:`SyslogMessage` (or raises :class:`SyslogError` with a
``reason`` for the counters); the shapes nearly every sender uses take a fast path. :class:`SyslogReceiver`
listens on UDP (one message per datagram), TCP (RFC 6587: octet-counted ``LEN SP MSG`` frames or
LF-terminated lines, chosen per frame) and TLS (RFC 5425, see :func:`tls_context`), keeps at most
``max_pending`` messages waiting for the sink, and hands them over in batches (a batch leaves when full or
``flush_interval`` seconds after its first message). When the queue is full, TCP and TLS connections stop
being read (back-pressure: their senders wait, nothing they sent is dropped); UDP datagrams over a
per-sender token bucket or over the queue are dropped and counted, as are those the kernel dropped.
Nothing a sender does raises out of the receiver: every frame is parsed or dropped with a reason, and
:meth:`SyslogReceiver.stats` counts them all; :func:`totals` sums the process's receivers for /metrics.

The receiver knows nothing of what the messages mean: :mod:`netwarden.security.network_events`
maps them to alert events, and the log store (:mod:`netwarden.security.logs`) takes the same batches.
See docs/decisions/0020-syslog-receiver.md and 0029-syslog-at-scale.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import socket
import ssl
import sys
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
    "SyslogTotals",
    "parse",
    "start_from_settings",
    "tls_context",
    "totals",
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
# The zone must be followed by its colon: a hostname in capitals ("RTR1", "CORE") is no zone.
_BSD_TIME = re.compile(
    r"(?:\d{1,10}: )?(?:(?P<origin>[\w.-]{1,64}): )?[*.]?(?:(?P<year0>\d{4}) )?"
    r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +(?P<day>\d{1,2})"
    r"(?: (?P<year>\d{4}))? (?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.(?P<frac>\d{1,6}))?"
    r"(?: (?P<tz>[A-Z]{2,5})(?=:))?:? ?"
)
_ISO_TIME = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) ")
_TAG = re.compile(r"(?P<app>[^\s\[\]:]{1,48})(?:\[(?P<pid>[^\]\s]{0,32})\])?: ?")
# The fast path: the shapes nearly every sender uses, read by one match each. A frame either fails
# these (and the general parser reads it) or gives exactly what the general parser gives (tested).
#   RFC 3164 as syslogd/rsyslog write it: "<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG"
#   RFC 5424: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG"
#   Cisco IOS without origin-id: "<PRI>SEQ: *Mmm dd hh:mm:ss.mmm: %FAC-SEV-MNEMONIC: ..."
_FAST_3164 = re.compile(
    r"<(0|[1-9]\d{0,2})>((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d) "
    r"([^ \[:%][^ \[:]*) ([^\s\[\]:%][^\s\[\]:]{0,47})(?:\[([^\]\s]{0,32})\])?: ?"
)
_FAST_5424 = re.compile(r"<(0|[1-9]\d{0,2})>1 ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ([^ ]+) ")
_FAST_CISCO = re.compile(
    r"<(0|[1-9]\d{0,2})>\d{1,10}: [*.]?((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d)"
    r"(?:\.(\d{1,6}))?: (?=%)"
)
_LF_DIGIT = re.compile(rb"\n[0-9]")  # in a run of LF-framed lines: one that starts an octet-counted frame
# RFC 5424 STRUCTURED-DATA, one or more elements; inside quotes a backslash escapes the next character.
_SD = re.compile(r'(?:\[[^"\]]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^"\]]*+)*+\])++', re.S)
_stamps: dict[str, dt.datetime | None] = {}  # BSD stamp text -> time, for the month in _stamps_month
_stamps_month = (0, 0)
_stamps_now: dt.datetime | None = None


def parse(data: bytes, source: str = "", received: dt.datetime | None = None) -> SyslogMessage:
    """One syslog frame (no transport framing) as a message; raises :class:`SyslogError` if it is none.

    Args:
        data: the frame; a trailing NUL, CR or LF is ignored. Bytes that are not UTF-8 become U+FFFD.
        source: the sender's address, kept on the message.
        received: when it arrived (now when None); also the reference year for RFC 3164 stamps.
    """
    now = received or dt.datetime.now(dt.UTC)
    body = data.rstrip(b"\x00\r\n")
    if not body:
        raise SyslogError("empty", "empty syslog frame")
    if len(body) > MAX_FRAME:
        raise SyslogError("too_long", f"syslog frame of {len(body)} bytes; at most {MAX_FRAME} are read")
    try:
        text = body.decode()
    except UnicodeDecodeError:
        text = body.decode("utf-8", errors="replace")
    if (m := _FAST_3164.match(text)) is not None:
        pri, stamp, host, app, pid = m.groups()
        value = int(pri)
        if value < 192 and not app.isdigit():
            when = _bsd_cached(stamp, now)
            return _new_message(
                when, host, app, pid or "", value & 7, value >> 3, "", text[m.end() :], text, source, now, "", 3164
            )
    elif (m := _FAST_5424.match(text)) is not None:
        pri, stamp, host, app, pid, msgid = m.groups()
        value = int(pri)
        if value < 192:
            return _rfc5424_fields(
                stamp, host, app, pid, msgid, text[m.end() :], text, value >> 3, value & 7, source, now
            )
    elif (m := _FAST_CISCO.match(text)) is not None:
        pri, stamp, frac = m.groups()
        value = int(pri)
        if value < 192:
            when = _bsd_cached(stamp, now)
            if when is not None and frac:
                when = when.replace(microsecond=int(frac.ljust(6, "0")))
            return _new_message(
                when, "", "", "", value & 7, value >> 3, "", text[m.end() :], text, source, now, "", 3164
            )
    return _parse_general(text, source, now)


# A message built by storing its fields in their slots: the frozen dataclass's __init__ goes through
# object.__setattr__ once per field, three times slower, and the receiver builds one per message.
_object_new = object.__new__
_slot = SyslogMessage.__dict__
_s_time, _s_host, _s_app, _s_pid = (_slot[n].__set__ for n in ("time", "host", "app", "pid"))
_s_severity, _s_facility, _s_msgid, _s_text = (_slot[n].__set__ for n in ("severity", "facility", "msgid", "text"))
_s_raw, _s_source, _s_received, _s_structured, _s_rfc = (
    _slot[n].__set__ for n in ("raw", "source", "received", "structured", "rfc")
)


def _new_message(
    time: dt.datetime | None,
    host: str,
    app: str,
    pid: str,
    severity: int,
    facility: int,
    msgid: str,
    text: str,
    raw: str,
    source: str,
    received: dt.datetime,
    structured: str,
    rfc: int,
) -> SyslogMessage:
    """``SyslogMessage(...)`` with every field given, built faster (equal to it: tested)."""
    m: SyslogMessage = _object_new(SyslogMessage)
    _s_time(m, time)
    _s_host(m, host)
    _s_app(m, app)
    _s_pid(m, pid)
    _s_severity(m, severity)
    _s_facility(m, facility)
    _s_msgid(m, msgid)
    _s_text(m, text)
    _s_raw(m, raw)
    _s_source(m, source)
    _s_received(m, received)
    _s_structured(m, structured)
    _s_rfc(m, rfc)
    return m


def _bsd_cached(stamp: str, now: dt.datetime) -> dt.datetime | None:
    """The time of a plain BSD stamp ("Nov 23 12:00:01"), remembered: a busy second repeats it thousands of times.

    The year a stamp is read in depends on ``now``'s month, so the memory is for one month; and it is
    at most 4,096 stamps.
    """
    global _stamps_now, _stamps_month
    if now is not _stamps_now:  # the receiver passes one `now` per read: this runs once per read
        _stamps_now = now
        if _stamps_month != (now.year, now.month):
            _stamps.clear()
            _stamps_month = (now.year, now.month)
    try:
        return _stamps[stamp]
    except KeyError:
        if len(_stamps) >= 4096:
            _stamps.clear()
        mon, day, clock = stamp.split(maxsplit=2)
        h, m, s = clock.split(":")
        value = _stamps[stamp] = _bsd_time(now, mon, day, None, h, m, s, None)
        return value


def _parse_general(text: str, source: str, now: dt.datetime) -> SyslogMessage:
    """Every variant the fast path leaves: Cisco's sequence numbers and origin-ids, NX-OS stamps, no HOSTNAME..."""
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
    return _rfc5424_fields(stamp, host, app, pid, msgid, tail, raw, facility, severity, source, now)


def _rfc5424_fields(
    stamp: str,
    host: str,
    app: str,
    pid: str,
    msgid: str,
    tail: str,
    raw: str,
    facility: int,
    severity: int,
    source: str,
    now: dt.datetime,
) -> SyslogMessage:
    when = None if stamp == "-" else _iso(stamp)
    if stamp != "-" and when is None:
        raise SyslogError("bad_timestamp", f"RFC 5424 timestamp {stamp[:40]!r} is not RFC 3339")
    structured, msg = _structured(tail)
    if msg.startswith("\ufeff"):
        msg = msg[1:]  # the BOM that marks a UTF-8 MSG
    return _new_message(
        when,
        "" if host == "-" else host,
        "" if app == "-" else app,
        "" if pid == "-" else pid,
        severity,
        facility,
        "" if msgid == "-" else msgid,
        msg,
        raw,
        source,
        now,
        structured,
        5424,
    )


def _structured(tail: str) -> tuple[str, str]:
    """Split ``SD [SP MSG]``: ``-`` or one or more ``[id k="v" ...]`` elements (``\\]`` and ``\\"`` escaped)."""
    if tail == "-" or tail.startswith("- "):
        return "", tail[2:]
    if not tail.startswith("["):
        raise SyslogError("malformed", "RFC 5424 STRUCTURED-DATA is neither '-' nor '[...]'")
    m = _SD.match(tail)
    if m is not None and (m.end() == len(tail) or tail[m.end()] != "["):
        return tail[: m.end()], tail[m.end() + 1 :]
    return _structured_scan(tail)  # an element left open: the scan says so


def _structured_scan(tail: str) -> tuple[str, str]:
    """:func:`_structured` character by character (the reference the regex is tested against)."""
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


def _iso(stamp: str) -> dt.datetime | None:
    if len(stamp) > 40:
        return None
    try:
        when = dt.datetime.fromisoformat(stamp)
    except ValueError:
        fixed = re.sub(r"(\.\d{6})\d+", r"\1", stamp)  # more than the digits fromisoformat reads
        try:
            when = dt.datetime.fromisoformat(fixed)
        except ValueError:
            return None
    return when if when.tzinfo is not None else when.replace(tzinfo=dt.UTC)


def _bsd(m: re.Match[str], now: dt.datetime) -> dt.datetime | None:
    year = m.group("year") or m.group("year0")
    return _bsd_time(now, m["mon"], m["day"], year, m["h"], m["m"], m["s"], m["frac"])


def _bsd_time(
    now: dt.datetime, mon: str, day: str, given: str | None, h: str, m: str, s: str, frac: str | None
) -> dt.datetime | None:
    month = _MONTHS[mon]
    year = int(given) if given else now.year
    if not given and month > now.month + 1:
        year -= 1  # December's message read in January
    try:
        return dt.datetime(year, month, int(day), int(h), int(m), int(s), int((frac or "0").ljust(6, "0")), dt.UTC)
    except ValueError:
        return None


# ---------------------------------------------------------------- receiver

MessageSink = Callable[[list[SyslogMessage]], Awaitable[None] | None]
SO_MEMINFO = getattr(socket, "SO_MEMINFO", 55)  # Linux: a socket's memory counters; the 9th is its drops
UDP_READS = 512  # datagrams read per wake-up of the UDP socket before other work gets its turn


@dataclass
class SyslogStats:
    """Counters: every frame ``received`` is ``parsed`` or ``dropped`` by reason; every parsed message is
    ``delivered``, still pending, or ``lost`` by reason.

    ``by_transport`` splits ``received`` by udp, tcp and tls. ``dropped["socket_overflow"]`` counts datagrams
    the kernel dropped because the UDP socket's buffer was full (read with SO_MEMINFO). ``anomalies`` counts
    parsed messages that needed repair: ``invalid_utf8`` (bytes that were not UTF-8, replaced by U+FFFD; a
    sender's own U+FFFD counts too), ``no_timestamp`` (none, or one that could not be read).
    ``backpressure_pauses`` counts the times a TCP or TLS connection stopped being read because the sink
    was behind (its sender then waits: nothing it sent is dropped).
    """

    received: int = 0
    parsed: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    batches: int = 0
    lost: dict[str, int] = field(default_factory=dict)
    connections: int = 0
    connections_refused: int = 0
    tls_handshakes_failed: int = 0
    by_transport: dict[str, int] = field(default_factory=dict)
    anomalies: dict[str, int] = field(default_factory=dict)
    backpressure_pauses: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add(self, other: SyslogStats) -> None:
        """Add ``other``'s counters to these."""
        for name, value in asdict(other).items():
            if isinstance(value, dict):
                mine: dict[str, int] = getattr(self, name)
                for key, n in value.items():
                    mine[key] = mine.get(key, 0) + n
            else:
                setattr(self, name, getattr(self, name) + value)


def _count(counter: dict[str, int], key: str, n: int = 1) -> None:
    counter[key] = counter.get(key, 0) + n


class _Tcp(asyncio.Protocol):
    """One TCP or TLS connection: RFC 6587 framing, decided per frame (a digit starts ``LEN SP MSG``,
    anything else a LF-ended line), and back-pressure.

    Frames are taken from the buffer only as far as the receiver has room for them; when it has none,
    reading stops (the kernel's window closes and the sender waits) until the sink has caught up and the
    receiver calls :meth:`resume`. So nothing a sender got acknowledged is dropped for want of room.

    With ``tls`` the connection is upgraded (RFC 5425) before any byte is read as syslog; RFC 5425 frames
    are octet-counted, and a LF-framed sender over TLS is read as over TCP.
    """

    def __init__(self, receiver: SyslogReceiver, tls: ssl.SSLContext | None = None) -> None:
        self.receiver = receiver
        self.tls = tls
        self.kind = "tls" if tls is not None else "tcp"
        self.ready = tls is None  # False until the TLS handshake is done
        self.paused = False  # reading stopped by back-pressure
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
            self._pump()

    def connection_lost(self, exc: Exception | None) -> None:
        # Everything this connection delivered is taken, room or not: the sender saw it acknowledged.
        self._pump(final=True)
        if self.buffer and not self.skip_line:
            self.receiver._ingest([bytes(self.buffer)], self.source, self.kind)  # the last line may lack its LF
        self.buffer.clear()
        self.receiver._disconnected(self)

    def data_received(self, data: bytes) -> None:
        view = memoryview(data)
        if self.skip:
            cut = min(self.skip, len(view))
            self.skip -= cut
            view = view[cut:]
        self.buffer += view
        if self.ready and not self.paused:
            self._pump()

    def resume(self) -> None:
        """The receiver has room again: take what the buffer holds, then read again unless it filled up."""
        if not self.paused:
            return
        self.paused = False
        self._pump()
        if not self.paused and self.transport is not None:
            self.transport.resume_reading()

    def _pump(self, final: bool = False) -> None:
        """Frame and hand over what the buffer holds, as far as the receiver has room; stop reading when full."""
        receiver = self.receiver
        for _ in range(len(self.buffer) + 1):  # each pass takes at least one frame, or stops
            room = MAX_PENDING_HARD if final else receiver._room()
            if room <= 0:
                break
            frames, more = self._frames(room)
            if frames:
                receiver._ingest(frames, self.source, self.kind)
            if not more:
                break
        if not final and receiver._room() <= 0:
            self._pause()

    def _pause(self) -> None:
        if not self.paused:
            self.paused = True
            if self.transport is not None:
                self.transport.pause_reading()
            self.receiver._paused(self)

    def _frames(self, limit: int) -> tuple[list[bytes], bool]:
        """Up to ``limit`` complete frames off the buffer, and whether the limit stopped it with bytes left."""
        buf = self.buffer
        start, end = 0, len(buf)
        frames: list[bytes] = []
        receiver = self.receiver
        while start < end:  # each pass consumes at least one byte or stops
            if len(frames) >= limit:
                del buf[:start]
                return frames, True
            if self.skip_line:
                nl = buf.find(b"\n", start)
                if nl < 0:
                    start = end
                    break
                self.skip_line, start = False, nl + 1
                continue
            if 0x30 <= buf[start] <= 0x39:
                sp = buf.find(b" ", start, start + 11)
                if sp < 0:
                    if end - start < 11:
                        break  # the length is still arriving
                    receiver._reject("bad_frame", self.kind)
                    self.skip_line = True
                    continue
                digits = buf[start:sp]
                if not digits.isdigit():
                    receiver._reject("bad_frame", self.kind)
                    self.skip_line = True
                    continue
                size = int(digits)
                if size > MAX_FRAME:
                    receiver._reject("too_long", self.kind)
                    available = end - (sp + 1)
                    if available >= size:
                        start = sp + 1 + size
                    else:
                        self.skip, start = size - available, end
                    continue
                if end - (sp + 1) < size:
                    break
                frames.append(bytes(buf[sp + 1 : sp + 1 + size]))
                start = sp + 1 + size
                continue
            # A run of LF-terminated lines: split them at once, up to a line that starts another framing.
            # With little room left, only about as many bytes as that room needs are copied and split.
            room = limit - len(frames)
            window = end if room > 4096 else min(end, start + room * 1024)
            last = buf.rfind(b"\n", start, window)
            if last < 0 and window < end:
                last = buf.find(b"\n", window)
            if last < 0:
                if end - start > MAX_FRAME:
                    receiver._reject("too_long", self.kind)
                    self.skip_line, start = True, end
                break
            run = bytes(buf[start:last])
            lines = run.split(b"\n")
            if len(lines) <= room and _LF_DIGIT.search(run) is None:  # the usual case: all of them
                frames.extend(filter(None, lines))  # blank lines between frames are not messages
                start = last + 1
                continue
            for line in lines:
                if room <= 0 or (line and 0x30 <= line[0] <= 0x39):
                    break  # the limit, or an octet-counted frame: the outer loop goes on from here
                if line:
                    frames.append(line)
                    room -= 1
                start += len(line) + 1
        del buf[:start]
        return frames, False


class SyslogReceiver:
    """The UDP, TCP and TLS syslog listener: parse, bound, deliver in batches.

    Args:
        sink: called with each batch of messages (sync or async).
        rate, burst: per-sender token bucket for UDP datagrams (messages per second, bucket depth), applied
            before parsing; datagrams over it are dropped (``dropped["rate_limited"]``). TCP and TLS senders
            are not dropped but slowed: see ``max_pending``.
        flush_interval, batch_size: a batch leaves when it is full or this many seconds after its first message.
        max_pending: messages waiting for the sink. At this bound UDP messages are lost (``lost["queue_full"]``)
            and TCP/TLS connections stop being read until the sink has taken a quarter of them.
        max_connections: TCP and TLS connections open at once; more are closed on arrival.
    """

    def __init__(
        self,
        sink: MessageSink,
        *,
        rate: float = 1000.0,
        burst: float = 5000.0,
        flush_interval: float = 0.5,
        batch_size: int = 2000,
        max_pending: int = 100_000,
        max_connections: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.sink = sink
        self.flush_interval, self.batch_size = flush_interval, max(1, batch_size)
        self.max_pending = max(1, max_pending)
        self.max_connections = max_connections
        self._resume_below = self.max_pending - max(1, self.max_pending // 4)
        self._limits = SenderBuckets(rate, burst, clock)
        self._stats = SyslogStats()
        # The queue's own bound is only a backstop: the receiver keeps it under max_pending itself, except
        # for what connections hand over as they close (at most their buffers).
        self._batches: BatchQueue[SyslogMessage] = BatchQueue(
            sink,
            what="syslog message",
            lose=self._lose,
            delivered=self._delivered,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_pending=MAX_PENDING_HARD,
        )
        self._udp: socket.socket | None = None
        self._udp_drops = 0  # the kernel's drop count of the UDP socket, last read
        self._udp_meminfo = True  # whether the kernel tells it (Linux >= 4.9)
        self._tcp: asyncio.Server | None = None
        self._tls: asyncio.Server | None = None
        self._conns: set[_Tcp] = set()
        self._all_closed = asyncio.Event()
        self._waiting: dict[_Tcp, None] = {}  # paused connections, longest-waiting first
        self._resuming = False
        self._senders: dict[str, str] = {}  # datagram address -> sender_key, remembered
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
                    # A burst must wait in the kernel while a batch is delivered, not be lost there; what is
                    # lost there anyway is counted (SO_MEMINFO).
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                    sock.setblocking(False)
                    sock.bind((host, port))
                except OSError:
                    sock.close()
                    raise
                self._udp = sock
                loop.add_reader(sock.fileno(), self._udp_ready)
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
        _RUNNING.add(self)
        log.info("syslog receiver listening udp=%s tcp=%s tls=%s", self.udp_address, self.tcp_address, self.tls_address)

    async def _stop_listening(self) -> None:
        if self._udp is not None:
            for _ in range(64):  # what the kernel holds was received: read it before closing, bounded
                if self._udp_ready() < UDP_READS:
                    break
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._udp.fileno())
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
                conn.transport.close()  # connection_lost hands over what the connection buffered

    async def close(self, timeout: float = 60.0) -> None:
        """Stop listening and deliver what is pending (a batch being delivered is finished, not cut).

        Connections are closed; what they had buffered is delivered too. A sink still busy after ``timeout``
        seconds is abandoned and its messages counted as lost.
        """
        await self._stop_listening()
        if self._conns:  # TLS connections close after their close_notify exchange
            self._all_closed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), min(timeout, 5.0))
        for conn in list(self._conns):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)  # let their connection_lost run
        for conn in list(self._conns):
            conn.connection_lost(None)
        await self._batches.close(timeout)
        if self in _RUNNING:
            _RUNNING.discard(self)
            _RETIRED.add(self._stats)

    def stats(self) -> SyslogStats:
        """A copy of the counters (the kernel's UDP drops read now)."""
        self._count_udp_drops()
        copy = SyslogStats()
        copy.add(self._stats)
        return copy

    @property
    def pending(self) -> int:
        return len(self._batches)

    @property
    def connections_open(self) -> int:
        return len(self._conns)

    # ------------------------------------------------------------ frames in

    def handle_frame(self, data: bytes, address: str) -> None:
        """Account for, parse and queue one datagram from ``address`` (rate limit and queue bound apply)."""
        self._datagrams([(data, address)])

    def _udp_ready(self) -> int:
        """Read the datagrams waiting (at most UDP_READS); returns how many."""
        sock = self._udp
        if sock is None:
            return 0
        items: list[tuple[bytes, str]] = []
        recvfrom = sock.recvfrom
        for _ in range(UDP_READS):
            try:
                data, addr = recvfrom(MAX_FRAME + 1)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # ICMP errors surface here on some systems: nothing to read
                log.debug("syslog udp socket error=%r", str(exc))
                break
            items.append((data, addr[0]))
        self._count_udp_drops()
        if items:
            self._datagrams(items)
        return len(items)

    def _count_udp_drops(self) -> None:
        """Count what the kernel dropped on the full UDP socket since the last look, as received and dropped."""
        sock = self._udp
        if sock is None or not self._udp_meminfo:
            return
        try:
            info = sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, 64)
        except OSError:
            self._udp_meminfo = False  # not Linux, or too old: drops in the kernel go uncounted
            log.info("syslog udp: this kernel does not report socket drops (SO_MEMINFO); they are not counted")
            return
        if len(info) < 36:
            self._udp_meminfo = False
            return
        drops = int.from_bytes(info[32:36], sys.byteorder)
        if drops != self._udp_drops:
            lost = (drops - self._udp_drops) % (1 << 32)
            self._udp_drops = drops
            self._stats.received += lost
            _count(self._stats.by_transport, "udp", lost)
            _count(self._stats.dropped, "socket_overflow", lost)

    def _datagrams(self, items: list[tuple[bytes, str]]) -> None:
        stats, senders, allow = self._stats, self._senders, self._limits.allow
        stats.received += len(items)
        _count(stats.by_transport, "udp", len(items))
        admitted: list[tuple[bytes, str]] = []
        for data, address in items:
            sender = senders.get(address)
            if sender is None:
                if len(senders) >= 65536:
                    senders.clear()
                sender = senders[address] = sender_key(address)
            if allow(sender):
                admitted.append((data, sender))
            else:
                _count(stats.dropped, "rate_limited")
        messages = self._parse_all(admitted)
        if messages:
            room = self.max_pending - len(self._batches)
            if room < len(messages):
                self._lose("queue_full", len(messages) - max(0, room))
                messages = messages[: max(0, room)]
            self._batches.put(messages)

    def _ingest(self, frames: list[bytes], source: str, kind: str) -> None:
        """Frames of one TCP/TLS connection: parse and queue them all (the caller kept within the room)."""
        stats = self._stats
        stats.received += len(frames)
        _count(stats.by_transport, kind, len(frames))
        now = dt.datetime.now(dt.UTC)
        messages: list[SyslogMessage] = []
        append = messages.append
        # The hot loop: one parse call per frame, nothing else. It stays apart from _parse_all's: feeding that
        # loop (data, sender) pairs cost ~10 % more CPU per message in benchmarks/syslog.py.
        for data in frames:
            try:
                append(parse(data, source, now))
            except SyslogError as exc:
                _count(stats.dropped, exc.reason)
            except Exception as exc:  # a parser bug must not stop the listener: counted and logged
                self._parser_bug(source, exc)
        self._parsed(messages)
        if messages:
            self._batches.put(messages)

    def _parse_all(self, frames: list[tuple[bytes, str]]) -> list[SyslogMessage]:
        """Parse frames (data, sender), counting each parsed or dropped by reason."""
        stats = self._stats
        now = dt.datetime.now(dt.UTC)
        messages: list[SyslogMessage] = []
        append = messages.append
        for data, source in frames:
            try:
                append(parse(data, source, now))
            except SyslogError as exc:
                _count(stats.dropped, exc.reason)
            except Exception as exc:  # a parser bug must not stop the listener: counted and logged
                self._parser_bug(source, exc)
        self._parsed(messages)
        return messages

    def _parser_bug(self, source: str, exc: Exception) -> None:
        _count(self._stats.dropped, "internal_error")
        log.warning("syslog parsing failed sender=%s error=%r", source, repr(exc))

    def _parsed(self, messages: list[SyslogMessage]) -> None:
        stats = self._stats
        stats.parsed += len(messages)
        untimed = sum(1 for m in messages if m.time is None)
        if untimed:
            _count(stats.anomalies, "no_timestamp", untimed)
        repaired = sum(1 for m in messages if "\ufffd" in m.raw)
        if repaired:
            _count(stats.anomalies, "invalid_utf8", repaired)

    def _reject(self, reason: str, kind: str) -> None:
        """A frame that framing alone refuses (it never reaches :func:`parse`)."""
        self._stats.received += 1
        _count(self._stats.by_transport, kind)
        _count(self._stats.dropped, reason)

    # ------------------------------------------------------------ connections and back-pressure

    def _connected(self, conn: _Tcp) -> bool:
        if len(self._conns) >= self.max_connections or self._batches.closing:
            self._stats.connections_refused += 1
            return False
        self._conns.add(conn)
        self._stats.connections += 1
        return True

    def _disconnected(self, conn: _Tcp) -> None:
        self._conns.discard(conn)
        self._waiting.pop(conn, None)
        if not self._conns:
            self._all_closed.set()

    def _tls_failed(self, source: str, exc: BaseException) -> None:
        self._stats.tls_handshakes_failed += 1
        log.info("syslog tls handshake failed sender=%s error=%r", source, str(exc) or type(exc).__name__)

    def _room(self) -> int:
        return self.max_pending - len(self._batches)

    def _paused(self, conn: _Tcp) -> None:
        self._stats.backpressure_pauses += 1
        self._waiting[conn] = None

    def _delivered(self, count: int) -> None:
        self._stats.delivered += count
        self._stats.batches += 1
        self._maybe_resume()

    def _lose(self, reason: str, count: int) -> None:
        if count:
            _count(self._stats.lost, reason, count)
            self._maybe_resume()

    def _maybe_resume(self) -> None:
        if self._waiting and not self._resuming and len(self._batches) <= self._resume_below:
            self._resuming = True  # once: the sink's callback is no place to parse a backlog
            asyncio.get_running_loop().call_soon(self._resume)

    def _resume(self) -> None:
        """Read the paused connections again, longest-waiting first, while there is room."""
        self._resuming = False
        for _ in range(len(self._waiting)):
            if not self._waiting or self._room() <= 0:
                break
            conn = next(iter(self._waiting))
            del self._waiting[conn]
            conn.resume()  # may pause it again: then it waits at the back


MAX_PENDING_HARD = 1 << 62  # no bound in the queue itself: the receiver enforces max_pending
_RUNNING: set[SyslogReceiver] = set()
_RETIRED = SyslogStats()  # counters of closed receivers, so the process totals only grow


@dataclass(frozen=True)
class SyslogTotals:
    """This process's syslog receivers together: counters since start, and what is pending or open now."""

    stats: SyslogStats
    listening: int
    pending: int
    connections_open: int


def totals() -> SyslogTotals:
    """The counters of every receiver this process ran (for /metrics): closed ones' and the running ones'."""
    stats = SyslogStats()
    stats.add(_RETIRED)
    running = list(_RUNNING)
    for receiver in running:
        stats.add(receiver.stats())
    return SyslogTotals(
        stats,
        sum(r.listening for r in running),
        sum(r.pending for r in running),
        sum(r.connections_open for r in running),
    )


def tls_context(cert: Path, key: Path, client_ca: Path | None = None) -> ssl.SSLContext:
    """The server side of RFC 5425: TLS 1.2 or later with this certificate chain (PEM) and its private key.

    With ``client_ca`` (PEM) every sender must present a certificate that CA signed (mutual
    authentication, RFC 5425 section 5.2); a sender without one fails the handshake and is counted
    like any other TLS failure.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    # No TLS 1.3 session tickets: syslog senders do not resume sessions, and a sender that closes without
    # reading the tickets it was sent makes its kernel reset the connection, which throws away what the
    # receiver had not read yet. With nothing sent to them, such senders close cleanly.
    context.num_tickets = 0
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise SyslogError(
            "tls",
            f"cannot load the syslog TLS certificate {cert} with key {key}: {getattr(exc, 'strerror', None) or exc}; "
            "check syslog_tls_cert and syslog_tls_key (PEM files)",
        ) from None
    if client_ca is not None:
        try:
            context.load_verify_locations(cafile=client_ca)
        except (OSError, ssl.SSLError) as exc:
            raise SyslogError(
                "tls",
                f"cannot load the syslog client CA {client_ca}: {getattr(exc, 'strerror', None) or exc}; "
                "check syslog_tls_client_ca (a PEM file of CA certificates)",
            ) from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


async def start_from_settings(ctx: Context, sink: MessageSink) -> SyslogReceiver:
    """The receiver ``netwarden serve`` runs on settings' ``syslog_host``:``syslog_port`` (UDP and TCP), and
    over TLS on ``syslog_tls_port`` when it is set (then ``syslog_tls_cert`` and ``syslog_tls_key`` are needed;
    ``syslog_tls_client_ca`` asks senders for a certificate signed by that CA).

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
        tls = tls_context(s.syslog_tls_cert, s.syslog_tls_key, s.syslog_tls_client_ca)
    await receiver.start(s.syslog_host, s.syslog_port, tls=tls, tls_port=s.syslog_tls_port)
    return receiver
