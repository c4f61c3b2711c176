"""VLANs (per site, or global) and links between two device interfaces."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import AlreadyExists, InvalidInput, NotFound
from netwarden.inventory.devices import get_device, get_interface, get_site
from netwarden.inventory.models import Device, Interface, Link, Prefix, Site, Vlan
from netwarden.inventory.schemas import LinkIn, LinkOut, Page, VlanIn, VlanOut, VlanPatch, construct

__all__ = [
    "add_link",
    "add_vlan",
    "find_link",
    "link_out",
    "link_record",
    "list_links",
    "list_vlans",
    "remove_link",
    "remove_vlan",
    "show_link",
    "show_vlan",
    "update_link",
    "update_vlan",
    "vlan_record",
]

# ---------------------------------------------------------------- VLANs


def _vlan_label(vid: int, site: str | None) -> str:
    return f"{site}/{vid}" if site else str(vid)


def _get_vlan(db: Session, vid: int, site: str | None) -> Vlan:
    q = select(Vlan).where(Vlan.vid == vid)
    q = q.join(Site).where(Site.name == site) if site else q.where(Vlan.site_id.is_(None))
    vlan = db.scalar(q)
    if vlan is None:
        where = f"at site {site!r}" if site else "as a global VLAN (give --site for a site's VLAN)"
        raise NotFound(f"VLAN {vid} does not exist {where}")
    return vlan


def _vlan_out(db: Session, vlan: Vlan) -> VlanOut:
    prefixes = db.scalars(select(Prefix.cidr).where(Prefix.vlan_id == vlan.id).order_by(Prefix.cidr)).all()
    return VlanOut(
        vid=vlan.vid,
        name=vlan.name,
        site=vlan.site.name if vlan.site else None,
        description=vlan.description,
        prefixes=list(prefixes),
    )


def add_vlan(db: Session, actor: Actor, data: VlanIn) -> VlanOut:
    """Add a VLAN; its ID is unique within its site (or among global VLANs)."""
    require(actor, Role.admin, "add VLANs")
    site = get_site(db, data.site) if data.site else None
    clash = db.scalar(
        select(Vlan.id).where(Vlan.vid == data.vid, Vlan.site_id == site.id if site else Vlan.site_id.is_(None))
    )
    if clash is not None:
        raise AlreadyExists(f"VLAN {_vlan_label(data.vid, data.site)} already exists")
    vlan = Vlan(vid=data.vid, name=data.name, site=site, description=data.description)
    db.add(vlan)
    db.flush()
    audit.record(
        db,
        actor,
        "vlan.create",
        "vlan",
        _vlan_label(data.vid, data.site),
        {k: [None, v] for k, v in data.model_dump().items()},
    )
    return _vlan_out(db, vlan)


def update_vlan(db: Session, actor: Actor, vid: int, site: str | None, patch: VlanPatch) -> VlanOut:
    require(actor, Role.admin, "change VLANs")
    vlan = _get_vlan(db, vid, site)
    changes = {}
    for key, value in patch.model_dump(exclude_none=True).items():
        if getattr(vlan, key) != value:
            changes[key] = [getattr(vlan, key), value]
            setattr(vlan, key, value)
    db.flush()
    if changes:
        audit.record(db, actor, "vlan.update", "vlan", _vlan_label(vid, site), changes)
    return _vlan_out(db, vlan)


def remove_vlan(db: Session, actor: Actor, vid: int, site: str | None) -> None:
    """Remove a VLAN; prefixes and interfaces that named it keep existing without it."""
    require(actor, Role.admin, "remove VLANs")
    vlan = _get_vlan(db, vid, site)
    db.delete(vlan)
    db.flush()
    audit.record(db, actor, "vlan.delete", "vlan", _vlan_label(vid, site))


def show_vlan(db: Session, actor: Actor, vid: int, site: str | None) -> VlanOut:
    require(actor, Role.viewer, "read VLANs")
    return _vlan_out(db, _get_vlan(db, vid, site))


def list_vlans(db: Session, actor: Actor, site: str | None = None, limit: int = 1000, offset: int = 0) -> Page[VlanOut]:
    """VLANs ordered by site (global first) then ID."""
    require(actor, Role.viewer, "list VLANs")
    q = select(Vlan).options(selectinload(Vlan.site))
    if site:
        q = q.join(Site).where(Site.name == site)
    rows = list(db.scalars(q))
    rows.sort(key=lambda v: (v.site.name if v.site else "", v.vid))
    by_vlan: dict[int, list[str]] = {}
    for vlan_id, cidr in db.execute(select(Prefix.vlan_id, Prefix.cidr).where(Prefix.vlan_id.is_not(None))):
        if vlan_id is not None:
            by_vlan.setdefault(vlan_id, []).append(cidr)
    items = [
        VlanOut(
            vid=v.vid,
            name=v.name,
            site=v.site.name if v.site else None,
            description=v.description,
            prefixes=sorted(by_vlan.get(v.id, [])),
        )
        for v in rows[offset : offset + limit]
    ]
    return Page(items=items, total=len(rows))


# ---------------------------------------------------------------- links


def link_out(link: Link) -> LinkOut:
    a, b = link.a_interface, link.b_interface
    return LinkOut(
        a=a.device.name,
        a_port=a.name,
        b=b.device.name,
        b_port=b.name,
        kind=link.kind,
        description=link.description,
        source=link.source,
        first_seen=link.first_seen,
        last_seen=link.last_seen,
    )


def _link_of(db: Session, iface: Interface) -> Link | None:
    return db.scalar(select(Link).where(or_(Link.a_interface_id == iface.id, Link.b_interface_id == iface.id)))


def find_link(db: Session, device: str, port: str) -> Link:
    """The link on one interface, or NotFound."""
    link = _link_of(db, get_interface(db, device, port))
    if link is None:
        raise NotFound(f"interface {device}:{port} has no link")
    return link


def add_link(db: Session, actor: Actor, data: LinkIn, source: str = "manual") -> LinkOut:
    """Join two interfaces; each interface takes part in at most one link."""
    require(actor, Role.admin, "add links")
    if (data.a, data.a_port) == (data.b, data.b_port):
        raise InvalidInput(f"a link needs two different interfaces, got {data.a}:{data.a_port} twice")
    a = get_interface(db, data.a, data.a_port)
    b = get_interface(db, data.b, data.b_port)
    for iface, dev in ((a, data.a), (b, data.b)):
        existing = _link_of(db, iface)
        if existing is not None:
            other = existing.b_interface if existing.a_interface_id == iface.id else existing.a_interface
            raise AlreadyExists(f"interface {dev}:{iface.name} is already linked to {other.device.name}:{other.name}")
    now = dt.datetime.now(dt.UTC)
    link = Link(
        a_interface=a,
        b_interface=b,
        kind=data.kind,
        description=data.description,
        source=source,
        first_seen=now,
        last_seen=now,
    )
    db.add(link)
    db.flush()
    audit.record(
        db,
        actor,
        "link.create",
        "link",
        _label(data.a, data.a_port, data.b, data.b_port),
        {"kind": [None, data.kind], "description": [None, data.description], "source": [None, source]},
    )
    return link_out(link)


def _label(a: str, a_port: str, b: str, b_port: str) -> str:
    return f"{a}:{a_port}--{b}:{b_port}"


def remove_link(db: Session, actor: Actor, device: str, port: str) -> None:
    """Remove the link on ``device:port`` (either end)."""
    require(actor, Role.admin, "remove links")
    link = find_link(db, device, port)
    out = link_out(link)
    db.delete(link)
    db.flush()
    audit.record(db, actor, "link.delete", "link", _label(out.a, out.a_port, out.b, out.b_port))


def show_link(db: Session, actor: Actor, device: str, port: str) -> LinkOut:
    require(actor, Role.viewer, "read links")
    return link_out(find_link(db, device, port))


def list_links(
    db: Session, actor: Actor, device: str | None = None, limit: int = 1000, offset: int = 0
) -> Page[LinkOut]:
    """Links ordered by their A end, optionally those touching one device."""
    require(actor, Role.viewer, "list links")
    ia, ib = aliased(Interface), aliased(Interface)
    da, db_ = aliased(Device), aliased(Device)
    q = (
        select(Link)
        .join(ia, Link.a_interface_id == ia.id)
        .join(da, ia.device_id == da.id)
        .join(ib, Link.b_interface_id == ib.id)
        .join(db_, ib.device_id == db_.id)
        .options(
            selectinload(Link.a_interface).selectinload(Interface.device),
            selectinload(Link.b_interface).selectinload(Interface.device),
        )
    )
    if device is not None:
        dev = get_device(db, device)
        q = q.where(or_(da.id == dev.id, db_.id == dev.id))
    rows = list(db.scalars(q.order_by(da.name, ia.name, db_.name, ib.name)))
    return Page(items=[link_out(r) for r in rows[offset : offset + limit]], total=len(rows))


def update_link(db: Session, actor: Actor, device: str, port: str, kind: str, description: str) -> LinkOut:
    """Change a link's kind or description (its ends are its identity)."""
    require(actor, Role.admin, "change links")
    link = find_link(db, device, port)
    changes = {}
    for key, value in (("kind", kind), ("description", description)):
        if getattr(link, key) != value:
            changes[key] = [getattr(link, key), value]
            setattr(link, key, value)
    db.flush()
    out = link_out(link)
    if changes:
        audit.record(db, actor, "link.update", "link", _label(out.a, out.a_port, out.b, out.b_port), changes)
    return out


# ---------------------------------------------------------------- records for export


def vlan_record(out: VlanOut) -> VlanIn:
    return construct(VlanIn, vid=out.vid, name=out.name, site=out.site, description=out.description)


def link_record(out: LinkOut) -> LinkIn:
    return construct(
        LinkIn, a=out.a, a_port=out.a_port, b=out.b, b_port=out.b_port, kind=out.kind, description=out.description
    )
