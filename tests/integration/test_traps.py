"""The trap receiver against net-snmp's own senders (snmptrap, snmpinform) on loopback, a flood from
a socket loop, and device names from a real store (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from netwarden.alerts.events import Event
from netwarden.collect import _ber as ber
from netwarden.collect import snmp
from netwarden.context import Context
from netwarden.inventory import service
from netwarden.inventory.schemas import CredentialIn, DeviceIn, InterfaceIn, IPAddressIn, SiteIn
from netwarden.monitor.traps import TrapReceiver, inventory_lookup, start_from_settings
from tests.conftest import ADMIN

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
IF_INDEX, IF_DESCR = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.2"
AUTH, PRIV = "authpass123", "privpass123"
SENDER_ENGINE = "0x8000000001020304"
V3_ARGS = ["-v", "3", "-u", "trapuser", "-l", "authPriv", "-a", "SHA", "-A", AUTH, "-x", "AES", "-X", PRIV]


@pytest.fixture
def snmp_env(tmp_path: Path) -> dict[str, str]:
    if shutil.which("snmptrap") is None or shutil.which("snmpinform") is None:
        pytest.skip("net-snmp's snmptrap/snmpinform are not installed (Debian package snmp; make test installs it)")
    persist = tmp_path / "snmp-persist"
    persist.mkdir()
    # No MIB loading (numeric OIDs only) and no writes to the user's ~/.snmp.
    return {**os.environ, "SNMP_PERSISTENT_DIR": str(persist), "MIBS": "", "HOME": str(tmp_path)}


async def send(env: dict[str, str], *argv: str) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode or 0, err.decode(errors="replace")


async def wait_for(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    """Poll ``condition`` until it holds; fail after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def receiving(**kw: Any) -> AsyncIterator[tuple[TrapReceiver, list[list[Event]]]]:
    batches: list[list[Event]] = []
    kw.setdefault("users", [snmp.V3("trapuser", "sha", AUTH, "aes", PRIV)])
    receiver = TrapReceiver(batches.append, **kw)
    await receiver.start("127.0.0.1", 0)
    try:
        yield receiver, batches
    finally:
        await receiver.close()


def flat(batches: list[list[Event]]) -> list[Event]:
    return [e for b in batches for e in b]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_v2c_link_down_from_snmptrap(snmp_env: dict[str, str]) -> None:
    async def body() -> None:
        async with receiving(flush_interval=0.05) as (rx, batches):
            target = f"127.0.0.1:{rx.address[1]}"
            rc, err = await send(
                snmp_env, "snmptrap", "-v", "2c", "-c", "public", target, "", LINK_DOWN,
                f"{IF_INDEX}.3", "i", "3", f"{IF_DESCR}.3", "s", "eth2",
            )  # fmt: skip
            assert rc == 0, err
            await wait_for(lambda: len(flat(batches)) == 1)
        [event] = flat(batches)
        assert (event.kind, event.subject, event.device, event.source) == (
            "interface_down",
            "127.0.0.1:eth2",
            "127.0.0.1",
            "trap",
        )
        assert "ifIndex.3=3" in event.raw and "v2c" in event.raw

    run(body())


def test_v1_trap_from_snmptrap(snmp_env: dict[str, str]) -> None:
    async def body() -> None:
        async with receiving(flush_interval=0.05) as (rx, batches):
            target = f"127.0.0.1:{rx.address[1]}"
            # enterprise, agent-addr, generic 3 (linkUp), specific 0, uptime
            rc, err = await send(
                snmp_env, "snmptrap", "-v", "1", "-c", "public", target, "1.3.6.1.4.1.8072.3.2.10",
                "127.0.0.1", "3", "0", "", f"{IF_INDEX}.7", "i", "7", f"{IF_DESCR}.7", "s", "eth6",
            )  # fmt: skip
            assert rc == 0, err
            await wait_for(lambda: len(flat(batches)) == 1)
        [event] = flat(batches)
        assert (event.kind, event.subject) == ("interface_up", "127.0.0.1:eth6")
        assert event.raw.startswith("v1 from 127.0.0.1")

    run(body())


def test_v3_auth_priv_trap_keyed_to_the_senders_engine(snmp_env: dict[str, str]) -> None:
    async def body() -> None:
        async with receiving(flush_interval=0.05) as (rx, batches):
            target = f"127.0.0.1:{rx.address[1]}"
            rc, err = await send(snmp_env, "snmptrap", *V3_ARGS, "-e", SENDER_ENGINE, target, "", "1.3.6.1.6.3.1.1.5.1")
            assert rc == 0, err
            await wait_for(lambda: len(flat(batches)) == 1)
            wrong = [a if a != AUTH else "notthekey1" for a in V3_ARGS]
            rc, err = await send(snmp_env, "snmptrap", *wrong, "-e", SENDER_ENGINE, target, "", "1.3.6.1.6.3.1.1.5.1")
            assert rc == 0, err
            await wait_for(lambda: rx.stats().dropped.get("bad_auth") == 1)
        [event] = flat(batches)
        assert (event.kind, event.severity) == ("reboot", "warning")
        assert "user trapuser" in event.raw
        stats = rx.stats()
        assert (stats.received, stats.decoded) == (2, 1)

    run(body())


def test_informs_v2c_and_v3_are_answered(snmp_env: dict[str, str]) -> None:
    async def body() -> None:
        async with receiving(flush_interval=0.05) as (rx, batches):
            target = f"127.0.0.1:{rx.address[1]}"
            rc, err = await send(
                snmp_env, "snmpinform", "-v", "2c", "-c", "public", "-t", "2", "-r", "1", target, "",
                "1.3.6.1.4.1.8072.2.3.0.1",
            )  # fmt: skip
            assert rc == 0, err  # snmpinform exits non-zero when no Response comes back
            peer = "10.0.0.2"
            rc, err = await send(
                snmp_env, "snmpinform", *V3_ARGS, "-t", "2", "-r", "1", target, "", "1.3.6.1.2.1.15.0.2",
                f"1.3.6.1.2.1.15.3.1.7.{peer}", "a", peer, f"1.3.6.1.2.1.15.3.1.2.{peer}", "i", "1",
            )  # fmt: skip
            assert rc == 0, err
            await wait_for(lambda: len(flat(batches)) == 2)
            # The wrong key: no answer, so snmpinform gives up; the receiver counts why.
            wrong = [a if a != PRIV else "notthekey1" for a in V3_ARGS]
            rc, _err = await send(snmp_env, "snmpinform", *wrong, "-t", "0.3", "-r", "0", target, "", LINK_DOWN)
            assert rc != 0
        first, second = flat(batches)
        assert (first.kind, first.subject) == ("trap", "127.0.0.1")
        assert (second.kind, second.subject) == ("neighbor_down", f"127.0.0.1:bgp:{peer}")
        stats = rx.stats()
        assert stats.probes >= 1 and stats.answered >= 3  # discovery report(s) + two Responses
        assert stats.dropped.get("decrypt_failed", 0) >= 1
        assert stats.received == stats.decoded + stats.probes + sum(stats.dropped.values())

    run(body())


def test_a_wrong_community_is_dropped_and_counted(snmp_env: dict[str, str]) -> None:
    async def body() -> None:
        async with receiving(flush_interval=0.05, communities=["s3cret"]) as (rx, batches):
            target = f"127.0.0.1:{rx.address[1]}"
            rc, err = await send(snmp_env, "snmptrap", "-v", "2c", "-c", "public", target, "", LINK_DOWN)
            assert rc == 0, err
            await wait_for(lambda: rx.stats().received == 1)
            rc, err = await send(snmp_env, "snmptrap", "-v", "2c", "-c", "s3cret", target, "", LINK_DOWN)
            assert rc == 0, err
            await wait_for(lambda: len(flat(batches)) == 1)
        assert rx.stats().dropped == {"unknown_community": 1}

    run(body())


def _link_down_datagram(index: int) -> bytes:
    pairs = [
        (ber.encode_oid("1.3.6.1.2.1.1.3.0"), ber.encode_int(index, ber.TIMETICKS)),
        (ber.encode_oid("1.3.6.1.6.3.1.1.4.1.0"), ber.tlv(ber.OBJECT_ID, ber.encode_oid(LINK_DOWN))),
        (ber.encode_oid(f"{IF_INDEX}.{index}"), ber.encode_int(index)),
        (ber.encode_oid(f"{IF_DESCR}.{index}"), ber.tlv(ber.OCTET_STRING, f"eth{index}".encode())),
    ]
    pdu = ber.tlv(0xA7, ber.encode_int(index) + b"\x02\x01\x00\x02\x01\x00" + ber.encode_varbinds(pairs))
    return ber.seq(ber.encode_int(1), ber.tlv(ber.OCTET_STRING, b"public"), pdu)


def test_a_flood_is_bounded_counted_and_delivered_in_batches() -> None:
    total, burst, chunk = 5000, 1000, 250

    async def body() -> None:
        # One token a second after the burst: whatever the machine's speed, most of the flood is excess.
        async with receiving(rate=1, burst=burst) as (rx, batches):
            flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            other.bind(("127.0.0.2", 0))  # a second device, with its own bucket
            try:
                for start in range(0, total, chunk):
                    for n in range(start, start + chunk):
                        flood.sendto(_link_down_datagram(n), rx.address)
                    other.sendto(b"\x30\x84\xff\xff\xff\xff garbage", rx.address)
                    other.sendto(_link_down_datagram(start), rx.address)
                    sent = start + chunk + 2 * (start // chunk + 1)
                    # Pace on what the receiver has read, so the kernel's buffer never overflows.
                    await wait_for(lambda sent=sent: rx.stats().received == sent)
            finally:
                flood.close()
                other.close()
            await wait_for(lambda: rx.stats().delivered == rx.stats().events)
        stats = rx.stats()
        rounds = total // chunk
        assert stats.received == total + 2 * rounds
        assert stats.received == stats.decoded + stats.probes + sum(stats.dropped.values())
        assert stats.dropped["malformed"] == rounds
        assert burst <= stats.decoded - rounds < total and stats.dropped["rate_limited"] > 0
        events = flat(batches)
        assert len(events) == stats.decoded == stats.delivered
        assert sum(e.device == "127.0.0.2" for e in events) == rounds  # never limited by the other's flood
        assert all(1 <= len(b) <= 500 for b in batches) and len(batches) == stats.batches
        assert len(batches) <= len(events) // 10  # a few transactions, not one per trap

    run(body())


# ---------------------------------------------------------------- with a store


def _inventory(ctx: Context) -> None:
    from netwarden.inventory.credentials import add_credential

    with ctx.db() as db:
        service.add_site(db, ADMIN, SiteIn(name="hq"))
        service.add_device(db, ADMIN, DeviceIn(name="edge1", site="hq", platform="linux", mgmt_ip="127.0.0.1"))
        service.add_device(db, ADMIN, DeviceIn(name="core2", site="hq", platform="frr", mgmt_ip="192.0.2.50"))
        service.add_interface(db, ADMIN, "core2", InterfaceIn(name="lo1"))
        service.add_ip_address(db, ADMIN, IPAddressIn(address="127.0.0.2/32", device="core2", interface="lo1"))
        add_credential(
            db,
            ADMIN,
            ctx.vault,
            CredentialIn.model_validate(
                {
                    "name": "traps-v3",
                    "kind": "snmp-v3",
                    "username": "trapuser",
                    "secret": AUTH,
                    "priv_secret": PRIV,
                    "params": {"auth_protocol": "sha", "priv_protocol": "aes"},
                }
            ),
        )


def test_a_known_sender_is_named_after_its_device(ctx: Context, snmp_env: dict[str, str]) -> None:
    _inventory(ctx)

    async def body() -> None:
        async with receiving(flush_interval=0.05, lookup=inventory_lookup(ctx)) as (rx, batches):
            target = f"127.0.0.1:{rx.address[1]}"
            rc, err = await send(
                snmp_env, "snmptrap", "-v", "2c", "-c", "public", target, "", LINK_DOWN,
                f"{IF_INDEX}.3", "i", "3", f"{IF_DESCR}.3", "s", "eth2",
            )  # fmt: skip
            assert rc == 0, err
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # from core2's interface address
                sock.bind(("127.0.0.2", 0))
                sock.sendto(_link_down_datagram(4), rx.address)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:  # from no known device
                sock.bind(("127.0.0.3", 0))
                sock.sendto(_link_down_datagram(5), rx.address)
            await wait_for(lambda: len(flat(batches)) == 3)
        by_device = {e.device: e.subject for e in flat(batches)}
        assert by_device == {"edge1": "edge1:eth2", "core2": "core2:eth4", "127.0.0.3": "127.0.0.3:eth5"}

    run(body())


def test_start_from_settings_opens_v3_traps_with_stored_credentials(ctx: Context, snmp_env: dict[str, str]) -> None:
    _inventory(ctx)
    settings = ctx.settings.model_copy(
        update={"traps_host": "127.0.0.1", "traps_port": 0, "traps_credentials": ["traps-v3"]}
    )
    ctx = dataclasses.replace(ctx, settings=settings)

    async def body() -> None:
        got: list[Event] = []
        rx = await start_from_settings(ctx, got.extend)
        try:
            target = f"127.0.0.1:{rx.address[1]}"
            rc, err = await send(
                snmp_env, "snmptrap", *V3_ARGS, "-e", SENDER_ENGINE, target, "", "1.3.6.1.2.1.14.16.2.2",
                "1.3.6.1.2.1.14.10.1.3.10.1.1.2.0", "a", "2.2.2.2", "1.3.6.1.2.1.14.10.1.6.10.1.1.2.0", "i", "8",
            )  # fmt: skip
            assert rc == 0, err
            await wait_for(lambda: len(got) == 1)
        finally:
            await rx.close()
        assert (got[0].kind, got[0].subject, got[0].device) == ("neighbor_up", "edge1:ospf:2.2.2.2", "edge1")

    run(body())


def test_the_listen_command_prints_events_as_json_lines(sqlite_ctx: Context, snmp_env: dict[str, str]) -> None:
    _inventory(sqlite_ctx)
    code = "import sys; from netwarden.cli.traps import app; app(sys.argv[1:], prog_name='netwarden traps')"
    argv = [sys.executable, "-c", code, "listen", "--host", "127.0.0.1", "--port", "0", "--json", "--count", "1"]
    argv += ["--data-dir", str(sqlite_ctx.data_dir), "--seconds", "60"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        ready = proc.stderr.readline()  # the command says where it listens before anything else
        assert "listening for SNMP traps on udp 127.0.0.1:" in ready, ready
        port = ready.strip().rsplit(":", 1)[1]
        subprocess.run(
            ["snmptrap", "-v", "2c", "-c", "public", f"127.0.0.1:{port}", "", LINK_DOWN, f"{IF_DESCR}.2", "s", "eth1"],
            env=snmp_env,
            check=True,
            timeout=30,
        )
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err
    [line] = out.splitlines()
    event = json.loads(line)
    assert (event["kind"], event["subject"], event["device"], event["source"]) == (
        "interface_down",
        "edge1:eth1",
        "edge1",
        "trap",
    )
    stats = json.loads(err.strip().splitlines()[-1])["stats"]
    assert (stats["received"], stats["decoded"], stats["events"]) == (1, 1, 1)


def test_traps_open_and_clear_alerts_through_the_alert_sink(ctx: Context, snmp_env: dict[str, str]) -> None:
    from netwarden.alerts.service import list_alerts
    from netwarden.monitor.traps import alert_sink

    _inventory(ctx)

    def active() -> list[tuple[str, str, str]]:
        with ctx.db() as db:
            return [(a.kind, a.subject, a.state) for a in list_alerts(db, ADMIN)]

    async def body() -> None:
        rx = TrapReceiver(alert_sink(ctx, ADMIN), lookup=inventory_lookup(ctx), flush_interval=0.05)
        await rx.start("127.0.0.1", 0)
        try:
            target = f"127.0.0.1:{rx.address[1]}"
            for trap_oid in (LINK_DOWN, "1.3.6.1.6.3.1.1.5.4"):
                rc, err = await send(
                    snmp_env, "snmptrap", "-v", "2c", "-c", "public", target, "", trap_oid,
                    f"{IF_INDEX}.3", "i", "3", f"{IF_DESCR}.3", "s", "eth2",
                )  # fmt: skip
                assert rc == 0, err
                if trap_oid == LINK_DOWN:
                    await wait_for(lambda: active() == [("interface_down", "edge1:eth2", "open")])
            await wait_for(lambda: rx.stats().delivered == 2)
        finally:
            await rx.close()
        assert active() == []  # linkUp cleared it

    run(body())
