"""Target ranges for the probes: parse CIDRs once, count them, expand them lazily.

A /16 is 65,536 addresses and an IPv6 /64 is 2**64: ranges are never turned
into lists. :class:`TargetSet` keeps the parsed networks (a handful of objects)
and yields address strings one at a time, in the exact text form the kernel
reports back in ``recvfrom`` (``inet_ntop``), so replies can be matched by a
plain string lookup.
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from netwarden.errors import InvalidInput

# The default ceiling of one sweep, in addresses: a /16. Larger ranges need force=True (`--force`).
DEFAULT_MAX_ADDRESSES = 1 << 16
# Even with force, a sweep never exceeds this: an IPv6 /64 would otherwise run for centuries.
HARD_MAX_ADDRESSES = 1 << 24

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _short(spec: object) -> str:
    """The user's input quoted on one line, so an error message stays one line whatever was typed."""
    text = repr(spec)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_network(spec: str) -> Network:
    """Parse one address or CIDR (``10.0.0.0/24``, ``10.0.0.7``, ``2001:db8::/120``).

    Host bits are allowed and ignored (``10.0.0.5/24`` means the /24), as nmap and fping read it.

    Raises:
        InvalidInput: not an IPv4/IPv6 address or network, in one line.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidInput(f"invalid CIDR {_short(spec)}: expected an address or network such as 10.0.0.0/24")
    text = spec.strip()
    if "%" in text:
        raise InvalidInput(f"invalid CIDR {_short(spec)}: scoped (link-local %zone) addresses are not supported")
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "not an address"
        raise InvalidInput(
            f"invalid CIDR {_short(spec)}: {reason}; expected an address or network such as 10.0.0.0/24"
        ) from None


def _bounds(net: Network, hosts_only: bool) -> tuple[int, int]:
    """First address and one past the last, as integers, honouring ``hosts_only``."""
    first = int(net.network_address)
    end = first + net.num_addresses
    if hosts_only:
        if net.version == 4 and net.prefixlen < 31:
            first, end = first + 1, end - 1  # network and broadcast addresses answer nobody useful
        elif net.version == 6 and net.prefixlen < 127:
            first += 1  # the subnet-router anycast address, as ipaddress.hosts() does
    return first, end


@dataclass(frozen=True)
class TargetSet:
    """Parsed, de-duplicated target networks; iterate it to get address strings lazily."""

    networks: tuple[Network, ...]
    hosts_only: bool = True
    # Addresses named one by one: never trimmed by ``hosts_only``, even when they sit side by side
    # and would merge into a block whose first or last address is one of them.
    exact: tuple[Network, ...] = ()

    def _all(self) -> Iterator[tuple[Network, bool]]:
        yield from ((n, self.hosts_only) for n in self.networks)
        yield from ((n, False) for n in self.exact)

    @property
    def total(self) -> int:
        """How many addresses iteration yields."""
        return sum(end - first for first, end in (_bounds(n, trim) for n, trim in self._all()))

    @property
    def families(self) -> frozenset[int]:
        return frozenset(socket.AF_INET if n.version == 4 else socket.AF_INET6 for n, _ in self._all())

    def __iter__(self) -> Iterator[str]:
        # map() chains run in C: a third cheaper per address than a generator, which a /16 notices.
        return itertools.chain.from_iterable(self._expand(net, trim) for net, trim in self._all())

    def _expand(self, net: Network, trim: bool) -> Iterator[str]:
        first, end = _bounds(net, trim)
        if net.version == 4:
            return map(socket.inet_ntoa, map(_PACK4, range(first, end)))
        return map(_ntop6, map(_pack6, range(first, end)))


_PACK4 = struct.Struct("!I").pack


def _pack6(value: int) -> bytes:
    return value.to_bytes(16, "big")


def _ntop6(packed: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, packed)


def _target_set(v4: list[ipaddress.IPv4Network], v6: list[ipaddress.IPv6Network], hosts_only: bool) -> TargetSet:
    """Merge overlapping ranges; keep single addresses apart when ``hosts_only`` would trim them."""
    if not hosts_only:
        return TargetSet((*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)), False)
    ranges4 = list(ipaddress.collapse_addresses(n for n in v4 if n.prefixlen < 32))
    ranges6 = list(ipaddress.collapse_addresses(n for n in v6 if n.prefixlen < 128))
    ranges: list[Network] = [*ranges4, *ranges6]
    spans = [(*_bounds(n, True), n.version) for n in ranges]

    def covered(net: Network) -> bool:
        value = int(net.network_address)
        return any(v == net.version and first <= value < end for first, end, v in spans)

    singles4 = [n for n in v4 if n.prefixlen == 32 and not covered(n)]
    singles6 = [n for n in v6 if n.prefixlen == 128 and not covered(n)]
    exact: list[Network] = [*ipaddress.collapse_addresses(singles4), *ipaddress.collapse_addresses(singles6)]
    return TargetSet(tuple(ranges), True, tuple(exact))


def parse_targets(
    specs: Iterable[str] | str,
    *,
    max_addresses: int = DEFAULT_MAX_ADDRESSES,
    force: bool = False,
    hosts_only: bool = True,
) -> TargetSet:
    """Parse and bound a list of addresses/CIDRs before any packet is sent.

    Overlapping ranges are merged, so no address is probed twice in one sweep.

    Args:
        specs: addresses or CIDRs, IPv4 and IPv6 mixed (a single string is one spec).
        max_addresses: refuse more addresses than this in total unless ``force``.
        force: allow more than ``max_addresses`` (never more than 2**24).
        hosts_only: skip IPv4 network/broadcast addresses (prefixes shorter than /31) and the IPv6
            subnet-router anycast address, like ``ipaddress.hosts()`` and ``fping -g``.

    Raises:
        InvalidInput: an invalid CIDR, no targets, or a range over the limit (the message says to use --force).
    """
    items = [specs] if isinstance(specs, str) else list(specs)
    if not items:
        raise InvalidInput("no targets given: name at least one address or CIDR such as 10.0.0.0/24")
    v4: list[ipaddress.IPv4Network] = []
    v6: list[ipaddress.IPv6Network] = []
    for spec in items:
        net = parse_network(spec)
        if isinstance(net, ipaddress.IPv4Network):
            v4.append(net)
        else:
            v6.append(net)
    targets = _target_set(v4, v6, hosts_only)
    networks = (*targets.networks, *targets.exact)
    total = targets.total
    shown = ", ".join(str(n) for n in networks[:3]) + (", ..." if len(networks) > 3 else "")
    if total > HARD_MAX_ADDRESSES:
        raise InvalidInput(
            f"{shown} holds {total:,} addresses, more than netwarden ever sweeps at once "
            f"({HARD_MAX_ADDRESSES:,}); split it into smaller ranges"
        )
    if total > max_addresses and not force:
        raise InvalidInput(
            f"{shown} holds {total:,} addresses, more than the maximum of {max_addresses:,} per sweep; "
            "narrow the range or pass --force"
        )
    return targets
