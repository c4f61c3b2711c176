"""The epoll connect scan on loopback: open, closed, and silent (a listener whose queue is full)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterator

import pytest

from netwarden.errors import InvalidInput
from netwarden.security.scan.portscan import PortResult, connect_scan

HOST = f"127.79.{os.getpid() % 250 + 1}.1"


@pytest.fixture
def listeners() -> Iterator[list[socket.socket]]:
    socks = []
    for _ in range(3):
        sock = socket.socket()
        sock.bind((HOST, 0))
        sock.listen(64)
        socks.append(sock)
    yield socks
    for sock in socks:
        sock.close()


def free_ports(n: int) -> list[int]:
    ports = []
    holders = []
    for _ in range(n):
        sock = socket.socket()
        sock.bind((HOST, 0))
        holders.append(sock)
        ports.append(sock.getsockname()[1])
    for sock in holders:
        sock.close()
    return ports


def scan(pairs: list[tuple[str, int]], **kw: float) -> list[PortResult]:
    async def run() -> list[PortResult]:
        out = []
        async with contextlib.aclosing(connect_scan(pairs, **kw)) as results:  # type: ignore[arg-type]
            async for result in results:
                out.append(result)
        return out

    return asyncio.run(run())


def test_open_and_closed_ports_each_get_one_result(listeners: list[socket.socket]) -> None:
    opened = [s.getsockname()[1] for s in listeners]
    closed = free_ports(200)
    pairs = [(HOST, p) for p in opened + closed]
    seen: list[tuple[int, int]] = []
    results = scan(pairs, concurrency=16, progress=lambda d, t: seen.append((d, t)))  # type: ignore[arg-type]
    assert sorted((r.port, r.state) for r in results) == sorted(
        [(p, "open") for p in opened] + [(p, "closed") for p in closed]
    )
    assert {r.reason for r in results if r.state == "closed"} == {"refused"}
    assert len(seen) == len(pairs) and seen[-1][0] == len(pairs)


def test_a_listener_with_a_full_queue_is_filtered_after_the_retries() -> None:
    full = socket.socket()
    full.bind((HOST, 0))
    full.listen(0)
    port = full.getsockname()[1]
    queued = []
    try:
        dropped = False
        for _ in range(4):  # fill the accept queue: later SYNs are dropped, as a filter drops them
            client = socket.socket()
            client.settimeout(0.5)
            queued.append(client)
            try:
                client.connect((HOST, port))
            except TimeoutError:
                dropped = True
                break
        assert dropped, "the kernel kept accepting: the queue never filled"
        results = scan([(HOST, port)], timeout=0.3, retries=1)
    finally:
        for client in queued:
            client.close()
        full.close()
    assert [(r.state, r.reason) for r in results] == [("filtered", "timeout")]


def test_stopping_early_closes_every_socket(listeners: list[socket.socket]) -> None:
    before = len(os.listdir("/proc/self/fd"))

    async def first_few() -> int:
        count = 0
        stream = connect_scan(((HOST, p) for p in free_ports(500)), concurrency=64)
        async with contextlib.aclosing(stream) as results:
            async for _ in results:
                count += 1
                if count == 10:
                    break
        return count

    assert asyncio.run(first_few()) == 10
    assert len(os.listdir("/proc/self/fd")) <= before


@pytest.mark.parametrize("kw", [{"timeout": 0}, {"retries": 11}, {"concurrency": 0}])
def test_bad_options(kw: dict[str, float]) -> None:
    with pytest.raises(InvalidInput):
        scan([(HOST, 1)], **kw)
