"""Junos firewall filters (curly-brace and ``set`` form) into the shared ACL model.

One :class:`~netwarden.configs.acl.model.Acl` per ``filter``: named ``NAME`` for ``family inet`` (and for
``firewall filter NAME`` without a family), ``inet6 NAME`` for ``family inet6``, ``any NAME`` for
``family any``. The default action is Junos's implicit discard.

Terms: ``accept`` gives a permit rule, ``discard``/``reject`` a deny rule. ``next term`` does not
terminate, so such a term emits no rule. A term with no terminating action at all (only ``count``,
``log``, ``policer`` ..., or no ``then``) carries Junos's implicit accept (Juniper, "Firewall Filter
Nonterminating Actions": "nonterminating actions carry with them an implicit accept action"), so it is a
permit rule. Address lists follow Junos's longest-match rule for ``except`` entries. Conditions outside
the model (``packet-length``, fragments, ``interface`` ...) are assumed false (``...-except`` forms true):
the term is analysed for packets that do not have them, and each is reported in ``unparsed``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from netwarden.configs.acl.iptables import Partial, conjoin, fast_prefix
from netwarden.configs.acl.model import (
    ICMP_TYPES,
    ICMPV6_TYPES,
    PORTS,
    V4_ANY,
    V6_ANY,
    Acl,
    AclSyntaxError,
    Action,
    ParsedFilters,
    Ranges,
    Rule,
    Unparsed,
    complement,
    ipv4_wildcard_ranges,
    normalize,
    protocol_number,
)
from netwarden.configs.acl.space import ranges_intersect, ranges_subtract

# Junos service names that differ from (or are missing in) the Cisco/IANA table.
JUNOS_PORTS: dict[str, int] = {
    **PORTS,
    "radius": 1812,
    "radacct": 1813,
    "tacacs": 49,
    "tacacs-ds": 65,
    "ike": 500,
    "dhcp": 67,
    "http": 80,
    "https": 443,
    "ssh": 22,
    "nfsd": 2049,
    "mysql": 3306,
    "ms-sql": 1433,
    "ldp": 646,
    "msdp": 639,
    "bfd": 3784,
    "snmp": 161,
    "snmptrap": 162,
    "xnm-ssl": 3220,
    "xnm-clear-text": 3221,
    "netconf": 830,
    "zephyr-srv": 2102,
    "zephyr-clt": 2103,
    "zephyr-hm": 2104,
    "afs": 1483,
    "cvspserver": 2401,
    "eklogin": 2105,
    "ekshell": 2106,
    "krb-prop": 754,
    "krbupdate": 760,
    "kpasswd": 761,
    "socks": 1080,
    "timed": 525,
    "router": 520,
    "rip": 520,
}
JUNOS_PROTOCOLS: dict[str, int] = {"icmp6": 58, "hop-by-hop": 0, "routing": 43, "fragment": 44, "no-next-header": 59}

_TERMINATING = {"accept": "permit", "discard": "deny", "reject": "deny"}
_ACCEPTING = {"routing-instance", "logical-system", "topology"}  # terminating; the packet goes on (accepted)
_FILTER_FLAGS = {"interface-specific", "physical-interface-filter", "accounting-profile", "instance-shared"}
_PREFIXES = ("replace:", "protect:")


# --- a generic tree of statements -------------------------------------------------------------------------


@dataclass
class Node:
    words: list[str]
    line: int
    text: str
    children: list[Node] | None = None
    """None for a leaf statement (ended by ``;``), a list for a block."""

    def find(self, *words: str) -> Iterator[Node]:
        for child in self.children or ():
            if child.words[: len(words)] == list(words):
                yield child


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|/\*|#|[{};\[\]]|[^\s{};\[\]"#]+')


def _tokens(text: str) -> Iterator[tuple[str, int]]:
    lines = text.splitlines()
    number = 0
    in_comment = False
    for number, raw in enumerate(lines, start=1):
        pos = 0
        while pos < len(raw):
            if in_comment:
                end = raw.find("*/", pos)
                if end < 0:
                    break
                in_comment = False
                pos = end + 2
                continue
            m = _TOKEN.search(raw, pos)
            if m is None:
                break
            tok = m.group(0)
            pos = m.end()
            if tok == "/*":
                in_comment = True
            elif tok == "#":
                break
            elif tok.startswith('"'):
                yield tok[1:-1], number
            else:
                yield tok, number
    if in_comment:
        raise AclSyntaxError(number, "unterminated /* comment")


def parse_tree(text: str) -> Node:
    """Curly-brace configuration text as a tree of statements."""
    lines = text.splitlines()
    root = Node([], 0, "", [])
    stack = [root]
    words: list[str] = []
    first = 0
    in_list = False
    for tok, number in _tokens(text):
        if in_list:
            if tok == "]":
                in_list = False
            else:
                words.append(tok)
            continue
        if tok == "[":
            in_list = True
        elif tok == ";":
            if words:
                _add(stack[-1], Node(words, first, lines[first - 1].strip()))
            words = []
        elif tok == "{":
            node = Node(words, first or number, lines[(first or number) - 1].strip(), [])
            _add(stack[-1], node)
            stack.append(node)
            words = []
        elif tok == "}":
            if words:
                _add(stack[-1], Node(words, first, lines[first - 1].strip()))
                words = []
            if len(stack) == 1:
                raise AclSyntaxError(number, "'}' without a matching '{'")
            stack.pop()
        else:
            if not words:
                first = number
            words.append(tok)
    if in_list:
        raise AclSyntaxError(first, "unterminated [ list")
    if len(stack) > 1:
        raise AclSyntaxError(stack[-1].line, f"'{{' of {' '.join(stack[-1].words)!r} is never closed (truncated?)")
    if words:
        _add(root, Node(words, first, lines[first - 1].strip()))
    return root


def _add(parent: Node, node: Node) -> None:
    while node.words and node.words[0] in _PREFIXES:
        node.words = node.words[1:]
    if node.words and node.words[0] == "inactive:":
        return  # inactive configuration is not applied
    assert parent.children is not None
    parent.children.append(node)


# the containers of the `set` form: one word, or a keyword and a name
_CONTAINERS = {"firewall", "policy-options"}
_NAMED = {"family", "filter", "term", "prefix-list"}


def set_tree(text: str) -> tuple[Node, list[Unparsed]]:
    """``set`` commands as the same tree :func:`parse_tree` builds."""
    root = Node([], 0, "", [])
    unparsed: list[Unparsed] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = [w for w, _ in _tokens(line) if w not in ("[", "]")]
        if not words:
            continue
        if words[0] in ("deactivate", "delete"):
            unparsed.append(Unparsed(number, line, f"'{words[0]}' commands are not applied by the parser"))
            continue
        if words[0] != "set":
            continue
        node = root
        i = 1
        while i < len(words):
            key = words[i]
            if key in _CONTAINERS or key in ("from", "then"):
                path = [key]
            elif key in _NAMED and i + 2 < len(words):
                path = words[i : i + 2]
            else:
                _add(node, Node(words[i:], number, line))
                break
            found = next((c for c in node.find(*path) if len(c.words) == len(path) and c.children is not None), None)
            if found is None:
                found = Node(path, number, line, [])
                _add(node, found)
            node = found
            i += len(path)
            if key in ("from", "then"):  # the rest is one condition or one action
                if i < len(words):
                    _add(node, Node(words[i:], number, line))
                break
    return root, unparsed


# --- interpretation --------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    prefix_lists: dict[str, list[tuple[str, int]]]
    unparsed: list[Unparsed] = field(default_factory=list)


def parse(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Parse Junos firewall filters from a configuration (curly-brace or ``set`` commands)."""
    del options
    if re.search(r"^\s*set\s+(firewall|policy-options)\b", text, re.MULTILINE):
        root, unparsed = set_tree(text)
    else:
        root, unparsed = parse_tree(text), []
    ctx = _Ctx(_prefix_lists(root), unparsed)
    acls: list[Acl] = []
    for family, filt in _filters(root, "inet"):
        acl = _filter(filt, family, ctx)
        if acl is not None:
            acls.append(acl)
    return ParsedFilters(tuple(acls), tuple(sorted(ctx.unparsed, key=lambda u: u.line)))


def _filters(node: Node, family: str) -> Iterator[tuple[str, Node]]:
    for child in node.children or ():
        if child.children is None:
            continue
        head = child.words[0] if child.words else ""
        if head == "family" and len(child.words) == 2:
            yield from _filters(child, child.words[1])
        elif head == "filter" and len(child.words) == 2:
            yield family, child
        elif head in ("interfaces", "policy-options", "routing-options", "protocols", "class-of-service"):
            continue  # `filter { input X; }` under interfaces is a reference, not a filter
        else:
            yield from _filters(child, family)


def _prefix_lists(root: Node) -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}

    def walk(node: Node) -> None:
        for child in node.children or ():
            if child.words[:1] == ["prefix-list"] and len(child.words) >= 2:
                entries = out.setdefault(child.words[1], [])
                if child.children is not None:
                    entries.extend((c.words[0], c.line) for c in child.children if c.words)
                elif len(child.words) >= 3:
                    entries.append((child.words[2], child.line))
            elif child.children is not None:
                walk(child)

    walk(root)
    return out


def _filter(filt: Node, family: str, ctx: _Ctx) -> Acl | None:
    name = filt.words[1]
    if family not in ("inet", "inet6", "any"):
        ctx.unparsed.append(Unparsed(filt.line, filt.text, f"family {family} filters are not IP filters: not analysed"))
        return None
    acl_name = name if family == "inet" else f"{family} {name}"
    rules: list[Rule] = []
    for child in filt.children or ():
        head = child.words[0] if child.words else ""
        if head == "term" and len(child.words) == 2:
            rule = _term(acl_name, len(rules) + 1, child, family, ctx)
            if rule is not None:
                rules.append(rule)
        elif head not in _FILTER_FLAGS:
            ctx.unparsed.append(Unparsed(child.line, child.text, f"filter statement {head!r} is not understood"))
    return Acl(acl_name, "juniper_junos", tuple(rules), "deny")


def _leaf_values(node: Node) -> list[tuple[list[str], int, str]]:
    """``kw { a; b except; }`` or ``kw a except`` or ``kw [ a b ]`` as (values, line, text) entries."""
    if node.children is not None:
        return [(c.words, c.line, c.text) for c in node.children if c.words]
    return [(node.words[1:], node.line, node.text)]


def _term(acl: str, index: int, term: Node, family: str, ctx: _Ctx) -> Rule | None:
    any_addr = V4_ANY if family == "inet" else V6_ANY
    conditions: list[list[Partial]] = []
    if family == "inet":
        conditions.append([{"src": V4_ANY, "dst": V4_ANY}])
    froms: dict[str, list[tuple[list[str], int, str]]] = {}
    actions: list[tuple[list[str], int, str]] = []
    for part in term.children or ():
        head = part.words[0] if part.words else ""
        if head == "from":
            body = part.children if part.children is not None else [Node(part.words[1:], part.line, part.text)]
            for cond in body:
                if cond.words:
                    froms.setdefault(cond.words[0], []).extend(_leaf_values(cond))
        elif head == "then":
            if part.children is None:
                if len(part.words) > 1:
                    actions.append((part.words[1:], part.line, part.text))
            else:
                actions.extend((c.words, c.line, c.text) for c in part.children if c.words)
        elif head == "filter":
            ctx.unparsed.append(Unparsed(part.line, part.text, "filter references inside a term are not inlined"))
            return None
        else:
            ctx.unparsed.append(Unparsed(part.line, part.text, f"term statement {head!r} is not understood"))
    for keyword, entries in froms.items():
        conditions.extend(_condition(keyword, entries, family, any_addr, ctx))
    action = _action(actions, ctx)
    if action is None:
        return None
    return Rule(acl, index, term.line, term.text, action, conjoin(conditions))


_ADDRESS_KEYS = {
    "source-address": ("src",),
    "destination-address": ("dst",),
    "address": ("src", "dst"),
    "ip-source-address": ("src",),
    "ip-destination-address": ("dst",),
    "ip-address": ("src", "dst"),
}
_PREFIX_LIST_KEYS = {
    "source-prefix-list": ("src",),
    "destination-prefix-list": ("dst",),
    "prefix-list": ("src", "dst"),
}
_PORT_KEYS = {"source-port": ("sport",), "destination-port": ("dport",), "port": ("sport", "dport")}
_PROTOCOL_KEYS = {"protocol", "next-header", "payload-protocol", "ip-protocol"}


def _condition(
    keyword: str, entries: list[tuple[list[str], int, str]], family: str, any_addr: Ranges, ctx: _Ctx
) -> list[list[Partial]]:
    first_line, first_text = entries[0][1], entries[0][2]
    if keyword in _ADDRESS_KEYS or keyword in _PREFIX_LIST_KEYS:
        items: list[tuple[str, bool, int]] = []
        for values, line, _ in entries:
            if not values:
                raise AclSyntaxError(line, f"{keyword} without an address")
            excepted = len(values) > 1 and values[-1] == "except"
            if keyword in _PREFIX_LIST_KEYS:
                if values[0] not in ctx.prefix_lists:
                    reason = f"prefix-list {values[0]!r} is not defined in this text: analysed as an empty list"
                    ctx.unparsed.append(Unparsed(line, entries[0][2], reason))
                    continue
                items.extend((prefix, excepted, pl_line) for prefix, pl_line in ctx.prefix_lists[values[0]])
            else:
                items.append((values[0], excepted, line))
        ranges = ranges_intersect(_longest_match(items), any_addr)
        keys = _ADDRESS_KEYS.get(keyword) or _PREFIX_LIST_KEYS[keyword]
        return [[{k: ranges} for k in keys]]
    if keyword in _PORT_KEYS or keyword in ("source-port-except", "destination-port-except"):
        values = [v for vals, line, _ in entries for v in vals]
        ports = _ports(values, first_line)
        if keyword.endswith("-except"):
            return [[{"sport" if keyword.startswith("source") else "dport": complement(ports, 65535)}]]
        return [[{k: ports} for k in _PORT_KEYS[keyword]]]
    if keyword in _PROTOCOL_KEYS or keyword in ("protocol-except", "next-header-except"):
        numbers = normalize([(n, n) for n in (_protocol(v, line) for vals, line, _ in entries for v in vals)])
        if keyword.endswith("-except"):
            numbers = complement(numbers, 255)
        return [[{"proto": numbers}]]
    if keyword in ("icmp-type", "icmp-type-except", "icmp-code", "icmp-code-except"):
        v6 = family == "inet6"
        values = [v for vals, line, _ in entries for v in vals]
        if keyword.startswith("icmp-type"):
            ranges = normalize([(t, t) for t in (_icmp_type(v, first_line, v6) for v in values)])
            key = "icmp_type"
        else:
            ranges = normalize([(c, c) for c in (_number(v, first_line, 255, "ICMP code") for v in values)])
            key = "icmp_code"
        if keyword.endswith("-except"):
            ranges = complement(ranges, 255)
        return [[{key: ranges}]]
    if keyword == "tcp-established":
        return [[{"tcp_established": ((1, 1),)}]]
    excepted = keyword.endswith("-except")
    reason = f"match condition {keyword!r} is not in the ACL model: analysed for packets " + (
        "it matches (an -except form)" if excepted else "it does not match, so the term matches nothing"
    )
    ctx.unparsed.append(Unparsed(first_line, first_text, reason))
    return [] if excepted else [[]]


def _longest_match(items: list[tuple[str, bool, int]]) -> Ranges:
    """Addresses an entry list selects: each address takes the verdict of its longest matching entry."""
    parsed: list[tuple[int, bool, Ranges]] = []
    for text, excepted, line in items:
        ranges, length = _address(text, line)
        parsed.append((length, excepted, ranges))
    parsed.sort(key=lambda item: item[0])
    out: Ranges = ()
    for _, excepted, ranges in parsed:
        out = ranges_subtract(out, ranges) if excepted else normalize([*out, *ranges])
    return out


def _address(text: str, line: int) -> tuple[Ranges, int]:
    address, _, mask = text.partition("/")
    if mask and "." in mask:  # Junos non-contiguous form: 10.0.0.1/255.0.0.255 (1 bits must match)
        try:
            parts = [int(p) for p in address.split(".")]
            mparts = [int(p) for p in mask.split(".")]
            if len(parts) != 4 or len(mparts) != 4 or max(parts + mparts) > 255:
                raise ValueError
        except ValueError:
            raise AclSyntaxError(line, f"invalid address {text!r}") from None
        value = int.from_bytes(bytes(parts), "big")
        mvalue = int.from_bytes(bytes(mparts), "big")
        return ipv4_wildcard_ranges(value, ~mvalue & 0xFFFFFFFF, line=line), bin(mvalue).count("1")
    ranges = fast_prefix(text, line)
    if mask:
        return ranges, int(mask)
    return ranges, 128 if ":" in address else 32


def _ports(values: list[str], line: int) -> Ranges:
    out: list[tuple[int, int]] = []
    for value in values:
        lo_text, sep, hi_text = value.partition("-")
        if sep and lo_text and hi_text and (lo_text.isdigit() or lo_text in JUNOS_PORTS):
            lo, hi = _port(lo_text, line), _port(hi_text, line)
            if lo > hi:
                raise AclSyntaxError(line, f"invalid port range {value!r}")
            out.append((lo, hi))
        else:
            port = _port(value, line)
            out.append((port, port))
    return normalize(out)


def _port(token: str, line: int) -> int:
    if token.isdigit():
        return _number(token, line, 65535, "port")
    if token.lower() in JUNOS_PORTS:
        return JUNOS_PORTS[token.lower()]
    raise AclSyntaxError(line, f"unknown port {token!r}")


def _number(token: str, line: int, maximum: int, what: str) -> int:
    if not token.isdigit() or int(token) > maximum:
        raise AclSyntaxError(line, f"invalid {what} {token!r} (0-{maximum})")
    return int(token)


def _protocol(token: str, line: int) -> int:
    lowered = token.lower()
    if lowered in JUNOS_PROTOCOLS:
        return JUNOS_PROTOCOLS[lowered]
    value = protocol_number(token, line=line)
    if value < 0:
        raise AclSyntaxError(line, f"protocol {token!r} is not a single protocol")
    return value


def _icmp_type(token: str, line: int, v6: bool) -> int:
    if token.isdigit():
        return _number(token, line, 255, "ICMP type")
    table = ICMPV6_TYPES if v6 else ICMP_TYPES
    extra = (
        {"neighbor-solicit": 135, "router-solicit": 133, "neighbor-advertisement": 136}
        if v6
        else {"info-request": 15, "info-reply": 16}
    )
    lowered = token.lower()
    if lowered in table:
        return table[lowered][0]
    if lowered in extra:
        return extra[lowered]
    raise AclSyntaxError(line, f"unknown ICMP type {token!r}")


def _action(actions: list[tuple[list[str], int, str]], ctx: _Ctx) -> Action | None:
    """The term's verdict; None when it does not terminate (``next term``)."""
    found: Action | None = None
    next_term = False
    for words, line, text in actions:
        head = words[0]
        if head in _TERMINATING:
            found = "permit" if _TERMINATING[head] == "permit" else "deny"
        elif head in _ACCEPTING:
            found = "permit"
        elif head == "next" and words[1:2] == ["term"]:
            next_term = True
        elif head == "next":
            ctx.unparsed.append(Unparsed(line, text, f"action {' '.join(words)!r} is not understood"))
    if found is not None:
        return found
    if next_term:
        return None
    return "permit"  # only nonterminating actions (or none): Junos's implicit accept
