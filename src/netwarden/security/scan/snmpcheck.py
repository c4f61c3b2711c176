"""Does an SNMP agent answer SNMPv1 or v2c with a well-known community (``public``, ``private``)?

One GET of sysDescr.0 per (version, community), each on its own connected UDP socket, retried on
timeout with the same request-id; an ICMP port-unreachable ends it at once. Only a response with
our request-id counts, so nothing else on the port can fake a finding. Read-only: a scan never
sends a SET, so ``private`` answering is reported as "read access, often write too".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from dataclasses import dataclass

from netwarden.collect import _ber as ber

__all__ = ["DEFAULT_COMMUNITIES", "SYS_DESCR", "SnmpAnswer", "build_get", "parse_response", "snmp_get"]

DEFAULT_COMMUNITIES = ("public", "private")
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
VERSIONS = {"v1": 0, "v2c": 1}


@dataclass(frozen=True)
class SnmpAnswer:
    version: str
    community: str
    sys_descr: str


def build_get(version: int, community: str, request_id: int, oid: str = SYS_DESCR) -> bytes:
    """An SNMPv1 (version 0) or v2c (version 1) GetRequest message."""
    varbinds = ber.seq(ber.seq(ber.tlv(ber.OBJECT_ID, ber.encode_oid(oid)), b"\x05\x00"))
    pdu = ber.tlv(ber.GET, ber.encode_int(request_id) + ber.encode_int(0) + ber.encode_int(0) + varbinds)
    return ber.seq(ber.encode_int(version), ber.tlv(ber.OCTET_STRING, community.encode()), pdu)


def parse_response(data: bytes, version: int, request_id: int) -> str | None:
    """sysDescr from a GetResponse to our request (same version and request-id), else None."""
    try:
        i, _ = ber.read_header(data, 0, ber.SEQUENCE)
        got_version, i = ber.read_int(data, i)
        _community, i = ber.read_octets(data, i)
        tag, start, _end = ber.read_tlv(data, i)
        rid, j = ber.read_int(data, start)
        if got_version != version or rid != request_id or tag != ber.RESPONSE:
            return None
        status, j = ber.read_int(data, j)
        _index, j = ber.read_int(data, j)
        varbinds = ber.read_varbinds(data, j)
    except ber.BerError:
        return None
    if status != 0:
        return ""  # it answered (noSuchName and the like still prove the community works)
    value = varbinds[0][1] if varbinds else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")[:300]
    return "" if value is None else str(value)[:300]


async def snmp_get(
    address: str, community: str, version: str = "v2c", *, port: int = 161, timeout: float = 1.0, retries: int = 1
) -> SnmpAnswer | None:
    """sysDescr.0 with ``community``; None when the agent stays silent, refuses or answers garbage."""
    number = VERSIONS[version]
    request_id = int.from_bytes(os.urandom(3), "big")
    message = build_get(number, community, request_id)
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        try:
            sock.connect((address, port))
        except OSError:
            return None
        for _ in range(retries + 1):
            with contextlib.suppress(OSError):
                sock.send(message)
            deadline = loop.time() + timeout
            while (left := deadline - loop.time()) > 0:  # each pass consumes one datagram or ends
                try:
                    data = await asyncio.wait_for(loop.sock_recv(sock, 65535), left)
                except TimeoutError:
                    break
                except OSError:
                    return None  # ICMP port unreachable: nobody listens
                text = parse_response(data, number, request_id)
                if text is not None:
                    return SnmpAnswer(version, community, text)
        return None
    finally:
        sock.close()
