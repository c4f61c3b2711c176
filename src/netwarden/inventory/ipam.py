"""IPAM: prefixes (hierarchy, utilisation, overlap rules), IP addresses and the next free address.

Prefixes nest freely (a /16 holds /24s); the hierarchy is computed from the
addresses themselves, so a prefix added later slots in between parent and
children without re-parenting anything. Two rules keep the plan sane:

* a prefix exists once (``10.0.0.0/24`` twice is refused);
* a prefix never overlaps a prefix of another site: ``10.1.0.0/16`` at hq and
  ``10.1.5.0/24`` at branch is the classic planning mistake, so it is refused
  with the prefix it collides with. Prefixes without a site are shared space.

Addresses are stored as text; the arithmetic is done on integers in Python
(``ipaddress``), which keeps SQLite and PostgreSQL identical.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from netwarden.inventory.devices import get_device, get_interface, get_site
from netwarden.inventory.models import Interface, IPAddress, Prefix, Vlan
from netwarden.inventory.schemas import (
    IPAddressIn,
    IPAddressOut,
    NextIP,
    Page,
    PrefixIn,
    PrefixOut,
    PrefixPatch,
    construct,
)

__all__ = [
    "add_ip_address",
    "add_prefix",
    "address_record",
    "address_sort_key",
    "get_prefix",
    "list_ip_addresses",
    "list_prefixes",
    "next_free_ip",
    "prefix_record",
    "remove_ip_address",
    "remove_prefix",
    "show_prefix",
    "update_prefix",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class _Node:
    """One prefix in the computed tree."""

    row: Prefix
    net: Network
    parent: int | None = None  # index into the sorted list
    depth: int = 0


def _net(cidr: str) -> Network:
    return ipaddress.ip_network(cidr)


def _usable(net: Network) -> int:
    """Assignable addresses: IPv4 subnets below /31 lose the network and broadcast address."""
    if net.version == 4 and net.prefixlen < 31:
        return net.num_addresses - 2
    return net.num_addresses


def _first_last(net: Network) -> tuple[int, int]:
    lo, hi = int(net.network_address), int(net.broadcast_address)
    if net.version == 4 and net.prefixlen < 31:
        return lo + 1, hi - 1
    if net.version == 6 and net.prefixlen < 127:
        # The subnet-router anycast address (all host bits zero) is not assigned to hosts.
        return lo + 1, hi
    return lo, hi


def _tree(rows: Iterable[Prefix]) -> list[_Node]:
    """Prefixes sorted parent-before-child (family, address, length) with parent and depth filled in."""
    nodes = sorted((_Node(r, _net(r.cidr)) for r in rows), key=lambda n: _sort_key(n.net))
    stack: list[int] = []
    for i, node in enumerate(nodes):
        while stack and not _contains(nodes[stack[-1]].net, node.net):
            stack.pop()
        if stack:
            node.parent = stack[-1]
            node.depth = len(stack)
        stack.append(i)
    return nodes


def _sort_key(net: Network) -> tuple[int, int, int]:
    return net.version, int(net.network_address), net.prefixlen


def _contains(outer: Network, inner: Network) -> bool:
    return outer.version == inner.version and inner.subnet_of(outer)  # type: ignore[arg-type]


def _address_ints(db: Session) -> dict[int, list[int]]:
    """Every stored address as a sorted integer list per family."""
    by_family: dict[int, list[int]] = {4: [], 6: []}
    for address, family in db.execute(select(IPAddress.address, IPAddress.family)):
        by_family[family].append(int(ipaddress.ip_address(address)))
    for values in by_family.values():
        values.sort()
    return by_family


def _count_in(sorted_ints: Sequence[int], lo: int, hi: int) -> int:
    return bisect.bisect_right(sorted_ints, hi) - bisect.bisect_left(sorted_ints, lo)


def _outs(db: Session, nodes: list[_Node]) -> list[PrefixOut]:
    """PrefixOut for every node: used = child prefixes' space + addresses not inside a child."""
    addrs = _address_ints(db)
    child_space = [0] * len(nodes)
    child_addrs = [0] * len(nodes)
    inside = [_count_in(addrs[n.net.version], *_bounds(n.net)) for n in nodes]
    for i, node in enumerate(nodes):
        if node.parent is not None:
            child_space[node.parent] += node.net.num_addresses
            child_addrs[node.parent] += inside[i]
    outs = []
    for i, node in enumerate(nodes):
        row, net = node.row, node.net
        size = _usable(net) if not child_space[i] else net.num_addresses
        used = min(size, child_space[i] + inside[i] - child_addrs[i])
        outs.append(
            PrefixOut(
                cidr=row.cidr,
                family=row.family,
                site=row.site.name if row.site else None,
                vlan=str(row.vlan.vid) if row.vlan else None,
                status=row.status,
                description=row.description,
                parent=nodes[node.parent].row.cidr if node.parent is not None else None,
                depth=node.depth,
                size=size,
                used=used,
                utilisation=round(100.0 * used / size, 2) if size else 0.0,
            )
        )
    return outs


def _bounds(net: Network) -> tuple[int, int]:
    return int(net.network_address), int(net.broadcast_address)


def _all_prefixes(db: Session) -> list[Prefix]:
    return list(db.scalars(select(Prefix).options(selectinload(Prefix.site), selectinload(Prefix.vlan))))


def get_prefix(db: Session, cidr: str) -> Prefix:
    row = db.scalar(select(Prefix).where(Prefix.cidr == _canonical(cidr)))
    if row is None:
        raise NotFound(f"prefix {cidr} does not exist; add it with 'netwarden prefix add {cidr}'")
    return row


def _canonical(cidr: str) -> str:
    try:
        return str(ipaddress.ip_network(cidr))
    except ValueError:
        raise InvalidInput(f"{cidr!r} is not a prefix (expected e.g. 10.0.0.0/24, host bits zero)") from None


def _resolve_vlan(db: Session, vid: int | None, site_id: int | None) -> Vlan | None:
    if vid is None:
        return None
    vlan = db.scalar(select(Vlan).where(Vlan.vid == vid, Vlan.site_id == site_id))
    if vlan is None and site_id is not None:
        vlan = db.scalar(select(Vlan).where(Vlan.vid == vid, Vlan.site_id.is_(None)))
    if vlan is None:
        raise NotFound(f"VLAN {vid} does not exist in the prefix's site or as a global VLAN")
    return vlan


def _check_overlap(db: Session, net: Network, site_name: str | None, own_id: int | None = None) -> None:
    if site_name is None:
        return
    for row in _all_prefixes(db):
        if row.id == own_id or row.site is None or row.site.name == site_name:
            continue
        other = _net(row.cidr)
        if other.version == net.version and other.overlaps(net):
            raise Conflict(
                f"prefix {net} overlaps {other} of site {row.site.name!r}; "
                "a prefix may only nest inside prefixes of its own site or shared (site-less) ones"
            )


def add_prefix(db: Session, actor: Actor, data: PrefixIn) -> PrefixOut:
    """Add a prefix; refuses duplicates and overlaps with another site's prefixes."""
    require(actor, Role.admin, "add prefixes")
    if db.scalar(select(Prefix.id).where(Prefix.cidr == data.cidr)) is not None:
        raise AlreadyExists(f"prefix {data.cidr} already exists")
    net = _net(data.cidr)
    site = get_site(db, data.site) if data.site else None
    _check_overlap(db, net, data.site)
    vlan = _resolve_vlan(db, data.vlan, site.id if site else None)
    row = Prefix(
        cidr=data.cidr, family=net.version, site=site, vlan=vlan, status=data.status, description=data.description
    )
    db.add(row)
    db.flush()
    audit.record(db, actor, "prefix.create", "prefix", row.cidr, {k: [None, v] for k, v in data.model_dump().items()})
    return show_prefix(db, actor, row.cidr)


def update_prefix(db: Session, actor: Actor, cidr: str, patch: PrefixPatch) -> PrefixOut:
    require(actor, Role.admin, "change prefixes")
    row = get_prefix(db, cidr)
    values = patch.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "site" in values:
        new_site = values.pop("site")
        old_site = row.site.name if row.site else None
        if new_site != old_site:
            _check_overlap(db, _net(row.cidr), new_site, row.id)
            row.site = get_site(db, new_site) if new_site else None
            changes["site"] = [old_site, new_site]
    if "vlan" in values:
        vid = values.pop("vlan")
        old_vid = row.vlan.vid if row.vlan else None
        if vid != old_vid:
            row.vlan = _resolve_vlan(db, vid, row.site_id if row.site else None)
            changes["vlan"] = [old_vid, vid]
    for key in ("status", "description"):
        if values.get(key) is not None and getattr(row, key) != values[key]:
            changes[key] = [getattr(row, key), values[key]]
            setattr(row, key, values[key])
    db.flush()
    if changes:
        audit.record(db, actor, "prefix.update", "prefix", row.cidr, changes)
    return show_prefix(db, actor, row.cidr)


def remove_prefix(db: Session, actor: Actor, cidr: str) -> None:
    """Remove a prefix; its children and addresses stay (they re-attach to the next parent up)."""
    require(actor, Role.admin, "remove prefixes")
    row = get_prefix(db, cidr)
    db.delete(row)
    db.flush()
    audit.record(db, actor, "prefix.delete", "prefix", row.cidr, {"site": [row.site.name if row.site else None, None]})


def list_prefixes(
    db: Session,
    actor: Actor,
    family: int | None = None,
    site: str | None = None,
    q: str | None = None,
    limit: int = 1000,
    offset: int = 0,
    within: str | None = None,
) -> Page[PrefixOut]:
    """Prefixes in tree order (parents before children) with depth, parent and utilisation."""
    require(actor, Role.viewer, "list prefixes")
    outs = _outs(db, _tree(_all_prefixes(db)))
    scope = _net(_canonical(within)) if within else None
    rows = [
        p
        for p in outs
        if (family is None or p.family == family)
        and (site is None or p.site == site)
        and (q is None or q.lower() in p.cidr or q.lower() in p.description.lower())
        and (scope is None or _contains(scope, _net(p.cidr)))
    ]
    return Page(items=rows[offset : offset + limit], total=len(rows))


def show_prefix(db: Session, actor: Actor, cidr: str) -> PrefixOut:
    require(actor, Role.viewer, "read prefixes")
    wanted = get_prefix(db, cidr).cidr
    for out in _outs(db, _tree(_all_prefixes(db))):
        if out.cidr == wanted:
            return out
    raise NotFound(f"prefix {cidr} does not exist")  # pragma: no cover - get_prefix found it


# ---------------------------------------------------------------- addresses


def _address_out(row: IPAddress, nodes: list[_Node] | None = None) -> IPAddressOut:
    iface = row.interface
    prefix = _most_specific(nodes, ipaddress.ip_address(row.address)) if nodes is not None else None
    return IPAddressOut(
        address=f"{row.address}/{row.prefix_length}",
        family=row.family,
        device=iface.device.name if iface else None,
        interface=iface.name if iface else None,
        prefix=prefix,
        status=row.status,
        dns_name=row.dns_name,
        description=row.description,
    )


def _most_specific(nodes: list[_Node], addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    best: _Node | None = None
    for node in nodes:
        if node.net.version == addr.version and addr in node.net and (best is None or node.depth > best.depth):
            best = node
    return best.row.cidr if best else None


def add_ip_address(db: Session, actor: Actor, data: IPAddressIn) -> IPAddressOut:
    """Record an address (optionally on a device interface); refuses duplicates and misplaced addresses."""
    require(actor, Role.admin, "add IP addresses")
    iface_addr = ipaddress.ip_interface(data.address)
    ip, net = iface_addr.ip, iface_addr.network
    if db.scalar(select(IPAddress.id).where(IPAddress.address == str(ip))) is not None:
        raise AlreadyExists(f"IP address {ip} is already recorded")
    if data.prefix is not None and ip not in _net(data.prefix):
        raise InvalidInput(f"{ip} is outside prefix {data.prefix}")
    if net.version == 4 and net.prefixlen < 31 and ip in (net.network_address, net.broadcast_address):
        which = "network" if ip == net.network_address else "broadcast"
        raise InvalidInput(f"{ip} is the {which} address of {net}; pick a host address")
    nodes = _tree(_all_prefixes(db))
    iface: Interface | None = None
    if data.interface is not None or data.device is not None:
        if data.interface is None or data.device is None:
            raise InvalidInput("give both a device and an interface, or neither")
        iface = get_interface(db, data.device, data.interface)
    row = IPAddress(
        address=str(ip),
        prefix_length=net.prefixlen,
        family=ip.version,
        interface=iface,
        status=data.status,
        dns_name=data.dns_name,
        description=data.description,
    )
    db.add(row)
    db.flush()
    audit.record(db, actor, "ip.create", "ip", str(ip), {k: [None, v] for k, v in data.model_dump().items()})
    return _address_out(row, nodes)


def remove_ip_address(db: Session, actor: Actor, address: str) -> None:
    require(actor, Role.admin, "remove IP addresses")
    ip = _bare_ip(address)
    row = db.scalar(select(IPAddress).where(IPAddress.address == ip))
    if row is None:
        raise NotFound(f"IP address {ip} is not recorded")
    db.delete(row)
    db.flush()
    audit.record(db, actor, "ip.delete", "ip", ip)


def _bare_ip(address: str) -> str:
    try:
        return str(ipaddress.ip_interface(address).ip)
    except ValueError:
        raise InvalidInput(f"{address!r} is not an IP address") from None


def list_ip_addresses(
    db: Session,
    actor: Actor,
    prefix: str | None = None,
    device: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> Page[IPAddressOut]:
    """Addresses in numeric order, optionally those inside a prefix or on a device."""
    require(actor, Role.viewer, "list IP addresses")
    q = select(IPAddress).options(selectinload(IPAddress.interface).selectinload(Interface.device))
    if device is not None:
        dev = get_device(db, device)
        q = q.join(Interface).where(Interface.device_id == dev.id)
    rows = list(db.scalars(q))
    if prefix is not None:
        scope = _net(_canonical(prefix))
        rows = [r for r in rows if r.family == scope.version and ipaddress.ip_address(r.address) in scope]
    rows.sort(key=lambda r: (r.family, int(ipaddress.ip_address(r.address))))
    nodes = _tree(_all_prefixes(db))
    return Page(items=[_address_out(r, nodes) for r in rows[offset : offset + limit]], total=len(rows))


def next_free_ip(db: Session, actor: Actor, cidr: str) -> NextIP:
    """The lowest assignable address of a registered prefix that is neither recorded nor in a child prefix."""
    require(actor, Role.viewer, "read prefixes")
    row = get_prefix(db, cidr)
    net = _net(row.cidr)
    nodes = _tree(_all_prefixes(db))
    me = next(i for i, n in enumerate(nodes) if n.row.id == row.id)
    # Direct children's ranges are spoken for: their addresses are allocated from them, not from here.
    taken_ranges = sorted(_bounds(n.net) for n in nodes if n.parent == me)
    lo, hi = _first_last(net)
    in_family = (
        int(ipaddress.ip_address(a))
        for a in db.scalars(select(IPAddress.address).where(IPAddress.family == net.version))
    )
    used = sorted(a for a in in_family if lo <= a <= hi)
    in_children = sum(max(0, min(e, hi) - max(s, lo) + 1) for s, e in taken_ranges)
    free_total = (hi - lo + 1) - in_children - _count_outside(used, taken_ranges)
    candidate = lo
    ri = ui = 0
    while candidate <= hi:
        while ri < len(taken_ranges) and taken_ranges[ri][1] < candidate:
            ri += 1
        if ri < len(taken_ranges) and taken_ranges[ri][0] <= candidate:
            candidate = taken_ranges[ri][1] + 1
            continue
        while ui < len(used) and used[ui] < candidate:
            ui += 1
        if ui < len(used) and used[ui] == candidate:
            candidate += 1
            continue
        address = ipaddress.ip_address(candidate)
        return NextIP(prefix=row.cidr, address=f"{address}/{net.prefixlen}", free=free_total)
    raise Conflict(f"prefix {row.cidr} is full: no free address left")


def _count_outside(used: list[int], ranges: list[tuple[int, int]]) -> int:
    return sum(1 for u in used if not any(s <= u <= e for s, e in ranges))


# ---------------------------------------------------------------- records for export


def prefix_record(out: PrefixOut) -> PrefixIn:
    """The import shape of a listed prefix."""
    return construct(
        PrefixIn,
        cidr=out.cidr,
        site=out.site,
        vlan=int(out.vlan) if out.vlan else None,
        status=out.status,
        description=out.description,
    )


def address_record(row: IPAddress) -> IPAddressIn:
    """The import shape of a stored address (``prefix`` is an input check only, so it stays empty)."""
    iface = row.interface
    return construct(
        IPAddressIn,
        address=f"{row.address}/{row.prefix_length}",
        device=iface.device.name if iface else None,
        interface=iface.name if iface else None,
        prefix=None,
        status=row.status,
        dns_name=row.dns_name,
        description=row.description,
    )


def address_sort_key(row: IPAddress) -> tuple[int, int]:
    return row.family, int(ipaddress.ip_address(row.address))
