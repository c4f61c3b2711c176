"""Seed data and login helpers shared by the console tests (HTTP and browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from netwarden.access import service as access
from netwarden.access.schemas import SYSTEM, Role, UserIn
from netwarden.context import Context
from netwarden.inventory import service
from netwarden.inventory.models import IPAddress
from netwarden.inventory.schemas import DeviceIn, InterfaceIn, SiteIn

PASSWORDS = {"admin": "admin-pass-1", "operator": "operator-pass-1", "viewer": "viewer-pass-1"}


@dataclass
class Seeded:
    tokens: dict[str, str]


def seed(ctx: Context) -> Seeded:
    """Users of each role with passwords, two sites, four devices, interfaces with addresses."""
    tokens: dict[str, str] = {}
    with ctx.db() as db:
        created = access.bootstrap_admin(db, "admin")
        assert created is not None
        tokens["admin"] = created.token
        for role in ("operator", "viewer"):
            tokens[role] = access.create_user(db, SYSTEM, UserIn(name=role, role=Role(role))).token
        for name, password in PASSWORDS.items():
            access.set_password(db, SYSTEM, name, password)
        service.add_site(db, SYSTEM, SiteIn(name="hq", description="Head office"))
        service.add_site(db, SYSTEM, SiteIn(name="branch", description="Branch office"))
        for name, site, platform, ip, role, status in (
            ("core-rtr1", "hq", "cisco_ios", "10.0.0.1", "router", "active"),
            ("core-sw1", "hq", "arista_eos", "10.0.0.2", "switch", "active"),
            ("fw1", "hq", "nftables", "10.0.0.3", "firewall", "offline"),
            ("br-rtr1", "branch", "frr", "10.1.0.1", "router", "planned"),
        ):
            service.add_device(
                db,
                SYSTEM,
                DeviceIn(
                    name=name,
                    site=site,
                    platform=platform,
                    mgmt_ip=ip,
                    role=role,
                    status=status,
                    model="M-" + name,
                    tags=["lab"] if site == "hq" else [],
                ),
            )
        service.add_interface(
            db,
            SYSTEM,
            "core-rtr1",
            InterfaceIn(name="Gi0/0", description="uplink to core-sw1", speed=10**9, oper_status="up"),
        )
        service.add_interface(
            db, SYSTEM, "core-rtr1", InterfaceIn(name="Gi0/1", description="spare", oper_status="down")
        )
        iface = service.get_interface(db, "core-rtr1", "Gi0/0")
        # The IPAM service owns address writes; the row is made directly so these tests do not depend on it.
        db.add(IPAddress(address="10.0.0.1", prefix_length=24, family=4, interface_id=iface.id))
    return Seeded(tokens=tokens)


def login_token_of(html: str) -> str:
    found = re.search(r'name="login_token" value="([^"]+)"', html)
    assert found, "login form has no login_token field"
    return found.group(1)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "page has no csrf_token field"
    return found.group(1)


def login(client: httpx.Client, name: str, secret: str, next_url: str = "/") -> httpx.Response:
    """Fetch the form, then post it like a browser; returns the POST response (not followed)."""
    form = client.get("/login", params={"next": next_url})
    return client.post(
        "/login",
        data={"username": name, "password": secret, "next": next_url, "login_token": login_token_of(form.text)},
        follow_redirects=False,
    )
