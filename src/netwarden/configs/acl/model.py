"""The shared ACL model: every platform parser produces these, the analyser reads them.

A rule matches a *union of boxes* over a 9-field packet header space:

==================  ==============  ==========================================================
field               domain          meaning
==================  ==============  ==========================================================
src, dst            0 .. 2**128-1   one address space: IPv6 as is, IPv4 mapped to ::ffff:a.b.c.d
proto               0 .. 255        IP protocol number (IPv6 next header)
sport, dport        0 .. 65535      transport ports (0 for protocols without ports)
icmp_type/code      0 .. 255        ICMP / ICMPv6 type and code (0 for other protocols)
tcp_established     0 .. 1          ACK or RST set (Cisco ``established``, Junos ``tcp-established``)
ct_state            0 .. 3          connection-tracking state, an index into :data:`CT_STATES`
==================  ==============  ==========================================================

``None`` in a :class:`Match` field means "any value". "any" in an IPv4-only filter is the
``::ffff:0:0/96`` block (:data:`V4_ANY`), not the whole address space.

Helpers for parsers: :func:`prefix_ranges` (CIDR, ``host``, Cisco address + wildcard, including
non-contiguous wildcards), :func:`port_ranges` (``eq/neq/lt/gt/range`` with names),
:data:`PROTOCOLS`, :data:`PORTS`, :data:`ICMP_TYPES`, :data:`ICMPV6_TYPES`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from netwarden.errors import InvalidInput

Action = Literal["permit", "deny"]
Ranges = tuple[tuple[int, int], ...]
"""Union of inclusive ``[lo, hi]`` ranges, sorted and non-overlapping."""

ADDR_BITS = 128
ADDR_MAX = (1 << ADDR_BITS) - 1
V4_BASE = 0xFFFF << 32
"""``::ffff:0.0.0.0``: IPv4 addresses live at ``V4_BASE + int(ipv4)``."""

V4_ANY: Ranges = ((V4_BASE, V4_BASE + 0xFFFFFFFF),)
ADDR_ANY: Ranges = ((0, ADDR_MAX),)
V6_ANY: Ranges = ADDR_ANY
"""An IPv6 filter's ``any``: the whole 128-bit space (IPv4-mapped addresses included)."""
V6_ONLY: Ranges = ((0, V4_BASE - 1), (V4_BASE + (1 << 32), ADDR_MAX))
"""Every address except the IPv4-mapped block (ASA's ``any6``)."""

CT_STATES: tuple[str, ...] = ("new", "established", "related", "invalid")

FIELDS: tuple[str, ...] = (
    "src",
    "dst",
    "proto",
    "sport",
    "dport",
    "icmp_type",
    "icmp_code",
    "tcp_established",
    "ct_state",
)
FIELD_MAX: dict[str, int] = {
    "src": ADDR_MAX,
    "dst": ADDR_MAX,
    "proto": 255,
    "sport": 65535,
    "dport": 65535,
    "icmp_type": 255,
    "icmp_code": 255,
    "tcp_established": 1,
    "ct_state": len(CT_STATES) - 1,
}

# The largest number of ranges one non-contiguous wildcard may expand to.
MAX_WILDCARD_RANGES = 1 << 16


class AclSyntaxError(InvalidInput):
    """An ACL line with an invalid address, port, protocol or structure: ``"line N: <what>"``."""

    code = "acl-syntax"

    def __init__(self, line: int, what: str) -> None:
        super().__init__(f"line {line}: {what}" if line else what)
        self.line = line
        self.what = what


class AclUnsupported(AclSyntaxError):
    """A valid construct the model cannot hold exactly; parsers record the line as :class:`Unparsed`."""

    code = "acl-unsupported"


@dataclass(frozen=True)
class Match:
    """A product of per-field unions; ``None`` means any value of the field."""

    src: Ranges | None = None
    dst: Ranges | None = None
    proto: Ranges | None = None
    sport: Ranges | None = None
    dport: Ranges | None = None
    icmp_type: Ranges | None = None
    icmp_code: Ranges | None = None
    tcp_established: Ranges | None = None
    ct_state: Ranges | None = None


@dataclass(frozen=True)
class Rule:
    acl: str
    index: int
    """1-based position in its ACL."""
    line: int
    """1-based line number in the source text (first line of a multi-line term)."""
    text: str
    """The source line with leading indentation removed, inner spacing kept."""
    action: Action
    matches: tuple[Match, ...]
    """The rule matches the union of these; ``()`` matches nothing."""


@dataclass(frozen=True)
class Acl:
    name: str
    platform: str
    rules: tuple[Rule, ...]
    default_action: Action


@dataclass(frozen=True)
class Unparsed:
    line: int
    text: str
    reason: str


@dataclass(frozen=True)
class ParsedFilters:
    acls: tuple[Acl, ...]
    unparsed: tuple[Unparsed, ...]

    def acl(self, name: str) -> Acl:
        """The ACL called ``name``, or the only one whose name ends in ``/name`` or `` name`` (``forward`` for
        ``inet filter/forward``); raises InvalidInput naming the ACLs there are."""
        for acl in self.acls:
            if acl.name == name:
                return acl
        tails = [a for a in self.acls if a.name.endswith((f"/{name}", f" {name}", f":{name}"))]
        if len(tails) == 1:
            return tails[0]
        names = ", ".join(a.name for a in self.acls) or "none"
        raise InvalidInput(f"no ACL named {name!r} in the file (ACLs: {names})")


@dataclass(frozen=True)
class Packet:
    src: str
    dst: str
    proto: int
    sport: int = 0
    dport: int = 0
    icmp_type: int = 0
    icmp_code: int = 0
    tcp_established: bool = False
    ct_state: str = "new"

    def point(self) -> tuple[int, ...]:
        """The packet as one point of the header space, in :data:`FIELDS` order."""
        if self.ct_state not in CT_STATES:
            raise InvalidInput(f"unknown connection state {self.ct_state!r}: use one of {', '.join(CT_STATES)}")
        return (
            address_int(self.src),
            address_int(self.dst),
            self.proto,
            self.sport,
            self.dport,
            self.icmp_type,
            self.icmp_code,
            int(self.tcp_established),
            CT_STATES.index(self.ct_state),
        )

    @classmethod
    def from_point(cls, point: Sequence[int]) -> Packet:
        return cls(
            src=address_text(point[0]),
            dst=address_text(point[1]),
            proto=point[2],
            sport=point[3],
            dport=point[4],
            icmp_type=point[5],
            icmp_code=point[6],
            tcp_established=bool(point[7]),
            ct_state=CT_STATES[point[8]],
        )


# --- addresses ---------------------------------------------------------------------------------


def address_int(text: str, *, line: int = 0) -> int:
    """An IPv4 or IPv6 address as a point of the 128-bit space (IPv4 mapped)."""
    try:
        addr = ipaddress.ip_address(text.strip())
    except ValueError:
        raise AclSyntaxError(line, f"invalid IP address {text!r}") from None
    if addr.version == 4:
        return V4_BASE + int(addr)
    return int(addr)


def address_text(value: int) -> str:
    """Inverse of :func:`address_int`: IPv4-mapped points print as dotted quads."""
    if V4_BASE <= value <= V4_BASE + 0xFFFFFFFF:
        return str(ipaddress.IPv4Address(value - V4_BASE))
    return str(ipaddress.IPv6Address(value))


def _ipv4(text: str, line: int, what: str) -> int:
    try:
        return int(ipaddress.IPv4Address(text))
    except ValueError:
        raise AclSyntaxError(line, f"invalid {what} {text!r}") from None


def wildcard_ranges(address: int, wildcard: int, bits: int) -> list[tuple[int, int]]:
    """The exact set of ``bits``-wide values matching ``address`` under a Cisco wildcard (1 = don't care).

    Contiguous trailing wildcard bits give one range per combination of the other wildcard bits.
    """
    full = (1 << bits) - 1
    base = address & ~wildcard & full
    # trailing ones of the wildcard form the block size
    trailing = 0
    while trailing < bits and (wildcard >> trailing) & 1:
        trailing += 1
    block = (1 << trailing) - 1
    scattered = [b for b in range(trailing, bits) if (wildcard >> b) & 1]
    if (1 << len(scattered)) > MAX_WILDCARD_RANGES:
        raise ValueError(f"wildcard expands to 2**{len(scattered)} ranges")
    out: list[tuple[int, int]] = []
    for combo in range(1 << len(scattered)):
        value = base
        for i, bit in enumerate(scattered):
            if (combo >> i) & 1:
                value |= 1 << bit
        out.append((value, value | block))
    out.sort()
    return out


def prefix_ranges(text: str, *, line: int = 0, any_: Ranges = V4_ANY, netmask: bool = False) -> Ranges:
    """Ranges for one address expression.

    Accepts ``any`` (returns ``any_``), ``host A``, ``A/len`` (IPv4 or IPv6), ``A W`` (IPv4 address and
    Cisco wildcard, non-contiguous allowed; a netmask instead with ``netmask=True``) and a bare address (a host).
    Raises :class:`AclSyntaxError` for anything invalid.
    """
    parts = text.split()
    if not parts:
        raise AclSyntaxError(line, "missing address")
    if len(parts) == 1 and parts[0].lower() in ("any", "any4", "any6", "all"):
        return any_
    if parts[0].lower() == "host":
        if len(parts) != 2:
            raise AclSyntaxError(line, f"invalid host address {text!r}")
        value = address_int(parts[1], line=line)
        return ((value, value),)
    if len(parts) == 1:
        token = parts[0]
        if "/" in token:
            try:
                net = ipaddress.ip_network(token, strict=False)
            except ValueError:
                raise AclSyntaxError(line, f"invalid prefix {token!r}") from None
            lo = int(net.network_address) + (V4_BASE if net.version == 4 else 0)
            return ((lo, lo + net.num_addresses - 1),)
        value = address_int(token, line=line)
        return ((value, value),)
    if len(parts) == 2:
        address = _ipv4(parts[0], line, "address")
        mask = _ipv4(parts[1], line, "wildcard mask")
        return ipv4_wildcard_ranges(address, mask, line=line, netmask=netmask)
    raise AclSyntaxError(line, f"invalid address {text!r}")


def ipv4_wildcard_ranges(address: int, mask: int, *, line: int = 0, netmask: bool = False) -> Ranges:
    """IPv4 ``address`` under a Cisco wildcard ``mask`` (1 bits = don't care) as mapped ranges.

    With ``netmask=True`` the mask is a subnet mask (ASA, IOS-XR style ``255.255.255.0``) and must be contiguous.
    """
    wildcard = mask
    if netmask:
        if not _is_netmask(mask):
            raise AclSyntaxError(line, f"invalid netmask {ipaddress.IPv4Address(mask)}")
        wildcard = ~mask & 0xFFFFFFFF
    try:
        found = wildcard_ranges(address, wildcard, 32)
    except ValueError as exc:
        raise AclUnsupported(line, f"wildcard mask too scattered to model exactly ({exc})") from None
    return tuple((V4_BASE + lo, V4_BASE + hi) for lo, hi in found)


def _is_netmask(mask: int) -> bool:
    inverted = ~mask & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


# --- protocols, ports, ICMP ------------------------------------------------------------------------

PROTOCOLS: dict[str, int] = {
    "ip": -1,  # any protocol (IPv4 filters)
    "ipv4": -1,  # IOS-XR's "any IPv4 protocol"
    "ipinip": 4,
    "ipip": 4,
    "ipv6": -1,
    "icmp": 1,
    "igmp": 2,
    "ggp": 3,
    "tcp": 6,
    "egp": 8,
    "igp": 9,
    "udp": 17,
    "ipv6-encap": 41,
    "rsvp": 46,
    "gre": 47,
    "esp": 50,
    "ahp": 51,
    "ah": 51,
    "icmpv6": 58,
    "icmp6": 58,
    "ipv6-icmp": 58,
    "eigrp": 88,
    "ospf": 89,
    "nos": 94,
    "pim": 103,
    "pcp": 108,
    "vrrp": 112,
    "l2tp": 115,
    "sctp": 132,
}
"""Protocol names to numbers; ``ip``/``ipv4``/``ipv6`` (any protocol, as Cisco uses them) map to -1."""

PORTS: dict[str, int] = {
    "echo": 7,
    "discard": 9,
    "daytime": 13,
    "chargen": 19,
    "ftp-data": 20,
    "ftp": 21,
    "ssh": 22,
    "telnet": 23,
    "smtp": 25,
    "time": 37,
    "nameserver": 42,
    "whois": 43,
    "tacacs": 49,
    "domain": 53,
    "bootps": 67,
    "bootpc": 68,
    "tftp": 69,
    "gopher": 70,
    "finger": 79,
    "www": 80,
    "http": 80,
    "www-http": 80,
    "hostname": 101,
    "pop2": 109,
    "pop3": 110,
    "sunrpc": 111,
    "ident": 113,
    "nntp": 119,
    "ntp": 123,
    "netbios-ns": 137,
    "netbios-dgm": 138,
    "netbios-ss": 139,
    "netbios-ssn": 139,
    "imap": 143,
    "imap4": 143,
    "snmp": 161,
    "snmptrap": 162,
    "xdmcp": 177,
    "bgp": 179,
    "irc": 194,
    "ldap": 389,
    "https": 443,
    "mobile-ip": 434,
    "pim-auto-rp": 496,
    "isakmp": 500,
    "biff": 512,
    "exec": 512,
    "login": 513,
    "who": 513,
    "cmd": 514,
    "rsh": 514,
    "syslog": 514,
    "lpd": 515,
    "talk": 517,
    "rip": 520,
    "uucp": 540,
    "klogin": 543,
    "kshell": 544,
    "rtsp": 554,
    "ldaps": 636,
    "kerberos": 88,
    "lotusnotes": 1352,
    "citrix-ica": 1494,
    "sqlnet": 1521,
    "radius": 1645,
    "radius-acct": 1646,
    "h323": 1720,
    "pptp": 1723,
    "nfs": 2049,
    "cifs": 3020,
    "ctiqbe": 2748,
    "sip": 5060,
    "aol": 5190,
    "secureid-udp": 5510,
    "pcanywhere-data": 5631,
    "pcanywhere-status": 5632,
    "non500-isakmp": 4500,
    "drip": 3949,
    "dnsix": 195,
    "re-mail-ck": 50,
    "mobilip-ag": 434,
    "mobilip-mn": 435,
    "msdp": 639,
    "onep-plain": 15001,
    "onep-tls": 15002,
}
"""Cisco and IANA service names to port numbers (TCP and UDP share the table)."""

ICMP_TYPES: dict[str, tuple[int, int | None]] = {
    "echo-reply": (0, None),
    "unreachable": (3, None),
    "destination-unreachable": (3, None),
    "net-unreachable": (3, 0),
    "host-unreachable": (3, 1),
    "protocol-unreachable": (3, 2),
    "port-unreachable": (3, 3),
    "packet-too-big": (3, 4),
    "fragmentation-needed": (3, 4),
    "source-route-failed": (3, 5),
    "network-unknown": (3, 6),
    "host-unknown": (3, 7),
    "host-isolated": (3, 8),
    "dod-net-prohibited": (3, 9),
    "dod-host-prohibited": (3, 10),
    "net-tos-unreachable": (3, 11),
    "host-tos-unreachable": (3, 12),
    "administratively-prohibited": (3, 13),
    "host-precedence-unreachable": (3, 14),
    "precedence-unreachable": (3, 15),
    "source-quench": (4, None),
    "redirect": (5, None),
    "net-redirect": (5, 0),
    "host-redirect": (5, 1),
    "net-tos-redirect": (5, 2),
    "host-tos-redirect": (5, 3),
    "alternate-address": (6, None),
    "echo": (8, None),
    "echo-request": (8, None),
    "router-advertisement": (9, None),
    "router-solicitation": (10, None),
    "time-exceeded": (11, None),
    "ttl-exceeded": (11, 0),
    "reassembly-timeout": (11, 1),
    "parameter-problem": (12, None),
    "option-missing": (12, 1),
    "general-parameter-problem": (12, 0),
    "timestamp-request": (13, None),
    "timestamp": (13, None),
    "timestamp-reply": (14, None),
    "information-request": (15, None),
    "information-reply": (16, None),
    "mask-request": (17, None),
    "mask-reply": (18, None),
    "traceroute": (30, None),
    "conversion-error": (31, None),
    "mobile-redirect": (32, None),
}
"""ICMPv4 message names (Cisco and Junos spellings) to (type, code or None for any code)."""

ICMPV6_TYPES: dict[str, tuple[int, int | None]] = {
    "destination-unreachable": (1, None),
    "unreachable": (1, None),
    "no-admin": (1, 1),
    "no-route": (1, 0),
    "address-unreachable": (1, 3),
    "port-unreachable": (1, 4),
    "packet-too-big": (2, None),
    "time-exceeded": (3, None),
    "hop-limit": (3, 0),
    "reassembly-timeout": (3, 1),
    "parameter-problem": (4, None),
    "echo-request": (128, None),
    "echo": (128, None),
    "echo-reply": (129, None),
    "mld-query": (130, None),
    "membership-query": (130, None),
    "mld-report": (131, None),
    "membership-report": (131, None),
    "mld-reduction": (132, None),
    "membership-termination": (132, None),
    "router-solicitation": (133, None),
    "nd-rs": (133, None),
    "router-advertisement": (134, None),
    "nd-ra": (134, None),
    "neighbor-solicitation": (135, None),
    "nd-ns": (135, None),
    "neighbor-advertisement": (136, None),
    "nd-na": (136, None),
    "redirect": (137, None),
    "router-renumbering": (138, None),
    "mldv2-report": (143, None),
}
"""ICMPv6 message names to (type, code or None for any code)."""


def protocol_number(token: str, *, line: int = 0) -> int:
    """A protocol name or number; -1 for ``ip``/``ipv6`` (any protocol)."""
    lowered = token.lower()
    if lowered in PROTOCOLS:
        return PROTOCOLS[lowered]
    if lowered.isdigit() and int(lowered) <= 255:
        return int(lowered)
    raise AclSyntaxError(line, f"unknown protocol {token!r}")


def port_number(token: str, *, line: int = 0) -> int:
    """A port number (0..65535) or a service name from :data:`PORTS`."""
    lowered = token.lower()
    if lowered.isdigit():
        value = int(lowered)
        if value > 65535:
            raise AclSyntaxError(line, f"port {token} out of range 0-65535")
        return value
    if lowered in PORTS:
        return PORTS[lowered]
    raise AclSyntaxError(line, f"unknown port {token!r}")


def normalize(ranges: Sequence[tuple[int, int]]) -> Ranges:
    """Sort and merge overlapping or adjacent ranges."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def complement(ranges: Ranges, maximum: int) -> Ranges:
    """The values in ``0..maximum`` not in ``ranges`` (which must be normalised)."""
    out: list[tuple[int, int]] = []
    nxt = 0
    for lo, hi in ranges:
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= maximum:
        out.append((nxt, maximum))
    return tuple(out)


def port_ranges(operator: str, values: Sequence[str], *, line: int = 0) -> Ranges:
    """Ranges for a port operator: ``eq P...``, ``neq P...``, ``lt P``, ``gt P``, ``range A B``."""
    op = operator.lower()
    ports = [port_number(v, line=line) for v in values]
    if not ports:
        raise AclSyntaxError(line, f"port operator {operator!r} needs a port")
    if op == "eq":
        return normalize([(p, p) for p in ports])
    if op == "neq":
        return complement(normalize([(p, p) for p in ports]), 65535)
    if op in ("lt", "gt") and len(ports) != 1:
        raise AclSyntaxError(line, f"{op} takes one port")
    if op == "lt":
        if ports[0] == 0:
            raise AclSyntaxError(line, "lt 0 matches no port")
        return ((0, ports[0] - 1),)
    if op == "gt":
        if ports[0] == 65535:
            raise AclSyntaxError(line, "gt 65535 matches no port")
        return ((ports[0] + 1, 65535),)
    if op == "range":
        if len(ports) != 2 or ports[0] > ports[1]:
            raise AclSyntaxError(line, f"invalid port range {' '.join(values)!r}")
        return ((ports[0], ports[1]),)
    raise AclSyntaxError(line, f"unknown port operator {operator!r}")
