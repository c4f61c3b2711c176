"""``iptables-save`` output (and ``iptables-restore`` input) into the shared ACL model.

One :class:`~netwarden.configs.acl.model.Acl` per built-in chain (``filter/INPUT``, ``nat/PREROUTING`` ...),
named ``table/CHAIN``, whose default action is the chain policy. Jumps to user chains are inlined exactly
(``-j CHAIN`` continues after the call when the packet returns, ``-g CHAIN`` does not, ``RETURN`` skips the
rest of the called chain), so every rule is analysed with the set of packets that really reach it. ``LOG``
and other non-terminating targets emit no rule.

Conditions outside the model (``-i``/``-o`` interfaces, ``-m limit``, ``--tcp-flags``, fragments, ...) are
handled by one documented convention (decision 0022): the analysis covers the packets that *no* such
condition names, so a positive condition is false and a negated one (``!``) true; every such condition is
reported in ``unparsed`` with its line. Interfaces can be chosen instead with the ``iif``/``oif`` options.

This module also holds the pieces the nftables parser shares: :func:`conjoin` (AND of ORs of partial
matches) and :func:`flatten_chain` (exact inlining of jump/goto/return).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from netwarden.configs.acl.model import (
    CT_STATES,
    FIELD_MAX,
    FIELDS,
    ICMP_TYPES,
    ICMPV6_TYPES,
    V4_ANY,
    V4_BASE,
    V6_ANY,
    Acl,
    AclSyntaxError,
    Action,
    Match,
    ParsedFilters,
    Ranges,
    Rule,
    Unparsed,
    complement,
    normalize,
    port_number,
    prefix_ranges,
    protocol_number,
)
from netwarden.configs.acl.space import Space, ranges_intersect

Partial = dict[str, Ranges]
"""Some fields of a match; the missing ones are "any"."""

Verdict = Literal["accept", "drop", "return", "jump", "goto", "continue"]

MAX_CHAIN_DEPTH = 32


# --- shared helpers ---------------------------------------------------------------------------------------


def conjoin(conditions: Sequence[Sequence[Partial]]) -> tuple[Match, ...]:
    """AND of ORs: each condition is a list of alternatives; the result is their product.

    A condition with no alternatives matches nothing, so the whole product is empty.
    """
    combos: list[Partial] = [{}]
    for alternatives in conditions:
        nxt: list[Partial] = []
        for combo in combos:
            for alt in alternatives:
                merged = dict(combo)
                for name, ranges in alt.items():
                    if name in merged:
                        ranges = ranges_intersect(merged[name], ranges)
                    if not ranges:
                        break
                    merged[name] = ranges
                else:
                    nxt.append(merged)
        combos = nxt
        if not combos:
            return ()
    return tuple(Match(**combo) for combo in combos)


def matches_of(space: Space) -> tuple[Match, ...]:
    """A space's boxes as matches (full fields become ``None``)."""
    out: list[Match] = []
    for box in space.boxes:
        values: dict[str, Ranges | None] = {}
        for name, ranges in zip(FIELDS, box, strict=True):
            values[name] = None if ranges == ((0, FIELD_MAX[name]),) else ranges
        out.append(Match(**values))
    return tuple(out)


@dataclass(frozen=True)
class ChainRule:
    """One rule of a chain before inlining."""

    line: int
    text: str
    matches: tuple[Match, ...]
    verdict: Verdict
    target: str = ""
    """The chain of a ``jump``/``goto``."""


def flatten_chain(
    acl: str,
    chains: Mapping[str, Sequence[ChainRule]],
    base: str,
    *,
    unparsed: list[Unparsed] | None = None,
) -> tuple[Rule, ...]:
    """The verdict rules of base chain ``base`` with every jump/goto inlined, in evaluation order.

    Each emitted rule matches exactly the packets that reach it and match it: the packets a jump sent
    into the chain, minus those an earlier ``return`` (or a ``goto`` in this chain) already sent back.
    """
    out: list[Rule] = []

    def walk(name: str, guard: Space | None, depth: int, stack: tuple[str, ...]) -> None:
        live = guard
        for rule in chains.get(name, ()):
            if live is not None and live.is_empty():
                return
            if live is None:
                effective: Space | None = None
                matches = rule.matches
            else:
                effective = live.intersect(Space.from_matches(rule.matches))
                matches = matches_of(effective)
            if rule.verdict in ("accept", "drop"):
                action: Action = "permit" if rule.verdict == "accept" else "deny"
                out.append(Rule(acl, len(out) + 1, rule.line, rule.text, action, matches))
            elif rule.verdict in ("jump", "goto"):
                if rule.target in stack or depth >= MAX_CHAIN_DEPTH:
                    raise AclSyntaxError(rule.line, f"chain loop through {rule.target!r}: jumps must not recurse")
                if rule.target not in chains:
                    if unparsed is not None:
                        unparsed.append(Unparsed(rule.line, rule.text, f"no chain {rule.target!r}: jump ignored"))
                    continue
                called = effective if effective is not None else Space.from_matches(rule.matches)
                walk(rule.target, called, depth + 1, (*stack, rule.target))
                if rule.verdict == "goto":
                    live = _minus(live, rule.matches)
            elif rule.verdict == "return":
                live = _minus(live, rule.matches)

    walk(base, None, 0, (base,))
    return tuple(out)


def _minus(live: Space | None, matches: tuple[Match, ...]) -> Space:
    current = live if live is not None else Space.full()
    return current.subtract(Space.from_matches(matches))


def interface_matches(pattern: str, name: str | None) -> bool:
    """Whether interface ``name`` matches an iptables (``eth+``) or nftables (``eth*``) pattern."""
    if name is None:
        return False
    if pattern.endswith("+"):
        return name.startswith(pattern[:-1])
    return fnmatch.fnmatchcase(name, pattern)


def address_family_of(ranges: Ranges) -> str:
    return "ipv4" if ranges and all(lo >= V4_ANY[0][0] and hi <= V4_ANY[0][1] for lo, hi in ranges) else "ipv6"


# --- iptables ---------------------------------------------------------------------------------------------

_TERMINATING: dict[str, Verdict] = {
    "ACCEPT": "accept",
    "DROP": "drop",
    "REJECT": "drop",
    "TARPIT": "drop",
    "RETURN": "return",
    # NAT targets end the chain and let the packet through
    "DNAT": "accept",
    "SNAT": "accept",
    "MASQUERADE": "accept",
    "REDIRECT": "accept",
    "NETMAP": "accept",
}
_NON_TERMINATING = {
    "LOG",
    "NFLOG",
    "ULOG",
    "MARK",
    "CONNMARK",
    "CLASSIFY",
    "TOS",
    "DSCP",
    "TTL",
    "HL",
    "TCPMSS",
    "CT",
    "NOTRACK",
    "TRACE",
    "AUDIT",
    "SET",
    "CHECKSUM",
    "SECMARK",
    "CONNSECMARK",
    "IDLETIMER",
    "LED",
}
_BUILTIN = {"INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING"}
_STATE_NAMES = {name.upper(): index for index, name in enumerate(CT_STATES)}
# options whose meaning the model has no field for: (number of arguments)
_UNMODELLED: dict[str, int] = {
    "--tcp-flags": 2,
    "--syn": 0,
    "-f": 0,
    "--fragment": 0,
    "--limit": 1,
    "--limit-burst": 1,
    "--mac-source": 1,
    "--uid-owner": 1,
    "--gid-owner": 1,
    "--length": 1,
    "--match-set": 2,
    "--src-type": 1,
    "--dst-type": 1,
    "--pkt-type": 1,
    "--physdev-in": 1,
    "--physdev-out": 1,
    "--tcp-option": 1,
    "--dscp": 1,
    "--dscp-class": 1,
    "--tos": 1,
    "--mark": 1,
    "--ctstatus": 1,
    "--ttl-eq": 1,
    "--ttl-gt": 1,
    "--ttl-lt": 1,
    "--string": 1,
    "--algo": 1,
    "--u32": 1,
    "--hashlimit": 1,
    "--hashlimit-upto": 1,
    "--hashlimit-above": 1,
    "--hashlimit-burst": 1,
    "--hashlimit-mode": 1,
    "--hashlimit-name": 1,
    "--seconds": 1,
    "--hitcount": 1,
    "--name": 1,
    "--rcheck": 0,
    "--update": 0,
    "--set": 0,
    "--remove": 0,
    "--rsource": 0,
    "--rdest": 0,
    "--connlimit-above": 1,
    "--connlimit-upto": 1,
    "--connlimit-mask": 1,
}
# options that never change which packets match
_IGNORED: dict[str, int] = {"--comment": 1, "-c": 2, "--set-counters": 2}


@dataclass
class _Table:
    name: str
    policies: dict[str, str] = field(default_factory=dict)
    chains: dict[str, list[ChainRule]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    line: int = 0

    def chain(self, name: str) -> list[ChainRule]:
        if name not in self.chains:
            self.chains[name] = []
            self.order.append(name)
        return self.chains[name]


@dataclass
class _Context:
    ipv6: bool
    iif: str | None
    oif: str | None
    unparsed: list[Unparsed]


def parse(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Parse ``iptables-save`` / ``ip6tables-save`` output.

    Options: ``family`` (``"ipv4"``/``"ipv6"``; detected from the addresses and the header when absent),
    ``iif`` and ``oif`` (the interfaces to analyse for; by default an interface no rule names).
    """
    family = options.get("family")
    ipv6 = _looks_ipv6(text) if family is None else family in ("ipv6", "inet6", "ip6")
    ctx = _Context(ipv6, options.get("iif"), options.get("oif"), [])
    tables: dict[str, _Table] = {}
    table: _Table | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            name = line[1:].strip()
            table = tables.setdefault(name, _Table(name, line=number))
            continue
        if line == "COMMIT":
            table = None
            continue
        if table is None:  # bare rules (``iptables-restore`` without a table header): the filter table
            table = tables.setdefault("filter", _Table("filter", line=number))
        if line.startswith(":"):
            parts = line[1:].split()
            if not parts:
                raise AclSyntaxError(number, "chain declaration without a name")
            table.chain(parts[0])
            if len(parts) > 1 and parts[1] != "-":
                table.policies[parts[0]] = parts[1].upper()
            continue
        _statement(table, number, line, ctx)
    acls: list[Acl] = []
    for table in tables.values():
        reached: set[str] = set()
        for chain in table.order:
            if chain not in table.policies and chain not in _BUILTIN:
                continue
            policy = table.policies.get(chain, "ACCEPT")
            if policy not in ("ACCEPT", "DROP"):
                raise AclSyntaxError(table.line, f"chain {chain}: unknown policy {policy!r} (ACCEPT or DROP)")
            name = f"{table.name}/{chain}"
            rules = flatten_chain(name, table.chains, chain, unparsed=ctx.unparsed)
            acls.append(Acl(name, "iptables", rules, "permit" if policy == "ACCEPT" else "deny"))
            reached |= _reachable(table.chains, chain)
        for chain in table.order:
            if chain not in reached and table.chains[chain]:
                first = table.chains[chain][0]
                ctx.unparsed.append(
                    Unparsed(
                        first.line, first.text, f"chain {chain} is not reached from a built-in chain: not analysed"
                    )
                )
    return ParsedFilters(tuple(acls), tuple(sorted(ctx.unparsed, key=lambda u: u.line)))


def _reachable(chains: Mapping[str, Sequence[ChainRule]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for rule in chains.get(todo.pop(), ()):
            if rule.target and rule.target not in seen and rule.target in chains:
                seen.add(rule.target)
                todo.append(rule.target)
    return seen


def _looks_ipv6(text: str) -> bool:
    if "ip6tables" in text[:2000]:
        return True
    for raw in text.splitlines():
        tokens = raw.split()
        for i, tok in enumerate(tokens[:-1]):
            if tok in ("-s", "-d", "--source", "--destination", "--src", "--dst") and ":" in tokens[i + 1]:
                return True
            if tok in ("--icmpv6-type", "ipv6-icmp", "icmpv6"):
                return True
    return False


def _statement(table: _Table, number: int, line: str, ctx: _Context) -> None:
    tokens = _split(line, number)
    command = tokens[0]
    if command in ("-N", "--new-chain") and len(tokens) == 2:
        table.chain(tokens[1])
    elif command in ("-P", "--policy") and len(tokens) == 3:
        table.chain(tokens[1])
        table.policies[tokens[1]] = tokens[2].upper()
    elif command in ("-A", "--append", "-I", "--insert") and len(tokens) >= 2:
        rest = tokens[2:]
        position: int | None = None
        if command in ("-I", "--insert"):
            position = 0
            if rest and rest[0].isdigit():
                position = int(rest[0]) - 1
                rest = rest[1:]
        rule = _rule(number, line, rest, ctx)
        rules = table.chain(tokens[1])
        if position is None:
            rules.append(rule)
        else:
            rules.insert(min(position, len(rules)), rule)
    elif command in ("-F", "--flush", "-X", "--delete-chain", "-Z", "--zero"):
        return
    else:
        ctx.unparsed.append(Unparsed(number, line, f"unknown iptables command {command!r}"))


def _rule(number: int, line: str, tokens: list[str], ctx: _Context) -> ChainRule:
    any_addr = V6_ANY if ctx.ipv6 else V4_ANY
    conditions: list[list[Partial]] = [[{"src": any_addr, "dst": any_addr}]]
    verdict: Verdict = "continue"
    target = ""
    negate = False
    i = 0

    def arg(k: int = 1) -> str:
        nonlocal negate
        if i + k >= len(tokens):
            raise AclSyntaxError(number, f"{tokens[i]} needs a value")
        value = tokens[i + k]
        if value == "!":  # old style: -s ! 10.0.0.0/8
            negate = not negate
            del tokens[i + k]
            return arg(k)
        return value

    def unmodelled(what: str) -> None:
        ctx.unparsed.append(
            Unparsed(
                number,
                line,
                f"{what} is not in the ACL model: analysed for packets it does not match"
                if not negate
                else f"{what} is not in the ACL model: analysed for packets it matches (it is negated)",
            )
        )
        if not negate:
            conditions.append([])

    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            negate = not negate
            i += 1
            continue
        if tok in ("-s", "--source", "--src", "-d", "--destination", "--dst"):
            key = "src" if tok in ("-s", "--source", "--src") else "dst"
            ranges = _addresses(arg(), number, any_addr)
            conditions.append([{key: _maybe_not(ranges, negate, any_addr)}])
            i += 2
        elif tok in ("-p", "--protocol"):
            value = arg().lower()
            if value not in ("all", "0"):
                proto = normalize([(n, n) for n in (_proto(v, number) for v in value.split(","))])
                conditions.append([{"proto": complement(proto, 255) if negate else proto}])
            elif negate:
                conditions.append([])
            i += 2
        elif tok in ("--sport", "--source-port", "--dport", "--destination-port"):
            key = "sport" if tok in ("--sport", "--source-port") else "dport"
            conditions.append([{key: _negated(_ports(arg(), number), negate, 65535)}])
            i += 2
        elif tok in ("--sports", "--source-ports", "--dports", "--destination-ports", "--ports"):
            ports = _negated(_ports(arg(), number), negate, 65535)
            if tok == "--ports":
                conditions.append(
                    [{"sport": ports}, {"dport": ports}] if not negate else [{"sport": ports, "dport": ports}]
                )
            else:
                conditions.append([{"sport" if tok in ("--sports", "--source-ports") else "dport": ports}])
            i += 2
        elif tok in ("--icmp-type", "--icmpv6-type"):
            types, codes = _icmp(arg(), number, tok == "--icmpv6-type")
            part: Partial = {"icmp_type": types}
            if codes is not None:
                part["icmp_code"] = codes
            if negate:
                alts: list[Partial] = [{"icmp_type": complement(types, 255)}]
                if codes is not None:
                    alts.append({"icmp_type": types, "icmp_code": complement(codes, 255)})
                conditions.append(alts)
            else:
                conditions.append([part])
            i += 2
        elif tok in ("--state", "--ctstate"):
            states = _states(arg(), number, line, ctx)
            conditions.append([{"ct_state": _negated(states, negate, len(CT_STATES) - 1)}])
            i += 2
        elif tok in ("--src-range", "--dst-range"):
            lo_text, _, hi_text = arg().partition("-")
            lo = prefix_ranges(lo_text, line=number)[0][0]
            hi = prefix_ranges(hi_text or lo_text, line=number)[0][0]
            if lo > hi:
                raise AclSyntaxError(number, f"empty address range {tokens[i + 1]!r}")
            key = "src" if tok == "--src-range" else "dst"
            conditions.append([{key: _maybe_not(((lo, hi),), negate, any_addr)}])
            i += 2
        elif tok in ("-i", "--in-interface", "-o", "--out-interface"):
            wanted = ctx.iif if tok in ("-i", "--in-interface") else ctx.oif
            if interface_matches(arg(), wanted) == negate:
                conditions.append([])
            slice_name = f"interface {wanted!r}" if wanted else "an interface no rule names"
            reason = f"{tok} is not in the ACL model: the rule set is analysed for {slice_name}"
            ctx.unparsed.append(Unparsed(number, line, reason))
            i += 2
        elif tok in ("-m", "--match"):
            i += 2  # a module only introduces its options, handled one by one
        elif tok in ("-j", "--jump", "-g", "--goto"):
            name = arg()
            if tok in ("-g", "--goto"):
                verdict, target = "goto", name
            elif name in _TERMINATING:
                verdict = _TERMINATING[name]
            elif name in _NON_TERMINATING:
                verdict = "continue"
            elif name in ("QUEUE", "NFQUEUE"):
                ctx.unparsed.append(
                    Unparsed(number, line, f"target {name} hands the verdict to user space: not analysed")
                )
            else:
                verdict, target = "jump", name
            break  # the target's own options follow
        elif tok in _IGNORED:
            i += 1 + _IGNORED[tok]
        elif tok in _UNMODELLED:
            unmodelled(tok)
            i += 1 + _UNMODELLED[tok]
        elif tok.startswith("-"):
            count = 0
            while i + 1 + count < len(tokens) and not tokens[i + 1 + count].startswith("-"):
                if tokens[i + 1 + count] == "!":
                    break
                count += 1
            unmodelled(f"option {tok}")
            i += 1 + count
        else:
            raise AclSyntaxError(number, f"unexpected {tok!r}")
        negate = False
    if verdict == "jump" and target in _TERMINATING:
        verdict, target = _TERMINATING[target], ""
    return ChainRule(number, line, conjoin(conditions), verdict, target)


_WORD = re.compile(r'"((?:[^"\\]|\\.)*)"|(\S+)')


def _split(line: str, number: int) -> list[str]:
    """Shell-like words: iptables-save quotes only comments and log prefixes."""
    if '"' not in line:
        return line.split()
    if len(re.findall(r'(?<!\\)"', line)) % 2:
        raise AclSyntaxError(number, "unbalanced quotes")
    return [quoted.replace('\\"', '"') if quoted or not word else word for quoted, word in _WORD.findall(line)]


_DOTTED = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?$")


def fast_prefix(text: str, line: int) -> Ranges:
    """An IPv4 ``a.b.c.d[/len]`` without the ipaddress module (the common case); anything else through
    :func:`~netwarden.configs.acl.model.prefix_ranges`."""
    m = _DOTTED.match(text)
    if m is not None:
        octets = [int(g) for g in m.groups()[:4]]
        length = int(m.group(5)) if m.group(5) is not None else 32
        if max(octets) <= 255 and length <= 32:
            value = (octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]
            size = 1 << (32 - length)
            lo = V4_BASE + (value & ~(size - 1))
            return ((lo, lo + size - 1),)
    return prefix_ranges(text, line=line)


def _maybe_not(ranges: Ranges, negate: bool, any_addr: Ranges) -> Ranges:
    if not negate:
        return ranges
    out: list[tuple[int, int]] = []
    for lo, hi in complement(ranges, FIELD_MAX["src"]):
        out.extend(ranges_intersect(((lo, hi),), any_addr))
    return normalize(out)


def _negated(ranges: Ranges, negate: bool, maximum: int) -> Ranges:
    return complement(ranges, maximum) if negate else ranges


def _addresses(value: str, number: int, any_addr: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    for item in value.split(","):
        out.extend(_address(item, number))
    return ranges_intersect(normalize(out), any_addr)


def _address(item: str, number: int) -> Ranges:
    address, _, mask = item.partition("/")
    if mask and "." in mask:  # 10.0.0.0/255.0.0.0
        try:
            net = ipaddress.IPv4Network(f"{address}/{mask}", strict=False)
        except ValueError:
            raise AclSyntaxError(number, f"invalid address {item!r}") from None
        return prefix_ranges(str(net), line=number)
    return fast_prefix(item, number)


def _proto(token: str, number: int) -> int:
    value = protocol_number(token, line=number)
    if value < 0:
        raise AclSyntaxError(number, f"protocol {token!r} is not a single protocol")
    return value


def _ports(value: str, number: int) -> Ranges:
    out: list[tuple[int, int]] = []
    for item in value.split(","):
        if ":" in item:
            lo_text, _, hi_text = item.partition(":")
            lo = _port(lo_text or "0", number)
            hi = _port(hi_text or "65535", number)
        else:
            lo = hi = _port(item, number)
        if lo > hi:
            lo, hi = hi, lo  # iptables swaps a reversed range
        out.append((lo, hi))
    return normalize(out)


def _port(token: str, number: int) -> int:
    return port_number(token, line=number)


def _icmp(value: str, number: int, v6: bool) -> tuple[Ranges, Ranges | None]:
    if value == "any":
        return ((0, 255),), None
    kind, _, code = value.partition("/")
    if kind.isdigit():
        icmp_type = int(kind)
        icmp_code = int(code) if code.isdigit() else None
    else:
        table = ICMPV6_TYPES if v6 else ICMP_TYPES
        if kind.lower() not in table:
            raise AclSyntaxError(number, f"unknown ICMP type {value!r}")
        icmp_type, icmp_code = table[kind.lower()]
    if icmp_type > 255 or (icmp_code is not None and icmp_code > 255):
        raise AclSyntaxError(number, f"ICMP type/code out of range in {value!r}")
    return ((icmp_type, icmp_type),), None if icmp_code is None else ((icmp_code, icmp_code),)


def _states(value: str, number: int, line: str, ctx: _Context) -> Ranges:
    out: list[tuple[int, int]] = []
    for name in value.upper().split(","):
        if name in _STATE_NAMES:
            out.append((_STATE_NAMES[name], _STATE_NAMES[name]))
        elif name in ("UNTRACKED", "SNAT", "DNAT"):
            ctx.unparsed.append(
                Unparsed(number, line, f"state {name} is not in the ACL model: the analysis assumes tracked packets")
            )
        else:
            raise AclSyntaxError(number, f"unknown connection state {name!r}")
    return normalize(out)
