"""The syslog receiver on real sockets: util-linux logger over UDP and TCP (RFC 3164 and 5424, both TCP
framings), a flood from a socket loop whose counters add up, and a Cisco link-down line from a known
device's address that ends as an alert in a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from netwarden.alerts import service as alerts
from netwarden.context import Context
from netwarden.inventory import porting
from netwarden.security.network_events import alert_sink
from netwarden.security.syslog import SyslogMessage, SyslogReceiver
from tests.conftest import ADMIN, VIEWER
from tests.support.lab_inventory import inventory_yaml


async def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def receiving(sink: Any = None, **kw: Any) -> AsyncIterator[tuple[SyslogReceiver, list[SyslogMessage]]]:
    got: list[SyslogMessage] = []
    receiver = SyslogReceiver(sink or got.extend, **kw)
    await receiver.start("127.0.0.1", 0)
    try:
        yield receiver, got
    finally:
        await receiver.close()


async def logger(*argv: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        "logger", *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, err.decode(errors="replace")


@pytest.fixture
def logger_cmd() -> None:
    if shutil.which("logger") is None:
        pytest.skip("util-linux logger is not installed (Debian package bsdutils)")


@pytest.mark.parametrize(
    ("transport", "fmt"),
    [
        ("--udp", "--rfc3164"),
        ("--udp", "--rfc5424"),
        ("--tcp", "--rfc3164"),
        ("--tcp", "--rfc5424"),
        ("--tcp", "--octet-count"),
    ],
)
def test_logger_messages_arrive_parsed(logger_cmd: None, transport: str, fmt: str) -> None:
    async def main() -> list[SyslogMessage]:
        async with receiving() as (receiver, got):
            assert receiver.udp_address and receiver.tcp_address
            port = (receiver.udp_address if transport == "--udp" else receiver.tcp_address)[1]
            extra = [fmt] if fmt != "--octet-count" else ["--rfc5424", fmt]
            for i in range(3):
                await logger(
                    "--server", "127.0.0.1", "--port", str(port), transport, *extra,
                    "-t", "nwtest", "-p", "local7.warning", f"message {i} %LINK-3-UPDOWN: Interface eth{i}",
                )  # fmt: skip
            await wait_for(lambda: len(got) == 3)
        return got

    got = asyncio.run(main())
    assert [m.text for m in got] == [f"message {i} %LINK-3-UPDOWN: Interface eth{i}" for i in range(3)]
    assert {(m.app, m.facility_name, m.severity_name, m.source) for m in got} == {
        ("nwtest", "local7", "warning", "127.0.0.1")
    }
    assert all(m.host and m.time is not None for m in got)
    assert {m.rfc for m in got} == {5424 if fmt != "--rfc3164" else 3164}


def test_a_flood_is_bounded_and_every_line_accounted_for() -> None:
    total = 5000

    async def main() -> tuple[SyslogReceiver, list[SyslogMessage]]:
        async with receiving(rate=100, burst=1000, batch_size=500) as (receiver, got):
            assert receiver.udp_address and receiver.tcp_address
            udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            tcp = socket.create_connection(receiver.tcp_address)
            try:
                for i in range(total // 2):
                    udp.sendto(b"<13>Nov 23 12:00:00 h flood: udp %d" % i, receiver.udp_address)
                    if i % 100 == 0:
                        await asyncio.sleep(0)  # let the loop read, as a real sender's pace would
                lines = b"".join(b"<13>Nov 23 12:00:00 h flood: tcp %d\n" % i for i in range(total // 2 - 10))
                tcp.sendall(lines + b"<13>\n" * 5 + b"garbage\n" * 5)
            finally:
                udp.close()
                tcp.close()
            await wait_for(lambda: receiver.stats().received == total)
        return receiver, got

    receiver, got = asyncio.run(main())
    s = receiver.stats()
    assert s.received == total == s.parsed + sum(s.dropped.values())
    assert s.parsed == s.delivered == len(got)
    # One sender (127.0.0.1): the bucket lets the burst and what refills through, the rest is counted.
    assert 1000 <= s.parsed < total and s.dropped["rate_limited"] > 0
    assert s.batches >= s.delivered // 500 and not s.lost


def test_cisco_link_down_from_known_devices_becomes_one_link_alert(ctx: Context, logger_cmd: None) -> None:
    document = inventory_yaml()
    # r1 and r2 are managed at loopback addresses this test can send from.
    for name, address in (("r1", "127.0.0.11"), ("r2", "127.0.0.12")):
        document = re.sub(rf"(- name: {name}\n(?:    .*\n)*?    mgmt_ip: )\S+", rf"\g<1>{address}", document)
    with ctx.db() as db:
        porting.import_inventory(db, ADMIN, None, porting.parse_yaml(document))

    def open_alerts() -> list[Any]:
        with ctx.db() as db:
            return alerts.list_alerts(db, VIEWER)

    async def main() -> None:
        async with receiving(alert_sink(ctx, ADMIN)) as (receiver, _got):
            assert receiver.udp_address
            for source in ("127.0.0.11", "127.0.0.12"):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.bind((source, 0))
                line = b"<187>41: *Mar  1 00:12:31.467: %LINK-3-UPDOWN: Interface eth1, changed state to down"
                sock.sendto(line, receiver.udp_address)
                sock.close()
            await wait_for(lambda: receiver.stats().delivered == 2)
            await wait_for(lambda: len(open_alerts()) == 1)

    asyncio.run(main())
    [alert] = open_alerts()
    assert (alert.device, alert.state) == ("r1--r2", "open")
