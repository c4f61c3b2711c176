"""Capirca policies (``.pol`` with ``def/*.net`` and ``def/*.svc``) into the shared ACL model.

A header names one filter per target (``target:: juniper edge-inbound inet``); each target gives one
:class:`~netwarden.configs.acl.model.Acl` per address family, named ``PLATFORM:FILTER`` (``juniper:edge-inbound``,
``speedway:INPUT``, ``ciscoasa:asa_in``). A ``mixed`` target gives the IPv4 filter under its name and the IPv6
one under the name the generator gives it (``cisco:ipv6-edge-inbound``, ``juniper:inet6 edge-inbound``).

Each ACL means what capirca documents the policy to mean *on that platform* (decision 0022 has the table):

* stateless ACLs (juniper, cisco, arista, ciscoxr, ciscoasa, ...): ``tcp-established`` and ``established``
  match TCP packets with ACK or RST (``tcp_established``); ``established`` on TCP/UDP terms also adds the
  destination ports 1024-65535 (capirca's ``FixHighPorts``); the implicit default is deny;
* stateful iptables (``speedway``, ``iptables`` without ``nostate``): accept terms match connection states
  NEW, ESTABLISHED and RELATED, ``established`` options match ESTABLISHED and RELATED (``ct_state``); the
  default is the header's ACCEPT/DROP (speedway: DROP; iptables: the FORWARD chain DROP, others ACCEPT);
* every platform: addresses of the other family are dropped (a term left with none matches nothing),
  ``*-exclude`` subtract, ``next`` emits no rule, expired terms are not rendered, ``platform``/
  ``platform-exclude`` select terms.

Fields the model has no place for (``packet-length``, fragments, ``source-prefix`` lists whose contents live
on the device, ``verbatim`` text ...) make the term match nothing, and are reported in ``unparsed``.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netwarden.configs.acl.iptables import Partial, conjoin
from netwarden.configs.acl.model import (
    ADDR_ANY,
    V4_ANY,
    V4_BASE,
    Acl,
    AclSyntaxError,
    Action,
    ParsedFilters,
    Ranges,
    Rule,
    Unparsed,
    complement,
    normalize,
    protocol_number,
)
from netwarden.configs.acl.space import ranges_subtract
from netwarden.errors import InvalidInput

STATELESS = {
    "juniper",
    "juniperevo",
    "msmpc",
    "srxlo",
    "cisco",
    "ciscoxr",
    "cisconx",
    "ciscoasa",
    "arista",
    "brocade",
    "aruba",
    "demo",
}
STATEFUL = {"speedway", "iptables"}
_JUNIPER_LIKE = {"juniper", "juniperevo", "msmpc", "srxlo"}
_INET6_NAME = {"juniper": "inet6 {}", "juniperevo": "inet6 {}", "msmpc": "inet6 {}", "srxlo": "inet6 {}"}

# capirca's ICMP type names (policy.Term.ICMP_TYPE)
ICMP4: dict[str, int] = {
    "echo-reply": 0,
    "unreachable": 3,
    "source-quench": 4,
    "redirect": 5,
    "alternate-address": 6,
    "echo-request": 8,
    "router-advertisement": 9,
    "router-solicitation": 10,
    "time-exceeded": 11,
    "parameter-problem": 12,
    "timestamp-request": 13,
    "timestamp-reply": 14,
    "information-request": 15,
    "information-reply": 16,
    "mask-request": 17,
    "mask-reply": 18,
    "conversion-error": 31,
    "mobile-redirect": 32,
}
ICMP6: dict[str, int] = {
    "destination-unreachable": 1,
    "packet-too-big": 2,
    "time-exceeded": 3,
    "parameter-problem": 4,
    "echo-request": 128,
    "echo-reply": 129,
    "multicast-listener-query": 130,
    "multicast-listener-report": 131,
    "multicast-listener-done": 132,
    "router-solicit": 133,
    "router-advertisement": 134,
    "neighbor-solicit": 135,
    "neighbor-advertisement": 136,
    "redirect-message": 137,
    "router-renumbering": 138,
    "icmp-node-information-query": 139,
    "icmp-node-information-response": 140,
    "inverse-neighbor-discovery-solicitation": 141,
    "inverse-neighbor-discovery-advertisement": 142,
    "version-2-multicast-listener-report": 143,
    "home-agent-address-discovery-request": 144,
    "home-agent-address-discovery-reply": 145,
    "mobile-prefix-solicitation": 146,
    "mobile-prefix-advertisement": 147,
    "certification-path-solicitation": 148,
    "certification-path-advertisement": 149,
    "multicast-router-advertisement": 151,
    "multicast-router-solicitation": 152,
    "multicast-router-termination": 153,
}
CAPIRCA_PROTOCOLS: dict[str, int] = {"hopopt": 0, "ipip": 4, "icmpv6": 58, "ah": 51, "esp": 50, "ospf": 89}

# term keywords with no effect on which packets match
_NO_EFFECT = {
    "comment",
    "owner",
    "counter",
    "policer",
    "logging",
    "log-limit",
    "log-name",
    "qos",
    "loss-priority",
    "routing-instance",
    "traffic-class-count",
    "name",
    "priority",
    "encapsulate",
    "port-mirror",
    "next-ip",
    "forwarding-class",
    "forwarding-class-except",
    "filter-term",
    "apply-groups",
    "apply-groups-except",
    "destination-tag",
    "source-tag",
    "target-service-accounts",
    "timeout",
    "ttl",
}
_MATCH_KEYS = {
    "source-address",
    "destination-address",
    "address",
    "source-exclude",
    "destination-exclude",
    "address-exclude",
    "source-port",
    "destination-port",
    "protocol",
    "protocol-except",
    "icmp-type",
    "icmp-code",
    "option",
    "action",
    "platform",
    "platform-exclude",
    "expiration",
    "verbatim",
    "restrict-address-family",
}
_OPTIONS_NO_EFFECT = {"sample", "counter", "inactive", "nostate"}
_ACTIONS: dict[str, Action | None] = {
    "accept": "permit",
    "deny": "deny",
    "reject": "deny",
    "reject-with-tcp-rst": "deny",
    "next": None,
}


Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# --- naming definitions ---------------------------------------------------------------------------------------


@dataclass
class Definitions:
    """Capirca's naming: network and service names, each a list of values or other names."""

    networks: dict[str, list[str]] = field(default_factory=dict)
    services: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, directory: Path) -> Definitions:
        if not directory.is_dir():
            raise InvalidInput(f"capirca definitions directory {directory} does not exist: pass defs=DIR")
        defs = cls()
        for path in sorted(directory.iterdir()):
            if path.suffix == ".net":
                defs.read(path.read_text(errors="replace"), defs.networks, path.name)
            elif path.suffix == ".svc":
                defs.read(path.read_text(errors="replace"), defs.services, path.name)
        return defs

    @staticmethod
    def read(text: str, into: dict[str, list[str]], source: str) -> None:
        current: list[str] | None = None
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "=" in line:
                name, _, rest = line.partition("=")
                name = name.strip()
                if not name or " " in name:
                    raise InvalidInput(f"{source} line {number}: invalid definition {raw.strip()!r}")
                current = into.setdefault(name, [])
                current.extend(rest.split())
            elif current is None:
                raise InvalidInput(f"{source} line {number}: a value before any NAME = definition")
            else:
                current.extend(line.split())

    def network(
        self, name: str, line: int, seen: frozenset[str] = frozenset()
    ) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        if name not in self.networks:
            raise AclSyntaxError(line, f"network {name!r} is not defined in the definitions")
        if name in seen:
            raise AclSyntaxError(line, f"network {name!r} refers to itself")
        out: list[Network] = []
        for value in self.networks[name]:
            try:
                out.append(ipaddress.ip_network(value, strict=False))
            except ValueError:
                out.extend(self.network(value, line, seen | {name}))
        return out

    def service(self, name: str, line: int, seen: frozenset[str] = frozenset()) -> list[tuple[int, int, str]]:
        """``(lo, hi, protocol)`` triples of a service name."""
        if name not in self.services:
            raise AclSyntaxError(line, f"service {name!r} is not defined in the definitions")
        if name in seen:
            raise AclSyntaxError(line, f"service {name!r} refers to itself")
        out: list[tuple[int, int, str]] = []
        for value in self.services[name]:
            if "/" not in value:
                out.extend(self.service(value, line, seen | {name}))
                continue
            ports, _, proto = value.partition("/")
            lo_text, _, hi_text = ports.partition("-")
            if not lo_text.isdigit() or (hi_text and not hi_text.isdigit()):
                raise AclSyntaxError(line, f"service {name!r}: invalid port {value!r}")
            lo, hi = int(lo_text), int(hi_text or lo_text)
            if hi > 65535 or lo > hi:
                raise AclSyntaxError(line, f"service {name!r}: invalid port {value!r}")
            out.append((lo, hi, proto.lower()))
        return out


# --- policy text -----------------------------------------------------------------------------------------------

_TOKEN = re.compile(r'"[^"]*"|\'[^\']*\'|[{}]|[A-Za-z0-9_-]+::|[^\s{}"\'#]+|#[^\n]*')


@dataclass
class _Block:
    kind: str  # header | term
    name: str
    line: int
    text: str
    occurrences: dict[str, list[tuple[list[str], int]]] = field(default_factory=dict)
    """Each ``keyword::`` occurrence: its values and its line in the main file."""

    @property
    def fields(self) -> dict[str, list[str]]:
        return {key: [v for values, _ in occ for v in values] for key, occ in self.occurrences.items()}


def _expand_includes(text: str, base: Path | None, line_of: list[int], depth: int = 0) -> list[str]:
    """The policy's lines with ``#include`` expanded; ``line_of`` gets each line's line in the main file."""
    out: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        m = re.match(r"\s*#include\s+['\"]?([^'\"\s]+)['\"]?", raw)
        if not m:
            out.append(raw)
            line_of.append(number if depth == 0 else -1)
            continue
        if base is None:
            raise AclSyntaxError(number, f"#include {m.group(1)}: pass policies=DIR (the directory includes are in)")
        path = base / m.group(1)
        if not path.is_file() or depth > 8:
            raise AclSyntaxError(number, f"#include {m.group(1)}: no such file under {base}")
        inner_lines: list[int] = []
        out.extend(_expand_includes(path.read_text(errors="replace"), base, inner_lines, depth + 1))
        line_of.extend(number if depth == 0 else -1 for _ in inner_lines)
    return out


def _blocks(lines: list[str], line_of: list[int]) -> list[_Block]:
    text = "\n".join(lines)
    tokens: list[tuple[str, int]] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok.startswith("#"):
            continue
        tokens.append((tok, text.count("\n", 0, m.start()) + 1))
    blocks: list[_Block] = []
    i = 0
    while i < len(tokens):
        tok, line = tokens[i]
        main_line = line_of[line - 1] if line - 1 < len(line_of) else line
        if tok in ("header", "term") and i + 1 < len(tokens):
            name = ""
            j = i + 1
            if tok == "term":
                name = tokens[j][0]
                j += 1
            if j >= len(tokens) or tokens[j][0] != "{":
                raise AclSyntaxError(main_line, f"{tok} without '{{'")
            block = _Block(tok, name, main_line, lines[line - 1].strip())
            j += 1
            current: list[str] | None = None
            while j < len(tokens) and tokens[j][0] != "}":
                word, wline = tokens[j]
                if word.endswith("::"):
                    current = []
                    where = line_of[wline - 1] if wline - 1 < len(line_of) else wline
                    block.occurrences.setdefault(word[:-2].lower(), []).append((current, where))
                elif current is None:
                    raise AclSyntaxError(main_line, f"{tok} {name}: value {word!r} before any keyword::")
                else:
                    current.append(word[1:-1] if word[:1] in "\"'" else word)
                j += 1
            if j >= len(tokens):
                raise AclSyntaxError(main_line, f"{tok} {name} is never closed with '}}' (truncated?)")
            blocks.append(block)
            i = j + 1
        else:
            raise AclSyntaxError(main_line, f"expected 'header' or 'term', found {tok!r}")
    return blocks


# --- targets and lowering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    platform: str
    filter: str
    families: tuple[str, ...]
    default: Action
    stateful: bool
    standard: bool = False


def _targets(header: _Block, unparsed: list[Unparsed]) -> list[_Target]:
    out: list[_Target] = []
    for words, line in header.occurrences.get("target", []):
        if not words:
            raise AclSyntaxError(line, "target:: without a platform")
        platform = words[0].lower()
        options = words[1:]
        if platform in STATELESS:
            if not options:
                raise AclSyntaxError(line, f"target {platform} without a filter name")
            name, rest = options[0], [o.lower() for o in options[1:]]
            families: tuple[str, ...] = ("inet",)
            if "inet6" in rest:
                families = ("inet6",)
            elif "mixed" in rest:
                families = ("inet", "inet6")
            if platform == "ciscoasa":
                families = ("inet",)
            if "bridge" in rest:
                unparsed.append(Unparsed(line, header.text, f"target {platform} bridge filters are not IP filters"))
                continue
            out.append(_Target(platform, name, families, "deny", False, standard="standard" in rest))
        elif platform in STATEFUL:
            if not options:
                raise AclSyntaxError(line, f"target {platform} without a chain name")
            name, rest = options[0], [o.upper() for o in options[1:]]
            default: Action = "deny" if platform == "speedway" or name == "FORWARD" else "permit"
            if "ACCEPT" in rest:
                default = "permit"
            elif "DROP" in rest:
                default = "deny"
            family = "inet6" if "INET6" in rest else "inet"
            out.append(_Target(platform, name, (family,), default, "NOSTATE" not in rest))
        else:
            unparsed.append(Unparsed(line, header.text, f"target {platform} is not modelled: no ACL for it"))
    return out


def _acl_names(target: _Target) -> list[tuple[str, str]]:
    """(family, ACL name) per family of a target."""
    out = []
    for family in target.families:
        name = target.filter
        if family == "inet6" and len(target.families) > 1:
            name = _INET6_NAME.get(target.platform, "ipv6-{}").format(target.filter)
        out.append((family, f"{target.platform}:{name}"))
    return out


@dataclass
class _Ctx:
    defs: Definitions
    unparsed: list[Unparsed]
    today: datetime.date


def parse(text: str, *, source: str = "", **options: Any) -> ParsedFilters:
    """Parse a capirca policy.

    Options: ``defs`` (the definitions directory; default: a ``def`` directory beside or above the policy),
    ``policies`` (where ``#include`` paths start; default: the first directory above the policy that holds
    them), ``target`` (only this platform's filters), ``today`` (the date for ``expiration::``),
    ``definitions`` (an already loaded :class:`Definitions`, instead of ``defs``).
    """
    groups, unparsed = policy_filters(text, source=source, **options)
    return ParsedFilters(tuple(acl for group in groups for acl in group), unparsed)


def policy_filters(text: str, *, source: str = "", **options: Any) -> tuple[list[list[Acl]], tuple[Unparsed, ...]]:
    """Like :func:`parse`, with the ACLs grouped by the header (the filter) they come from."""
    src = Path(source) if source else None
    given = options.get("definitions")
    if isinstance(given, Definitions):
        defs = given
    else:
        defs_dir = options.get("defs") or _find_up(src, "def")
        if defs_dir is None:
            raise InvalidInput("no capirca definitions directory found beside the policy: pass defs=DIR")
        defs = Definitions.load(Path(defs_dir))
    base = options.get("policies")
    if base is None:
        base = _include_base(src, text)
    line_of: list[int] = []
    lines = _expand_includes(text, Path(base) if base is not None else None, line_of)
    blocks = _blocks(lines, line_of)
    ctx = _Ctx(defs, [], options.get("today") or datetime.date.today())
    only = options.get("target")
    groups: list[list[Acl]] = []
    header: _Block | None = None
    terms: list[_Block] = []
    for block in [*blocks, None]:
        if block is None or block.kind == "header":
            if header is not None:
                group: list[Acl] = []
                for target in _targets(header, ctx.unparsed):
                    if only is None or target.platform == only:
                        group.extend(_lower(target, terms, ctx))
                groups.append(group)
            header, terms = block, []
        elif header is None:
            raise AclSyntaxError(block.line, f"term {block.name} before any header")
        else:
            terms.append(block)
    return groups, tuple(sorted(ctx.unparsed, key=lambda u: u.line))


def _find_up(src: Path | None, name: str) -> Path | None:
    if src is None:
        return None
    for parent in src.resolve().parents:
        if (parent / name).is_dir():
            return parent / name
    return None


def _include_base(src: Path | None, text: str) -> Path | None:
    m = re.search(r"^\s*#include\s+['\"]?([^'\"\s]+)", text, re.MULTILINE)
    if m is None or src is None:
        return None
    for parent in src.resolve().parents:
        if (parent / m.group(1)).is_file():
            return parent
    return None


def _lower(target: _Target, terms: Sequence[_Block], ctx: _Ctx) -> list[Acl]:
    acls = []
    for family, name in _acl_names(target):
        rules: list[Rule] = []
        for term in terms:
            rule = _term(target, family, name, len(rules) + 1, term, ctx)
            if rule is not None:
                rules.append(rule)
        acls.append(Acl(name, "capirca", tuple(rules), target.default))
    return acls


def _term(target: _Target, family: str, acl: str, index: int, term: _Block, ctx: _Ctx) -> Rule | None:
    f = term.fields
    platform = target.platform
    if f.get("platform") and platform not in f["platform"]:
        return None
    if platform in f.get("platform-exclude", []):
        return None
    if "expiration" in f:
        try:
            expires = datetime.date.fromisoformat(f["expiration"][0])
        except (ValueError, IndexError):
            raise AclSyntaxError(term.line, f"term {term.name}: invalid expiration {f['expiration']!r}") from None
        if expires <= ctx.today:
            _report(ctx, term, f"term {term.name} expired on {expires}: capirca does not render it")
            return None
    if "verbatim" in term.occurrences:
        named = {values[0].lower() for values, _ in term.occurrences["verbatim"] if values}
        if platform in named:  # other platforms render nothing for the term
            _report(ctx, term, f"term {term.name} is verbatim {platform} text: not analysed")
        return None
    restricted = f.get("restrict-address-family")
    if restricted and restricted[0].lower() != family:
        return None  # the term is rendered for the other family only
    if "filter-term" in f and "action" not in f:
        _report(ctx, term, f"term {term.name} jumps to filter {' '.join(f['filter-term'])}: not inlined")
        return None
    actions = f.get("action", [])
    if len(actions) != 1 or actions[0] not in _ACTIONS:
        raise AclSyntaxError(term.line, f"term {term.name}: needs one action:: of {', '.join(_ACTIONS)}")
    action = _ACTIONS[actions[0]]
    if action is None:
        return None  # `next`: the term does not terminate
    line = term.line
    fam_any = V4_ANY if family == "inet" else ADDR_ANY
    version = 4 if family == "inet" else 6
    conditions: list[list[Partial]] = []
    if family == "inet":
        conditions.append([{"src": V4_ANY, "dst": V4_ANY}])

    def addresses(key: str, exclude: str) -> Ranges | None:
        if key not in f and exclude not in f:
            return None
        ranges = _networks(f[key], ctx.defs, line, version) if key in f else fam_any
        if exclude in f:
            ranges = ranges_subtract(ranges, _networks(f[exclude], ctx.defs, line, version))
        return ranges

    src = addresses("source-address", "source-exclude")
    dst = addresses("destination-address", "destination-exclude")
    either = addresses("address", "address-exclude")
    if src is not None:
        conditions.append([{"src": src}])
    if dst is not None:
        conditions.append([{"dst": dst}])
    if either is not None:
        conditions.append([{"src": either}, {"dst": either}])

    protocols = [p.lower() for p in f.get("protocol", [])]
    if (family == "inet6" and "icmp" in protocols) or (family == "inet" and "icmpv6" in protocols):
        return None  # capirca renders no icmp term in an inet6 filter, nor icmpv6 in an inet one
    if protocols:
        conditions.append([{"proto": normalize([(n, n) for n in (_protocol(p, line) for p in protocols)])}])
    if "protocol-except" in f:
        excepted = normalize([(n, n) for n in (_protocol(p, line) for p in f["protocol-except"])])
        conditions.append([{"proto": complement(excepted, 255)}])

    options = [o.lower() for o in f.get("option", [])]
    established = any(o.startswith("established") for o in options)
    tcp_established = "tcp-established" in options
    sports = _ports(f.get("source-port", []), protocols, ctx.defs, line, term.name)
    dports = _ports(f.get("destination-port", []), protocols, ctx.defs, line, term.name)
    stateful = target.platform in STATEFUL and target.stateful
    if established and not stateful:  # capirca's FixHighPorts
        if not protocols or set(protocols) - {"tcp", "udp"}:
            raise AclSyntaxError(line, f"term {term.name}: option established needs protocols tcp and/or udp")
        dports = normalize([*(dports or ()), (1024, 65535)])
    if sports is not None:
        conditions.append([{"sport": sports}])
    if dports is not None:
        conditions.append([{"dport": dports}])

    icmp_types = f.get("icmp-type", [])
    if icmp_types:
        table = ICMP6 if family == "inet6" else ICMP4
        numbers = []
        for name in icmp_types:
            if name.lower() not in table:
                raise AclSyntaxError(line, f"term {term.name}: unknown icmp-type {name!r} for {family}")
            numbers.append(table[name.lower()])
        conditions.append([{"icmp_type": normalize([(n, n) for n in numbers])}])
    if f.get("icmp-code"):
        codes = [int(c) for c in f["icmp-code"] if c.isdigit() and int(c) <= 255]
        if len(codes) != len(f["icmp-code"]):
            raise AclSyntaxError(line, f"term {term.name}: invalid icmp-code {f['icmp-code']!r}")
        conditions.append([{"icmp_code": normalize([(c, c) for c in codes])}])

    if stateful:
        if established or tcp_established:
            conditions.append([{"ct_state": ((1, 2),)}])
        elif action == "permit":
            conditions.append(_stateful_accept(protocols, icmp_types, family))
    elif established or tcp_established:
        juniper_like = target.platform in _JUNIPER_LIKE
        if tcp_established and protocols != ["tcp"] and juniper_like:
            raise AclSyntaxError(line, f"term {term.name}: tcp-established needs protocol:: tcp alone")
        if protocols == ["tcp"] or not juniper_like:  # juniper flags tcp only when tcp is the only protocol
            tcp: Ranges = ((6, 6),)
            conditions.append([{"proto": tcp, "tcp_established": ((1, 1),)}, {"proto": complement(tcp, 255)}])

    for option in options:
        if option.startswith("established") or option == "tcp-established" or option in _OPTIONS_NO_EFFECT:
            continue
        _report(ctx, term, f"option {option} is not in the ACL model: the term matches nothing in the analysis")
        conditions.append([])
    for key in f:
        if key in _MATCH_KEYS or key in _NO_EFFECT or key == "target":
            continue
        if key in ("source-prefix", "destination-prefix", "source-prefix-except", "destination-prefix-except"):
            reason = f"{key} names a prefix list defined on the device: analysed as an empty list"
        else:
            reason = f"{key} is not in the ACL model: the term matches nothing in the analysis"
        if key.endswith("-except"):
            _report(ctx, term, reason.replace("an empty list", "an empty list (nothing excepted)"))
            continue
        _report(ctx, term, reason)
        conditions.append([])
    if target.standard:
        conditions = [c for c in conditions if all(set(p) <= {"src"} for p in c)]
    return Rule(acl, index, line, term.text, action, conjoin(conditions))


def _stateful_accept(protocols: list[str], icmp_types: list[str], family: str) -> list[Partial]:
    """Capirca's speedway adds ``--state NEW,ESTABLISHED,RELATED`` to accepts, except ICMPv6 other than
    echo-request and node-information-query (conntrack tracks only those)."""
    tracked: Partial = {"ct_state": ((0, 2),)}
    if "icmpv6" not in protocols:
        return [tracked]
    types = {ICMP6.get(t.lower(), -1) for t in icmp_types} if family == "inet6" else set()
    alts: list[Partial] = [{"proto": complement(((58, 58),), 255), **tracked}]
    tracked_types = normalize([(t, t) for t in types & {128, 139}])
    if tracked_types:
        alts.append({"proto": ((58, 58),), "icmp_type": tracked_types, **tracked})
    rest = complement(tracked_types, 255) if tracked_types else ((0, 255),)
    alts.append({"proto": ((58, 58),), "icmp_type": rest})
    return alts


def _report(ctx: _Ctx, term: _Block, reason: str) -> None:
    ctx.unparsed.append(Unparsed(term.line, term.text, reason))


def _networks(names: list[str], defs: Definitions, line: int, version: int) -> Ranges:
    """The addresses of ``version`` (4 or 6) the names hold; capirca drops the other family's."""
    out: list[tuple[int, int]] = []
    for name in names:
        for net in defs.network(name, line):
            if net.version != version:
                continue
            lo = int(net.network_address) + (V4_BASE if net.version == 4 else 0)
            out.append((lo, lo + net.num_addresses - 1))
    return normalize(out)


def _ports(names: list[str], protocols: list[str], defs: Definitions, line: int, term: str) -> Ranges | None:
    """capirca's TranslatePorts: the ports of every named service for each of the term's protocols."""
    if not names:
        return None
    if not protocols:
        raise AclSyntaxError(line, f"term {term}: ports need a protocol::")
    out: list[tuple[int, int]] = []
    for name in names:
        for lo, hi, proto in defs.service(name, line):
            if proto in protocols:
                out.append((lo, hi))
    if not out:
        raise AclSyntaxError(line, f"term {term}: {', '.join(names)} define no port for {', '.join(protocols)}")
    return normalize(out)


def _protocol(name: str, line: int) -> int:
    if name in CAPIRCA_PROTOCOLS:
        return CAPIRCA_PROTOCOLS[name]
    value = protocol_number(name, line=line)
    if value < 0:
        raise AclSyntaxError(line, f"protocol {name!r} is not a single protocol")
    return value
