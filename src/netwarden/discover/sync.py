"""Write what discovery collected into the inventory: devices, interfaces, addresses, links, observations.

Every change goes through the inventory's service functions, so it is checked and
audited with a field-level diff like a change made by hand. Nothing is deleted:
interfaces that disappear are marked ``notPresent``, devices that stop answering are
marked ``missing`` (see :func:`mark_missing`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor
from netwarden.collect.records import DeviceSnapshot, InterfaceFacts
from netwarden.discover.models import Observation
from netwarden.discover.schemas import SyncResult
from netwarden.errors import NetwardenError
from netwarden.inventory import service
from netwarden.inventory.models import Device, Interface, IPAddress, Link, Site
from netwarden.inventory.platforms import KNOWN_PLATFORMS
from netwarden.inventory.schemas import DeviceIn, DevicePatch, InterfaceIn, InterfacePatch, LinkIn, SiteIn
from netwarden.store.base import utcnow

OBSERVED_KINDS = ("neighbours", "routing", "routes", "arp", "mac_table")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.:/@+-]")
_FIELDS = ("vendor", "model", "serial", "os_version")
_IFACE_FIELDS = ("description", "admin_status", "oper_status", "speed", "mtu", "mac")


def safe_name(hostname: str, fallback: str) -> str:
    """A device name the inventory accepts, from whatever the device calls itself."""
    name = _UNSAFE_NAME.sub("-", hostname.strip()).strip("-.")[:128]
    return name if name and name[0].isalnum() else fallback


def _find_device(db: Session, snap: DeviceSnapshot) -> Device | None:
    dev = db.scalar(select(Device).where(Device.mgmt_ip == snap.target))
    if dev is None:
        dev = db.scalar(select(Device).where(Device.name == safe_name(snap.facts.hostname, "")))
    return dev


def _ensure_site(db: Session, actor: Actor, site: str) -> None:
    if db.scalar(select(Site.id).where(Site.name == site)) is None:
        service.add_site(db, actor, SiteIn(name=site, description="created by discovery"))


def site_for(db: Session, location: str, default: str) -> str:
    """The site a new device joins: a known site named in its location (sysLocation), else ``default``.

    "site NAME" in the location wins ("Lab, site hq, rack 4" -> ``hq``); otherwise any known site
    other than ``default`` standing as a word of the location, the longest first (so "branch-east"
    beats "branch").
    """
    if not location:
        return default
    known = {n.lower(): n for n in db.scalars(select(Site.name))}
    said = re.search(r"\bsite[\s:=]+([\w.-]+)", location, re.IGNORECASE)
    if said and said.group(1).lower() in known:
        return known[said.group(1).lower()]
    words = {w.lower() for w in re.findall(r"[\w.-]+", location)}
    names = [known[w] for w in words & known.keys() if known[w] != default]
    return max(names, key=len) if names else default


def upsert_snapshot(db: Session, actor: Actor, snap: DeviceSnapshot, *, site: str = "discovered") -> SyncResult:
    """Create or update the device a snapshot describes, with its interfaces, addresses and observations.

    A new device joins the site its location names (see :func:`site_for`), else ``site``; a known
    device keeps the site it has (people move devices between sites, discovery does not).
    """
    facts = snap.facts
    platform = facts.platform if facts.platform in KNOWN_PLATFORMS else "generic"
    dev = _find_device(db, snap)
    now = utcnow()
    if dev is None:
        name = safe_name(facts.hostname, fallback=f"device-{snap.target}")
        if db.scalar(select(Device.id).where(Device.name == name)) is not None:
            name = f"{name}-{snap.target}"
        site = site_for(db, facts.location, site)
        _ensure_site(db, actor, site)
        service.add_device(
            db,
            actor,
            DeviceIn(
                name=name,
                site=site,
                platform=platform,
                mgmt_ip=snap.target,
                **{k: getattr(facts, k)[:128] for k in _FIELDS},
            ),
        )
        dev = service.get_device(db, name)
        result = SyncResult(device=name, outcome="new")
    else:
        wanted: dict[str, Any] = {k: getattr(facts, k) for k in _FIELDS if getattr(facts, k)}
        if platform != "generic" and dev.platform != platform:
            wanted["platform"] = platform
        if dev.status == "missing":
            wanted["status"] = "active"
        if dev.mgmt_ip is None:
            wanted["mgmt_ip"] = snap.target
        changes = {k: [getattr(dev, k), v] for k, v in wanted.items() if getattr(dev, k) != v}
        if changes:
            service.update_device(
                db, actor, dev.name, DevicePatch.model_validate({k: v[1] for k, v in changes.items()})
            )
        result = SyncResult(device=dev.name, outcome="changed" if changes else "unchanged", changes=changes)
    dev.last_seen = now
    _sync_interfaces(db, actor, dev, snap.interfaces, result)
    _store_observations(db, dev, snap, now)
    if result.outcome == "unchanged" and (
        result.interfaces_added or result.interfaces_changed or result.addresses_added
    ):
        result.outcome = "changed"
    return result


def _sync_interfaces(db: Session, actor: Actor, dev: Device, found: list[InterfaceFacts], result: SyncResult) -> None:
    existing = {i.name: i for i in db.scalars(select(Interface).where(Interface.device_id == dev.id))}
    seen: set[str] = set()
    for facts in found:
        name = facts.name[:64]
        seen.add(name)
        values = {k: getattr(facts, k) for k in _IFACE_FIELDS}
        values["mac"] = _mac_or_empty(values["mac"])
        iface = existing.get(name)
        if iface is None:
            service.add_interface(
                db, actor, dev.name, InterfaceIn.model_validate({"name": name, "kind": facts.kind, **values})
            )
            result.interfaces_added += 1
        else:
            patch = {k: v for k, v in values.items() if getattr(iface, k) != v and not (k == "mac" and not v)}
            if patch:
                service.update_interface(db, actor, dev.name, name, InterfacePatch.model_validate(patch))
                result.interfaces_changed += 1
        result.addresses_added += _sync_addresses(db, actor, dev, name, facts.addresses)
    for name, iface in existing.items():
        if name not in seen and iface.oper_status != "notPresent":
            service.update_interface(db, actor, dev.name, name, InterfacePatch(oper_status="notPresent"))
            result.interfaces_changed += 1


def _mac_or_empty(mac: str) -> str:
    try:
        return service.normalise_mac(mac)
    except NetwardenError:
        return ""


def _sync_addresses(db: Session, actor: Actor, dev: Device, iface_name: str, addresses: list[str]) -> int:
    """Record the interface's addresses; an address seen on another interface moves here (audited)."""
    added = 0
    iface = service.get_interface(db, dev.name, iface_name)
    for text in addresses:
        try:
            addr = ipaddress.ip_interface(text)
        except ValueError:
            continue
        ip = addr.ip
        # Loopback and link-local addresses repeat across devices; they say nothing about the plan.
        if ip.is_loopback or ip.is_link_local:
            continue
        row = db.scalar(select(IPAddress).where(IPAddress.address == str(ip)))
        if row is None:
            db.add(
                IPAddress(
                    address=str(ip),
                    prefix_length=addr.network.prefixlen,
                    family=ip.version,
                    interface_id=iface.id,
                    status="active",
                )
            )
            db.flush()
            audit.record(
                db,
                actor,
                "ip.create",
                "ip",
                str(ip),
                {"interface": [None, f"{dev.name}:{iface_name}"]},
                note="discovery",
            )
            added += 1
        elif row.interface_id != iface.id or row.prefix_length != addr.network.prefixlen:
            before = None
            if row.interface is not None:
                before = f"{row.interface.device.name}:{row.interface.name}"
            row.interface_id = iface.id
            row.prefix_length = addr.network.prefixlen
            db.flush()
            audit.record(
                db,
                actor,
                "ip.update",
                "ip",
                str(ip),
                {"interface": [before, f"{dev.name}:{iface_name}"]},
                note="discovery",
            )
    return added


def _store_observations(db: Session, dev: Device, snap: DeviceSnapshot, now: dt.datetime) -> None:
    for kind in OBSERVED_KINDS:
        data = [r.model_dump(mode="json") for r in getattr(snap, kind)]
        row = db.scalar(select(Observation).where(Observation.device_id == dev.id, Observation.kind == kind))
        if row is None:
            db.add(Observation(device_id=dev.id, kind=kind, data=data, collected_at=now))
        else:
            row.data = data
            row.collected_at = now
    db.flush()


def observations(db: Session, device_id: int, kind: str) -> list[dict[str, Any]]:
    row = db.scalar(select(Observation).where(Observation.device_id == device_id, Observation.kind == kind))
    return list(row.data) if row is not None else []


def links_from_neighbours(db: Session, actor: Actor) -> int:
    """Turn the LLDP/CDP neighbours every device reported into links between known interfaces.

    A link seen again gets a fresh ``last_seen``; a port whose neighbour changed (a cable moved)
    loses its old link and gets the new one, both audited. Returns how many links were added.
    """
    devices = {d.id: d for d in db.scalars(select(Device))}
    by_name = {d.name: d for d in devices.values()}
    by_ip = {d.mgmt_ip: d for d in devices.values() if d.mgmt_ip}
    added = 0
    now = utcnow()
    for dev in devices.values():
        for n in observations(db, dev.id, "neighbours"):
            remote = by_name.get(safe_name(str(n.get("remote_name", "")), "")) or by_ip.get(
                str(n.get("remote_mgmt_ip"))
            )
            local_port, remote_port = str(n.get("local_port", "")), str(n.get("remote_port", ""))
            if remote is None or remote.id == dev.id or not remote_port:
                continue
            a = _iface(db, dev.id, local_port)
            b = _iface(db, remote.id, remote_port)
            if a is None or b is None:
                continue
            current = _link_on(db, a.id)
            if current is not None:
                ends = {current.a_interface_id, current.b_interface_id}
                if ends == {a.id, b.id}:
                    current.last_seen = now
                    continue
                service.remove_link(db, actor, dev.name, local_port)
            other = _link_on(db, b.id)
            if other is not None:
                service.remove_link(db, actor, remote.name, remote_port)
            service.add_link(
                db,
                actor,
                LinkIn(a=dev.name, a_port=local_port, b=remote.name, b_port=remote_port),
                source=str(n.get("protocol", "lldp")),
            )
            added += 1
    db.flush()
    return added


def _iface(db: Session, device_id: int, name: str) -> Interface | None:
    return db.scalar(select(Interface).where(Interface.device_id == device_id, Interface.name == name))


def _link_on(db: Session, iface_id: int) -> Link | None:
    return db.scalar(select(Link).where((Link.a_interface_id == iface_id) | (Link.b_interface_id == iface_id)))


def mark_missing(db: Session, actor: Actor, names: list[str]) -> None:
    """Devices that did not answer are marked missing (audited), never deleted."""
    for name in names:
        dev = service.get_device(db, name)
        if dev.status != "missing":
            service.update_device(db, actor, name, DevicePatch(status="missing"))
