"""Back-pressure on real sockets: a sink that stops, then writes each batch to SQLite, under a sender that
writes as fast as the kernel lets it. Over TCP and TLS nothing is dropped: the receiver stops reading, the
sender's writes block, and every message arrives once, in order. Over UDP, where a sender cannot be made to
wait, every datagram is accounted for: delivered, or dropped or lost with its reason."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from netwarden.security.syslog import SyslogMessage, SyslogReceiver, tls_context
from tests.integration.test_syslog_tls import self_signed

PAD = b"x" * 900  # ~1 KB messages: many bytes through the kernel for few messages to parse


def kernel_buffer_bytes() -> int:
    """The most a TCP connection's two kernel buffers can hold (receive and send maxima)."""
    rmem = int(Path("/proc/sys/net/ipv4/tcp_rmem").read_text().split()[2])
    wmem = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    return rmem + wmem


async def wait_for(condition: Callable[[], bool], seconds: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


class GatedSqliteSink:
    """Holds the first batch until ``gate`` opens, then stores every batch in SQLite (one transaction each)."""

    def __init__(self, path: Path) -> None:
        self.gate = threading.Event()
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.execute("CREATE TABLE msg (seq INTEGER, size INTEGER)")

    async def __call__(self, batch: list[SyslogMessage]) -> None:
        await asyncio.to_thread(self._write, batch)

    def _write(self, batch: list[SyslogMessage]) -> None:
        assert self.gate.wait(120), "the test never opened the gate"
        rows = [(int(m.text.split("seq=", 1)[1].split(" ", 1)[0]), len(m.raw)) for m in batch]
        with self.db:
            self.db.executemany("INSERT INTO msg VALUES (?, ?)", rows)

    def sequence(self) -> list[int]:
        return [seq for (seq,) in self.db.execute("SELECT seq FROM msg ORDER BY rowid")]


class Sender(threading.Thread):
    """Writes ``total`` messages with blocking sends (TLS or not) and counts the bytes the kernel took."""

    def __init__(self, address: tuple[str, int], total: int, tls: ssl.SSLContext | None) -> None:
        super().__init__(daemon=True)
        self.address, self.total, self.tls = address, total, tls
        self.sent_bytes = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            raw = socket.create_connection(self.address, timeout=120)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
            sock = self.tls.wrap_socket(raw, server_hostname="localhost") if self.tls else raw
            with sock:
                chunk: list[bytes] = []
                for seq in range(self.total):
                    line = b"<13>Nov 23 12:00:00 h bp: seq=%d pad=%s" % (seq, PAD)
                    # octet counting over TLS (RFC 5425), LF framing over TCP
                    chunk.append(b"%d %s" % (len(line), line) if self.tls else line + b"\n")
                    if len(chunk) == 64 or seq == self.total - 1:
                        data = b"".join(chunk)
                        sock.sendall(data)
                        self.sent_bytes += len(data)
                        chunk.clear()
        except BaseException as exc:  # reported by the test
            self.error = exc


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_slow_sink_fast_sender_every_message_arrives_once_in_order(transport: str, tmp_path: Path) -> None:
    # More bytes than the kernel can hold for the connection, twice over: while the sink is stopped the
    # sender cannot finish unless the receiver drops something.
    total = 2 * kernel_buffer_bytes() // (len(PAD) + 40) + 4000
    sink = GatedSqliteSink(tmp_path / "store.db")
    cert, key = self_signed(tmp_path)

    async def main() -> SyslogReceiver:
        receiver = SyslogReceiver(sink, max_pending=1000, batch_size=100, flush_interval=0.05)
        await receiver.start("127.0.0.1", 0, udp=False, tls=tls_context(cert, key), tls_port=0)
        address = receiver.tls_address if transport == "tls" else receiver.tcp_address
        assert address is not None
        client = ssl.create_default_context(cafile=str(cert)) if transport == "tls" else None
        sender = Sender(address, total, client)
        try:
            sender.start()
            await wait_for(lambda: receiver.stats().backpressure_pauses >= 1 or sender.error is not None)
            # The receiver stopped reading with its queue full; the sender is held by the kernel.
            assert receiver.pending >= 1000 - 100
            assert sender.is_alive() and sender.error is None
            sink.gate.set()
            await wait_for(lambda: not sender.is_alive(), 300)
            assert sender.error is None, repr(sender.error)
            await wait_for(lambda: receiver.stats().delivered == total, 300)
        finally:
            sink.gate.set()
            await receiver.close()
        return receiver

    receiver = asyncio.run(main())
    s = receiver.stats()
    assert (s.received, s.parsed, s.delivered, s.dropped, s.lost) == (total, total, total, {}, {})
    assert s.by_transport == {transport: total}
    assert s.backpressure_pauses >= 1
    assert sink.sequence() == list(range(total))


def test_udp_flood_into_a_stopped_sink_is_accounted_by_reason(tmp_path: Path) -> None:
    sent = 6000
    sink = GatedSqliteSink(tmp_path / "store.db")

    async def main() -> SyslogReceiver:
        receiver = SyslogReceiver(sink, max_pending=300, batch_size=100, rate=1e9, burst=1e9)
        await receiver.start("127.0.0.1", 0, tcp=False)
        assert receiver.udp_address is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # Without yielding to the loop: the socket's buffer overflows in the kernel, which counts the drops.
            for seq in range(sent):
                sock.sendto(b"<13>Nov 23 12:00:00 h bp: seq=%d pad=%s" % (seq, PAD), receiver.udp_address)
            await wait_for(lambda: receiver.stats().received == sent)
        finally:
            sock.close()
            sink.gate.set()
            await receiver.close()
        return receiver

    s = asyncio.run(main()).stats()
    assert s.received == sent == s.parsed + sum(s.dropped.values())
    assert s.parsed == s.delivered + sum(s.lost.values())
    assert s.dropped.get("socket_overflow", 0) > 0, s
    assert s.lost.get("queue_full", 0) > 0, s
    assert set(s.dropped) == {"socket_overflow"} and set(s.lost) == {"queue_full"}
    assert s.by_transport == {"udp": sent}
    assert len(sink.sequence()) == s.delivered
