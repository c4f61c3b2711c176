"""TCP probes against listeners this test opens on 127.0.0.1 and ::1.

``filtered`` (no answer at all) is made without a firewall: a listener with a backlog of 0 that
never accepts fills up after one connection, and Linux then drops further SYNs, so they time out.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netwarden.collect.records import TargetResult
from netwarden.collect.tcp import PortState, TcpOptions, escape_banner, parse_ports, probe, probe_iter, probe_port
from netwarden.errors import InvalidInput

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _value(result: TargetResult[PortState]) -> PortState:
    assert result.value is not None
    return result.value


def _free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound and released: the kernel will refuse connections to it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def serve(handler: Handler, host: str = "127.0.0.1") -> AsyncIterator[int]:
    server = await asyncio.start_server(handler, host, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 1)


def banner(data: bytes, hold: float = 5.0) -> Handler:
    """A service that sends ``data`` then keeps the connection open."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        with contextlib.suppress(Exception):
            await writer.drain()
            await asyncio.wait_for(reader.read(1), hold)
        writer.close()

    return handle


async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Accept, then say nothing until the client goes away."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(reader.read(1), 30)
    writer.close()


@contextlib.contextmanager
def full_backlog() -> Iterator[int]:
    """A port whose SYNs go unanswered: the accept queue is full and nobody accepts."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(2):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    try:
        yield port
    finally:
        for sock in [*fillers, listener]:
            sock.close()


def test_open_closed_and_banner() -> None:
    async def run() -> list[TargetResult[PortState]]:
        async with serve(banner(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")) as ssh:
            closed = _free_port()
            return await probe("127.0.0.1", [ssh, closed], banner=True, timeout=2.0, banner_timeout=2.0)

    opened, closed = sorted(asyncio.run(run()), key=lambda r: _value(r).state != "open")
    assert opened.ok and _value(opened).state == "open"
    assert _value(opened).banner == "SSH-2.0-OpenSSH_9.2p1 Debian-2"
    assert _value(opened).rtt is not None
    assert (closed.ok, closed.reason, _value(closed).state) == (False, "refused", "closed")
    assert closed.target == f"127.0.0.1:{_value(closed).port}"
    assert closed.attempts == 1  # a reset is an answer: no retry


def test_without_banner_grab_a_silent_service_is_simply_open() -> None:
    async def run() -> TargetResult[PortState]:
        async with serve(hang) as port:
            return await probe_port("127.0.0.1", port, TcpOptions(timeout=2.0))

    result = asyncio.run(run())
    assert result.ok and _value(result).state == "open" and _value(result).banner is None


def test_a_service_that_accepts_then_hangs_is_a_timeout_and_holds_up_nobody() -> None:
    """Results come in completion order: the quick ports finish before the silent one ends."""

    async def run() -> list[TargetResult[PortState]]:
        async with serve(hang) as silent, serve(banner(b"220 ready\r\n")) as ftp:
            closed = _free_port()
            options = TcpOptions(timeout=2.0, banner=True, banner_timeout=1.0, concurrency=4)
            async with contextlib.aclosing(probe_iter("127.0.0.1", [silent, ftp, closed], options=options)) as items:
                return [r async for r in items]

    results = asyncio.run(run())
    assert len(results) == 3
    last = results[-1]
    assert (last.ok, last.reason, _value(last).state, _value(last).banner) == (False, "timeout", "open", None)
    assert "no banner" in last.detail
    quick = {_value(r).state: r for r in results[:2]}
    assert quick["open"].ok and _value(quick["open"]).banner == "220 ready"
    assert quick["closed"].reason == "refused"


def test_garbage_banners_come_back_escaped() -> None:
    garbage = bytes(range(256)) + "é€\U0001f600".encode() + b"\x1b[31mred\x1b[0m\\"

    async def run() -> TargetResult[PortState]:
        async with serve(banner(garbage)) as port:
            return await probe_port(
                "127.0.0.1", port, TcpOptions(timeout=2.0, banner=True, banner_bytes=4096, banner_timeout=1.0)
            )

    result = asyncio.run(run())
    text = _value(result).banner
    assert result.ok and text is not None
    assert text.isprintable()
    assert "\x1b" not in text and "\\x1b[31mred" in text
    assert "é€\U0001f600" in text
    assert text.endswith("\\\\")


def test_a_banner_is_cut_at_banner_bytes() -> None:
    async def run() -> TargetResult[PortState]:
        async with serve(banner(b"x" * 10_000)) as port:
            return await probe_port("127.0.0.1", port, TcpOptions(banner=True, banner_bytes=100, banner_timeout=1.0))

    assert _value(asyncio.run(run())).banner == "x" * 100


def test_a_service_that_closes_at_once_has_an_empty_banner() -> None:
    async def close_now(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    async def run() -> TargetResult[PortState]:
        async with serve(close_now) as port:
            return await probe_port("127.0.0.1", port, TcpOptions(banner=True, banner_timeout=2.0))

    result = asyncio.run(run())
    assert result.ok and _value(result).banner == ""


def test_unanswered_syns_are_filtered_after_the_retries() -> None:
    with full_backlog() as port:
        result = asyncio.run(probe_port("127.0.0.1", port, TcpOptions(timeout=0.3, retries=1)))
    assert (result.ok, result.reason, _value(result).state, result.attempts) == (False, "timeout", "filtered", 2)
    assert "2 connection attempts" in result.detail


def test_ipv6() -> None:
    async def run() -> list[TargetResult[PortState]]:
        async with serve(banner(b"hello\n"), host="::1") as port:
            return await probe("::1", [port, _free_port("::1")], banner=True, banner_timeout=1.0)

    results = asyncio.run(run())
    states = {_value(r).state: r for r in results}
    assert states["open"].target.startswith("[::1]:")
    assert _value(states["open"]).banner == "hello"
    assert states["closed"].reason == "refused"


def test_a_range_of_loopback_addresses() -> None:
    async def run() -> list[TargetResult[PortState]]:
        async with serve(banner(b"hi\n"), host="0.0.0.0") as port:
            progress: list[tuple[int, int]] = []
            results = await probe(
                ["127.0.9.0/29"], [port, _free_port()], concurrency=3, progress=lambda d, t: progress.append((d, t))
            )
            assert progress[-1] == (12, 12)
            return results

    results = asyncio.run(run())
    assert len(results) == 12  # 6 hosts x 2 ports
    assert [_value(r).address for r in results[::2]] == [f"127.0.9.{i}" for i in range(1, 7)]
    for i in range(0, 12, 2):
        assert {_value(r).state for r in results[i : i + 2]} == {"open", "closed"}


def test_stopping_early_closes_every_socket() -> None:
    def fds() -> set[str]:
        return set(os.listdir("/proc/self/fd"))

    async def run() -> int:
        async with serve(hang) as port:
            before = fds()
            options = TcpOptions(timeout=2.0, banner=True, banner_timeout=5.0, concurrency=50)
            stream = probe_iter(["127.0.10.0/26"], [port, _free_port()], options=options)
            async with contextlib.aclosing(stream) as items:
                async for result in items:
                    assert result.reason == "refused"
                    break  # 50 silent connections are still open now
            await asyncio.sleep(0)
            leaked = fds() - before
            return len(leaked)

    assert asyncio.run(run()) == 0


def test_bad_input() -> None:
    with pytest.raises(InvalidInput, match="invalid CIDR"):
        asyncio.run(probe(["127.0.0.0/99"], [22]))
    with pytest.raises(InvalidInput, match="--force"):
        asyncio.run(probe(["127.0.0.0/8"], [22]))
    with pytest.raises(InvalidInput, match="timeout"):
        TcpOptions(timeout=0)
    with pytest.raises(InvalidInput):
        TcpOptions(concurrency=0, banner_bytes=0)


@pytest.mark.parametrize(
    ("spec", "ports"),
    [("22", [22]), ("80,22,22", [22, 80]), ("8000-8003, 1", [1, 8000, 8001, 8002, 8003]), ([443, 22], [22, 443])],
)
def test_parse_ports(spec: str | list[int], ports: list[int]) -> None:
    assert parse_ports(spec) == ports


@pytest.mark.parametrize("spec", ["", "0", "65536", "22-10", "ssh", "1-2-3", [0], [True], ["22"], [70000]])
def test_bad_ports_are_invalid_input(spec: str | list[object]) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_ports(spec)  # type: ignore[arg-type]
    assert "\n" not in str(err.value)


@given(st.binary(max_size=300))
def test_any_bytes_escape_to_printable_text(data: bytes) -> None:
    text = escape_banner(data)
    assert text.isprintable()
    assert len(text) <= 10 * len(data) + 1


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=100))
def test_printable_text_passes_through(text: str) -> None:
    if "\\" in text or not text.isprintable():
        return
    assert escape_banner(text.encode()) == text


def test_escapes_by_hand() -> None:
    assert escape_banner(b"SSH-2.0-x\r\n") == "SSH-2.0-x"
    assert escape_banner(b"a\tb\r\nc\n") == "a\\tb\\r\\nc"
    assert escape_banner(b"\x00\xff\\") == "\\x00\\xff\\\\"
    assert escape_banner(b"\xc2\x85") == "\\x85"  # a C1 control, valid UTF-8, still escaped
    assert escape_banner(b"\xed\xa0\x80") == "\\xed\\xa0\\x80"  # an encoded surrogate is not UTF-8
