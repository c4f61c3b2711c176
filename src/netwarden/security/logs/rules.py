"""Log formats as data: a :class:`Rule` is one message format (a regular expression with named groups
and what it means), a :class:`RuleSet` the formats of one source (sshd, Cisco IOS, netfilter...).

Named groups a pattern may use, and where they go in the :class:`~netwarden.security.logs.model.LogEvent`:

``src`` / ``dst``        an address or host name (``::ffff:`` v4-mapped addresses are unwrapped; a name
                         that is no IP address goes to ``fields["source_host"]`` / ``["dest_host"]``)
``src_hp`` / ``dst_hp``  ``ADDR:PORT`` together (dropbear), split at the last colon
``sport`` / ``dport``    ports
``user``, ``ruser``       the account: ``user`` when it matched, else ``ruser`` (PAM's ``user=`` then ``ruser=``)
``proto``                the protocol, lower-cased
``kind``-deciding group  see :attr:`Rule.kind_by`
anything else            ``fields[name]`` when it matched

A name ending in a digit (``user2``, ``src_hp2``) is another place in the same pattern for the group
without the digit (Python allows each name once): it counts when that one did not match.

A rule set applies to a message when the message's program (``app``) is one of its ``apps``, or its
text contains one of its ``needles``, or its ``detect`` expression matches the text; its ``strip``
expression then removes a prefix (``error: ``, a Solaris ``[ID ...]`` tag) before its rules run.
The first rule whose ``needle`` occurs and whose pattern matches decides the event.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from netwarden.security.logs.model import KINDS, Outcome

__all__ = ["HOST", "Rule", "RuleSet", "address", "pick", "rule", "split_host_port"]

# An IPv4 or IPv6 address (also v4-mapped) or a DNS name; IPv6 first: a name would stop at its first colon.
HOST = r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*|[\w.-]+"


@dataclass(frozen=True)
class Rule:
    """One message format.

    ``name`` (``family.what``) is kept in ``fields["rule"]``; alternative spellings of one format share
    a name. ``kind`` is the event kind, or ``kind_by`` = (group, {lower-cased value: kind}, default)
    reads it from the line (a verdict, a state word; see :func:`pick`), as ``outcome_by`` and
    ``action_by`` read those. ``defaults`` fill event fields a line leaves
    out (``user: root`` for ``ROOT LOGIN REFUSED``). ``origin`` says where the format comes from.
    """

    name: str
    kind: str
    pattern: re.Pattern[str]
    needle: str = ""
    action: str | None = None
    outcome: Outcome | None = None
    kind_by: tuple[str, Mapping[str, str], str] | None = None
    outcome_by: tuple[str, Mapping[str, Outcome]] | None = None
    action_by: tuple[str, Mapping[str, str], str] | None = None
    defaults: Mapping[str, str] = field(default_factory=dict)
    origin: str = ""


def pick(value: str | None, table: Mapping[str, str], default: str | None) -> str | None:
    """``table``'s entry for ``value`` (lower-cased): the exact key, else the first key inside it, else ``default``."""
    if value is None:
        return default
    low = value.lower()
    hit = table.get(low)
    if hit is not None:
        return hit
    for key, result in table.items():
        if key in low:
            return result
    return default


@dataclass(frozen=True)
class RuleSet:
    """The formats of one source, tried in order."""

    parser: str
    rules: tuple[Rule, ...]
    apps: frozenset[str] = frozenset()
    needles: tuple[str, ...] = ()
    detect: re.Pattern[str] | None = None
    strip: re.Pattern[str] | None = None

    def applies(self, app: str, text: str) -> bool:
        if app in self.apps:
            return True
        for needle in self.needles:
            if needle in text:
                return True
        return self.detect is not None and self.detect.search(text) is not None


def rule(
    name: str,
    kind: str,
    pattern: str,
    *,
    needle: str = "",
    action: str | None = None,
    outcome: Outcome | None = None,
    kind_by: tuple[str, Mapping[str, str], str] | None = None,
    outcome_by: tuple[str, Mapping[str, Outcome]] | None = None,
    action_by: tuple[str, Mapping[str, str], str] | None = None,
    defaults: Mapping[str, str] | None = None,
    origin: str = "",
    flags: int = 0,
) -> Rule:
    """A :class:`Rule`, its pattern compiled (``{HOST}`` in it stands for :data:`HOST`)."""
    kinds = {kind} if not kind_by else {*kind_by[1].values(), kind_by[2]}
    bad = kinds - set(KINDS)
    if bad:
        raise ValueError(f"rule {name}: unknown kind {sorted(bad)[0]!r}")
    return Rule(
        name=name,
        kind=kind,
        pattern=re.compile(pattern.replace("{HOST}", HOST), flags),
        needle=needle,
        action=action,
        outcome=outcome,
        kind_by=kind_by,
        outcome_by=outcome_by,
        action_by=action_by,
        defaults=defaults or {},
        origin=origin,
    )


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_CANONICAL_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")


def address(value: str) -> tuple[str | None, str | None]:
    """``(ip, None)`` for an IP address (v4-mapped IPv6 unwrapped, IPv6 compressed), ``(None, name)`` else."""
    if _CANONICAL_V4.fullmatch(value):  # the common case, already in canonical form
        return value, None
    return _address(value)


@functools.lru_cache(maxsize=4096)
def _address(value: str) -> tuple[str | None, str | None]:
    text = value.strip("[]<>\"'")
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None, text or None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped), None
    return str(ip), None


def split_host_port(value: str) -> tuple[str, int | None]:
    """``1.2.3.4:22``, ``::ffff:1.2.3.4:22``, ``[2001:db8::1]:22`` -> (address, port); no port: (value, None)."""
    text = value.strip("<>")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    head, sep, tail = text.rpartition(":")
    if sep and tail.isdigit() and head:
        try:
            ipaddress.ip_address(head)
        except ValueError:
            if ":" in head:  # a bare IPv6 address, its last group all digits
                return text, None
        return head, int(tail)
    return text, None
