"""Hostile or broken services never crash a scan, hang it, or reach its output unescaped.

Each server below runs on its own loopback port in a child process: an endless stream, binary
garbage, an SSH identification followed by an impossible packet length, an SSH line of 1 KiB,
a service that accepts and closes at once, one that accepts and never speaks nor reads, a 1 MiB
HTTP header, a telnet server that negotiates for ever, and an ANSI escape sequence as a banner.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from netwarden.security.scan.probe import GrabOptions, grab
from netwarden.security.scan.schemas import ServiceOut

HOST = f"127.81.{os.getpid() % 250 + 1}.1"
KINDS = ["endless", "garbage", "ssh_bad_packet", "ssh_long", "close", "silent", "http_huge", "telnet_forever", "ansi"]

SERVERS = r"""
import asyncio, os, sys

async def endless(r, w):
    try:
        while True:
            w.write(b"A" * 65536)
            await w.drain()
    except (ConnectionError, OSError):
        pass

async def garbage(r, w):
    w.write(bytes(range(256)) * 4)
    await w.drain()
    await asyncio.sleep(30)

async def ssh_bad_packet(r, w):
    w.write(b"SSH-2.0-Evil_1.0\r\n")
    await w.drain()
    await r.readline()
    w.write(b"\xff\xff\xff\xf0\x04" + b"\x00" * 64)
    await w.drain()
    await asyncio.sleep(30)

async def ssh_long(r, w):
    w.write(b"SSH-2.0-" + b"x" * 1024 + b"\r\n")
    await w.drain()
    await asyncio.sleep(30)

async def close(r, w):
    w.close()

async def silent(r, w):
    await asyncio.sleep(60)

async def http_huge(r, w):
    await r.read(100)
    w.write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"b" * (1 << 20) + b"\r\n\r\n")
    try:
        await w.drain()
    except (ConnectionError, OSError):
        pass

async def telnet_forever(r, w):
    try:
        for n in range(100000):
            w.write(bytes([255, 253, n % 250]))
            await w.drain()
            await asyncio.sleep(0.01)
    except (ConnectionError, OSError):
        pass

async def ansi(r, w):
    w.write(b"\x1b[2J\x1b[31mHELLO\x07\r\n")
    await w.drain()
    await asyncio.sleep(30)

async def main(host, ports):
    servers = [await asyncio.start_server(globals()[k], host, int(p)) for k, p in ports]
    print("ready", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))

pairs = [a.split("=") for a in sys.argv[2:]]
asyncio.run(main(sys.argv[1], pairs))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, int]]:
    ports = {kind: free_port() for kind in KINDS}
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVERS, HOST, *(f"{k}={p}" for k, p in ports.items())],
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        yield ports
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_every_hostile_service_ends_in_a_record(servers: dict[str, int]) -> None:
    options = GrabOptions(connect_timeout=1.0, greeting_wait=0.5, read_timeout=1.0, max_bytes=16384)

    async def all_of_them() -> dict[str, ServiceOut]:
        results = await asyncio.gather(*(grab(HOST, port, options) for port in servers.values()))
        return dict(zip(servers, results, strict=True))

    started = time.monotonic()
    found = asyncio.run(all_of_them())
    elapsed = time.monotonic() - started
    # Every probe is bounded: at most three connections, each read bounded by its own deadline.
    bound = 3 * (options.connect_timeout + options.greeting_wait + 10 * options.read_timeout)
    assert elapsed < bound, elapsed
    for kind, service in found.items():
        assert service.port == servers[kind]
        text = service.model_dump_json()
        assert "\x1b" not in text and "\x00" not in text and "\x07" not in text, kind
        assert len(service.banner) <= 300, kind
    assert found["ssh_bad_packet"].service == "ssh" and found["ssh_bad_packet"].ssh is not None
    assert found["ssh_bad_packet"].ssh.kex == [] and found["ssh_bad_packet"].detail
    assert found["ssh_long"].service == "ssh"
    assert found["telnet_forever"].service == "telnet"
    assert found["ansi"].banner == "\\x1b[2J\\x1b[31mHELLO\\x07"
    assert found["http_huge"].service == "http" and found["http_huge"].http is not None
    assert found["silent"].service == "unknown"
