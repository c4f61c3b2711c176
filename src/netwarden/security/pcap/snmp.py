"""SNMP messages in a capture, decoded with netwarden's own BER codec (:mod:`netwarden.collect._ber`).

Every PDU of SNMPv1, v2c and v3 (unencrypted scoped PDUs; an encrypted one is named, not decoded) becomes an
:class:`SnmpPdu` with the fields Zeek's SNMP analyzer reports: the PDU kind (``get_request``, ``response``,
``trap`` ...), request id, error status and index (or non-repeaters and max-repetitions for GetBulk), the
SNMPv1 trap header, and each varbind's OID, BER tag and value. Tests compare them with Zeek's baselines.

Communities are credentials: a report shows one only when it is a well-known default (``public``,
``private``), which is itself a finding; any other community is replaced by ``<redacted>``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from netwarden.collect import _ber as ber

__all__ = ["DEFAULT_COMMUNITIES", "PDU_NAMES", "SnmpPdu", "SnmpTracker", "Varbind", "decode_message"]

PDU_NAMES: Final = {
    0xA0: "get_request",
    0xA1: "get_next_request",
    0xA2: "response",
    0xA3: "set_request",
    0xA4: "trap",
    0xA5: "get_bulk_request",
    0xA6: "inform_request",
    0xA7: "trapV2",
    0xA8: "report",
}
DEFAULT_COMMUNITIES: Final = frozenset((b"public", b"private"))
MAX_PDUS: Final = 5000
_TEXT_TAGS: Final = {0x80: "noSuchObject", 0x81: "noSuchInstance", 0x82: "endOfMibView"}

Value = int | bytes | str | None


@dataclass
class Varbind:
    oid: str
    tag: int  # BER tag of the value (0x02 INTEGER, 0x04 OCTET STRING, 0x05 NULL, 0x06 OID, 0x40-0x46, 0x80-0x82)
    value: Value  # int for numbers, bytes for strings, dotted text for OIDs and addresses, None for NULL


@dataclass
class SnmpPdu:
    """One SNMP PDU as it went over the wire."""

    version: str  # v1 | v2c | v3
    pdu: str  # get_request, get_next_request, get_bulk_request, set_request, response, trap, trapV2, ...
    community: bytes | None = None  # v1/v2c (a credential: see the module docstring before showing it)
    request_id: int | None = None
    error_status: int | None = None
    error_index: int | None = None
    non_repeaters: int | None = None
    max_repetitions: int | None = None
    enterprise: str | None = None  # SNMPv1 trap header
    agent: str | None = None
    generic_trap: int | None = None
    specific_trap: int | None = None
    time_stamp: int | None = None
    msg_id: int | None = None  # SNMPv3
    user: bytes | None = None
    engine_id: bytes | None = None
    encrypted: bool = False
    varbinds: list[Varbind] = field(default_factory=list)
    time: int = 0  # ns
    src: str = ""
    sport: int = 0
    dst: str = ""
    dport: int = 0
    is_orig: bool = True  # sent by the flow's originator (the manager, for requests)


def decode_message(data: bytes) -> SnmpPdu:
    """Decode one SNMP message; raises :class:`netwarden.collect._ber.BerError` on bytes that are not one."""
    i, _end = ber.read_header(data, 0, ber.SEQUENCE)
    version, i = ber.read_int(data, i)
    if version in (0, 1):
        community, i = ber.read_octets(data, i)
        pdu = _pdu(data, i, "v1" if version == 0 else "v2c")
        pdu.community = community
        return pdu
    if version != 3:
        raise ber.BerError(f"SNMP version field {version}")
    h, i = ber.read_header(data, i, ber.SEQUENCE)
    msg_id, h = ber.read_int(data, h)
    _max_size, h = ber.read_int(data, h)
    flags, h = ber.read_octets(data, h)
    p, i = ber.read_header(data, i, ber.OCTET_STRING)
    engine_id = user = None
    if p < i and data[p] == ber.SEQUENCE:
        q, _ = ber.read_header(data, p, ber.SEQUENCE)
        engine_id, q = ber.read_octets(data, q)
        _boots, q = ber.read_int(data, q)
        _time, q = ber.read_int(data, q)
        user, q = ber.read_octets(data, q)
    if flags and flags[0] & 2:
        return SnmpPdu("v3", "encrypted", msg_id=msg_id, user=user, engine_id=engine_id, encrypted=True)
    s, _ = ber.read_header(data, i, ber.SEQUENCE)
    _context_engine, s = ber.read_octets(data, s)
    _context_name, s = ber.read_octets(data, s)
    pdu = _pdu(data, s, "v3")
    pdu.msg_id, pdu.user, pdu.engine_id = msg_id, user, engine_id
    return pdu


def _pdu(data: bytes, i: int, version: str) -> SnmpPdu:
    tag, start, _end = ber.read_tlv(data, i)
    name = PDU_NAMES.get(tag)
    if name is None:
        raise ber.BerError(f"unknown PDU type 0x{tag:02x}")
    pdu = SnmpPdu(version, name)
    if tag == 0xA4:  # SNMPv1 Trap-PDU
        body, j = ber.read_header(data, start, ber.OBJECT_ID)
        pdu.enterprise = ber.decode_oid(data[body:j])
        a, j = ber.read_header(data, j, ber.IP_ADDRESS)
        pdu.agent = ".".join(str(b) for b in data[a:j])
        pdu.generic_trap, j = ber.read_int(data, j)
        pdu.specific_trap, j = ber.read_int(data, j)
        t, j = ber.read_header(data, j, ber.TIMETICKS)
        pdu.time_stamp = int.from_bytes(data[t:j], "big")
    else:
        pdu.request_id, j = ber.read_int(data, start)
        first, j = ber.read_int(data, j)
        second, j = ber.read_int(data, j)
        if tag == 0xA5:
            pdu.non_repeaters, pdu.max_repetitions = first, second
        else:
            pdu.error_status, pdu.error_index = first, second
    pdu.varbinds = _varbinds(data, j)
    return pdu


def _varbinds(data: bytes, i: int) -> list[Varbind]:
    """The varbind list at ``i`` with each value's tag kept (the collector's reader drops tags for speed)."""
    start, end = ber.read_header(data, i, ber.SEQUENCE)
    out: list[Varbind] = []
    i = start
    while i < end:
        vb, stop = ber.read_header(data, i, ber.SEQUENCE)
        o, j = ber.read_header(data, vb, ber.OBJECT_ID)
        oid = ber.decode_oid(data[o:j])
        tag, v, k = ber.read_tlv(data, j)
        if k != stop:
            raise ber.BerError("varbind length does not match its content")
        raw = data[v:k]
        value: Value
        if tag in (ber.OCTET_STRING, ber.OPAQUE):
            value = raw
        elif tag == ber.INTEGER:
            value = int.from_bytes(raw, "big", signed=True)
        elif tag in (ber.COUNTER32, ber.GAUGE32, ber.TIMETICKS, ber.COUNTER64):
            value = int.from_bytes(raw, "big")
        elif tag == ber.OBJECT_ID:
            value = ber.decode_oid(raw)
        elif tag == ber.IP_ADDRESS:
            value = ".".join(str(b) for b in raw)
        elif tag == ber.NULL:
            value = None
        elif tag in _TEXT_TAGS:
            value = _TEXT_TAGS[tag]
        else:
            raise ber.BerError(f"unknown value tag 0x{tag:02x}")
        out.append(Varbind(oid, tag, value))
        i = stop
    return out


class SnmpTracker:
    """Collects the SNMP PDUs fed to :meth:`packet`."""

    def __init__(self) -> None:
        self.pdus: list[SnmpPdu] = []
        self.count = 0
        self.malformed = 0
        self.kinds: dict[str, int] = {}
        self.default_communities: set[str] = set()

    def packet(
        self, ts: int, src: str, sport: int, dst: str, dport: int, is_orig: bool, payload: bytes
    ) -> SnmpPdu | None:
        try:
            pdu = decode_message(payload)
        except ber.BerError:
            self.malformed += 1
            return None
        self.count += 1
        self.kinds[pdu.pdu] = self.kinds.get(pdu.pdu, 0) + 1
        pdu.time, pdu.src, pdu.sport, pdu.dst, pdu.dport, pdu.is_orig = ts, src, sport, dst, dport, is_orig
        if pdu.community in DEFAULT_COMMUNITIES:
            agent = src if pdu.pdu in ("response", "report", "trap", "trapV2", "inform_request") else dst
            self.default_communities.add(agent)
        if len(self.pdus) < MAX_PDUS:
            self.pdus.append(pdu)
        return pdu
