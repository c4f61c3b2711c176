"""Seed data and login helpers shared by the console tests (HTTP and browser)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.orm import Session

from netwarden.access import service as access
from netwarden.access.schemas import SYSTEM, Role, UserIn
from netwarden.context import Context
from netwarden.inventory import service
from netwarden.inventory.models import IPAddress
from netwarden.inventory.schemas import DeviceIn, InterfaceIn, Page, SiteIn

PASSWORDS = {"admin": "admin-pass-1", "operator": "operator-pass-1", "viewer": "viewer-pass-1"}


@dataclass
class Seeded:
    tokens: dict[str, str]


def add_users(db: Session) -> dict[str, str]:
    """admin, operator and viewer with the passwords of :data:`PASSWORDS`; their API tokens by name."""
    created = access.bootstrap_admin(db, "admin")
    assert created is not None
    tokens = {"admin": created.token}
    for role in ("operator", "viewer"):
        tokens[role] = access.create_user(db, SYSTEM, UserIn(name=role, role=Role(role))).token
    for name, password in PASSWORDS.items():
        access.set_password(db, SYSTEM, name, password)
    return tokens


def seed(ctx: Context) -> Seeded:
    """Users of each role with passwords, two sites, four devices, interfaces with addresses."""
    with ctx.db() as db:
        tokens = add_users(db)
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


@dataclass
class ContractPrefix:
    """The PrefixOut fields the IPAM page reads (the contract agreed with the IPAM service)."""

    cidr: str
    family: int
    site: str | None
    vlan: str | None
    status: str
    description: str
    parent: str | None
    depth: int
    size: int
    used: int
    utilisation: float


CONTRACT_PREFIXES = [
    ContractPrefix("10.0.0.0/16", 4, "hq", None, "active", "hq supernet", None, 0, 65536, 512, 0.78),
    ContractPrefix("10.0.0.0/24", 4, "hq", "100", "active", "hq servers", "10.0.0.0/16", 1, 254, 240, 94.49),
    ContractPrefix("10.0.1.0/24", 4, "hq", None, "reserved", "hq users", "10.0.0.0/16", 1, 254, 190, 74.8),
    ContractPrefix("10.0.1.0/26", 4, "hq", None, "active", "printers", "10.0.1.0/24", 2, 62, 12, 19.35),
    ContractPrefix("2001:db8::/48", 6, None, None, "active", "v6 block", None, 0, 2**80, 3, 0.0),
]


def contract_list_prefixes(
    db: Any,
    actor: Any,
    family: int | None = None,
    site: str | None = None,
    q: str | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> Page[Any]:
    """A stand-in with list_prefixes' agreed signature, for testing the page while the IPAM service is absent."""
    rows = [
        p
        for p in CONTRACT_PREFIXES
        if (family is None or p.family == family)
        and (site is None or p.site == site)
        and (q is None or q in p.cidr or q in p.description)
    ]
    return Page[Any](items=rows[offset : offset + limit], total=len(rows))


def playwright_expect() -> Any:
    """Playwright's ``expect`` (imported here so that collecting the HTTP tests never needs Playwright)."""
    from playwright.sync_api import expect

    return expect


def browser_login(page: Any, base_url: str, role: str, path: str = "/") -> None:
    """Log the ``role`` user of :data:`PASSWORDS` into the console in ``page``, landing on ``path``."""
    page.goto(base_url + "/login?next=" + path)
    page.fill("#username", role)
    page.fill("#password", PASSWORDS[role])
    page.click("button[type=submit]")
    page.wait_for_selector("#logout")
