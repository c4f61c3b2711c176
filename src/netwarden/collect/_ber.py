"""The BER subset SNMP speaks: encode requests, decode responses, fast.

Why our own codec (docs/decisions/0009-snmp.md): discovery and polling spend most of their CPU
decoding varbinds. pysnmp builds an ASN.1 object tree per value (about 210 ms of CPU for a
600-varbind interface table); this decoder walks the bytes once, keeps object identifiers as their
encoded bytes (a subtree test is then a ``startswith``) and only turns the ones a caller asks for
into dotted text.

Values decode to plain Python: INTEGER, Counter32/64, Gauge32, TimeTicks -> ``int``; OCTET STRING and
Opaque -> ``bytes``; OBJECT IDENTIFIER -> dotted ``str``; IpAddress -> dotted ``str``; NULL ->
``None``; the SNMPv2 exceptions -> the sentinels :data:`NO_SUCH_OBJECT`, :data:`NO_SUCH_INSTANCE`,
:data:`END_OF_MIB_VIEW`. Malformed input raises :class:`BerError`, never anything else.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

from netwarden.errors import NetwardenError

__all__ = [
    "END_OF_MIB_VIEW",
    "NO_SUCH_INSTANCE",
    "NO_SUCH_OBJECT",
    "BerError",
    "Exception_",
    "RawVarBind",
    "Value",
    "decode_oid",
    "encode_int",
    "encode_oid",
    "read_header",
    "read_int",
    "read_varbinds",
    "seq",
    "tlv",
]

# Tags
INTEGER: Final = 0x02
OCTET_STRING: Final = 0x04
NULL: Final = 0x05
OBJECT_ID: Final = 0x06
SEQUENCE: Final = 0x30
IP_ADDRESS: Final = 0x40
COUNTER32: Final = 0x41
GAUGE32: Final = 0x42
TIMETICKS: Final = 0x43
OPAQUE: Final = 0x44
COUNTER64: Final = 0x46

GET: Final = 0xA0
GET_NEXT: Final = 0xA1
RESPONSE: Final = 0xA2
GET_BULK: Final = 0xA5
REPORT: Final = 0xA8


class BerError(NetwardenError):
    """Bytes that are not the BER an SNMP agent should send."""

    status_code = 502


class Exception_:
    """One of the SNMPv2 varbind exceptions (noSuchObject, noSuchInstance, endOfMibView)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


NO_SUCH_OBJECT: Final = Exception_("noSuchObject")
NO_SUCH_INSTANCE: Final = Exception_("noSuchInstance")
END_OF_MIB_VIEW: Final = Exception_("endOfMibView")
_EXCEPTIONS: Final = {0x80: NO_SUCH_OBJECT, 0x81: NO_SUCH_INSTANCE, 0x82: END_OF_MIB_VIEW}

Value = int | bytes | str | None | Exception_
RawVarBind = tuple[bytes, Value]  # (encoded OID body, value)

# ---------------------------------------------------------------- encoding


def _length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        return bytes((tag, n)) + content
    return bytes((tag,)) + _length(n) + content


def seq(*parts: bytes) -> bytes:
    return tlv(SEQUENCE, b"".join(parts))


def encode_int(value: int, tag: int = INTEGER) -> bytes:
    if 0 <= value < 0x80:
        return bytes((tag, 1, value))
    size = (value.bit_length() + 8) // 8  # room for the sign bit
    return tlv(tag, value.to_bytes(size, "big", signed=True))


@lru_cache(maxsize=4096)
def encode_oid(oid: str) -> bytes:
    """The BER body (no tag, no length) of a dotted OID such as ``1.3.6.1.2.1.1.1.0``."""
    try:
        arcs = [int(a) for a in oid.strip().lstrip(".").split(".")]
    except ValueError:
        raise BerError(f"not an object identifier: {oid!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or min(arcs) < 0:
        raise BerError(f"not an object identifier: {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        if arc < 0x80:
            out.append(arc)
            continue
        chunk = []
        while arc:
            chunk.append((arc & 0x7F) | 0x80)
            arc >>= 7
        chunk[0] &= 0x7F
        out.extend(reversed(chunk))
    return bytes(out)


def decode_oid(body: bytes) -> str:
    """Dotted text of an encoded OID body."""
    if not body:
        raise BerError("empty object identifier")
    if body.isascii():  # every arc below 128: the common case
        first = body[0]
        head = (0, first) if first < 40 else (1, first - 40) if first < 80 else (2, first - 80)
        text = f"{head[0]}.{head[1]}"
        return text + "." + ".".join(map(str, body[1:])) if len(body) > 1 else text
    arcs: list[int] = []
    acc = 0
    for byte in body:
        acc = (acc << 7) | (byte & 0x7F)
        if byte < 0x80:
            arcs.append(acc)
            acc = 0
    if body[-1] >= 0x80:
        raise BerError("truncated object identifier")
    first = arcs[0]
    top = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, top + arcs[1:]))


def oid_arcs(body: bytes) -> tuple[int, ...]:
    """The arcs of an encoded OID body after the first byte (for ordering and index suffixes)."""
    if body.isascii():
        return tuple(body)
    arcs: list[int] = []
    acc = 0
    for byte in body:
        acc = (acc << 7) | (byte & 0x7F)
        if byte < 0x80:
            arcs.append(acc)
            acc = 0
    return tuple(arcs)


# ---------------------------------------------------------------- decoding


def read_header(buf: bytes, i: int, expect: int) -> tuple[int, int]:
    """Check the tag at ``i`` and return (start of content, end of content)."""
    try:
        if buf[i] != expect:
            raise BerError(f"expected tag 0x{expect:02x}, found 0x{buf[i]:02x} at byte {i}")
        n = buf[i + 1]
        i += 2
        if n >= 0x80:
            size = n & 0x7F
            if size == 0 or size > 4:
                raise BerError(f"unsupported length form at byte {i - 1}")
            n = int.from_bytes(buf[i : i + size], "big")
            i += size
    except IndexError:
        raise BerError("message truncated") from None
    if i + n > len(buf):
        raise BerError("message truncated")
    return i, i + n


def read_tlv(buf: bytes, i: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of any element at ``i``."""
    try:
        tag = buf[i]
    except IndexError:
        raise BerError("message truncated") from None
    start, end = read_header(buf, i, tag)
    return tag, start, end


def read_int(buf: bytes, i: int, tag: int = INTEGER) -> tuple[int, int]:
    """(value, next position) of an INTEGER at ``i``."""
    start, end = read_header(buf, i, tag)
    if start == end:
        raise BerError("empty integer")
    return int.from_bytes(buf[start:end], "big", signed=True), end


def read_octets(buf: bytes, i: int) -> tuple[bytes, int]:
    start, end = read_header(buf, i, OCTET_STRING)
    return buf[start:end], end


def read_varbinds(buf: bytes, i: int) -> list[RawVarBind]:
    """The varbind list at ``i``: (encoded OID body, value) pairs.

    The hot loop of every walk; lengths are read inline rather than through :func:`read_header`.
    """
    start, end = read_header(buf, i, SEQUENCE)
    out: list[RawVarBind] = []
    append = out.append
    i = start
    from_bytes = int.from_bytes
    try:
        while i < end:
            if buf[i] != SEQUENCE:
                raise BerError(f"varbind expected at byte {i}")
            n = buf[i + 1]
            i += 2
            if n >= 0x80:
                size = n & 0x7F
                n = from_bytes(buf[i : i + size], "big")
                i += size
            stop = i + n
            if buf[i] != OBJECT_ID:
                raise BerError(f"object identifier expected at byte {i}")
            n = buf[i + 1]
            i += 2
            if n >= 0x80:
                size = n & 0x7F
                n = from_bytes(buf[i : i + size], "big")
                i += size
            oid = buf[i : i + n]
            i += n
            tag = buf[i]
            n = buf[i + 1]
            i += 2
            if n >= 0x80:
                size = n & 0x7F
                n = from_bytes(buf[i : i + size], "big")
                i += size
            raw = buf[i : i + n]
            i += n
            if i != stop or i > end or not oid:
                raise BerError("varbind length does not match its content")
            if tag in (OCTET_STRING, OPAQUE):
                value: Value = raw
            elif tag == INTEGER:
                value = from_bytes(raw, "big", signed=True)
            elif tag in (COUNTER32, GAUGE32, TIMETICKS, COUNTER64):
                value = from_bytes(raw, "big")
            elif tag == OBJECT_ID:
                value = decode_oid(raw)
            elif tag == IP_ADDRESS:
                if len(raw) != 4:
                    raise BerError("IpAddress is not 4 bytes")
                value = f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"
            elif tag == NULL:
                value = None
            elif tag in _EXCEPTIONS:
                value = _EXCEPTIONS[tag]
            else:
                raise BerError(f"unknown value tag 0x{tag:02x}")
            append((oid, value))
    except IndexError:
        raise BerError("message truncated") from None
    return out


def encode_value(value: Value) -> bytes:
    """A value's TLV (agents and tests; requests carry NULL)."""
    if value is None:
        return b"\x05\x00"
    if isinstance(value, Exception_):
        tag = {v.name: k for k, v in _EXCEPTIONS.items()}[value.name]
        return bytes((tag, 0))
    if isinstance(value, bool):
        raise BerError("booleans are not SNMP values")
    if isinstance(value, int):
        return encode_int(value)
    if isinstance(value, bytes):
        return tlv(OCTET_STRING, value)
    return tlv(OBJECT_ID, encode_oid(value))


def encode_varbinds(pairs: list[tuple[bytes, bytes]]) -> bytes:
    """A varbind list from (encoded OID body, encoded value TLV) pairs."""
    return seq(*(seq(tlv(OBJECT_ID, oid), value) for oid, value in pairs))
