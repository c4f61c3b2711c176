"""Syslog parsing (RFC 3164, RFC 5424) on recorded lines, and the receiver's framing under fuzzed input.

Recorded inputs: tcpdump's syslog_udp.pcap (four real datagrams, decoded by tcpdump in syslog-v.out)
and fail2ban's sshd corpus (real OpenSSH syslog lines with their expected time in ``# failJSON``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.security.syslog import FACILITIES, SEVERITIES, SyslogError, SyslogReceiver, _Tcp, parse
from tests.support.shared_data import shared_data

DATA = shared_data()
TCPDUMP = DATA / "tcpdump" / "tests"
SSHD = DATA / "fail2ban" / "fail2ban" / "tests" / "files" / "logs" / "sshd"
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"recorded data {path} is missing (../shared/data)")
    return path


def pcap_udp_payloads(path: Path) -> list[bytes]:
    """UDP payloads of a classic little-endian pcap of Ethernet/IPv4 frames."""
    data = path.read_bytes()
    assert data[:4] == bytes.fromhex("d4c3b2a1")
    out, off = [], 24
    while off < len(data):
        _ts, _us, incl, _orig = struct.unpack("<IIII", data[off : off + 16])
        frame = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        ihl = (frame[14] & 0x0F) * 4
        out.append(frame[14 + ihl + 8 :])
    return out


def test_tcpdump_pcap_datagrams_parse_as_tcpdump_decodes_them() -> None:
    payloads = pcap_udp_payloads(need(TCPDUMP / "syslog_udp.pcap"))
    decoded = re.findall(
        r"Facility (\S+) \((\d+)\), Severity (\S+) \((\d+)\)\n\tMsg: (.*)", need(TCPDUMP / "syslog-v.out").read_text()
    )
    assert len(payloads) == len(decoded) == 4
    for payload, (_fname, fnum, _sname, snum, text) in zip(payloads, decoded, strict=True):
        msg = parse(payload, "10.0.0.20", dt.datetime(2013, 9, 12, 20, 0, tzinfo=dt.UTC))
        assert (msg.facility, msg.severity) == (int(fnum), int(snum))
        assert msg.raw.endswith(text.removesuffix("^@"))
        assert msg.text.startswith("test message") or msg.text.endswith(text.rsplit(":", 1)[1].strip())
    bsd, iso = (parse(p, "10.0.0.20", dt.datetime(2013, 9, 12, 20, 0, tzinfo=dt.UTC)) for p in payloads[1:3])
    assert (bsd.time, bsd.host, bsd.app, bsd.text) == (
        dt.datetime(2013, 9, 12, 19, 16, 18, tzinfo=dt.UTC), "through", "logger", "test message 22",
    )  # fmt: skip
    assert iso.time == dt.datetime(2013, 9, 12, 19, 16, 34, 457849, tzinfo=dt.timezone(dt.timedelta(hours=4)))
    assert (iso.host, iso.severity_name, iso.facility_name) == ("localhost", "notice", "user")


def sshd_cases() -> list[tuple[str, dict[str, Any]]]:
    cases, expect = [], None
    for line in need(SSHD).read_text(errors="replace").splitlines():
        if line.startswith("# failJSON:"):
            expect = json.loads(line.split(":", 1)[1])
        elif line and not line.startswith("#") and expect is not None:
            cases.append((line, expect))
            expect = None
    return cases


def test_fail2ban_sshd_lines_parse_with_their_recorded_time() -> None:
    cases = sshd_cases()
    checked = 0
    for line, expect in cases:
        m = re.match(r"(\w{3} [ \d]\d \d\d:\d\d:\d\d) (\S+) (sshd(?:-session)?)\[(\d+)\]: (.*)$", line)
        if m is None or "time" not in expect:
            continue  # journal-form and other-stamp lines are covered by the fuzz and framing tests
        year = int(expect["time"][:4])
        msg = parse(f"<38>{line}".encode(), "192.0.2.1", dt.datetime(year, 12, 31, tzinfo=dt.UTC))
        assert msg.time is not None and msg.time.replace(tzinfo=None).isoformat() == expect["time"][:19]
        assert (msg.host, msg.app, msg.pid, msg.text) == m.group(2, 3, 4, 5)
        assert (msg.facility_name, msg.severity_name) == ("auth", "info")
        checked += 1
    assert checked > 50, checked


RFC5424 = [
    # RFC 5424 section 6.5, examples 1, 3 and 4.
    (b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \xef\xbb\xbf'su root' failed for lonvick "
     b"on /dev/pts/8", ("mymachine.example.com", "su", "", "ID47", "'su root' failed for lonvick on /dev/pts/8", "")),
    (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
     b'eventSource="Application" eventID="1011"] \xef\xbb\xbfAn application event log entry...',
     ("mymachine.example.com", "evntslog", "", "ID47", "An application event log entry...",
      '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]')),
    (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
     b'eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]',
     ("mymachine.example.com", "evntslog", "", "ID47", "",
      '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]')),
    # util-linux logger --rfc5424 as the lab's forwarders send it (an escaped bracket in a value).
    (b'<30>1 2026-11-23T12:06:15.066123+00:00 r1 frr 4242 - [timeQuality tzKnown="1" isSynced="0"] '
     b'2026/11/23 12:06:15.066 OSPF: [T883P-E4VEN] AdjChg', ("r1", "frr", "4242", "", "2026/11/23 12:06:15.066 "
     "OSPF: [T883P-E4VEN] AdjChg", '[timeQuality tzKnown="1" isSynced="0"]')),
    (b'<13>1 - - - - - [x@1 a="b\\"]c"] text', ("", "", "", "", "text", '[x@1 a="b\\"]c"]')),
]  # fmt: skip


@pytest.mark.parametrize(("line", "want"), RFC5424)
def test_rfc5424(line: bytes, want: tuple[str, ...]) -> None:
    msg = parse(line, "192.0.2.1", NOW)
    assert (msg.host, msg.app, msg.pid, msg.msgid, msg.text, msg.structured) == want
    assert msg.rfc == 5424 and msg.source == "192.0.2.1" and msg.received == NOW


def test_rfc5424_time_keeps_its_offset_and_nanoseconds_are_cut() -> None:
    msg = parse(b"<13>1 2026-11-23T12:00:00.123456789-05:00 h a - - - x", "", NOW)
    assert msg.time == dt.datetime(2026, 11, 23, 17, 0, 0, 123456, tzinfo=dt.UTC)


def test_bsd_stamp_from_last_december_read_in_january() -> None:
    msg = parse(b"<13>Dec 31 23:59:59 h app: x", "", dt.datetime(2027, 1, 1, 0, 0, 5, tzinfo=dt.UTC))
    assert msg.time == dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def test_cisco_framing_sequence_number_and_origin_id() -> None:
    plain = parse(b"<187>41: *Mar  1 00:12:31.467: %LINK-3-UPDOWN: Interface Gi0/1, changed state to down", "", NOW)
    assert (plain.host, plain.app, plain.time) == ("", "", dt.datetime(2026, 3, 1, 0, 12, 31, 467000, tzinfo=dt.UTC))
    assert plain.text.startswith("%LINK-3-UPDOWN:") and plain.facility_name == "local7"
    named = parse(b"<189>48: r9: *Mar  1 00:15:00: %SYS-5-CONFIG_I: Configured from console by admin", "", NOW)
    assert (named.host, named.text[:16]) == ("r9", "%SYS-5-CONFIG_I:")


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"", "empty"),
        (b"\x00\r\n", "empty"),
        (b"no pri here", "no_pri"),
        (b"<192>Jan  1 00:00:00 h x", "bad_pri"),
        (b"<013>x", "bad_pri"),
        (b"<13>1 2026-13-45T99:00:00Z h a - - - x", "bad_timestamp"),
        (b"<13>1 - h a", "malformed"),
        (b"<13>1 - h a - - [open sd", "malformed"),
        (b"<13>1 - h a - - nosd", "malformed"),
        (b"<13>" + b"x" * 70000, "too_long"),
    ],
)
def test_malformed_frames_raise_a_reasoned_error(frame: bytes, reason: str) -> None:
    with pytest.raises(SyslogError) as info:
        parse(frame)
    assert info.value.reason == reason and str(info.value)


def test_names_tables() -> None:
    assert len(SEVERITIES) == 8 and FACILITIES[23] == "local7"


# ---------------------------------------------------------------- the receiver without sockets


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("192.0.2.7", 40000) if name == "peername" else default

    def close(self) -> None:
        self.closed = True


def feed(receiver: SyslogReceiver, chunks: list[bytes]) -> _Tcp:
    proto = _Tcp(receiver)
    proto.connection_made(FakeTransport())
    for chunk in chunks:
        proto.data_received(chunk)
    proto.connection_lost(None)
    return proto


def accounted(receiver: SyslogReceiver) -> None:
    s = receiver.stats()
    assert s.received == s.parsed + sum(s.dropped.values())
    assert s.parsed == s.delivered + receiver.pending + sum(s.lost.values())


def test_tcp_octet_counting_and_newlines_split_anywhere() -> None:
    async def main() -> list[str]:
        got: list[str] = []
        receiver = SyslogReceiver(lambda batch: got.extend(m.text for m in batch))
        frames = b"".join([b"10 <13>a: one", b"<13>a: two\n", b"\n", b"12 <13>a: three", b"<13>a: four\r\n<13>a: five"])
        feed(receiver, [frames[i : i + 3] for i in range(0, len(frames), 3)])
        await receiver.close()
        accounted(receiver)
        return got

    assert asyncio.run(main()) == ["one", "two", "three", "four", "five"]


def test_tcp_oversized_and_garbled_frames_are_dropped_and_the_stream_recovers() -> None:
    async def main() -> tuple[list[str], dict[str, int]]:
        got: list[str] = []
        receiver = SyslogReceiver(lambda batch: got.extend(m.text for m in batch))
        big = b"<13>a: " + b"x" * 70000
        chunks = [b"%d " % len(big), big[:1000], big[1000:], b"9999999999999 junk\n", b"<13>a: after\n"]
        chunks += [b"<13>a: " + b"y" * 70000, b"z\n<13>a: last\n"]
        feed(receiver, chunks)
        await receiver.close()
        accounted(receiver)
        return got, receiver.stats().dropped

    got, dropped = asyncio.run(main())
    assert got == ["after", "last"]
    assert dropped == {"too_long": 2, "bad_frame": 1}


def test_rate_limit_per_sender_and_bounded_queue() -> None:
    async def main() -> SyslogReceiver:
        clock = [0.0]
        receiver = SyslogReceiver(lambda batch: None, rate=1, burst=10, max_pending=5, clock=lambda: clock[0])
        for _ in range(20):
            receiver.handle_frame(b"<13>h a: x", "10.0.0.1")
        receiver.handle_frame(b"<13>h a: x", "::ffff:10.0.0.2")
        return receiver

    receiver = asyncio.run(main())
    s = receiver.stats()
    assert (s.received, s.parsed, s.dropped, s.lost) == (21, 11, {"rate_limited": 10}, {"queue_full": 6})


def test_a_failing_sink_is_retried_then_counted_lost() -> None:
    async def main() -> SyslogReceiver:
        calls: list[int] = []

        def sink(batch: list[Any]) -> None:
            calls.append(len(batch))
            raise RuntimeError("store down")

        receiver = SyslogReceiver(sink, flush_interval=0.01)
        receiver.handle_frame(b"<13>h a: x", "10.0.0.1")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while len(calls) < 3 and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await receiver.close()
        assert calls == [1, 1, 1]
        return receiver

    s = asyncio.run(main()).stats()
    assert (s.delivered, s.lost) == (0, {"sink_failed": 1})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=12))
def test_fuzz_random_bytes_are_counted_never_raised(chunks: list[bytes]) -> None:
    async def main() -> None:
        receiver = SyslogReceiver(lambda batch: None)
        for chunk in chunks:
            receiver.handle_frame(chunk, "192.0.2.9")  # as UDP datagrams
        feed(receiver, chunks)  # and as one TCP stream
        await receiver.close()
        accounted(receiver)
        s = receiver.stats()
        assert s.received >= len(chunks)
        assert "internal_error" not in s.dropped

    asyncio.run(main())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_parse_raises_only_its_own_error(data: bytes) -> None:
    for frame in (data, b"<13>" + data, b"<13>1 " + data):
        try:
            msg = parse(frame, "192.0.2.9", NOW)
        except SyslogError as exc:
            assert exc.reason
        else:
            assert 0 <= msg.severity < 8 and 0 <= msg.facility < 24
