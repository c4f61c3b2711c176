"""Networks for the map tests, loaded through the inventory import (the same path as ``netwarden import``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from netwarden.access.schemas import SYSTEM
from netwarden.context import Context
from netwarden.inventory import porting
from netwarden.inventory.document import DeviceRecord, InventoryDoc
from netwarden.inventory.schemas import InterfaceIn, IPAddressIn, LinkIn, SiteIn
from netwarden.store import base
from tests.web import support
from tests.web.conftest import _free_port


@dataclass
class Network:
    """What was loaded, as the tests expect to see it."""

    status: dict[str, str]
    site: dict[str, str]
    physical: list[tuple[str, str, str, str]]
    l3: list[tuple[str, str]] = field(default_factory=list)


def _device(name: str, site: str, status: str, ports: int, ip: str, role: str = "router") -> DeviceRecord:
    return DeviceRecord(
        name=name,
        site=site,
        platform="frr",
        role=role,
        status=status,
        mgmt_ip=ip,
        interfaces=[InterfaceIn(name=f"e{i}") for i in range(ports)],
    )


def small_network(ctx: Context) -> Network:
    """Eight devices in three sites, every status, physical and L3 links, one articulation point.

    hq's core1, core2 and sw1 form a triangle; br-rtr is dual-homed to core1 and core2, and br-sw
    hangs off br-rtr alone, so br-rtr is the only device whose loss cuts anything off and
    br-rtr--br-sw the only such link. dc-fw is dual-homed too. cloud-gw has no physical link but shares
    one subnet with core2 and another with sw1 (two L3 edges, so it is no single point either).
    old-sw stands alone.
    """
    spec = [
        ("core1", "hq", "active", "10.9.0.1"),
        ("core2", "hq", "active", "10.9.0.2"),
        ("sw1", "hq", "active", "10.9.0.3"),
        ("br-rtr", "branch", "active", "10.9.1.1"),
        ("br-sw", "branch", "missing", "10.9.1.2"),
        ("dc-fw", "dc", "planned", "10.9.2.1"),
        ("cloud-gw", "dc", "offline", "10.9.2.2"),
        ("old-sw", "dc", "decommissioning", "10.9.2.3"),
    ]
    physical = [
        ("core1", "e0", "core2", "e0"),
        ("core1", "e1", "sw1", "e0"),
        ("core2", "e1", "sw1", "e1"),
        ("core1", "e2", "br-rtr", "e0"),
        ("core2", "e2", "br-rtr", "e1"),
        ("br-rtr", "e2", "br-sw", "e0"),
        ("dc-fw", "e0", "core2", "e3"),
        ("dc-fw", "e1", "sw1", "e2"),
    ]
    addresses = [
        ("core2", "e9", "192.0.2.1/30"),
        ("cloud-gw", "e0", "192.0.2.2/30"),
        ("sw1", "e9", "198.51.100.1/30"),
        ("cloud-gw", "e1", "198.51.100.2/30"),
    ]
    doc = InventoryDoc(
        sites=[SiteIn(name=s) for s in ("hq", "branch", "dc")],
        devices=[_device(n, s, st, 10, ip) for n, s, st, ip in spec],
        ip_addresses=[IPAddressIn(address=a, device=d, interface=i) for d, i, a in addresses],
        links=[LinkIn(a=a, a_port=ap, b=b, b_port=bp) for a, ap, b, bp in physical],
    )
    with ctx.db() as db:
        porting.import_inventory(db, SYSTEM, None, doc)
    return Network(
        status={n: st for n, _, st, _ in spec},
        site={n: s for n, s, _, _ in spec},
        physical=physical,
        l3=[("core2", "cloud-gw"), ("sw1", "cloud-gw")],
    )


def large_network(ctx: Context, sites: int = 10, per_site: int = 100) -> Network:
    """``sites`` sites of ``per_site`` devices: a core router per site with the others on it, cores in a ring.

    Every 25th device of a site is missing, and site01 has one offline device (its worst status).
    """
    devices: list[DeviceRecord] = []
    links: list[tuple[str, str, str, str]] = []
    for s in range(sites):
        site = f"site{s:02d}"
        core = f"{site}-core"
        devices.append(_device(core, site, "active", per_site + 2, f"172.16.{s}.1"))
        for d in range(1, per_site):
            status = "missing" if d % 25 == 0 else "active"
            if s == 1 and d == 7:
                status = "offline"
            name = f"{site}-sw{d:03d}"
            devices.append(_device(name, site, status, 1, f"172.16.{s}.{d + 1}", role="switch"))
            links.append((core, f"e{d}", name, "e0"))
    for s in range(sites):
        links.append((f"site{s:02d}-core", f"e{per_site}", f"site{(s + 1) % sites:02d}-core", f"e{per_site + 1}"))
    doc = InventoryDoc(
        sites=[SiteIn(name=f"site{s:02d}") for s in range(sites)],
        devices=devices,
        links=[LinkIn(a=a, a_port=ap, b=b, b_port=bp) for a, ap, b, bp in links],
    )
    with ctx.db() as db:
        porting.import_inventory(db, SYSTEM, None, doc)
    return Network(
        status={d.name: d.status for d in devices},
        site={d.name: d.site for d in devices},
        physical=links,
    )


def add_users(ctx: Context) -> None:
    """A user of each role with the passwords of ``tests.web.support.PASSWORDS``."""
    with ctx.db() as db:
        support.add_users(db)


@contextmanager
def serve(ctx: Context) -> Iterator[str]:
    """The app on a real uvicorn server on 127.0.0.1 (in a thread); yields its base URL."""
    import uvicorn

    from netwarden.api.app import create_app

    config = uvicorn.Config(create_app(ctx), host="127.0.0.1", port=_free_port(), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="map-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the console server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        base.dispose_engines()
