"""Cisco-style ACLs: IOS/IOS-XE, IOS-XR, NX-OS, Arista EOS and ASA, into the shared model.

Read: numbered (``access-list 101 ...``) and named (``ip access-list extended|standard NAME``, EOS/NX-OS
``ip access-list NAME``, XR ``ipv4 access-list NAME``, ``ipv6 access-list NAME``) ACLs, with or without
sequence numbers; ASA ``access-list NAME [line N] extended|standard ...``. In a full device config only
the ACL sections are read: other lines are not ACL lines and are not reported. Inside an ACL block a line
that cannot be classified, or an entry using a qualifier the header space does not model (DSCP,
precedence, TTL, fragments, time ranges, TCP flags other than ``established``, object groups), is
recorded as :class:`~netwarden.configs.acl.model.Unparsed` and left out of the ACL, never silently
ignored. Invalid addresses, masks, ports and protocols raise
:class:`~netwarden.configs.acl.model.AclSyntaxError` naming the line.

Semantics: every ACL ends in an implicit deny; IPv4 ACLs' ``any`` is the IPv4-mapped block; IPv6 ACLs'
``icmp`` is ICMPv6; ``established`` is TCP with ACK or RST; ``log``/``log-input`` do not change matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from netwarden.configs.acl.model import (
    ADDR_ANY,
    ICMP_TYPES,
    ICMPV6_TYPES,
    PORTS,
    V4_ANY,
    V6_ANY,
    V6_ONLY,
    Acl,
    AclSyntaxError,
    AclUnsupported,
    Action,
    Match,
    ParsedFilters,
    Ranges,
    Rule,
    Unparsed,
    port_ranges,
    prefix_ranges,
    protocol_number,
)

_DOTTED = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_ADDRESS_LIKE = re.compile(r"^[0-9a-fA-F:.]+(/\d+)?$")
_PORT_OPS = ("eq", "neq", "lt", "gt", "range")

# Keywords that qualify a match in a way the header space does not model: the entry is reported.
_NOT_MODELLED = {
    "precedence": 1,
    "dscp": 1,
    "tos": 1,
    "ttl": 2,
    "fragments": 0,
    "fragment": 0,
    "time-range": 1,
    "option": 1,
    "match-any": -1,
    "match-all": -1,
    "packet-length": 2,
    "ack": 0,
    "syn": 0,
    "fin": 0,
    "psh": 0,
    "urg": 0,
    "rst": 0,
    "tracked": 0,
    "flow-label": 1,
    "routing": 0,
    "routing-type": 1,
    "hbh": 0,
    "dest-option": 0,
    "dest-option-type": 1,
    "mobility": 0,
    "mobility-type": 1,
    "auth": 0,
    "sequence": 1,
    "nexthop1": -1,
    "nexthop2": -1,
    "nexthop3": -1,
    "set": -1,
    "udf": -1,
    "vlan": -1,
    "inner": -1,
    "object-group-id": -1,
    "user": 1,
    "user-group": 1,
    "security-group": 1,
}
# Keywords that do not change which packets match, with how many arguments they take (-1: the rest).
_IGNORED = {
    "log": 0,
    "log-input": 0,
    "counter": 1,
    "capture": 0,
    "reflect": 1,
    "timeout": 1,
    "icmp-off": 0,
    "icmp-on": 0,
    "undetermined-transport": 0,
    "inactive": 0,  # ASA handles inactive separately; here only for completeness
    "interval": 1,
    "disable": 0,
    "default": 0,
}
_KEYWORDS = {*_IGNORED, *_NOT_MODELLED, "established"}
_LOG_LEVELS = {
    "emergencies",
    "alerts",
    "critical",
    "errors",
    "warnings",
    "notifications",
    "informational",
    "debugging",
}
_IOS_GLOBAL_IP_ACL = {
    "logging",
    "log-update",
    "resequence",
    "role-based",
    "persistent",
    "compiled",
    "hardware",
    "match",
    "fqdn",
    "counters",
    "payload",
}
_BLOCK_ENTRY_WORDS = {"permit", "deny", "remark", "sequence"}
_BLOCK_KNOWN_SETTINGS = {"statistics", "counters", "fragment-rules", "hardware"}


@dataclass
class _Dialect:
    platform: str
    asa: bool = False
    netmask: bool = False  # masks are subnet masks (ASA) rather than wildcards


@dataclass
class _Entry:
    seq: int | None
    line: int
    text: str
    action: Action
    matches: tuple[Match, ...]


@dataclass
class _AclBuilder:
    name: str
    family: int  # 4 or 6
    standard: bool
    entries: list[_Entry] = field(default_factory=list)
    first_line: int = 0


class _Unsupported(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Tokens:
    def __init__(self, words: list[str], line: int) -> None:
        self.words = words
        self.pos = 0
        self.line = line

    def peek(self, ahead: int = 0) -> str | None:
        i = self.pos + ahead
        return self.words[i] if i < len(self.words) else None

    def next(self, what: str) -> str:
        if self.pos >= len(self.words):
            raise AclSyntaxError(self.line, f"missing {what}")
        word = self.words[self.pos]
        self.pos += 1
        return word

    def done(self) -> bool:
        return self.pos >= len(self.words)


# --- entries ---------------------------------------------------------------------------------------


def _address(tok: _Tokens, family: int, dialect: _Dialect, *, standard: bool = False) -> Ranges:
    word = tok.next("address")
    low = word.lower()
    line = tok.line
    if low == "any":
        return ADDR_ANY if dialect.asa else (V4_ANY if family == 4 else V6_ANY)
    if low == "any4":
        return V4_ANY
    if low == "any6":
        return V6_ONLY
    if low == "host":
        return prefix_ranges(f"host {tok.next('host address')}", line=line)
    if low in ("object-group", "object", "addrgroup", "net-group", "interface", "fqdn", "network-group"):
        raise _Unsupported(f"'{low}' references are not modelled")
    if "/" in word:
        if not _ADDRESS_LIKE.match(word):
            raise AclSyntaxError(line, f"invalid address {word!r}")
        return prefix_ranges(word, line=line)
    if family == 4 or _DOTTED.match(word):
        if not _ADDRESS_LIKE.match(word):
            raise AclSyntaxError(line, f"invalid address {word!r}")
        mask = tok.peek()
        if mask is not None and _DOTTED.match(mask):
            tok.pos += 1
            return prefix_ranges(f"{word} {mask}", line=line, netmask=dialect.netmask)
        if mask is not None and not standard and dialect.asa:
            raise AclSyntaxError(line, f"address {word} needs a mask")
        return prefix_ranges(f"host {word}", line=line)
    if not _ADDRESS_LIKE.match(word):
        raise AclSyntaxError(line, f"invalid address {word!r}")
    return prefix_ranges(f"host {word}", line=line)


def _is_port_token(word: str | None) -> bool:
    return word is not None and (word.isdigit() or word.lower() in PORTS)


def _ports(tok: _Tokens) -> Ranges | None:
    op = tok.peek()
    if op is not None and op.lower() in ("port-group", "object-group"):
        raise _Unsupported(f"'{op.lower()}' references are not modelled")
    if op is None or op.lower() not in _PORT_OPS:
        return None
    tok.pos += 1
    low = op.lower()
    if low == "range":
        values = [tok.next("port"), tok.next("port")]
    elif low in ("lt", "gt"):
        values = [tok.next("port")]
    else:
        values = [tok.next("port")]
        while _is_port_token(tok.peek()):
            values.append(tok.next("port"))
    if low in ("eq", "neq") and values[0].lower() == "object-group":
        raise _Unsupported("port object groups are not modelled")
    return port_ranges(low, values, line=tok.line)


def _icmp(tok: _Tokens, family: int) -> tuple[Ranges | None, Ranges | None]:
    word = tok.peek()
    if word is None:
        return None, None
    if word.isdigit():
        tok.pos += 1
        icmp_type = int(word)
        if icmp_type > 255:
            raise AclSyntaxError(tok.line, f"ICMP type {word} out of range 0-255")
        code_word = tok.peek()
        if code_word is not None and code_word.isdigit():
            tok.pos += 1
            code = int(code_word)
            if code > 255:
                raise AclSyntaxError(tok.line, f"ICMP code {code_word} out of range 0-255")
            return ((icmp_type, icmp_type),), ((code, code),)
        return ((icmp_type, icmp_type),), None
    names = ICMP_TYPES if family == 4 else ICMPV6_TYPES
    known = names.get(word.lower())
    if known is None:
        return None, None
    tok.pos += 1
    icmp_type, icmp_code = known
    return ((icmp_type, icmp_type),), (None if icmp_code is None else ((icmp_code, icmp_code),))


def _options(tok: _Tokens, proto: int | None) -> Ranges | None:
    """Trailing keywords; returns the tcp_established ranges (or None)."""
    established: Ranges | None = None
    while not tok.done():
        word = tok.next("option").lower()
        if word == "established":
            if proto != 6:
                raise AclSyntaxError(tok.line, "'established' applies to tcp only")
            established = ((1, 1),)
        elif word in ("log", "log-input"):
            following = tok.peek()
            if following is not None and (following.isdigit() or following.lower() in _LOG_LEVELS):
                tok.pos += 1
            elif following is not None and following.lower() not in _KEYWORDS:
                tok.pos += 1  # IOS "log WORD" cookie
        elif word in _IGNORED:
            tok.pos += _IGNORED[word]
        elif word in _NOT_MODELLED:
            raise _Unsupported(f"'{word}' is not modelled")
        elif word == "eq" and proto in (1, 58):
            raise _Unsupported("ICMP message lists are not modelled")
        else:
            raise _Unsupported(f"unknown keyword {word!r}")
    return established


def _entry_matches(tok: _Tokens, family: int, standard: bool, dialect: _Dialect) -> tuple[Match, ...]:
    """The match of one entry after its action word."""
    if standard:
        addr = _address(tok, family, dialect, standard=True)
        _options(tok, None)
        if dialect.asa:  # ASA standard ACLs match the destination (route maps, split tunnels)
            return (Match(dst=addr),)
        return (Match(src=addr),)
    proto_word = tok.next("protocol")
    if proto_word.lower() in ("object-group", "object"):
        raise _Unsupported("service object groups are not modelled")
    number = protocol_number(proto_word, line=tok.line)
    if number == 1 and family == 6:
        number = 58
    proto: int | None = None if number < 0 else number
    src = _address(tok, family, dialect)
    sport = _ports(tok)
    dst = _address(tok, family, dialect)
    dport = _ports(tok)
    if (sport is not None or dport is not None) and proto not in (6, 17, 132):
        raise AclSyntaxError(tok.line, f"ports need tcp, udp or sctp, not {proto_word!r}")
    icmp_type: Ranges | None = None
    icmp_code: Ranges | None = None
    if proto in (1, 58):
        icmp_type, icmp_code = _icmp(tok, family)
    established = _options(tok, proto)
    return (
        Match(
            src=src,
            dst=dst,
            proto=None if proto is None else ((proto, proto),),
            sport=sport,
            dport=dport,
            icmp_type=icmp_type,
            icmp_code=icmp_code,
            tcp_established=established,
        ),
    )


# --- file structure ---------------------------------------------------------------------------------------


def _numbered_kind(name: str) -> str | None:
    """'standard' / 'extended' for IOS numbered ACLs, None for other numbered kinds (MAC, protocol)."""
    n = int(name)
    if 1 <= n <= 99 or 1300 <= n <= 1999:
        return "standard"
    if 100 <= n <= 199 or 2000 <= n <= 2699:
        return "extended"
    return None


class _Parser:
    def __init__(self, text: str, dialect: _Dialect) -> None:
        self.lines = text.splitlines()
        self.dialect = dialect
        self.acls: dict[tuple[int, str], _AclBuilder] = {}
        self.unparsed: list[Unparsed] = []

    def acl(self, name: str, family: int, standard: bool, line: int) -> _AclBuilder:
        key = (family, name)
        found = self.acls.get(key)
        if found is None:
            found = _AclBuilder(name, family, standard, first_line=line)
            self.acls[key] = found
        return found

    def clear(self, name: str, family: int) -> None:
        self.acls.pop((family, name), None)

    def skip(self, number: int, text: str, reason: str) -> None:
        self.unparsed.append(Unparsed(number, text, reason))

    def entry(self, acl: _AclBuilder, words: list[str], number: int, text: str, seq: int | None) -> None:
        tok = _Tokens(words, number)
        action_word = tok.next("action").lower()
        if action_word not in ("permit", "deny"):
            self.skip(number, text, f"unknown ACL entry keyword {words[0]!r}")
            return
        action: Action = "permit" if action_word == "permit" else "deny"
        try:
            matches = _entry_matches(tok, acl.family, acl.standard, self.dialect)
        except _Unsupported as exc:
            self.skip(number, text, exc.reason)
            return
        except AclUnsupported as exc:
            self.skip(number, text, exc.what)
            return
        acl.entries.append(_Entry(seq, number, text, action, matches))

    def block_line(self, acl: _AclBuilder, number: int, text: str) -> None:
        words = text.split()
        first = words[0].lower()
        seq: int | None = None
        if first == "sequence" and len(words) > 1 and words[1].isdigit():
            seq, words = int(words[1]), words[2:]
        elif first.isdigit():
            seq, words = int(first), words[1:]
        if not words:
            self.skip(number, text, "sequence number without an entry")
            return
        head = words[0].lower()
        if head == "remark" or text.startswith("!"):
            return
        if head == "no" and len(words) == 2 and words[1].isdigit():
            acl.entries = [e for e in acl.entries if e.seq != int(words[1])]
            return
        if seq is None and head in _BLOCK_KNOWN_SETTINGS:
            return
        self.entry(acl, words, number, text, seq)

    def parse(self) -> None:
        current: _AclBuilder | None = None
        skipping_block = False
        for number, raw in enumerate(self.lines, start=1):
            text = raw.strip()
            if not text:
                continue
            indented = raw[:1] in (" ", "\t")
            if current is not None or skipping_block:
                first = text.split()[0].lower()
                if text.lower() == "exit" or (not indented and text.startswith("!")):
                    current, skipping_block = None, False
                    continue
                words = text.split()
                numbered_no = first == "no" and len(words) == 2 and words[1].isdigit()
                if indented or first in _BLOCK_ENTRY_WORDS or first.isdigit() or numbered_no:
                    if current is not None:
                        self.block_line(current, number, text)
                    continue
                current, skipping_block = None, False
            if indented or text.startswith("!") or text.startswith("#"):
                continue
            current, skipping_block = self.top_level(number, text)

    def top_level(self, number: int, text: str) -> tuple[_AclBuilder | None, bool]:
        """Handle one unindented line; returns the ACL block it opens (or skipping=True for a non-IP ACL)."""
        words = text.split()
        low = [w.lower() for w in words]
        negated = low[0] == "no"
        if negated:
            words, low = words[1:], low[1:]
        if low[:3] == ["clear", "configure", "access-list"] and len(words) > 3:
            self.clear(words[3], 4)
            self.clear(words[3], 6)
            return None, False
        if len(low) >= 3 and low[0] in ("ip", "ipv4", "ipv6") and low[1] == "access-list":
            return self.named_header(number, text, words, low, negated)
        if len(low) >= 2 and low[0] in ("mac", "arp") and low[1] == "access-list":
            if not negated:
                self.skip(number, text, f"{low[0]} access-lists are not modelled (not IP)")
            return None, True
        if low[0] == "access-list" and len(words) >= 2:
            if negated:
                self.clear(words[1], 4)
                return None, False
            self.numbered_line(number, text, words, low)
        return None, False

    def named_header(
        self, number: int, text: str, words: list[str], low: list[str], negated: bool
    ) -> tuple[_AclBuilder | None, bool]:
        family = 6 if low[0] == "ipv6" else 4
        rest, rest_low = words[2:], low[2:]
        standard = False
        if rest_low[0] in ("standard", "extended"):
            standard = rest_low[0] == "standard"
            rest, rest_low = rest[1:], rest_low[1:]
        elif family == 4 and low[0] == "ip" and rest_low[0] in _IOS_GLOBAL_IP_ACL:
            return None, False  # a global setting, not an ACL
        if not rest:
            self.skip(number, text, "access-list header without a name")
            return None, False
        name = rest[0]
        if negated:
            self.clear(name, family)
            return None, False
        if len(rest) > 1:
            self.skip(number, text, f"unknown access-list header option {rest[1]!r}")
        return self.acl(name, family, standard, number), False

    def numbered_line(self, number: int, text: str, words: list[str], low: list[str]) -> None:
        name = words[1]
        rest = words[2:]
        if not rest:
            self.skip(number, text, "access-list line without an entry")
            return
        if self.dialect.asa or not name.isdigit():
            if not self.dialect.asa:
                return  # IOS global "access-list <keyword> ..." settings are not ACL entries
            self.asa_line(number, text, name, rest)
            return
        kind = _numbered_kind(name)
        if rest[0].lower() == "remark":
            return
        if kind is None:
            self.skip(number, text, f"access-list {name} is not an IP access list")
            return
        if rest[0].lower() == "dynamic":
            self.skip(number, text, "dynamic (lock-and-key) entries are not modelled")
            return
        acl = self.acl(name, 4, kind == "standard", number)
        self.entry(acl, rest, number, text, None)

    def asa_line(self, number: int, text: str, name: str, rest: list[str]) -> None:
        low = [w.lower() for w in rest]
        if low[0] == "line" and len(rest) > 2 and rest[1].isdigit():
            rest, low = rest[2:], low[2:]
        kind = low[0]
        if kind == "remark":
            return
        if kind not in ("extended", "standard"):
            self.skip(number, text, f"ASA {kind} access lists are not modelled")
            return
        body = rest[1:]
        if "inactive" in (w.lower() for w in body):
            self.acl(name, 4, kind == "standard", number)
            return  # an inactive entry matches nothing
        acl = self.acl(name, 4, kind == "standard", number)
        self.entry(acl, body, number, text, None)

    def result(self) -> ParsedFilters:
        names_by_family: dict[str, set[int]] = {}
        for family, name in self.acls:
            names_by_family.setdefault(name, set()).add(family)
        acls: list[Acl] = []
        for (family, name), builder in sorted(self.acls.items(), key=lambda kv: kv[1].first_line):
            entries = builder.entries
            if entries and all(e.seq is not None for e in entries):
                entries = sorted(entries, key=lambda e: e.seq or 0)
            shown = f"ipv6 {name}" if family == 6 and len(names_by_family[name]) > 1 else name
            rules = tuple(Rule(shown, i, e.line, e.text, e.action, e.matches) for i, e in enumerate(entries, start=1))
            acls.append(Acl(shown, self.dialect.platform, rules, "deny"))
        return ParsedFilters(tuple(acls), tuple(self.unparsed))


def _parse(text: str, dialect: _Dialect) -> ParsedFilters:
    if "\x00" in text:
        raise AclSyntaxError(0, "the file holds binary data (NUL bytes), not an ACL configuration")
    parser = _Parser(text, dialect)
    parser.parse()
    return parser.result()


def parse_ios(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Cisco IOS / IOS-XE ACLs (numbered, named standard/extended, IPv6)."""
    return _parse(text, _Dialect(options.get("platform", "cisco_ios")))


def parse_xr(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Cisco IOS-XR ``ipv4 access-list`` / ``ipv6 access-list`` with sequence numbers."""
    return _parse(text, _Dialect("cisco_xr"))


def parse_nxos(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Cisco NX-OS ``ip access-list NAME`` / ``ipv6 access-list NAME`` (CIDR or wildcard addresses)."""
    return _parse(text, _Dialect("cisco_nxos"))


def parse_eos(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Arista EOS ``ip access-list [standard] NAME`` / ``ipv6 access-list NAME`` with sequence numbers."""
    return _parse(text, _Dialect("arista_eos"))


def parse_asa(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Cisco ASA ``access-list NAME [line N] extended|standard ...`` (subnet masks, any/any4/any6)."""
    return _parse(text, _Dialect("cisco_asa", asa=True, netmask=True))
