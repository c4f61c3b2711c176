"""The SSH server's algorithm offer: read its KEXINIT message (RFC 4253 7.1) from the first bytes.

After the identification lines, both sides send SSH_MSG_KEXINIT in the clear: the key exchange
methods, host key types, ciphers, MACs and compression they support, in order of preference.
Reading it needs no login and no key exchange; the scan then drops the connection. Pure code:
:func:`parse_server_hello` takes what the server sent and returns the offer or None.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["CLIENT_IDENT", "MAX_PACKET", "KexInit", "parse_kexinit", "parse_server_hello", "read_packet"]

SSH_MSG_KEXINIT = 20
MAX_PACKET = 35000  # RFC 4253 6.1: every implementation handles packets of this size
CLIENT_IDENT = b"SSH-2.0-netwarden_scan\r\n"


@dataclass(frozen=True)
class KexInit:
    """One side's algorithm lists, in its order of preference (client-to-server and back merged)."""

    kex: tuple[str, ...]
    host_keys: tuple[str, ...]
    ciphers: tuple[str, ...]
    macs: tuple[str, ...]
    compression: tuple[str, ...]

    def field(self, name: str) -> tuple[str, ...]:
        value = getattr(self, name, ())
        return value if isinstance(value, tuple) else ()


def _merge(a: list[str], b: list[str]) -> tuple[str, ...]:
    seen = dict.fromkeys(a)
    seen.update(dict.fromkeys(b))
    return tuple(seen)


def parse_kexinit(payload: bytes) -> KexInit | None:
    """The algorithm lists of a KEXINIT payload (starting with the message number), or None."""
    if len(payload) < 17 or payload[0] != SSH_MSG_KEXINIT:
        return None
    lists: list[list[str]] = []
    i = 17  # message number + 16-byte cookie
    for _ in range(10):
        if i + 4 > len(payload):
            return None
        (size,) = struct.unpack_from(">I", payload, i)
        i += 4
        if size > len(payload) - i:
            return None
        raw = payload[i : i + size]
        i += size
        if any(b < 0x21 or b > 0x7E for b in raw):  # name-lists are US-ASCII without spaces or controls
            return None
        lists.append([name for name in raw.decode("ascii").split(",") if name])
    return KexInit(
        kex=tuple(lists[0]),
        host_keys=tuple(lists[1]),
        ciphers=_merge(lists[2], lists[3]),
        macs=_merge(lists[4], lists[5]),
        compression=_merge(lists[6], lists[7]),
    )


def read_packet(data: bytes) -> tuple[bytes, int] | None:
    """The payload of the first unencrypted binary packet in ``data`` and the bytes it used.

    None when more bytes are needed. Raises ValueError for a length no SSH server sends.
    """
    if len(data) < 5:
        return None
    length, padding = struct.unpack_from(">IB", data, 0)
    if length < 5 or length > MAX_PACKET or padding >= length:
        raise ValueError(f"implausible SSH packet length {length} (padding {padding})")
    if len(data) < 4 + length:
        return None
    return data[5 : 4 + length - padding], 4 + length


def parse_server_hello(data: bytes) -> KexInit | None:
    """The KEXINIT that follows the identification line in ``data`` (what a server sent), or None."""
    start = data.find(b"SSH-")
    if start < 0:
        return None
    end = data.find(b"\n", start)
    if end < 0:
        return None
    try:
        packet = read_packet(data[end + 1 :])
    except ValueError:
        return None
    return parse_kexinit(packet[0]) if packet else None
