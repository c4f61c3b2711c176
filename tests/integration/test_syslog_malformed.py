"""Bad input on real sockets: bad PRI, no timestamp, invalid UTF-8, 64 KiB frames, random bytes, a peer that
never ends its line, too many connections, floods on every transport at once. Each frame is counted, parsed
or dropped with its reason; the receiver never stops; over TCP nothing it took is dropped without a count,
and good frames after bad ones still arrive."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from netwarden.security.syslog import MAX_FRAME, SyslogMessage, SyslogReceiver


async def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def receiving(**kw: Any) -> AsyncIterator[tuple[SyslogReceiver, list[SyslogMessage]]]:
    got: list[SyslogMessage] = []
    receiver = SyslogReceiver(got.extend, flush_interval=0.02, **kw)
    await receiver.start("127.0.0.1", 0)
    try:
        yield receiver, got
    finally:
        await receiver.close()


def accounted(receiver: SyslogReceiver, pending: int = 0) -> None:
    s = receiver.stats()
    assert s.received == s.parsed + sum(s.dropped.values()), s
    assert s.parsed == s.delivered + pending + sum(s.lost.values()), s


def sized(total: int) -> bytes:
    """A valid RFC 3164 frame of exactly ``total`` bytes."""
    head = b"<13>Nov 23 12:00:00 h big: "
    return head + b"y" * (total - len(head))


GOOD = b"<13>Nov 23 12:00:00 h app: good %d"
# (frame, what happens to it): a reason it is dropped for, or "parsed" with the anomaly it is counted as
BAD = [
    (b"<999>Nov 23 12:00:00 h app: pri out of range", "bad_pri"),
    (b"<013>Nov 23 12:00:00 h app: leading zero", "bad_pri"),
    (b"no pri at all", "no_pri"),
    (b"<13>1 2026-13-45T99:00:00Z h app - - - impossible stamp", "bad_timestamp"),
    (b"<13>1 - h", "malformed"),
    (b"<13>message without any timestamp", "no_timestamp"),
    (b"<13>Nov 23 12:00:00 h app: bytes \xff\xfe\xc3 not utf-8", "invalid_utf8"),
    (sized(MAX_FRAME), "parsed"),
    (sized(MAX_FRAME + 1), "too_long"),
]


def test_bad_frames_over_tcp_each_counted_good_ones_delivered_in_order() -> None:
    lines: list[bytes] = []
    for i, (frame, _) in enumerate(BAD):
        lines += [GOOD % i, frame]
    octet = b"".join(b"%d %s" % (len(line), line) for line in lines)  # RFC 6587 octet counting
    lf = b"\n".join(lines) + b"\n"  # and LF framing (64 KiB lines included)

    async def main() -> tuple[SyslogReceiver, list[SyslogMessage]]:
        async with receiving() as (receiver, got):
            assert receiver.tcp_address
            for stream in (octet, lf):
                with socket.create_connection(receiver.tcp_address) as sock:
                    sock.sendall(stream)
            await wait_for(lambda: receiver.stats().received == 2 * len(lines))
            await wait_for(lambda: receiver.pending == 0)
        return receiver, got

    receiver, got = asyncio.run(main())
    accounted(receiver)
    s = receiver.stats()
    expected: dict[str, int] = {}
    for _, outcome in BAD:
        if outcome not in ("parsed", "no_timestamp", "invalid_utf8"):
            expected[outcome] = expected.get(outcome, 0) + 2
    assert s.dropped == expected
    assert s.anomalies == {"no_timestamp": 2, "invalid_utf8": 2}
    goods = [m.text for m in got if m.text.startswith("good")]
    assert goods == [f"good {i}" for i in range(len(BAD))] * 2
    big = [m for m in got if m.app == "big"]
    assert len(big) == 2 and all(len(m.raw) == MAX_FRAME for m in big)
    broken = [m for m in got if "not utf-8" in m.text]
    assert broken and all("\ufffd" in m.text for m in broken)


def test_bad_datagrams_each_counted() -> None:
    async def main() -> SyslogReceiver:
        async with receiving() as (receiver, got):
            assert receiver.udp_address
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sent = 0
            for frame, _ in BAD:
                if len(frame) <= 65507:  # the largest UDP payload over IPv4
                    sock.sendto(frame, receiver.udp_address)
                    sent += 1
            sock.sendto(sized(65507), receiver.udp_address)
            sock.close()
            await wait_for(lambda: receiver.stats().received == sent + 1)
            await wait_for(lambda: receiver.pending == 0)
            assert len(got) == 3 and max(len(m.raw) for m in got) == 65507
        return receiver

    receiver = asyncio.run(main())
    accounted(receiver)
    s = receiver.stats()
    assert s.dropped == {"bad_pri": 2, "no_pri": 1, "bad_timestamp": 1, "malformed": 1}
    assert s.anomalies == {"no_timestamp": 1, "invalid_utf8": 1}


def test_random_bytes_a_line_that_never_ends_and_resynchronising() -> None:
    noise = random.Random(7).randbytes(1 << 20)  # 1 MiB: digits start octet counts, LFs end lines

    async def main() -> tuple[SyslogReceiver, list[SyslogMessage]]:
        async with receiving() as (receiver, got):
            assert receiver.tcp_address
            # Noise may end inside a frame its own digits announced: the good line goes on a new connection.
            with socket.create_connection(receiver.tcp_address) as sock:
                sock.sendall(noise)
            with socket.create_connection(receiver.tcp_address) as sock:
                sock.sendall(GOOD % 1 + b"\n")
            # A peer that sends 200 KiB without a LF: dropped as too long once it passes 64 KiB, then resynced.
            with socket.create_connection(receiver.tcp_address) as sock:
                sock.sendall(b"<13>Nov 23 12:00:00 h app: " + b"z" * (200 << 10))
                sock.sendall(b"\n" + GOOD % 2 + b"\n")
            await wait_for(lambda: [m.text for m in got if m.text.startswith("good")] == ["good 1", "good 2"])
            await wait_for(lambda: receiver.pending == 0)
        return receiver, got

    receiver, _got = asyncio.run(main())
    accounted(receiver)
    s = receiver.stats()
    assert s.dropped["too_long"] >= 1
    assert "internal_error" not in s.dropped


def test_connections_over_the_limit_are_refused_and_counted() -> None:
    async def main() -> SyslogReceiver:
        async with receiving(max_connections=3) as (receiver, got):
            assert receiver.tcp_address
            socks = [socket.create_connection(receiver.tcp_address) for _ in range(5)]
            try:
                await wait_for(lambda: receiver.stats().connections + receiver.stats().connections_refused == 5)
                for i, sock in enumerate(socks):
                    with contextlib.suppress(OSError):  # a refused one may already be reset
                        sock.sendall(GOOD % i + b"\n")
            finally:
                for sock in socks:
                    sock.close()
            await wait_for(lambda: len(got) == 3)
            assert receiver.connections_open <= 3
        return receiver

    s = asyncio.run(main()).stats()
    assert (s.connections, s.connections_refused) == (3, 2)


def test_floods_on_every_transport_at_once_with_a_slow_sink() -> None:
    senders, per_sender = 20, 2000

    async def main() -> tuple[SyslogReceiver, list[SyslogMessage], int]:
        gate = asyncio.Event()
        got: list[SyslogMessage] = []

        async def sink(batch: list[SyslogMessage]) -> None:
            await gate.wait()  # stopped until the floods are all under way
            got.extend(batch)

        receiver = SyslogReceiver(sink, max_pending=500, batch_size=100, flush_interval=0.02, rate=200, burst=500)
        await receiver.start("127.0.0.1", 0)
        try:
            assert receiver.tcp_address and receiver.udp_address
            streams = []
            for n in range(senders):
                _reader, writer = await asyncio.open_connection(*receiver.tcp_address)
                writer.write(b"".join(b"<13>Nov 23 12:00:00 h s%d: %d\n" % (n, i) for i in range(per_sender)))
                streams.append(writer)
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(3000):
                udp.sendto(b"<13>Nov 23 12:00:00 h u: %d" % i, receiver.udp_address)
                if i % 300 == 0:
                    await asyncio.sleep(0)
            udp.close()
            await wait_for(lambda: receiver.stats().backpressure_pauses > 0)
            gate.set()
            for writer in streams:
                await writer.drain()  # the senders were held, not dropped: their writes complete now
                writer.close()
            await wait_for(lambda: receiver.stats().by_transport.get("tcp", 0) == senders * per_sender, 120)
            await wait_for(lambda: receiver.pending == 0)
            udp_received = receiver.stats().by_transport.get("udp", 0)
        finally:
            gate.set()
            await receiver.close()
        return receiver, got, udp_received

    receiver, got, udp_received = asyncio.run(main())
    accounted(receiver)
    s = receiver.stats()
    by_sender: dict[str, list[int]] = {}
    for m in got:
        by_sender.setdefault(m.app, []).append(int(m.text))
    for n in range(senders):  # every TCP sender's lines, all of them, in its order
        assert by_sender[f"s{n}"] == list(range(per_sender)), n
    # UDP: over the rate or the queue, dropped and lost with reasons; the rest delivered.
    assert udp_received == 3000 == len(by_sender.get("u", [])) + sum(s.dropped.values()) + sum(s.lost.values())
    assert s.dropped.get("rate_limited", 0) > 0
    assert set(s.dropped) <= {"rate_limited", "socket_overflow"} and set(s.lost) <= {"queue_full"}


def test_urandom_datagrams_never_stop_the_receiver() -> None:
    async def main() -> SyslogReceiver:
        async with receiving(rate=1e9, burst=1e9) as (receiver, got):
            assert receiver.udp_address
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(500):
                sock.sendto(os.urandom(random.randrange(1, 1500)), receiver.udp_address)
            sock.sendto(GOOD % 0, receiver.udp_address)
            sock.close()
            await wait_for(lambda: any(m.text == "good 0" for m in got))
            await wait_for(lambda: receiver.pending == 0)
        return receiver

    receiver = asyncio.run(main())
    accounted(receiver)
    s = receiver.stats()
    assert s.received == 501 and "internal_error" not in s.dropped
