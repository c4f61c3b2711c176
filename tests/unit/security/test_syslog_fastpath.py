"""The receiver's fast paths give what the plain paths give.

- :func:`parse` reads the two common shapes with one match each; every frame must parse exactly as the
  general parser (``_parse_general``) reads it, or fail the same way.
- TCP framing under back-pressure: frames taken a few at a time, as the receiver's room allows, with reads
  paused and resumed, are the frames taken all at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.security.syslog import (
    SyslogError,
    SyslogMessage,
    SyslogReceiver,
    _new_message,
    _parse_general,
    _structured,
    _structured_scan,
    _Tcp,
    parse,
)

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)

words = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r\x00"), min_size=0, max_size=12)
# Pieces that steer frames onto and off the fast paths: PRIs in and out of range, stamps, colons, brackets,
# capital hostnames that look like zones, digits where tags go, NIL values, structured data.
pieces = st.sampled_from(
    [
        "<13>", "<0>", "<191>", "<192>", "<013>", "<38>", "1 ", "Nov 23 12:00:01 ", "Feb 30 00:00:00 ",
        "Dec  1 23:59:59 ", "Jan 1 01:02:03 ", "2026-11-23T12:00:00Z ", "2026-11-23T12:00:00.123456789+05:00 ",
        "- ", "-", "[x@1 a=\"b\"] ", "[", "]", ":", ": ", " ", "  ", "host1 ", "RTR1 ", "UTC: ", "CORE ",
        "%LINK-3-UPDOWN: ", "%", "sshd[42]: ", "app: ", "52: ", "a[b ", "fe80::1 ", "\ufeff", "x" * 50 + ": ", "\t",
    ]
)  # fmt: skip


def outcome(frame: bytes, fn: Any) -> SyslogMessage | str:
    try:
        return fn(frame)  # type: ignore[no-any-return]
    except SyslogError as exc:
        return exc.reason


def general(frame: bytes) -> SyslogMessage:
    body = frame.rstrip(b"\x00\r\n")
    if not body:
        raise SyslogError("empty", "")
    return _parse_general(body.decode("utf-8", errors="replace"), "192.0.2.1", NOW)


ascii_words = st.text(alphabet="aZ1%:[]- ", max_size=8)
pris = st.sampled_from(["<13>", "<0>", "<191>", "<192>", "<013>", "<x>", ""])
stamps = st.sampled_from(
    [
        "Nov 23 12:00:01 ", "Feb 30 00:00:00 ", "Dec  1 23:59:59 ", "1 ", "1 - ", "", "41: *Mar  1 00:12:31.467: ",
        "7: .Nov 23 12:00:01: ", "8: Jan  1 00:00:00.1234567: ", "9: *Mar  1 00:00:00.5 UTC: ",
        "10: r1: *Mar  1 00:00:00: ",
    ]
)  # fmt: skip


@settings(max_examples=4000, deadline=None)
@given(pris, stamps, st.lists(st.one_of(pieces, words, ascii_words), min_size=0, max_size=10))
def test_fast_path_parses_as_the_general_parser(pri: str, stamp: str, parts: list[str]) -> None:
    frame = (pri + stamp + "".join(parts)).encode()
    assert outcome(frame, lambda f: parse(f, "192.0.2.1", NOW)) == outcome(frame, general)


@pytest.mark.parametrize(
    "line",
    [
        b"<38>Nov 23 12:00:01 host1 sshd[1234]: Failed password for root from 10.0.0.1 port 22 ssh2",
        b"<38>Nov  3 12:00:01 RTR1 app: capital hostname, no zone",
        b"<38>Nov 23 12:00:01 CORE: no hostname, a zone-like word",
        b"<30>1 2026-11-23T12:06:15.066123+00:00 r1 frr 4242 - - OSPF: AdjChg",
        b'<30>1 2026-11-23T12:06:15.066123456Z r1 frr - ID1 [a@1 b="c"] \xef\xbb\xbfwith BOM',
        b"<13>Nov 23 12:00:01 h app: bad \xff\xfe utf-8",
        b"<187>41: *Mar  1 00:12:31.467: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
        b"<189>7: Feb 29 00:00:00: %SYS-5-CONFIG_I: Configured from console (no such day in 2026)",
    ],
)
def test_common_lines_take_the_fast_path_and_agree(line: bytes) -> None:
    assert parse(line, "192.0.2.1", NOW) == general(line)


def test_capital_hostname_is_a_hostname_not_a_zone() -> None:
    msg = parse(b"<38>Nov  3 12:00:01 RTR1 app: x", "", NOW)
    assert (msg.host, msg.app, msg.text) == ("RTR1", "app", "x")
    cisco = parse(b"<187>41: *Mar  1 00:12:31.467 UTC: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down", "", NOW)
    assert (cisco.host, cisco.text[:15]) == ("", "%LINK-3-UPDOWN:")


# ---------------------------------------------------------------- framing under back-pressure


class PausingTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.reading = True
        self.pauses = 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("192.0.2.7", 40000) if name == "peername" else default

    def pause_reading(self) -> None:
        self.reading = False
        self.pauses += 1

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.reading = False


def stream_of(texts: list[str], octet: list[bool]) -> bytes:
    out = b""
    for text, counted in zip(texts, octet, strict=True):
        line = b"<13>Nov 23 12:00:00 h app: " + text.encode()
        out += b"%d %s" % (len(line), line) if counted else line + b"\n"
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.text(alphabet="abcxyz 0123456789", max_size=30), st.booleans()), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=7),
    st.lists(st.integers(min_value=1, max_value=90), min_size=1, max_size=20),
)
def test_framing_a_few_frames_at_a_time_gives_the_same_frames(
    frames: list[tuple[str, bool]], room: int, cuts: list[int]
) -> None:
    texts = [f"m{i} {t.strip()}".strip() for i, (t, _) in enumerate(frames)]
    data = stream_of(texts, [counted for _, counted in frames])

    async def main() -> tuple[list[str], SyslogReceiver, PausingTransport]:
        got: list[str] = []
        delivered = asyncio.Event()

        def sink(batch: list[SyslogMessage]) -> None:
            got.extend(m.text for m in batch)
            delivered.set()

        receiver = SyslogReceiver(sink, max_pending=room, batch_size=1, flush_interval=0.001)
        proto = _Tcp(receiver)
        transport = PausingTransport()
        proto.connection_made(transport)
        offset, i = 0, 0
        for _ in range(len(data) + len(texts) * 4 + 10):  # bounded: each pass sends or waits for a delivery
            if offset >= len(data) and not proto.buffer:
                break
            if transport.reading and offset < len(data):
                step = cuts[i % len(cuts)]
                proto.data_received(data[offset : offset + step])
                offset, i = offset + step, i + 1
            else:
                delivered.clear()
                await asyncio.wait_for(delivered.wait(), 10)
                await asyncio.sleep(0)  # the receiver resumes reading in a callback after the delivery
        proto.connection_lost(None)
        await receiver.close()
        return got, receiver, transport

    got, receiver, transport = asyncio.run(main())
    assert got == texts
    s = receiver.stats()
    assert (s.received, s.delivered, s.dropped, s.lost) == (len(texts), len(texts), {}, {})
    assert s.backpressure_pauses == transport.pauses
    if len(texts) > room:
        assert transport.pauses > 0


sd_pieces = st.sampled_from(["[", "]", '"', "\\", " ", "a=", "x@1", "][", "] ", '\\"', "\\]", "text"])


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.one_of(sd_pieces, st.text(max_size=3)), max_size=14))
def test_structured_data_regex_splits_as_the_scan(parts: list[str]) -> None:
    tail = "[" + "".join(parts)
    assert outcome_of(_structured, tail) == outcome_of(_structured_scan, tail)


def outcome_of(fn: Any, tail: str) -> tuple[str, str] | str:
    try:
        return fn(tail)  # type: ignore[no-any-return]
    except SyslogError as exc:
        return exc.reason


def test_structured_data_of_a_long_open_element_is_refused_quickly() -> None:
    with pytest.raises(SyslogError, match="not closed"):
        _structured('[a x="' + "\\a" * 30000)  # possessive matching: no backtracking blow-up


def test_fast_constructor_equals_the_dataclass() -> None:
    fields = (NOW, "h", "a", "1", 3, 4, "m", "t", "r", "s", NOW, "[x]", 5424)
    fast, slow = _new_message(*fields), SyslogMessage(*fields)
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    with pytest.raises(AttributeError):
        fast.host = "other"  # type: ignore[misc]
