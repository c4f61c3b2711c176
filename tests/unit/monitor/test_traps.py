"""The trap decoder, the trap-to-event mapping and the receiver's accounting, without a network.

Messages are built with the client's own BER and USM code (so v3 traps are signed and encrypted
for real); the recorded v1 trap comes from zeek's test corpus with zeek's decoding as the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.alerts.events import Event
from netwarden.collect import _ber as ber
from netwarden.collect import _usm as usm
from netwarden.collect import snmp
from netwarden.monitor import trap_decode
from netwarden.monitor.trap_decode import Decoded, Trap, TrapDecoder, TrapError
from netwarden.monitor.trap_events import trap_events
from netwarden.monitor.traps import TrapReceiver
from tests.support.shared_data import shared_data

LINK_DOWN = "1.3.6.1.6.3.1.1.5.3"
LINK_UP = "1.3.6.1.6.3.1.1.5.4"
IF_INDEX, IF_DESCR, IF_ADMIN, IF_OPER = (f"1.3.6.1.2.1.2.2.1.{c}" for c in (1, 2, 7, 8))
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1"
AUTH, PRIV = "authpass123", "privpass123"
USER = snmp.V3("trapuser", "sha", AUTH, "aes", PRIV)
SENDER_ENGINE = bytes.fromhex("8000000001020304")


# ---------------------------------------------------------------- building messages


def vb(oid: str, value: bytes) -> tuple[bytes, bytes]:
    return ber.encode_oid(oid), value


def s(text: str) -> bytes:
    return ber.tlv(ber.OCTET_STRING, text.encode())


def i(n: int) -> bytes:
    return ber.encode_int(n)


def ip(text: str) -> bytes:
    return ber.tlv(ber.IP_ADDRESS, bytes(int(p) for p in text.split(".")))


def v2_pdu(trap_oid: str, extra: list[tuple[bytes, bytes]], tag: int = 0xA7, rid: int = 7) -> bytes:
    pairs = [
        vb("1.3.6.1.2.1.1.3.0", ber.encode_int(4242, ber.TIMETICKS)),
        vb("1.3.6.1.6.3.1.1.4.1.0", ber.tlv(ber.OBJECT_ID, ber.encode_oid(trap_oid))),
        *extra,
    ]
    return ber.tlv(tag, i(rid) + i(0) + i(0) + ber.encode_varbinds(pairs))


def v2c(pdu: bytes, community: str = "public") -> bytes:
    return ber.seq(i(1), s(community), pdu)


def v1(
    enterprise: str, generic: int, specific: int, extra: list[tuple[bytes, bytes]], agent: str = "10.9.9.9"
) -> bytes:
    body = ber.tlv(ber.OBJECT_ID, ber.encode_oid(enterprise)) + ip(agent) + i(generic) + i(specific)
    body += ber.encode_int(77, ber.TIMETICKS) + ber.encode_varbinds(extra)
    return ber.seq(i(0), s("public"), ber.tlv(0xA4, body))


def v3(
    pdu: bytes,
    *,
    flags: int = 0x03,
    engine: bytes = SENDER_ENGINE,
    user: bytes = b"trapuser",
    auth: str = AUTH,
    priv: str = PRIV,
    boots: int = 1,
    now: int = 100,
    msg_id: int = 42,
    context_engine: bytes | None = None,
) -> bytes:
    """An SNMPv3 message signed and encrypted with keys localised to ``engine``."""
    scoped = ber.seq(ber.tlv(4, engine if context_engine is None else context_engine), ber.tlv(4, b""), pdu)
    keys = usm.keys_for("sha", auth.encode(), "aes", priv.encode(), engine)
    priv_params, data = b"", scoped
    if flags & 2:
        cipher, priv_params = keys.encrypt(scoped, boots, now, 99)
        data = ber.tlv(4, cipher)
    mac = keys.mac_length if flags & 1 else 0
    message = snmp._v3_message(msg_id, flags, engine, boots, now, user, bytes(mac), priv_params, data)
    if mac:
        at = message.index(b"\x04" + bytes((mac,)) + bytes(mac)) + 2
        message = message[:at] + keys.sign(message) + message[at + mac :]
    return message


def decoder(**kw: object) -> TrapDecoder:
    return TrapDecoder(["public"], [USER], **kw)  # type: ignore[arg-type]


def one(trap: Trap, device: str = "r1") -> Event:
    events = trap_events(trap, device)
    assert len(events) == 1
    return events[0]


def trap_of(data: bytes) -> Trap:
    got = decoder().decode(data, "10.0.0.1")
    assert got.trap is not None
    return got.trap


def reason(data: bytes, dec: TrapDecoder | None = None) -> str:
    with pytest.raises(TrapError) as err:
        (dec or decoder()).decode(data, "10.0.0.1")
    return err.value.reason


# ---------------------------------------------------------------- a recorded trap


def _udp_payloads(pcap: Path) -> list[bytes]:
    """UDP payloads of a classic little/big-endian pcap with Ethernet framing and IPv4."""
    raw = pcap.read_bytes()
    endian = "<" if raw[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    pos, out = 24, []
    while pos + 16 <= len(raw):
        _ts, _us, caplen, _len = struct.unpack(endian + "IIII", raw[pos : pos + 16])
        frame = raw[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen
        if frame[12:14] == b"\x08\x00" and frame[23] == 17:
            ihl = (frame[14] & 0x0F) * 4
            out.append(frame[14 + ihl + 8 :])
    return out


def test_a_recorded_v1_trap_decodes_as_zeek_does() -> None:
    root = shared_data() / "zeek" / "testing" / "btest"
    pcap = root / "Traces" / "snmp" / "snmpv1_trap.pcap"
    if not pcap.exists():
        pytest.skip(f"recorded corpus not found at {root}")
    expected: dict[str, str] = {}
    for line in (root / "Baseline" / "scripts.base.protocols.snmp.v1" / "out4").read_text().splitlines():
        key, _, value = line.strip().partition(":")
        expected.setdefault(key.strip().split(" ")[0], value.strip())
    [payload] = _udp_payloads(pcap)
    trap = TrapDecoder(["public"]).decode(payload, "127.0.0.1").trap
    assert trap is not None and trap.version == "v1"
    generic = int(expected["generic_trap"])
    assert generic < 6  # the recording is a generic trap: its SNMPv2 OID comes from RFC 3584
    assert trap.oid == f"1.3.6.1.6.3.1.1.5.{generic + 1}"
    assert trap.agent == expected["agent"]
    assert trap.uptime == int(expected["time_stamp"])
    assert trap.varbinds == ((expected["oid"], int(expected["value"])),)
    assert one(trap).kind == "reboot"  # generic 0 is coldStart


# ---------------------------------------------------------------- mapping


def test_link_down_names_the_interface_by_ifname_then_ifdescr_then_index() -> None:
    pdu = v2_pdu(LINK_DOWN, [vb(f"{IF_INDEX}.3", i(3)), vb(f"{IF_DESCR}.3", s("eth2")), vb(f"{IF_NAME}.3", s("Gi0/2"))])
    event = one(trap_of(v2c(pdu)), "edge1")
    assert (event.kind, event.subject, event.device, event.source) == ("interface_down", "edge1:Gi0/2", "edge1", "trap")
    assert event.severity == "major" and "ifDescr.3='eth2'" in event.raw and "linkDown" in event.raw
    assert one(trap_of(v2c(v2_pdu(LINK_DOWN, [vb(f"{IF_DESCR}.3", s("eth2"))])))).subject == "r1:eth2"
    assert one(trap_of(v2c(v2_pdu(LINK_DOWN, [vb(f"{IF_INDEX}.9", i(9))])))).subject == "r1:ifIndex9"
    assert one(trap_of(v2c(v2_pdu(LINK_DOWN, [vb(f"{IF_OPER}.4", i(2))])))).subject == "r1:ifIndex4"


def test_link_up_clears_and_a_shutdown_is_down_like_the_poller_says() -> None:
    up = one(trap_of(v2c(v2_pdu(LINK_UP, [vb(f"{IF_DESCR}.3", s("eth2"))]))))
    assert (up.kind, up.subject) == ("interface_up", "r1:eth2")
    shut = one(trap_of(v2c(v2_pdu(LINK_DOWN, [vb(f"{IF_DESCR}.3", s("eth2")), vb(f"{IF_ADMIN}.3", i(2))]))))
    assert (shut.kind, shut.severity) == ("interface_down", "major") and "shut down" in shut.summary


def test_v1_generic_and_enterprise_traps_take_their_snmpv2_oids() -> None:
    link = trap_of(v1("1.3.6.1.4.1.8072.3.2.10", 2, 0, [vb(f"{IF_INDEX}.5", i(5)), vb(f"{IF_DESCR}.5", s("eth4"))]))
    assert (link.oid, link.agent, link.uptime) == (LINK_DOWN, "10.9.9.9", 77)
    assert one(link).subject == "r1:eth4"
    warm = one(trap_of(v1("1.3.6.1.4.1.8072.3.2.10", 1, 0, [])))
    assert warm.kind == "reboot" and "warm" in warm.summary
    # RFC 1657 bgpBackwardTransition sent as SNMPv1: enterprise bgpTraps, specific 2.
    peer = "192.0.2.7"
    bgp = trap_of(v1("1.3.6.1.2.1.15.7", 6, 2, [vb(f"1.3.6.1.2.1.15.3.1.14.{peer}", s("\x06\x02"))]))
    assert bgp.oid == "1.3.6.1.2.1.15.7.0.2"
    assert (one(bgp).kind, one(bgp).subject) == ("neighbor_down", f"r1:bgp:{peer}")


@pytest.mark.parametrize(
    ("trap_oid", "kind"),
    [
        ("1.3.6.1.2.1.15.0.2", "neighbor_down"),
        ("1.3.6.1.2.1.15.0.1", "neighbor_up"),
        ("1.3.6.1.2.1.15.7.2", "neighbor_down"),
        ("1.3.6.1.2.1.15.7.1", "neighbor_up"),
    ],
)
def test_bgp_traps_name_the_peer(trap_oid: str, kind: str) -> None:
    peer = "10.0.0.2"
    extra = [vb(f"1.3.6.1.2.1.15.3.1.7.{peer}", ip(peer)), vb(f"1.3.6.1.2.1.15.3.1.2.{peer}", i(3))]
    event = one(trap_of(v2c(v2_pdu(trap_oid, extra))))
    assert (event.kind, event.subject) == (kind, f"r1:bgp:{peer}")
    if kind == "neighbor_down":
        assert "active" in event.summary and event.severity == "major"


def test_bgp4v2_traps_take_the_peer_from_the_table_index() -> None:
    # FRR's BGP4V2 arc: bgp4V2PeerState.<instance>.<addr type 1>.<IPv4 address>
    state = "1.3.6.1.4.1.7336.4.2.1.1.2.1.13.1.1.203.0.113.9"
    event = one(trap_of(v2c(v2_pdu("1.3.6.1.4.1.7336.4.2.1.0.2", [vb(state, i(1))]))))
    assert (event.kind, event.subject) == ("neighbor_down", "r1:bgp:203.0.113.9")
    # IPv6 peer with a length-prefixed InetAddress index (cbgpPeer2State.<type 2>.<16>.<address>)
    v6 = [0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [1]
    oid = "1.3.6.1.4.1.9.9.187.1.2.5.1.3.2.16." + ".".join(map(str, v6))
    event = one(trap_of(v2c(v2_pdu("1.3.6.1.4.1.9.9.187.0.7", [vb(oid, i(6))]))))
    assert (event.kind, event.subject) == ("neighbor_up", "r1:bgp:2001:db8::1")


@pytest.mark.parametrize(
    ("state", "kind"),
    [(8, "neighbor_up"), (4, "neighbor_up"), (1, "neighbor_down"), (3, "neighbor_down"), (5, "neighbor_down")],
)
def test_ospf_neighbours_are_up_when_full_or_two_way_and_down_otherwise(state: int, kind: str) -> None:
    nbr, rid = "10.1.1.2", "2.2.2.2"
    extra = [
        vb("1.3.6.1.2.1.14.1.1.0", ip("1.1.1.1")),
        vb(f"1.3.6.1.2.1.14.10.1.1.{nbr}.0", ip(nbr)),
        vb(f"1.3.6.1.2.1.14.10.1.3.{nbr}.0", ip(rid)),
        vb(f"1.3.6.1.2.1.14.10.1.6.{nbr}.0", i(state)),
    ]
    event = one(trap_of(v2c(v2_pdu("1.3.6.1.2.1.14.16.2.2", extra))))
    assert (event.kind, event.subject) == (kind, f"r1:ospf:{rid}")
    without_rid = [e for e in extra if not e[0].startswith(ber.encode_oid("1.3.6.1.2.1.14.10.1.3"))]
    assert one(trap_of(v2c(v2_pdu("1.3.6.1.2.1.14.16.2.2", without_rid)))).subject == f"r1:ospf:{nbr}"


def test_any_other_trap_is_kept_as_information() -> None:
    oid = "1.3.6.1.4.1.9.9.41.2.0.1"
    event = one(trap_of(v2c(v2_pdu(oid, [vb("1.3.6.1.4.1.9.9.41.1.2.3.1.5.1", s("%LINK-3-UPDOWN"))]))))
    assert (event.kind, event.severity, event.subject) == ("trap", "info", "r1")
    assert oid in event.summary and "%LINK-3-UPDOWN" in event.raw
    binary = one(trap_of(v2c(v2_pdu(oid, [vb("1.3.6.1.4.1.9.1", ber.tlv(4, b"\x00\xff"))]))))
    assert "0x00ff" in binary.raw


# ---------------------------------------------------------------- decoding and refusing


def test_v2c_inform_is_answered_with_a_response_carrying_its_request_id() -> None:
    pdu = v2_pdu(LINK_UP, [vb(f"{IF_DESCR}.1", s("eth0"))], tag=0xA6, rid=31337)
    got = decoder().decode(v2c(pdu), "10.0.0.1")
    assert got.trap is not None and got.trap.inform and got.reply is not None
    start, _ = ber.read_header(got.reply, 0, ber.SEQUENCE)
    version, j = ber.read_int(got.reply, start)
    community, j = ber.read_octets(got.reply, j)
    tag, rid, varbinds, _ = trap_decode._read_pdu(got.reply, j)
    assert (version, community, tag, rid) == (1, b"public", ber.RESPONSE, 31337)
    assert ber.decode_oid(varbinds[1][0]) == "1.3.6.1.6.3.1.1.4.1.0"


def test_unaccepted_input_is_refused_with_a_reason() -> None:
    trap = v2_pdu(LINK_DOWN, [])
    assert reason(v2c(trap, community="private")) == "unknown_community"
    assert reason(v2c(ber.tlv(0xA0, i(1) + i(0) + i(0) + ber.seq()))) == "not_a_notification"
    assert reason(v2c(ber.tlv(0xA7, i(1) + i(0) + i(0) + ber.seq()))) == "malformed"  # no snmpTrapOID
    assert reason(ber.seq(i(2), s("public"), trap)) == "bad_version"
    assert reason(v2c(trap)[:-3]) == "malformed"
    assert reason(b"") == "malformed"


def test_v3_trap_keys_are_localised_with_the_senders_engine() -> None:
    pdu = v2_pdu(LINK_DOWN, [vb(f"{IF_DESCR}.2", s("eth1"))])
    trap = trap_of(v3(pdu))
    assert (trap.version, trap.user, trap.oid) == ("v3", "trapuser", LINK_DOWN)
    other = bytes.fromhex("80001f8880aabbccdd")
    assert trap_of(v3(pdu, engine=other)).oid == LINK_DOWN  # any sender engine: its own keys
    assert trap_of(v3(pdu, flags=0x01)).oid == LINK_DOWN  # authNoPriv
    assert reason(v3(pdu, auth="wrongpass123")) == "bad_auth"
    assert reason(v3(pdu, priv="wrongpriv123")) == "decrypt_failed"
    assert reason(v3(pdu, user=b"nobody")) == "unknown_user"
    assert reason(v3(pdu, flags=0x00)) == "unauthenticated"
    only_auth = TrapDecoder([], [snmp.V3("trapuser", "sha", AUTH)])
    assert reason(v3(pdu), only_auth) == "bad_priv"


def _open_v3(reply: bytes, engine: bytes) -> tuple[int, int, int, list[ber.RawVarBind]]:
    """(flags, PDU tag, request-id, varbinds) of a reply, after checking its signature."""
    m = trap_decode._parse_v3(reply)
    keys = usm.keys_for("sha", AUTH.encode(), "aes", PRIV.encode(), engine)
    scoped = reply[m.data_at :]
    if m.flags & 1:
        blank = reply[: m.auth_at] + bytes(len(m.auth)) + reply[m.auth_at + len(m.auth) :]
        assert keys.sign(blank) == m.auth
    if m.flags & 2:
        cipher, _ = ber.read_octets(reply, m.data_at)
        scoped = keys.decrypt(cipher, m.priv, m.boots, m.time)
    start, _ = ber.read_header(scoped, 0, ber.SEQUENCE)
    tag, rid, varbinds, _ = trap_decode._read_pdu(scoped, trap_decode._skip_context(scoped, start))
    return m.flags, tag, rid, varbinds


def test_v3_informs_go_through_discovery_and_the_time_window() -> None:
    dec = decoder(engine_id=bytes.fromhex("80001f880501020304"))
    ours = dec.engine_id
    # 1. discovery: no engine, no user, reportable -> unknownEngineIDs report carrying our engine ID
    probe = snmp._v3_message(
        5, 0x04, b"", 0, 0, b"", b"", b"", ber.seq(s(""), s(""), ber.tlv(0xA0, i(5) + i(0) + i(0) + ber.seq()))
    )
    got = dec.decode(probe, "10.0.0.1")
    assert got.trap is None and got.reply is not None
    m = trap_decode._parse_v3(got.reply)
    assert m.engine_id == ours
    flags, tag, rid, varbinds = _open_v3(got.reply, ours)
    assert (flags, tag, rid, ber.decode_oid(varbinds[0][0])) == (0, ber.REPORT, 5, "1.3.6.1.6.3.15.1.1.4.0")
    inform = v2_pdu(LINK_UP, [vb(f"{IF_DESCR}.2", s("eth1"))], tag=0xA6, rid=77)
    # 2. outside the time window -> an authenticated notInTimeWindows report, no trap
    late = dec.decode(v3(inform, engine=ours, boots=1, now=dec.engine_time() + 1000, flags=0x07), "10.0.0.1")
    assert late.trap is None and late.reply is not None
    flags, tag, rid, varbinds = _open_v3(late.reply, ours)
    assert (flags & 1, tag, ber.decode_oid(varbinds[0][0])) == (1, ber.REPORT, "1.3.6.1.6.3.15.1.1.2.0")
    # 3. in time -> the trap and an encrypted, signed Response with the same request-id
    ok = dec.decode(v3(inform, engine=ours, boots=1, now=dec.engine_time(), flags=0x07), "10.0.0.1")
    assert ok.trap is not None and ok.trap.inform and ok.reply is not None
    flags, tag, rid, _ = _open_v3(ok.reply, ours)
    assert (flags, tag, rid) == (0x03, ber.RESPONSE, 77)
    # An inform keyed to another engine is sent back to discovery.
    elsewhere = dec.decode(v3(inform, flags=0x07), "10.0.0.1")
    assert elsewhere.trap is None and elsewhere.reply is not None


# ---------------------------------------------------------------- fuzzing the decoder

SEEDS = [
    v2c(v2_pdu(LINK_DOWN, [vb(f"{IF_INDEX}.3", i(3)), vb(f"{IF_DESCR}.3", s("eth2"))])),
    v2c(v2_pdu(LINK_UP, [vb(f"{IF_NAME}.3", s("eth2"))], tag=0xA6)),
    v1("1.3.6.1.4.1.8072.3.2.10", 6, 17, [vb("1.3.6.1.4.1.8072.1", s("x"))]),
    v3(v2_pdu("1.3.6.1.2.1.15.0.2", [vb("1.3.6.1.2.1.15.3.1.7.10.0.0.2", ip("10.0.0.2"))])),
    v3(v2_pdu(LINK_DOWN, []), flags=0x01),
    snmp._v3_message(
        5, 0x04, b"", 0, 0, b"", b"", b"", ber.seq(s(""), s(""), ber.tlv(0xA0, i(5) + i(0) + i(0) + ber.seq()))
    ),
]
FUZZ_DECODER = decoder(engine_id=bytes.fromhex("80001f880501020304"))


def _check(data: bytes) -> None:
    """The contract: a Decoded or a TrapError, nothing else (any other exception fails the test)."""
    try:
        got = FUZZ_DECODER.decode(data, "192.0.2.1")
    except TrapError as exc:
        assert exc.reason and str(exc)
        return
    assert isinstance(got, Decoded)
    if got.trap is not None:
        trap_events(got.trap, "fuzz")  # whatever decodes must also map


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "delete", "length"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif op == "length" and data:
            data[at] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xFF]))
    return bytes(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), mutated()))
def test_fuzzed_datagrams_only_decode_or_raise_trap_error(data: bytes) -> None:
    _check(data)


@st.composite
def authenticated_garbage(draw: st.DrawFn) -> bytes:
    """Correctly signed and encrypted SNMPv3 messages around a mutated scoped PDU: the post-auth parsers."""
    pdu = bytearray(v2_pdu(draw(st.sampled_from([LINK_DOWN, "1.3.6.1.2.1.14.16.2.2"])), [vb(f"{IF_INDEX}.1", i(1))]))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(pdu) - 1))
        pdu[at] = draw(st.integers(0, 255))
    tag = draw(st.sampled_from([0xA7, 0xA6]))
    return v3(bytes([tag]) + bytes(pdu[1:]), flags=draw(st.sampled_from([0x01, 0x03, 0x07])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(authenticated_garbage())
def test_fuzzed_authenticated_pdus_only_decode_or_raise_trap_error(data: bytes) -> None:
    _check(data)


# ---------------------------------------------------------------- the receiver's accounting


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(coro: Callable[[], object]) -> None:
    asyncio.run(coro())  # type: ignore[arg-type]


async def _wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


LINK = v2c(v2_pdu(LINK_DOWN, [vb(f"{IF_DESCR}.1", s("eth0"))]))


def test_a_flood_is_cut_per_source_and_every_datagram_is_counted() -> None:
    async def body() -> None:
        batches: list[list[Event]] = []
        clock = Clock()
        rx = TrapReceiver(batches.append, rate=2, burst=10, clock=clock, flush_interval=0.05, batch_size=4)
        for _ in range(25):
            rx.handle_datagram(LINK, "10.0.0.1")
        for _ in range(3):
            rx.handle_datagram(LINK, "10.0.0.2")  # another source has its own bucket
        clock.now += 2.5  # five more tokens for 10.0.0.1
        for _ in range(8):
            rx.handle_datagram(LINK, "10.0.0.1")
        rx.handle_datagram(b"\x30\x03\x02\x01", "10.0.0.3")
        stats = rx.stats()
        assert (stats.received, stats.decoded, stats.dropped) == (37, 18, {"rate_limited": 18, "malformed": 1})
        assert stats.received == stats.decoded + stats.probes + sum(stats.dropped.values())
        await _wait_for(lambda: rx.stats().delivered == 18)
        await rx.close()
        assert all(1 <= len(b) <= 4 for b in batches) and sum(map(len, batches)) == 18
        assert rx.stats().batches == len(batches) < 18

    run(body)


def test_resent_informs_are_answered_again_but_become_one_event() -> None:
    async def body() -> None:
        got: list[Event] = []
        rx = TrapReceiver(got.extend, flush_interval=0.01)
        inform = v2c(v2_pdu(LINK_UP, [vb(f"{IF_DESCR}.1", s("eth0"))], tag=0xA6, rid=9))
        replies = [rx.handle_datagram(inform, "10.0.0.1") for _ in range(3)]
        assert all(r is not None for r in replies)
        await rx.close()
        assert len(got) == 1 and rx.stats().duplicates == 2

    run(body)


def test_events_beyond_the_queue_bound_are_counted_as_lost() -> None:
    async def body() -> None:
        never_called: list[Event] = []
        rx = TrapReceiver(never_called.extend, max_pending=5, flush_interval=60, batch_size=1000)
        for n in range(8):
            rx.handle_datagram(LINK, f"10.0.0.{n}")
        assert rx.stats().events_lost == {"queue_full": 3}
        await rx.close()
        assert len(never_called) == 5

    run(body)


def test_a_failing_sink_is_retried_then_its_batch_is_counted_as_lost() -> None:
    async def body() -> None:
        calls: list[int] = []

        def sink(events: list[Event]) -> None:
            calls.append(len(events))
            if len(calls) <= 3:
                raise RuntimeError("store down")

        rx = TrapReceiver(sink, flush_interval=0.01)
        rx.handle_datagram(LINK, "10.0.0.1")
        await _wait_for(lambda: rx.stats().events_lost.get("sink_failed") == 1)
        rx.handle_datagram(LINK, "10.0.0.1")
        await _wait_for(lambda: rx.stats().delivered == 1)
        await rx.close()
        assert calls == [1, 1, 1, 1]

    run(body)


def test_the_device_comes_from_the_lookup_then_the_v1_agent_then_the_address() -> None:
    async def body() -> None:
        got: list[Event] = []
        names = {"10.0.0.1": "core1", "10.9.9.9": "edge9"}
        rx = TrapReceiver(got.extend, lookup=names.get, flush_interval=0.01)
        rx.handle_datagram(LINK, "10.0.0.1")
        rx.handle_datagram(v1("1.3.6.1.4.1.8072", 0, 0, []), "10.0.0.5")  # relayed: agent-addr 10.9.9.9
        rx.handle_datagram(LINK, "::ffff:10.0.0.7")
        await rx.close()
        assert [e.device for e in got] == ["core1", "edge9", "10.0.0.7"]
        assert got[0].subject == "core1:eth0"

        def broken(address: str) -> str | None:
            raise RuntimeError("database is locked")

        got.clear()
        rx = TrapReceiver(got.extend, lookup=broken, flush_interval=0.01)
        rx.handle_datagram(LINK, "10.0.0.1")
        await rx.close()
        assert [e.device for e in got] == ["10.0.0.1"]

    run(body)


def test_binding_a_privileged_or_taken_port_is_a_clear_error() -> None:
    async def body() -> None:
        first = TrapReceiver(list)
        await first.start("127.0.0.1", 0)
        second = TrapReceiver(list)
        with pytest.raises(TrapError, match=f"127.0.0.1:{first.address[1]}"):
            await second.start("127.0.0.1", first.address[1])
        await first.close()
        with contextlib.suppress(TrapError):
            await second.close()

    run(body)


def test_close_finishes_the_batch_in_flight_once_and_delivers_the_rest() -> None:
    async def body() -> None:
        delivered: list[int] = []
        started, release = asyncio.Event(), asyncio.Event()

        async def sink(events: list[Event]) -> None:
            started.set()
            await release.wait()
            delivered.append(len(events))

        rx = TrapReceiver(sink, flush_interval=0.01)
        rx.handle_datagram(LINK, "10.0.0.1")
        await asyncio.wait_for(started.wait(), 10)
        rx.handle_datagram(LINK, "10.0.0.2")  # queued while the first batch is in the sink
        closing = asyncio.create_task(rx.close())
        release.set()
        await asyncio.wait_for(closing, 10)
        assert delivered == [1, 1] and rx.stats().delivered == 2

    run(body)


def test_a_sink_that_never_returns_cannot_hold_close_for_ever() -> None:
    async def body() -> None:
        stuck = asyncio.Event()

        async def sink(events: list[Event]) -> None:
            stuck.set()
            await asyncio.Event().wait()

        rx = TrapReceiver(sink, flush_interval=0.01)
        rx.handle_datagram(LINK, "10.0.0.1")
        await asyncio.wait_for(stuck.wait(), 10)
        rx.handle_datagram(LINK, "10.0.0.2")
        await rx.close(timeout=0.2)
        assert rx.stats().events_lost == {"closed": 2} and rx.stats().delivered == 0

    run(body)
