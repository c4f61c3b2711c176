"""The SNMP client against a real net-snmp agent (v2c and every v3 protocol pair) and against
misbehaving agents that speak the protocol badly on purpose (garbage, loops, endless walks, silence)."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from netwarden.collect import _ber as ber
from netwarden.collect import snmp
from tests.support.snmpd import free_udp_port, running_snmpd

AUTH = "authpass123"
PRIV = "privpass123"
V3_USERS = [
    ("usha", "sha", "aes", "SHA", "AES"),
    ("umd5", "md5", "des", "MD5", "DES"),
    ("u224", "sha224", "aes192", "SHA-224", "AES-192"),
    ("u256", "sha256", "aes", "SHA-256", "AES"),
    ("u384", "sha384", "aes", "SHA-384", "AES"),
    ("u512", "sha512", "aes256", "SHA-512", "AES-256"),
]


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real snmpd on a loopback port with a v2c community and one v3 user per protocol pair."""
    lines = ["sysName agent-under-test"]
    for user, _a, _p, auth, priv in V3_USERS:
        lines += [f'createUser {user} {auth} "{AUTH}" {priv} "{PRIV}"', f"rouser {user} priv"]
    lines += [f'createUser uauth SHA "{AUTH}"', "rouser uauth auth"]
    with running_snmpd(tmp_path_factory.mktemp("snmpd"), lines) as port:
        yield "127.0.0.1", port


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def sysname(s: snmp.Session) -> Any:
    return s.get(["1.3.6.1.2.1.1.5.0"])


@pytest.mark.parametrize(("user", "auth", "priv"), [(u, a, p) for u, a, p, _, _ in V3_USERS])
def test_v3_auth_priv_with_every_protocol(agent: tuple[str, int], user: str, auth: Any, priv: Any) -> None:
    host, port = agent
    creds = snmp.V3(user, auth, AUTH, priv, PRIV)
    r = run(snmp.collect(host, creds, sysname, port=port))
    assert r.ok, r.describe()
    assert r.value == [("1.3.6.1.2.1.1.5.0", b"agent-under-test")]


def test_v3_auth_without_privacy(agent: tuple[str, int]) -> None:
    host, port = agent
    r = run(snmp.collect(host, snmp.V3("uauth", "sha", AUTH), sysname, port=port))
    assert r.ok, r.describe()


@pytest.mark.parametrize(
    ("creds", "words"),
    [
        (snmp.V3("usha", "sha", "wrong-password", "aes", PRIV), "wrong digest"),
        (snmp.V3("nobody", "sha", AUTH, "aes", PRIV), "unknown SNMPv3 user"),
        (snmp.V3("usha", "sha", AUTH, "aes", "wrong-privacy"), ""),
    ],
)
def test_v3_wrong_credentials_are_auth_failures(agent: tuple[str, int], creds: snmp.V3, words: str) -> None:
    host, port = agent
    r = run(snmp.collect(host, creds, sysname, port=port, timeout=0.5, retries=0))
    # A wrong privacy key decrypts to garbage on the agent side: net-snmp answers with a report or not at all.
    assert r.reason in (("auth_failed",) if words else ("auth_failed", "timeout")), r.describe()
    assert words in r.detail


def test_wrong_community_is_a_timeout(agent: tuple[str, int]) -> None:
    host, port = agent
    r = run(snmp.collect(host, snmp.V2c("nope"), sysname, port=port, timeout=0.3, retries=1))
    assert (r.ok, r.reason, r.attempts) == (False, "timeout", 2)


def test_no_agent_is_refused() -> None:
    r = run(snmp.collect("127.0.0.1", snmp.V2c("public"), sysname, port=free_udp_port(), timeout=1))
    assert r.reason == "refused"


def test_walk_equals_snmpbulkwalk(agent: tuple[str, int]) -> None:
    host, port = agent
    r = run(snmp.collect(host, snmp.V2c("public"), lambda s: s.walk("1.3.6.1.2.1"), port=port))
    assert r.ok, r.describe()
    out = subprocess.run(
        ["snmpbulkwalk", "-m", "", "-On", "-v2c", "-c", "public", f"{host}:{port}", "1.3.6.1.2.1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = [line.split(" = ", 1)[0].lstrip(".") for line in out.splitlines() if " = " in line]
    assert [oid for oid, _ in r.value] == theirs
    assert len(theirs) > 100


def test_column_walk_equals_single_walks(agent: tuple[str, int]) -> None:
    host, port = agent
    cols = ["1.3.6.1.2.1.2.2.1.2", "1.3.6.1.2.1.2.2.1.8", "1.3.6.1.2.1.31.1.1.1.1", "1.3.6.1.2.1.99.99"]

    async def both(s: snmp.Session) -> tuple[Any, Any]:
        together = await s.walk_columns(cols)
        apart = {c: {oid[len(c) + 1 :]: v for oid, v in await s.walk(c)} for c in cols}
        return together, apart

    for reps in (1, 3, 25):
        r = run(snmp.collect(host, snmp.V2c("public"), both, port=port, max_repetitions=reps))
        together, apart = r.value
        assert together == apart
        assert together["1.3.6.1.2.1.99.99"] == {}
        assert together["1.3.6.1.2.1.2.2.1.2"]


def test_get_next_and_get_bulk(agent: tuple[str, int]) -> None:
    host, port = agent

    async def calls(s: snmp.Session) -> tuple[Any, Any, Any]:
        return (
            await s.get_next(["1.3.6.1.2.1.1.4"]),
            await s.get_bulk(["1.3.6.1.2.1.1.1", "1.3.6.1.2.1.2.2.1.2"], non_repeaters=1, max_repetitions=2),
            await s.get(["1.3.6.1.2.1.1.77.0"]),
        )

    nxt, bulk, missing = run(snmp.collect(host, snmp.V2c("public"), calls, port=port)).value
    assert nxt[0][0] == "1.3.6.1.2.1.1.4.0"
    assert bulk[0][0] == "1.3.6.1.2.1.1.1.0" and len(bulk) == 3
    assert missing[0][1] in (snmp.NO_SUCH_OBJECT, snmp.NO_SUCH_INSTANCE)


# ---------------------------------------------------------------- agents that misbehave

Behaviour = Callable[[int, int, list[bytes], int], bytes | None]  # (tag, request_id, oids, reps) -> reply


def _request(data: bytes) -> tuple[bytes, int, int, int, list[bytes]]:
    i, _ = ber.read_header(data, 0, ber.SEQUENCE)
    _v, i = ber.read_int(data, i)
    community, i = ber.read_octets(data, i)
    tag, start, _ = ber.read_tlv(data, i)
    rid, j = ber.read_int(data, start)
    _a, j = ber.read_int(data, j)
    reps, j = ber.read_int(data, j)
    return community, tag, rid, reps, [o for o, _ in ber.read_varbinds(data, j)]


def _reply(rid: int, pairs: list[tuple[bytes, bytes]], status: int = 0) -> bytes:
    pdu = ber.tlv(
        ber.RESPONSE, ber.encode_int(rid) + ber.encode_int(status) + ber.encode_int(0) + ber.encode_varbinds(pairs)
    )
    return ber.seq(ber.encode_int(1), ber.tlv(4, b"public"), pdu)


class _Agent(asyncio.DatagramProtocol):
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a datagram endpoint's transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        _c, tag, rid, reps, oids = _request(data)
        answer = self.behaviour(tag, rid, oids, reps)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


async def _against(behaviour: Behaviour, action: Callable[[snmp.Session], Any], **kw: Any) -> Any:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Agent(behaviour), local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        return await snmp.collect("127.0.0.1", snmp.V2c("public"), action, port=port, **kw)
    finally:
        transport.close()


ROOT = ber.encode_oid("1.3.6.1.2.1.2.2.1.2")
VALUE = ber.encode_value(b"x")


def walk_root(s: snmp.Session) -> Any:
    return s.walk("1.3.6.1.2.1.2.2.1.2")


def test_garbage_answer_is_a_protocol_failure() -> None:
    r = run(_against(lambda *a: b"\x30\x05garbage", sysname, timeout=1))
    assert r.reason == "protocol" and "malformed" in r.detail


def test_an_agent_that_repeats_the_oid_is_a_loop() -> None:
    r = run(_against(lambda tag, rid, oids, reps: _reply(rid, [(ROOT + b"\x01", VALUE)]), walk_root))
    assert r.reason == "protocol" and "loop" in r.detail


def test_an_agent_that_goes_backwards_is_caught() -> None:
    def backwards(tag: int, rid: int, oids: list[bytes], reps: int) -> bytes:
        last = oids[0]
        if last == ROOT:
            return _reply(rid, [(ROOT + bytes([50]), VALUE)])
        return _reply(rid, [(ROOT + bytes([last[-1] - 1]), VALUE)])

    r = run(_against(backwards, walk_root))
    assert r.reason == "protocol" and "backwards" in r.detail


def test_an_endless_walk_stops_at_the_limit() -> None:
    def endless(tag: int, rid: int, oids: list[bytes], reps: int) -> bytes:
        start = 0 if oids[0] == ROOT else int(ber.decode_oid(oids[0]).rsplit(".", 1)[1]) + 1
        rows = [(ber.encode_oid(f"1.3.6.1.2.1.2.2.1.2.{start + k}"), VALUE) for k in range(reps)]
        return _reply(rid, rows)

    async def walk_limited(s: snmp.Session) -> Any:
        s.max_varbinds = 5_000
        return await s.walk("1.3.6.1.2.1.2.2.1.2")

    r = run(_against(endless, walk_limited))
    assert r.reason == "protocol" and "endless" in r.detail


def test_too_big_halves_the_repetitions_and_the_walk_completes() -> None:
    rows = [(ROOT + bytes([k]), ber.encode_value(k)) for k in range(1, 41)]
    asked: list[int] = []

    def fussy(tag: int, rid: int, oids: list[bytes], reps: int) -> bytes:
        asked.append(reps)
        if reps > 4:
            return _reply(rid, [], status=1)
        after = [r for r in rows if oids[0] == ROOT or r[0][-1] > oids[0][-1]][:reps]
        end = [(ber.encode_oid("1.3.6.1.2.1.2.2.1.3.1"), VALUE)] if len(after) < reps else []
        return _reply(rid, after + end)

    r = run(_against(fussy, walk_root, max_repetitions=25))
    assert r.ok, r.describe()
    assert [v for _, v in r.value] == list(range(1, 41))
    assert asked[:3] == [25, 12, 6] and max(asked[3:]) <= 4


def test_silence_is_a_timeout_after_the_retries() -> None:
    r = run(_against(lambda *a: None, sysname, timeout=0.2, retries=2))
    assert (r.reason, r.attempts) == ("timeout", 3)


def test_a_stale_answer_is_ignored() -> None:
    def stale(tag: int, rid: int, oids: list[bytes], reps: int) -> bytes:
        return _reply(rid - 1, [(oids[0], VALUE)])  # wrong request-id: must not be taken

    r = run(_against(stale, sysname, timeout=0.2, retries=0))
    assert r.reason == "timeout"


def test_one_bad_agent_does_not_stop_the_others(agent: tuple[str, int]) -> None:
    host, port = agent
    dead = free_udp_port()

    async def both() -> list[Any]:
        return [
            *(await snmp.collect_many([host], snmp.V2c("public"), sysname, port=port)),
            *(await snmp.collect_many([host], snmp.V2c("public"), sysname, port=dead, timeout=0.3)),
        ]

    good, bad = run(both())
    assert good.ok and bad.reason == "refused"


def test_session_repr_hides_secrets() -> None:
    assert "public" not in repr(snmp.V2c("public"))
    assert AUTH not in repr(snmp.V3("u", "sha", AUTH, "aes", PRIV))


@pytest.mark.parametrize("kind", ["snmp-v2c", "snmp-v3"])
def test_stored_credentials_drive_fact_collection(agent: tuple[str, int], kind: str) -> None:
    """A credential as the store hands it to discovery: v2c community, or v3 user with auth and privacy."""
    from pydantic import SecretStr

    from netwarden.collect import snmp_facts
    from netwarden.inventory.schemas import CredentialParams, CredentialSecret

    host, port = agent
    if kind == "snmp-v2c":
        cred = CredentialSecret(
            name="c", kind=kind, username="", secret=SecretStr("public"), priv_secret=None, params=CredentialParams()
        )
    else:
        cred = CredentialSecret(
            name="c",
            kind=kind,
            username="u256",
            secret=SecretStr(AUTH),
            priv_secret=SecretStr(PRIV),
            params=CredentialParams(auth_protocol="sha256", priv_protocol="aes"),
        )
    r = run(snmp_facts.collect_snmp(host, snmp_facts.auth_from_secret(cred), port=port))
    assert r.ok, r.describe()
    assert r.value.facts.hostname == "agent-under-test"
    assert {i.name for i in r.value.interfaces} >= {"lo"}
    assert r.value.via == ["snmp"]
