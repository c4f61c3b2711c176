"""Service functions for sites, devices and interfaces.

Every write checks the actor's role and records an audit entry in the same
transaction. Reads are open to every role.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.errors import AlreadyExists, Conflict, InvalidInput, NotFound
from netwarden.inventory.models import Device, Interface, IPAddress, Link, Site
from netwarden.inventory.schemas import (
    DeviceDetail,
    DeviceFilter,
    DeviceIn,
    DeviceOut,
    DevicePatch,
    InterfaceIn,
    InterfaceOut,
    InterfacePatch,
    Page,
    SiteIn,
    SiteOut,
    SitePatch,
)

__all__ = [
    "add_device",
    "add_interface",
    "add_site",
    "device_out",
    "get_device",
    "get_interface",
    "get_site",
    "interface_out",
    "list_devices",
    "list_interfaces",
    "list_sites",
    "normalise_mac",
    "remove_device",
    "remove_interface",
    "remove_site",
    "show_device",
    "show_site",
    "site_out",
    "update_device",
    "update_interface",
    "update_site",
]

# ---------------------------------------------------------------- sites


def site_out(site: Site, devices: int = 0) -> SiteOut:
    return SiteOut(name=site.name, description=site.description, address=site.address, tags=site.tags, devices=devices)


def get_site(db: Session, name: str) -> Site:
    site = db.scalar(select(Site).where(Site.name == name))
    if site is None:
        raise NotFound(f"site {name!r} does not exist; add it with 'netwarden site add {name}'")
    return site


def add_site(db: Session, actor: Actor, data: SiteIn) -> SiteOut:
    require(actor, Role.admin, "add sites")
    if db.scalar(select(Site.id).where(Site.name == data.name)) is not None:
        raise AlreadyExists(f"site {data.name!r} already exists")
    site = Site(**data.model_dump())
    db.add(site)
    db.flush()
    audit.record(db, actor, "site.create", "site", site.name, {k: [None, v] for k, v in data.model_dump().items()})
    return site_out(site)


def update_site(db: Session, actor: Actor, name: str, patch: SitePatch) -> SiteOut:
    require(actor, Role.admin, "change sites")
    site = get_site(db, name)
    changes = _apply(site, patch.model_dump(exclude_none=True))
    db.flush()
    if changes:
        audit.record(db, actor, "site.update", "site", name, changes)
    return site_out(site, _count_devices(db, site.id))


def remove_site(db: Session, actor: Actor, name: str) -> None:
    require(actor, Role.admin, "remove sites")
    site = get_site(db, name)
    n = _count_devices(db, site.id)
    if n:
        raise Conflict(f"site {name!r} still has {n} device(s); move or remove them first")
    db.delete(site)
    db.flush()
    audit.record(db, actor, "site.delete", "site", name)


def list_sites(db: Session, actor: Actor, limit: int = 1000, offset: int = 0) -> Page[SiteOut]:
    require(actor, Role.viewer, "list sites")
    total = db.scalar(select(func.count()).select_from(Site)) or 0
    counts = dict(db.execute(select(Device.site_id, func.count()).group_by(Device.site_id)).all())
    rows = db.scalars(select(Site).order_by(Site.name).limit(limit).offset(offset)).all()
    return Page(items=[site_out(s, counts.get(s.id, 0)) for s in rows], total=total)


def show_site(db: Session, actor: Actor, name: str) -> SiteOut:
    require(actor, Role.viewer, "read sites")
    site = get_site(db, name)
    return site_out(site, _count_devices(db, site.id))


def _count_devices(db: Session, site_id: int) -> int:
    return db.scalar(select(func.count()).select_from(Device).where(Device.site_id == site_id)) or 0


# ---------------------------------------------------------------- devices


def device_out(d: Device) -> DeviceOut:
    return DeviceOut(
        name=d.name,
        site=d.site.name,
        platform=d.platform,
        mgmt_ip=d.mgmt_ip,
        role=d.role,
        status=d.status,
        vendor=d.vendor,
        model=d.model,
        serial=d.serial,
        os_version=d.os_version,
        snmp_port=d.snmp_port,
        tags=list(d.tags or []),
        created_at=d.created_at,
        updated_at=d.updated_at,
        last_seen=d.last_seen,
    )


def get_device(db: Session, name: str) -> Device:
    dev = db.scalar(select(Device).where(Device.name == name))
    if dev is None:
        raise NotFound(f"device {name!r} does not exist")
    return dev


def _check_mgmt_ip(db: Session, ip: str | None, own_id: int | None = None) -> None:
    if ip is None:
        return
    other = db.scalar(select(Device).where(Device.mgmt_ip == ip))
    if other is not None and other.id != own_id:
        raise AlreadyExists(f"management IP {ip} is already used by device {other.name!r}")


def add_device(db: Session, actor: Actor, data: DeviceIn) -> DeviceOut:
    require(actor, Role.admin, "add devices")
    if db.scalar(select(Device.id).where(Device.name == data.name)) is not None:
        raise AlreadyExists(f"device {data.name!r} already exists")
    site = get_site(db, data.site)
    _check_mgmt_ip(db, data.mgmt_ip)
    fields = data.model_dump(exclude={"site"})
    dev = Device(site=site, **fields)
    db.add(dev)
    db.flush()
    audit.record(db, actor, "device.create", "device", dev.name, {k: [None, v] for k, v in data.model_dump().items()})
    return device_out(dev)


def update_device(db: Session, actor: Actor, name: str, patch: DevicePatch) -> DeviceOut:
    require(actor, Role.admin, "change devices")
    dev = get_device(db, name)
    values = patch.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {}
    if "site" in values:
        site_name = values.pop("site")
        if site_name is not None and site_name != dev.site.name:
            changes["site"] = [dev.site.name, site_name]
            dev.site = get_site(db, site_name)
    if "mgmt_ip" in values:
        _check_mgmt_ip(db, values["mgmt_ip"], dev.id)
    for key in ("platform", "status", "tags"):
        if key in values and values[key] is None:
            raise InvalidInput(f"{key} cannot be empty")
    changes.update(_apply(dev, values))
    db.flush()
    if changes:
        audit.record(db, actor, "device.update", "device", name, changes)
    return device_out(dev)


def remove_device(db: Session, actor: Actor, name: str) -> None:
    require(actor, Role.admin, "remove devices")
    dev = get_device(db, name)
    db.delete(dev)
    db.flush()
    audit.record(db, actor, "device.delete", "device", name, {"site": [dev.site.name, None]})


def _device_query(filters: DeviceFilter) -> Any:
    q = select(Device)
    if filters.site:
        q = q.join(Site).where(Site.name == filters.site)
    if filters.role:
        q = q.where(Device.role == filters.role)
    if filters.platform:
        q = q.where(Device.platform == filters.platform)
    if filters.status:
        q = q.where(Device.status == filters.status)
    if filters.q:
        like = f"%{filters.q}%"
        q = q.where(
            or_(
                Device.name.ilike(like),
                Device.mgmt_ip.ilike(like),
                Device.model.ilike(like),
                Device.serial.ilike(like),
            )
        )
    return q


def list_devices(
    db: Session, actor: Actor, filters: DeviceFilter | None = None, limit: int = 1000, offset: int = 0
) -> Page[DeviceOut]:
    require(actor, Role.viewer, "list devices")
    filters = filters or DeviceFilter()
    q = _device_query(filters)
    rows = list(db.scalars(q.options(selectinload(Device.site)).order_by(Device.name)).all())
    if filters.tag:
        rows = [d for d in rows if filters.tag in (d.tags or [])]
    total = len(rows)
    return Page(items=[device_out(d) for d in rows[offset : offset + limit]], total=total)


def show_device(db: Session, actor: Actor, name: str) -> DeviceDetail:
    require(actor, Role.viewer, "read devices")
    dev = get_device(db, name)
    ifaces = db.scalars(
        select(Interface)
        .where(Interface.device_id == dev.id)
        .options(selectinload(Interface.addresses))
        .order_by(Interface.id)
    ).all()
    return DeviceDetail(**device_out(dev).model_dump(), interfaces=[interface_out(i, dev.name) for i in ifaces])


# ---------------------------------------------------------------- interfaces

_MAC_HEX = re.compile(r"[^0-9a-fA-F]")
_MAC_CANONICAL = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def normalise_mac(mac: str) -> str:
    """``aa:bb:cc:dd:ee:ff`` from any common spelling; '' stays ''."""
    if not mac or _MAC_CANONICAL.fullmatch(mac):
        return mac
    digits = _MAC_HEX.sub("", mac)
    if len(digits) != 12:
        raise InvalidInput(f"{mac!r} is not a MAC address")
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2)).lower()


def interface_out(i: Interface, device: str) -> InterfaceOut:
    return InterfaceOut(
        device=device,
        name=i.name,
        description=i.description,
        admin_status=i.admin_status,
        oper_status=i.oper_status,
        speed=i.speed,
        mtu=i.mtu,
        mac=i.mac,
        kind=i.kind,
        addresses=[f"{a.address}/{a.prefix_length}" for a in i.addresses],
    )


def get_interface(db: Session, device: str, name: str) -> Interface:
    iface = db.scalar(select(Interface).join(Device).where(Device.name == device, Interface.name == name))
    if iface is None:
        get_device(db, device)
        raise NotFound(f"interface {name!r} does not exist on device {device!r}")
    return iface


def add_interface(db: Session, actor: Actor, device: str, data: InterfaceIn) -> InterfaceOut:
    require(actor, Role.admin, "add interfaces")
    dev = get_device(db, device)
    if db.scalar(select(Interface.id).where(Interface.device_id == dev.id, Interface.name == data.name)):
        raise AlreadyExists(f"interface {data.name!r} already exists on device {device!r}")
    fields = data.model_dump()
    fields["mac"] = normalise_mac(fields["mac"])
    iface = Interface(device=dev, **fields)
    db.add(iface)
    db.flush()
    audit.record(
        db,
        actor,
        "interface.create",
        "interface",
        f"{device}:{data.name}",
        {k: [None, v] for k, v in fields.items()},
    )
    return interface_out(iface, device)


def update_interface(db: Session, actor: Actor, device: str, name: str, patch: InterfacePatch) -> InterfaceOut:
    require(actor, Role.admin, "change interfaces")
    iface = get_interface(db, device, name)
    values = patch.model_dump(exclude_unset=True)
    if values.get("mac") is not None:
        values["mac"] = normalise_mac(values["mac"])
    changes = _apply(iface, values)
    db.flush()
    if changes:
        audit.record(db, actor, "interface.update", "interface", f"{device}:{name}", changes)
    return interface_out(iface, device)


def remove_interface(db: Session, actor: Actor, device: str, name: str) -> None:
    require(actor, Role.admin, "remove interfaces")
    iface = get_interface(db, device, name)
    linked = db.scalar(select(Link.id).where(or_(Link.a_interface_id == iface.id, Link.b_interface_id == iface.id)))
    if linked is not None:
        raise Conflict(f"interface {device}:{name} is part of a link; remove the link first")
    for addr in iface.addresses:
        addr.interface_id = None
    db.delete(iface)
    db.flush()
    audit.record(db, actor, "interface.delete", "interface", f"{device}:{name}")


def list_interfaces(
    db: Session, actor: Actor, device: str | None = None, limit: int = 1000, offset: int = 0
) -> Page[InterfaceOut]:
    """Interfaces, optionally of one device, with their addresses, in a fixed order."""
    require(actor, Role.viewer, "list interfaces")
    q = select(Interface.id, Device.name).join(Device)
    count_q = select(func.count()).select_from(Interface)
    if device is not None:
        dev = get_device(db, device)
        q = q.where(Interface.device_id == dev.id)
        count_q = count_q.where(Interface.device_id == dev.id)
    total = db.scalar(count_q) or 0
    page = db.execute(q.order_by(Interface.device_id, Interface.id).limit(limit).offset(offset)).all()
    ids = [row[0] for row in page]
    names: dict[int, str] = {row[0]: row[1] for row in page}
    rows: list[Interface] = (
        list(db.scalars(select(Interface).where(Interface.id.in_(ids)).order_by(Interface.device_id, Interface.id)))
        if ids
        else []
    )
    addrs: dict[int, list[str]] = {}
    if ids:
        for iface_id, address, plen in db.execute(
            select(IPAddress.interface_id, IPAddress.address, IPAddress.prefix_length).where(
                IPAddress.interface_id.in_(ids)
            )
        ):
            if iface_id is not None:
                addrs.setdefault(iface_id, []).append(f"{address}/{plen}")
    items = [
        InterfaceOut(
            device=names[i.id],
            name=i.name,
            description=i.description,
            admin_status=i.admin_status,
            oper_status=i.oper_status,
            speed=i.speed,
            mtu=i.mtu,
            mac=i.mac,
            kind=i.kind,
            addresses=addrs.get(i.id, []),
        )
        for i in rows
    ]
    return Page(items=items, total=total)


# ---------------------------------------------------------------- helpers


def _apply(obj: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Set attributes; return ``{field: [old, new]}`` for those that changed."""
    changes: dict[str, Any] = {}
    for key, new in values.items():
        old = getattr(obj, key)
        if old != new:
            changes[key] = [old, new]
            setattr(obj, key, new)
    return changes
