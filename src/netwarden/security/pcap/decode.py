"""One packet's headers, decoded from its link layer down to TCP/UDP/ICMP: the general (slow) path.

:func:`decode` reads what tcpdump prints on a packet's first line: link layer (Ethernet with 802.1Q/QinQ tags,
802.3/LLC/SNAP, Linux cooked v1 and v2, BSD loopback, raw IP, Solaris IPNET), ARP, LLDP, CDP, STP, IPv4
(fragments), IPv6 (extension headers, fragments), TCP, UDP, ICMP and ICMPv6. It never raises on bad bytes:
a packet whose headers are cut short or malformed comes back with :attr:`Packet.error` set.

The analyzer (:mod:`.flows`) decodes Ethernet/IPv4/TCP packets inline for speed and sends every other packet
here; tests check that both paths agree.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Final

from netwarden.security.pcap.reader import Buffer

__all__ = ["ICMP4_COUNTERPART", "ICMP6_COUNTERPART", "IP_PROTOCOLS", "LINKTYPES", "Packet", "decode", "mac_text"]

LINKTYPES: Final = {
    0: "null",
    1: "ethernet",
    12: "raw",
    14: "raw",
    101: "raw",
    108: "loop",
    113: "linux-sll",
    226: "ipnet",
    228: "ipv4",
    229: "ipv6",
    276: "linux-sll2",
}
IP_PROTOCOLS: Final = {
    1: "icmp",
    2: "igmp",
    4: "ipip",
    6: "tcp",
    17: "udp",
    41: "ipv6",
    47: "gre",
    50: "esp",
    51: "ah",
    58: "icmp6",
    88: "eigrp",
    89: "ospf",
    103: "pim",
    112: "vrrp",
    132: "sctp",
}
# Zeek's convention for ICMP "ports": source = type, destination = the type answering it (a one-way message
# such as destination-unreachable has its code there), so a request and its reply are one flow.
ICMP4_COUNTERPART: Final = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17, 10: 9, 9: 10}
ICMP6_COUNTERPART: Final = {128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130}
_ETH_LABELS: Final = {0x0806: "arp", 0x88CC: "lldp", 0x8035: "rarp", 0x88E5: "macsec", 0x888E: "eapol"}
_VLAN: Final = (0x8100, 0x88A8, 0x9100)
_IPV6_EXT: Final = (0, 43, 60, 51, 135, 139, 140)
_H: Final = struct.Struct("!H").unpack_from
_IPV4: Final = struct.Struct("!BBHHHBBH4s4s").unpack_from
_IPV6: Final = struct.Struct("!IHBB16s16s").unpack_from
_TCP: Final = struct.Struct("!HHIIBBH").unpack_from
_UDP: Final = struct.Struct("!HHH").unpack_from
_ARP: Final = struct.Struct("!HHBBH").unpack_from


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


@dataclass(slots=True)
class Packet:
    """What one packet's headers say. Addresses are kept raw (``src_raw``); :attr:`src` gives the text."""

    ts_ns: int
    wire_len: int
    cap_len: int
    linktype: int
    proto: str = "other"  # tcp udp icmp icmp6 arp lldp cdp stp ospf ... or "ip-N" / "ethertype-0xNNNN"
    src_mac: bytes | None = None
    dst_mac: bytes | None = None
    ethertype: int | None = None
    vlan: int | None = None
    ip_version: int = 0
    src_raw: bytes = b""
    dst_raw: bytes = b""
    ip_proto: int | None = None
    ttl: int | None = None
    ip_id: int | None = None
    ip_len: int | None = None  # IPv4 total length; IPv6 payload length + 40
    fragment: bool = False  # a non-first fragment: no transport header in it
    sport: int | None = None
    dport: int | None = None
    tcp_flags: int | None = None
    seq: int | None = None
    ack: int | None = None
    window: int | None = None
    icmp_type: int | None = None
    icmp_code: int | None = None
    arp_op: int | None = None
    payload_at: int = 0  # transport payload: buf[payload_at:payload_at + payload_len] (may be cut by snaplen)
    payload_len: int = 0  # length the headers claim
    error: str | None = None

    @property
    def src(self) -> str | None:
        return _ip_text(self.src_raw)

    @property
    def dst(self) -> str | None:
        return _ip_text(self.dst_raw)


def _ip_text(raw: bytes) -> str | None:
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw)
    if len(raw) == 16:
        return socket.inet_ntop(socket.AF_INET6, raw)
    return None


def decode(ts_ns: int, wire_len: int, linktype: int, buf: Buffer, start: int, end: int) -> Packet:
    """Decode the packet ``buf[start:end]`` captured on a link of type ``linktype``."""
    pkt = Packet(ts_ns, wire_len, end - start, linktype)
    try:
        _link(pkt, linktype, buf, start, end)
    except (struct.error, IndexError):
        pkt.error = pkt.error or "headers cut short"
    return pkt


def _link(pkt: Packet, linktype: int, buf: Buffer, p: int, end: int) -> None:
    if linktype == 1:
        if end - p < 14:
            pkt.error = "Ethernet header cut short"
            return
        pkt.dst_mac, pkt.src_mac = bytes(buf[p : p + 6]), bytes(buf[p + 6 : p + 12])
        _ethertype(pkt, _H(buf, p + 12)[0], buf, p + 14, end)
    elif linktype == 113:  # Linux cooked v1: 16 bytes, protocol last
        _ethertype(pkt, _H(buf, p + 14)[0], buf, p + 16, end)
    elif linktype == 276:  # Linux cooked v2: 20 bytes, protocol first
        _ethertype(pkt, _H(buf, p)[0], buf, p + 20, end)
    elif linktype in (12, 14, 101):
        version = buf[p] >> 4 if p < end else 0
        _ethertype(pkt, 0x0800 if version == 4 else 0x86DD if version == 6 else 0, buf, p, end)
    elif linktype == 228:
        _ethertype(pkt, 0x0800, buf, p, end)
    elif linktype == 229:
        _ethertype(pkt, 0x86DD, buf, p, end)
    elif linktype in (0, 108):  # BSD loopback: 4-byte address family (host order for 0, network order for 108)
        raw = bytes(buf[p : p + 4])
        family = int.from_bytes(raw, "big" if linktype == 108 else "little")
        if linktype == 0 and family > 0xFFFF:
            family = int.from_bytes(raw, "big")
        _ethertype(pkt, 0x0800 if family == 2 else 0x86DD if family in (10, 24, 28, 30) else 0, buf, p + 4, end)
    elif linktype == 226:  # Solaris IPNET: 24-byte header, family 2 (IPv4) or 26 (IPv6)
        family = buf[p + 1]
        _ethertype(pkt, 0x0800 if family == 2 else 0x86DD if family == 26 else 0, buf, p + 24, end)
    else:
        pkt.proto = f"linktype-{linktype}"


def _ethertype(pkt: Packet, ethertype: int, buf: Buffer, p: int, end: int) -> None:
    for _ in range(4):  # 802.1Q, QinQ: at most a few tags
        if ethertype not in _VLAN:
            break
        tci, ethertype = struct.unpack_from("!HH", buf, p)
        if pkt.vlan is None:
            pkt.vlan = tci & 0x0FFF
        p += 4
    pkt.ethertype = ethertype
    if ethertype == 0x0800:
        _ipv4(pkt, buf, p, end)
    elif ethertype == 0x86DD:
        _ipv6(pkt, buf, p, end)
    elif ethertype <= 1500 and pkt.linktype == 1:
        _llc(pkt, buf, p, end)
    elif ethertype in (0x0806, 0x8035):
        pkt.proto = _ETH_LABELS[ethertype]
        _arp(pkt, buf, p, end)
    elif ethertype in _ETH_LABELS:
        pkt.proto = _ETH_LABELS[ethertype]
    else:
        pkt.proto = f"ethertype-0x{ethertype:04x}"


def _llc(pkt: Packet, buf: Buffer, p: int, end: int) -> None:
    dsap = buf[p]
    if dsap == 0x42:
        pkt.proto = "stp"
    elif dsap == 0xAA and end - p >= 8:  # SNAP: OUI and protocol id
        oui, pid = bytes(buf[p + 3 : p + 6]), _H(buf, p + 6)[0]
        if oui == b"\x00\x00\x0c":
            pkt.proto = {0x2000: "cdp", 0x2004: "dtp", 0x010B: "stp", 0x2003: "vtp"}.get(pid, "cisco-snap")
        else:
            pkt.proto = "snap"
    else:
        pkt.proto = "llc"


def _arp(pkt: Packet, buf: Buffer, p: int, end: int) -> None:
    _hw, ptype, hlen, plen, op = _ARP(buf, p)
    pkt.arp_op = op
    if ptype == 0x0800 and plen == 4 and p + 8 + 2 * hlen + 8 <= end:
        at = p + 8
        pkt.src_raw = bytes(buf[at + hlen : at + hlen + 4])
        pkt.dst_raw = bytes(buf[at + 2 * hlen + 4 : at + 2 * hlen + 8])


def _ipv4(pkt: Packet, buf: Buffer, p: int, end: int) -> None:
    if end - p < 20:
        pkt.proto, pkt.error = "ipv4", "IPv4 header cut short"
        return
    vihl, _tos, total, ident, frag, ttl, proto, _sum, src, dst = _IPV4(buf, p)
    hl = (vihl & 0x0F) * 4
    if vihl >> 4 != 4 or hl < 20:
        pkt.proto, pkt.error = "ipv4", "not an IPv4 header"
        return
    pkt.ip_version, pkt.src_raw, pkt.dst_raw = 4, src, dst
    pkt.ip_proto, pkt.ttl, pkt.ip_id, pkt.ip_len = proto, ttl, ident, total
    pkt.fragment = bool(frag & 0x1FFF)
    _transport(pkt, proto, buf, p + hl, min(end, p + total) if total >= hl else end, total - hl)


def _ipv6(pkt: Packet, buf: Buffer, p: int, end: int) -> None:
    if end - p < 40:
        pkt.proto, pkt.error = "ipv6", "IPv6 header cut short"
        return
    _vtf, plen, nxt, hlim, src, dst = _IPV6(buf, p)
    pkt.ip_version, pkt.src_raw, pkt.dst_raw = 6, src, dst
    pkt.ttl, pkt.ip_len = hlim, plen + 40
    q = p + 40
    left = plen
    for _ in range(8):  # extension headers, bounded
        if nxt == 44:  # fragment
            offset = _H(buf, q + 2)[0] >> 3
            pkt.fragment = offset != 0
            nxt, q, left = buf[q], q + 8, left - 8
        elif nxt in _IPV6_EXT:
            size = (buf[q + 1] + 2) * 4 if nxt == 51 else (buf[q + 1] + 1) * 8
            nxt, q, left = buf[q], q + size, left - size
        else:
            break
    pkt.ip_proto = nxt
    _transport(pkt, nxt, buf, q, min(end, q + max(left, 0)), left)


def _transport(pkt: Packet, proto: int, buf: Buffer, p: int, end: int, length: int) -> None:
    pkt.proto = IP_PROTOCOLS.get(proto, f"ip-{proto}")
    if pkt.fragment:
        pkt.payload_at, pkt.payload_len = p, max(length, 0)
        return
    if proto == 6:
        if end - p < 20:
            pkt.error = "TCP header cut short"
            return
        pkt.sport, pkt.dport, pkt.seq, pkt.ack, off, pkt.tcp_flags, pkt.window = _TCP(buf, p)
        hl = (off >> 4) * 4
        if hl < 20:
            pkt.error = "TCP header length below 20"
            return
        pkt.payload_at, pkt.payload_len = p + hl, max(length - hl, 0)
    elif proto == 17:
        if end - p < 8:
            pkt.error = "UDP header cut short"
            return
        pkt.sport, pkt.dport, ulen = _UDP(buf, p)
        pkt.payload_at = p + 8
        pkt.payload_len = max(min(ulen, length) - 8, 0) if ulen >= 8 else max(length - 8, 0)
    elif proto in (1, 58):
        if end - p < 4:
            pkt.error = "ICMP header cut short"
            return
        itype, code = buf[p], buf[p + 1]
        pkt.icmp_type, pkt.icmp_code = itype, code
        counterpart = ICMP4_COUNTERPART if proto == 1 else ICMP6_COUNTERPART
        pkt.sport, pkt.dport = itype, counterpart.get(itype, code)
        pkt.payload_at, pkt.payload_len = p + 8, max(length - 8, 0)
    else:
        pkt.payload_at, pkt.payload_len = p, max(length, 0)
