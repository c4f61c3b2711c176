"""nftables rule sets (``nft list ruleset`` output and ``nftables.conf`` files) into the shared ACL model.

One :class:`~netwarden.configs.acl.model.Acl` per base chain (a chain with ``type ... hook ...``), named
``FAMILY TABLE/CHAIN`` (``inet filter/forward``), whose default action is the chain ``policy`` (accept when
absent). ``jump``/``goto``/``return`` are inlined exactly (see :func:`~netwarden.configs.acl.iptables.
flatten_chain`), ``vmap`` expands to one rule per element, ``define`` variables and named sets are resolved,
``counter``/``log``/``comment`` change nothing, a rule without a verdict emits no rule.

Families: in an ``ip`` table every packet is IPv4; in an ``inet`` table ``ip ...`` expressions (and
``meta nfproto ipv4``) restrict a rule to IPv4 and ``ip6 ...`` ones to IPv6.

Interfaces (``iifname``/``oifname``/``iif``/``oif``) are not a field of the model. The rule set is analysed
for one interface pair: the ``iif``/``oif`` options, by default interfaces no rule names (so ``iifname "lo"``
is false and ``iifname != "lo"`` true). Every interface condition and every other condition outside the model
(``limit``, ``tcp flags``, marks, concatenations, ...) is reported in ``unparsed``; the latter are assumed false
(``!=`` forms true), so the rule is analysed for the packets they do not select.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from netwarden.configs.acl.iptables import ChainRule, Partial, Verdict, conjoin, fast_prefix, flatten_chain
from netwarden.configs.acl.model import (
    CT_STATES,
    PORTS,
    PROTOCOLS,
    V4_ANY,
    V6_ONLY,
    Acl,
    AclSyntaxError,
    ParsedFilters,
    Ranges,
    Unparsed,
    address_int,
    complement,
    normalize,
)
from netwarden.configs.acl.space import ranges_intersect

ICMP_NAMES: dict[str, int] = {
    "echo-reply": 0,
    "destination-unreachable": 3,
    "source-quench": 4,
    "redirect": 5,
    "echo-request": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
    "info-request": 15,
    "info-reply": 16,
    "address-mask-request": 17,
    "address-mask-reply": 18,
}
ICMPV6_NAMES: dict[str, int] = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "mld-listener-query": 130,
    "mld-listener-report": 131,
    "mld-listener-done": 132,
    "mld-listener-reduction": 132,
    "nd-router-solicit": 133,
    "nd-router-advert": 134,
    "nd-neighbor-solicit": 135,
    "nd-neighbor-advert": 136,
    "nd-redirect": 137,
    "router-renumbering": 138,
    "ind-neighbor-solicit": 141,
    "ind-neighbor-advert": 142,
    "mld2-listener-report": 143,
}
_PORT_PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33, "udplite": 136}
_OPERATORS = {"==", "eq", "!=", "ne", "<", "lt", ">", "gt", "<=", "le", ">=", "ge"}
_NEGATIONS = {"!=", "ne"}
_BLOCKS = {
    0: {"table"},
    1: {"chain", "set", "map", "flowtable", "counter", "quota", "ct", "limit", "secmark", "synproxy"},
}
_VERDICTS: dict[str, Verdict] = {"accept": "accept", "drop": "drop", "return": "return", "continue": "continue"}
_NAT = {"snat", "dnat", "masquerade", "redirect", "tproxy"}


@dataclass
class NftSet:
    """An anonymous set ``{ a, b }``: each element is a list of items (``22`` or ``22 : accept``)."""

    elements: list[list[Item]]
    line: int


Item = str | NftSet


@dataclass
class Stmt:
    items: list[Item]
    line: int
    text: str
    children: list[Stmt] | None = None


# --- tokens and statements -----------------------------------------------------------------------------------

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|#[^\n]*|\\\n|\n|[{};,]|[^\s{};,"#]+')


def _tokens(text: str) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    line = 1
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok.startswith("#"):
            continue
        if tok == "\\\n":
            line += 1
            continue
        out.append((tok, line))
        if tok == "\n":
            line += 1
    return out


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0
        self.lines = text.splitlines()

    def peek(self) -> tuple[str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def text(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""

    def block(self, depth: int) -> list[Stmt]:
        """Statements until the closing ``}`` of this block (or the end at depth 0)."""
        out: list[Stmt] = []
        items: list[Item] = []
        first = 0
        while True:
            tok = self.peek()
            if tok is None:
                if depth > 0:
                    raise AclSyntaxError(self.tokens[-1][1] if self.tokens else 0, "'{' is never closed (truncated?)")
                break
            word, line = tok
            self.pos += 1
            if word in ("\n", ";"):
                if items:
                    out.append(Stmt(items, first, self.text(first)))
                items = []
            elif word == "}":
                if depth == 0:
                    raise AclSyntaxError(line, "'}' without a matching '{'")
                if items:
                    out.append(Stmt(items, first, self.text(first)))
                return out
            elif word == "{":
                if not items:
                    first = line
                head = items[0] if items else ""
                if isinstance(head, str) and head in _BLOCKS.get(depth, set()):
                    out.append(Stmt(items, first, self.text(first), self.block(depth + 1)))
                    items = []
                else:
                    items.append(self.set(line))
            elif word == "," and items and isinstance(items[-1], str):
                items[-1] += ","  # a bare list: `ct state established,related`
            elif items and isinstance(items[-1], str) and items[-1].endswith(","):
                items[-1] += word
            else:
                if not items:
                    first = line
                items.append(word[1:-1] if word.startswith('"') else word)
        if items:
            out.append(Stmt(items, first, self.text(first)))
        return out

    def set(self, line: int) -> NftSet:
        elements: list[list[Item]] = []
        current: list[Item] = []
        while True:
            tok = self.peek()
            if tok is None:
                raise AclSyntaxError(line, "'{' of a set is never closed (truncated?)")
            word, _ = tok
            self.pos += 1
            if word in (",", ";", "\n"):
                if current:
                    elements.append(current)
                current = []
            elif word == "}":
                if current:
                    elements.append(current)
                return NftSet(elements, line)
            elif word == "{":
                current.append(self.set(tok[1]))
            else:
                current.append(word[1:-1] if word.startswith('"') else word)


# --- the rule set ---------------------------------------------------------------------------------------------


@dataclass
class _Chain:
    family: str
    table: str
    name: str
    line: int
    text: str
    hook: str | None = None
    policy: str = "accept"
    rules: list[Stmt] = field(default_factory=list)


@dataclass
class _Ruleset:
    defines: dict[str, list[Item]] = field(default_factory=dict)
    sets: dict[tuple[str, str, str], list[list[Item]]] = field(default_factory=dict)
    chains: dict[tuple[str, str, str], _Chain] = field(default_factory=dict)
    unparsed: list[Unparsed] = field(default_factory=list)

    def chain(self, family: str, table: str, name: str, line: int, text: str) -> _Chain:
        key = (family, table, name)
        if key not in self.chains:
            self.chains[key] = _Chain(family, table, name, line, text)
        return self.chains[key]


def parse(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Parse an nftables rule set. Options ``iif``/``oif``: the interfaces to analyse for."""
    reader = _Reader(text)
    ruleset = _Ruleset()
    for stmt in reader.block(0):
        _top(stmt, ruleset)
    ctx = _Ctx(ruleset, options.get("iif"), options.get("oif"))
    acls: list[Acl] = []
    by_table: dict[tuple[str, str], dict[str, list[ChainRule]]] = {}
    for (family, table, name), chain in ruleset.chains.items():
        rules: list[ChainRule] = []
        for stmt in chain.rules:
            rules.extend(_rule(stmt, chain, ctx))
        by_table.setdefault((family, table), {})[name] = rules
    reached: set[tuple[str, str, str]] = set()
    for (family, table, name), chain in ruleset.chains.items():
        if chain.hook is None:
            continue
        acl_name = f"{family} {table}/{name}"
        chains = by_table[(family, table)]
        flat = flatten_chain(acl_name, chains, name, unparsed=ruleset.unparsed)
        acls.append(Acl(acl_name, "nftables", flat, "permit" if chain.policy == "accept" else "deny"))
        reached |= {(family, table, n) for n in _reachable(chains, name)}
    for key, chain in ruleset.chains.items():
        if key not in reached and chain.rules:
            reason = f"chain {chain.name} is not reached from a base chain: not analysed"
            ruleset.unparsed.append(Unparsed(chain.line, chain.text, reason))
    return ParsedFilters(tuple(acls), tuple(sorted(ruleset.unparsed, key=lambda u: u.line)))


def _reachable(chains: dict[str, list[ChainRule]], start: str) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for rule in chains.get(todo.pop(), ()):
            if rule.target and rule.target not in seen:
                seen.add(rule.target)
                todo.append(rule.target)
    return seen


def _words(items: Sequence[Item]) -> list[str]:
    return [i for i in items if isinstance(i, str)]


def _top(stmt: Stmt, rs: _Ruleset) -> None:
    head = stmt.items[0]
    if head == "define" and len(stmt.items) >= 4 and stmt.items[2] == "=":
        rs.defines[str(stmt.items[1])] = list(stmt.items[3:])
    elif head == "table" and stmt.children is not None:
        words = _words(stmt.items[1:])
        family, name = (words[0], words[1]) if len(words) >= 2 else ("ip", words[0] if words else "")
        for child in stmt.children:
            _table_item(family, name, child, rs)
    elif head in ("add", "create", "insert") and len(stmt.items) >= 2:
        _command(stmt, rs)
    elif head in ("flush", "delete", "destroy"):
        return
    elif head == "include":
        rs.unparsed.append(Unparsed(stmt.line, stmt.text, "include files are not followed: parse them separately"))
    else:
        rs.unparsed.append(Unparsed(stmt.line, stmt.text, f"statement {head!s} is not understood"))


def _table_item(family: str, table: str, stmt: Stmt, rs: _Ruleset) -> None:
    head = stmt.items[0]
    if head == "chain" and len(stmt.items) >= 2 and stmt.children is not None:
        chain = rs.chain(family, table, str(stmt.items[1]), stmt.line, stmt.text)
        for child in stmt.children:
            if not _chain_property(chain, child.items):
                chain.rules.append(child)
    elif head in ("set", "map") and len(stmt.items) >= 2 and stmt.children is not None:
        elements: list[list[Item]] = []
        for child in stmt.children:
            if child.items[:1] == ["elements"]:
                elements.extend(e for item in child.items if isinstance(item, NftSet) for e in item.elements)
        rs.sets[(family, table, str(stmt.items[1]))] = elements
    elif head in ("flags", "comment") or stmt.children is not None:
        return  # table flags, flowtables, stateful objects: no effect on which packets a rule matches
    else:
        rs.unparsed.append(Unparsed(stmt.line, stmt.text, f"table statement {head!s} is not understood"))


def _chain_property(chain: _Chain, items: list[Item]) -> bool:
    head = items[0]
    if head == "type":
        words = _words(items)
        if "hook" in words:
            chain.hook = words[words.index("hook") + 1] if words.index("hook") + 1 < len(words) else ""
        return True
    if head == "policy" and len(items) >= 2:
        chain.policy = str(items[1])
        return True
    return head in ("comment", "devices", "device")


def _command(stmt: Stmt, rs: _Ruleset) -> None:
    """``add table|chain|set|element|rule FAMILY TABLE NAME ...`` (the family may be omitted: ip)."""
    words = stmt.items
    kind = words[1]
    rest = list(words[2:])
    families = {"ip", "ip6", "inet", "arp", "bridge", "netdev"}
    family = str(rest.pop(0)) if rest and isinstance(rest[0], str) and rest[0] in families else "ip"
    if kind == "table":
        return
    if len(rest) < 2:
        rs.unparsed.append(Unparsed(stmt.line, stmt.text, "command without table and name"))
        return
    table, name, tail = str(rest[0]), str(rest[1]), rest[2:]
    if kind == "chain":
        chain = rs.chain(family, table, name, stmt.line, stmt.text)
        for item in tail:
            if isinstance(item, NftSet):
                for element in item.elements:
                    _chain_property(chain, element)
    elif kind in ("set", "map"):
        rs.sets.setdefault((family, table, name), [])
    elif kind == "element":
        for item in tail:
            if isinstance(item, NftSet):
                rs.sets.setdefault((family, table, name), []).extend(item.elements)
    elif kind == "rule":
        chain = rs.chain(family, table, name, stmt.line, stmt.text)
        rule = Stmt(tail, stmt.line, stmt.text)
        if words[0] == "insert":
            chain.rules.insert(0, rule)
        else:
            chain.rules.append(rule)
    else:
        rs.unparsed.append(Unparsed(stmt.line, stmt.text, f"command {kind} is not understood"))


# --- rules -----------------------------------------------------------------------------------------------------


@dataclass
class _Ctx:
    rs: _Ruleset
    iif: str | None
    oif: str | None


class _Rule:
    """The state of one rule being read."""

    def __init__(self, stmt: Stmt, chain: _Chain, ctx: _Ctx) -> None:
        self.stmt = stmt
        self.chain = chain
        self.ctx = ctx
        self.items = self.expand(stmt.items, 0)
        self.pos = 0
        self.conditions: list[list[Partial]] = []
        if chain.family == "ip":
            self.conditions.append([{"src": V4_ANY, "dst": V4_ANY}])
        self.verdicts: list[tuple[list[list[Partial]], Verdict, str]] = []

    def expand(self, items: Sequence[Item], depth: int) -> list[Item]:
        """``$var`` replaced by its definition (recursively)."""
        if depth > 16:
            raise AclSyntaxError(self.stmt.line, "define variables refer to each other in a loop")
        out: list[Item] = []
        for item in items:
            if isinstance(item, str) and item.startswith("$"):
                if item[1:] not in self.ctx.rs.defines:
                    raise AclSyntaxError(self.stmt.line, f"undefined variable {item}")
                out.extend(self.expand(self.ctx.rs.defines[item[1:]], depth + 1))
            elif isinstance(item, NftSet):
                out.append(NftSet([self.expand(e, depth + 1) for e in item.elements], item.line))
            else:
                out.append(item)
        return out

    def error(self, what: str) -> AclSyntaxError:
        return AclSyntaxError(self.stmt.line, what)

    def report(self, reason: str) -> None:
        self.ctx.rs.unparsed.append(Unparsed(self.stmt.line, self.stmt.text, reason))

    def take(self) -> Item:
        if self.pos >= len(self.items):
            raise self.error("rule ends in the middle of an expression")
        item = self.items[self.pos]
        self.pos += 1
        return item

    def word(self) -> str:
        item = self.take()
        if not isinstance(item, str):
            raise self.error("a set where a word was expected")
        return item

    def at_end(self) -> bool:
        return self.pos >= len(self.items)

    def next(self) -> str:
        """The next item when it is a word, else ``""``."""
        if self.pos < len(self.items):
            item = self.items[self.pos]
            if isinstance(item, str):
                return item
        return ""


def _rule(stmt: Stmt, chain: _Chain, ctx: _Ctx) -> list[ChainRule]:
    r = _Rule(stmt, chain, ctx)
    verdict: Verdict = "continue"
    target = ""
    while not r.at_end():
        item = r.take()
        if isinstance(item, NftSet):
            raise r.error("a set with no expression before it")
        word = item
        if word in _VERDICTS:
            verdict = _VERDICTS[word]
        elif word == "reject":
            verdict = "drop"
            if r.next() == "with":  # reject with icmp type host-unreachable / with tcp reset
                _skip_rest_args(r)
        elif word in ("jump", "goto"):
            verdict, target = ("jump" if word == "jump" else "goto"), r.word()
        elif word in _NAT:
            verdict = "accept"
            _skip_rest_args(r)
        elif word == "queue":
            r.report("queue hands the verdict to user space: not analysed")
            _skip_rest_args(r)
        elif word == "counter":
            _skip_words(r, {"packets", "bytes", "name"}, 2)
        elif word == "log":
            _skip_words(r, {"prefix", "level", "group", "snaplen", "queue-threshold", "flags"}, 2)
        elif word == "comment":
            r.take()
        elif word in ("notrack",):
            continue
        elif word == "limit":
            _skip_limit(r)
            r.report("limit is not in the ACL model: analysed for packets over the limit (the rule does not match)")
            r.conditions.append([])
        else:
            _expression(r, word)
    if r.verdicts:  # a vmap: one rule per element, the rest of the rule applies to each
        return [ChainRule(stmt.line, stmt.text, conjoin([*r.conditions, *extra]), v, t) for extra, v, t in r.verdicts]
    return [ChainRule(stmt.line, stmt.text, conjoin(r.conditions), verdict, target)]


def _skip_words(r: _Rule, keys: set[str], width: int) -> None:
    while not r.at_end() and r.next() in keys:
        r.pos += width


def _skip_rest_args(r: _Rule) -> None:
    """Arguments of a NAT/queue statement: everything up to the next known keyword."""
    while not r.at_end() and r.next() not in ("counter", "log", "comment"):
        r.pos += 1


def _skip_limit(r: _Rule) -> None:
    if not r.at_end() and r.next() == "rate":
        r.pos += 1
    if not r.at_end() and r.next() == "over":
        r.pos += 1
    r.pos += 1  # N/unit
    if not r.at_end() and r.next() in ("bytes", "kbytes", "mbytes"):
        r.pos += 1
    if not r.at_end() and r.next() == "burst":
        after = r.items[r.pos + 2] if r.pos + 2 < len(r.items) else ""
        r.pos += 3 if after in ("packets", "bytes") else 2


def _expression(r: _Rule, word: str) -> None:
    """One ``selector [op] value`` expression starting with ``word``."""
    family = r.chain.family
    if word in ("ip", "ip6"):
        key = r.word()
        only: Ranges | None = None
        if family == "inet" or family in ("bridge", "netdev"):
            only = V4_ANY if word == "ip" else V6_ONLY
        if only is not None:
            r.conditions.append([{"src": only, "dst": only}])
        if key in ("saddr", "daddr"):
            _value_condition(r, "src" if key == "saddr" else "dst", lambda v: _addresses(r, v, word == "ip6"))
        elif key in ("protocol", "nexthdr"):
            _value_condition(r, "proto", lambda v: _protocols(r, v))
        elif key == "version":
            r.take()
        else:
            _unmodelled(r, f"{word} {key}")
    elif word in _PORT_PROTOCOLS or word == "th":
        key = r.word()
        if word != "th":
            number = _PORT_PROTOCOLS[word]
            r.conditions.append([{"proto": ((number, number),)}])
        if key in ("sport", "dport"):
            _value_condition(r, key, lambda v: _ports(r, v))
        else:
            _unmodelled(r, f"{word} {key}")
    elif word in ("icmp", "icmpv6"):
        key = r.word()
        proto = 1 if word == "icmp" else 58
        r.conditions.append([{"proto": ((proto, proto),)}])
        names = ICMP_NAMES if word == "icmp" else ICMPV6_NAMES
        if key == "type":
            _value_condition(r, "icmp_type", lambda v: _numbers(r, v, 255, names, "ICMP type"))
        elif key == "code":
            _value_condition(r, "icmp_code", lambda v: _numbers(r, v, 255, {}, "ICMP code"))
        else:
            _unmodelled(r, f"{word} {key}")
    elif word == "ct":
        key = r.word()
        if key == "state":
            _value_condition(r, "ct_state", lambda v: _states(r, v))
        else:
            _unmodelled(r, f"ct {key}")
    elif word == "meta":
        _meta(r, r.word())
    elif word in ("iifname", "oifname", "iif", "oif", "l4proto", "nfproto", "mark", "skuid", "skgid", "pkttype"):
        _meta(r, word)
    elif word.startswith("@"):
        raise r.error(f"set reference {word} with no expression before it")
    else:
        _unmodelled(r, word)


def _meta(r: _Rule, key: str) -> None:
    if key in ("iifname", "oifname", "iif", "oif"):
        wanted = r.ctx.iif if key.startswith("i") else r.ctx.oif
        negate, values = _operator_and_values(r)
        names = [str(v[0]) for v in values if v and isinstance(v[0], str)]
        hit = any(_glob(n, wanted) for n in names)
        slice_name = f"interface {wanted!r}" if wanted else "an interface no rule names"
        r.report(f"{key} is not in the ACL model: the rule set is analysed for {slice_name}")
        if hit == negate:
            r.conditions.append([])
    elif key == "l4proto":
        _value_condition(r, "proto", lambda v: _protocols(r, v))
    elif key in ("nfproto", "protocol"):
        negate, values = _operator_and_values(r)
        fams = {str(v[0]) for v in values if v and isinstance(v[0], str)}
        v4 = bool(fams & {"ipv4", "ip"})
        v6 = bool(fams & {"ipv6", "ip6"})
        if negate:
            v4, v6 = not v4, not v6
        alts: list[Partial] = []
        if v4:
            alts.append({"src": V4_ANY, "dst": V4_ANY})
        if v6:
            alts.append({"src": V6_ONLY, "dst": V6_ONLY})
        r.conditions.append(alts)
    else:
        _unmodelled(r, f"meta {key}")


def _glob(pattern: str, name: str | None) -> bool:
    if name is None:
        return False
    if pattern.endswith("*"):
        return name.startswith(pattern[:-1])
    return pattern == name


def _unmodelled(r: _Rule, what: str) -> None:
    """A selector outside the model: consume it up to the next keyword; assume it false (``!=``: true).

    ``... set VALUE`` is a statement that changes the packet (``meta mark set 1``), not a condition.
    """
    consumed: list[Item] = []
    while not r.at_end() and r.next() not in _KEYWORDS:
        consumed.append(r.take())
    if "set" in consumed:
        return
    if any(isinstance(c, str) and c in _NEGATIONS for c in consumed):
        r.report(f"{what} is not in the ACL model: analysed for packets it matches (a != condition)")
    else:
        r.report(f"{what} is not in the ACL model: analysed for packets it does not match (the rule matches nothing)")
        r.conditions.append([])


class _Unsupported(Exception):
    """A value the model cannot express (a concatenation, a nested set)."""


_KEYWORDS = {
    "accept",
    "drop",
    "reject",
    "return",
    "jump",
    "goto",
    "continue",
    "counter",
    "log",
    "comment",
    "ip",
    "ip6",
    "tcp",
    "udp",
    "th",
    "icmp",
    "icmpv6",
    "ct",
    "meta",
    "iifname",
    "oifname",
    "iif",
    "oif",
    "limit",
    "queue",
    "snat",
    "dnat",
    "masquerade",
    "redirect",
    "notrack",
    "sctp",
    "dccp",
    "udplite",
}


def _operator_and_values(r: _Rule) -> tuple[bool, list[list[Item]]]:
    """``[op] value``: the negation flag and the value's elements (a set, a named set, a comma list, a word)."""
    negate = False
    op = "=="
    if not r.at_end() and r.next() in _OPERATORS:
        op = str(r.take())
        negate = op in _NEGATIONS
    item = r.take()
    if isinstance(item, NftSet):
        values = item.elements
    elif item.startswith("@"):
        key = (r.chain.family, r.chain.table, item[1:])
        if key not in r.ctx.rs.sets:
            raise r.error(f"set {item} is not defined in this rule set")
        values = [r.expand(e, 0) for e in r.ctx.rs.sets[key]]
    else:
        values = [[part] for part in item.split(",")] if "," in item else [[item]]
    if op in ("<", "lt", ">", "gt", "<=", "le", ">=", "ge"):
        values = [[f"{op}{values[0][0]}"]]
    # a vmap after the selector
    return negate, values


Convert = Callable[[list[list[Item]]], Ranges]


def _value_condition(r: _Rule, key: str, convert: Convert) -> None:
    if not r.at_end() and r.next() == "vmap":
        r.pos += 1
        _vmap(r, key, convert)
        return
    negate, values = _operator_and_values(r)
    try:
        ranges = convert(values)
    except _Unsupported as exc:
        r.report(f"{exc} is not in the ACL model: analysed for packets it does not match (the rule matches nothing)")
        r.conditions.append([])
        return
    if negate:
        ranges = _complement_of(key, ranges)
    r.conditions.append([{key: ranges}])


def _vmap(r: _Rule, key: str, convert: Convert) -> None:
    item = r.take()
    if isinstance(item, str) and item.startswith("@"):
        elements = [r.expand(e, 0) for e in r.ctx.rs.sets.get((r.chain.family, r.chain.table, item[1:]), [])]
    elif isinstance(item, NftSet):
        elements = item.elements
    else:
        raise r.error("vmap needs a { key : verdict } set")
    for element in elements:
        words = [str(w) for w in element]
        if ":" not in words:
            raise r.error(f"vmap element {' '.join(words)!r} has no ':'")
        cut = words.index(":")
        verdict_words = words[cut + 1 :]
        ranges: Ranges = convert([list(element[:cut])])
        v = verdict_words[0] if verdict_words else ""
        target = verdict_words[1] if len(verdict_words) > 1 else ""
        verdict: Verdict
        if v in _VERDICTS:
            verdict = _VERDICTS[v]
        elif v in ("jump", "goto"):
            verdict = "jump" if v == "jump" else "goto"
        elif v == "reject":
            verdict = "drop"
        else:
            raise r.error(f"unknown verdict {v!r} in a vmap")
        r.verdicts.append(([[{key: ranges}]], verdict, target))


_FIELD_MAX = {"src": (1 << 128) - 1, "dst": (1 << 128) - 1, "proto": 255, "sport": 65535, "dport": 65535}


def _complement_of(key: str, ranges: Ranges) -> Ranges:
    if key in ("src", "dst"):
        return complement(ranges, _FIELD_MAX[key])
    if key == "ct_state":
        return complement(ranges, len(CT_STATES) - 1)
    return complement(ranges, _FIELD_MAX.get(key, 255))


_ANNOTATIONS = {"timeout", "expires", "comment", "counter", "packets", "bytes"}


def _scalar(value: list[Item], r: _Rule) -> str:
    """One element's value; element annotations (``timeout 1h``, ``counter ...``) are dropped."""
    del r
    if not value or not isinstance(value[0], str):
        raise _Unsupported("a nested set")
    if len(value) > 1 and not (isinstance(value[1], str) and value[1] in _ANNOTATIONS):
        raise _Unsupported("a concatenation (" + " ".join(str(v) for v in value) + ")")
    return value[0]


def _addresses(r: _Rule, values: list[list[Item]], v6: bool) -> Ranges:
    out: list[tuple[int, int]] = []
    for value in values:
        text = _scalar(value, r)
        if "-" in text and "/" not in text:
            lo_text, _, hi_text = text.partition("-")
            lo, hi = address_int(lo_text, line=r.stmt.line), address_int(hi_text, line=r.stmt.line)
            if lo > hi:
                raise r.error(f"empty address range {text!r}")
            out.append((lo, hi))
        else:
            out.extend(fast_prefix(text, r.stmt.line))
    ranges = normalize(out)
    family_space = V6_ONLY if v6 and r.chain.family != "ip6" else V4_ANY if not v6 else ((0, (1 << 128) - 1),)
    return ranges_intersect(ranges, family_space)


def _protocols(r: _Rule, values: list[list[Item]]) -> Ranges:
    out: list[int] = []
    for value in values:
        text = _scalar(value, r).lower()
        if text.isdigit() and int(text) <= 255:
            out.append(int(text))
        elif text in PROTOCOLS and PROTOCOLS[text] >= 0:
            out.append(PROTOCOLS[text])
        elif text == "ipv6-icmp":
            out.append(58)
        else:
            raise r.error(f"unknown protocol {text!r}")
    return normalize([(p, p) for p in out])


def _ports(r: _Rule, values: list[list[Item]]) -> Ranges:
    return _numbers(r, values, 65535, PORTS, "port")


def _numbers(r: _Rule, values: list[list[Item]], maximum: int, names: dict[str, int], what: str) -> Ranges:
    out: list[tuple[int, int]] = []

    def one(text: str) -> int:
        lowered = text.lower()
        if lowered.isdigit() and int(lowered) <= maximum:
            return int(lowered)
        if lowered in names:
            return names[lowered]
        raise r.error(f"invalid {what} {text!r}")

    for value in values:
        text = _scalar(value, r)
        if text.isdigit():
            out.append((one(text),) * 2)
            continue
        for op, make in (
            ("<=", lambda n: (0, n)),
            (">=", lambda n: (n, maximum)),
            ("le", lambda n: (0, n)),
            ("ge", lambda n: (n, maximum)),
            ("<", lambda n: (0, n - 1)),
            (">", lambda n: (n + 1, maximum)),
            ("lt", lambda n: (0, n - 1)),
            ("gt", lambda n: (n + 1, maximum)),
        ):
            if text.startswith(op) and len(text) > len(op):
                lo, hi = make(one(text[len(op) :]))
                if lo > hi:
                    raise r.error(f"{what} comparison {text!r} matches nothing")
                out.append((lo, hi))
                break
        else:
            lo_text, sep, hi_text = text.partition("-")
            if text.lower() in names:
                n = names[text.lower()]
                out.append((n, n))
            elif sep and lo_text and hi_text:
                lo, hi = one(lo_text), one(hi_text)
                if lo > hi:
                    raise r.error(f"invalid {what} range {text!r}")
                out.append((lo, hi))
            else:
                n = one(text)
                out.append((n, n))
    return normalize(out)


def _states(r: _Rule, values: list[list[Item]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for value in values:
        name = _scalar(value, r).lower()
        if name in CT_STATES:
            index = CT_STATES.index(name)
            out.append((index, index))
        elif name == "untracked":
            r.report("ct state untracked is not in the ACL model: the analysis assumes tracked packets")
        else:
            raise r.error(f"unknown connection state {name!r}")
    return normalize(out)
