"""IPAM, VLANs and links through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.context import Context
from netwarden.errors import AlreadyExists, Conflict, InvalidInput, NotFound, PermissionDenied
from netwarden.inventory import service
from netwarden.inventory.schemas import (
    DeviceIn,
    InterfaceIn,
    IPAddressIn,
    LinkIn,
    PrefixIn,
    PrefixPatch,
    SiteIn,
    VlanIn,
)
from tests.conftest import ADMIN, VIEWER


@pytest.fixture
def plan(ctx: Context) -> Context:
    with ctx.db() as db:
        for site in ("hq", "branch"):
            service.add_site(db, ADMIN, SiteIn(name=site))
        service.add_vlan(db, ADMIN, VlanIn(vid=100, name="users", site="hq"))
        for cidr, site, vlan in (
            ("10.0.0.0/8", None, None),
            ("10.1.0.0/16", "hq", None),
            ("10.1.1.0/24", "hq", 100),
            ("10.1.1.0/26", "hq", None),
            ("10.2.0.0/16", "branch", None),
            ("2001:db8::/48", None, None),
            ("2001:db8:0:1::/64", "hq", None),
        ):
            service.add_prefix(db, ADMIN, PrefixIn(cidr=cidr, site=site, vlan=vlan))
        service.add_device(db, ADMIN, DeviceIn(name="r1", site="hq", platform="frr"))
        service.add_interface(db, ADMIN, "r1", InterfaceIn(name="eth0"))
        for addr in ("10.1.1.1/26", "10.1.1.2/26", "10.1.1.65/24", "2001:db8:0:1::1/64"):
            service.add_ip_address(db, ADMIN, IPAddressIn(address=addr))
    return ctx


def test_tree_parents_depth_and_utilisation(plan: Context) -> None:
    with plan.db() as db:
        rows = {p.cidr: p for p in service.list_prefixes(db, VIEWER).items}
        order = [p.cidr for p in service.list_prefixes(db, VIEWER).items]
    assert order == [
        "10.0.0.0/8",
        "10.1.0.0/16",
        "10.1.1.0/24",
        "10.1.1.0/26",
        "10.2.0.0/16",
        "2001:db8::/48",
        "2001:db8:0:1::/64",
    ]
    assert rows["10.1.1.0/26"].parent == "10.1.1.0/24" and rows["10.1.1.0/26"].depth == 3
    assert rows["10.0.0.0/8"].parent is None and rows["10.0.0.0/8"].depth == 0
    # Leaf: 2 addresses of 62 usable.
    assert (rows["10.1.1.0/26"].used, rows["10.1.1.0/26"].size) == (2, 62)
    # The /24 holds the /26 (64 addresses) plus one address outside it.
    assert rows["10.1.1.0/24"].used == 65
    # A container: two /16 children.
    assert rows["10.0.0.0/8"].used == 2 * 65536
    assert rows["10.0.0.0/8"].utilisation == round(100 * 2 * 65536 / 2**24, 2)
    assert rows["10.1.1.0/24"].vlan == "100" and rows["10.1.1.0/24"].site == "hq"
    assert rows["2001:db8:0:1::/64"].used == 1 and rows["2001:db8::/48"].used == 2**64


def test_filters(plan: Context) -> None:
    with plan.db() as db:
        assert [p.cidr for p in service.list_prefixes(db, VIEWER, family=6).items] == [
            "2001:db8::/48",
            "2001:db8:0:1::/64",
        ]
        assert {p.cidr for p in service.list_prefixes(db, VIEWER, site="branch").items} == {"10.2.0.0/16"}
        within = service.list_prefixes(db, VIEWER, within="10.1.0.0/16").items
        assert [p.cidr for p in within] == ["10.1.0.0/16", "10.1.1.0/24", "10.1.1.0/26"]
        page = service.list_prefixes(db, VIEWER, limit=2, offset=1)
        assert page.total == 7 and [p.cidr for p in page.items] == ["10.1.0.0/16", "10.1.1.0/24"]


def test_next_free_ip_skips_used_and_child_prefixes(plan: Context) -> None:
    with plan.db() as db:
        assert service.next_free_ip(db, VIEWER, "10.1.1.0/26").address == "10.1.1.3/26"
        # The /26 child (.0-.63) is spoken for: the first free in the /24 is .64 (.65 is used).
        nxt = service.next_free_ip(db, VIEWER, "10.1.1.0/24")
        assert nxt.address == "10.1.1.64/24"
        assert nxt.free == 254 - 63 - 1  # usable minus the /26's addresses inside the usable range minus .65
        assert service.next_free_ip(db, VIEWER, "2001:db8:0:1::/64").address == "2001:db8:0:1::2/64"
        assert service.next_free_ip(db, VIEWER, "10.0.0.0/8").address == "10.0.0.1/8"


def test_next_free_ip_full_prefix(ctx: Context) -> None:
    with ctx.db() as db:
        service.add_prefix(db, ADMIN, PrefixIn(cidr="192.0.2.0/30"))
        for a in ("192.0.2.1/30", "192.0.2.2/30"):
            service.add_ip_address(db, ADMIN, IPAddressIn(address=a))
        with pytest.raises(Conflict, match="is full"):
            service.next_free_ip(db, VIEWER, "192.0.2.0/30")
        with pytest.raises(NotFound):
            service.next_free_ip(db, VIEWER, "192.0.2.0/29")


def test_bad_prefixes_are_refused_and_change_nothing(plan: Context) -> None:
    with plan.db() as db:
        with pytest.raises(AlreadyExists):
            service.add_prefix(db, ADMIN, PrefixIn(cidr="10.1.0.0/16", site="hq"))
        with pytest.raises(Conflict, match=r"overlaps 10\.1\.0\.0/16 of site 'hq'"):
            service.add_prefix(db, ADMIN, PrefixIn(cidr="10.1.5.0/24", site="branch"))
        with pytest.raises(Conflict, match="overlaps"):
            service.add_prefix(db, ADMIN, PrefixIn(cidr="10.0.0.0/14", site="branch"))
        with pytest.raises(NotFound, match="VLAN 200"):
            service.add_prefix(db, ADMIN, PrefixIn(cidr="10.1.2.0/24", site="hq", vlan=200))
        with pytest.raises(Conflict):
            service.update_prefix(db, ADMIN, "10.1.1.0/24", PrefixPatch(site="branch"))
        with pytest.raises(PermissionDenied):
            service.add_prefix(db, VIEWER, PrefixIn(cidr="10.9.0.0/16"))
        assert service.list_prefixes(db, VIEWER).total == 7
    for bad in ("10.1.1.1/24", "10.0.0.0/33", "300.0.0.0/8", "10.0.0.0", "", "fe80::1/64"):
        with pytest.raises(ValueError):
            PrefixIn(cidr=bad)


def test_bad_addresses_are_refused(plan: Context) -> None:
    with plan.db() as db:
        with pytest.raises(AlreadyExists):
            service.add_ip_address(db, ADMIN, IPAddressIn(address="10.1.1.1/26"))
        with pytest.raises(InvalidInput, match="outside prefix"):
            service.add_ip_address(db, ADMIN, IPAddressIn(address="10.3.0.1/24", prefix="10.1.1.0/24"))
        with pytest.raises(InvalidInput, match="network address"):
            service.add_ip_address(db, ADMIN, IPAddressIn(address="10.1.1.0/24"))
        with pytest.raises(InvalidInput, match="broadcast address"):
            service.add_ip_address(db, ADMIN, IPAddressIn(address="10.1.1.255/24"))
        with pytest.raises(InvalidInput, match="both a device and an interface"):
            service.add_ip_address(db, ADMIN, IPAddressIn(address="10.1.1.9/26", device="r1"))
        with pytest.raises(NotFound):
            service.add_ip_address(db, ADMIN, IPAddressIn(address="10.1.1.9/26", device="r1", interface="eth9"))
        assert service.list_ip_addresses(db, VIEWER).total == 4


def test_addresses_on_interfaces_and_listing(plan: Context) -> None:
    with plan.db() as db:
        out = service.add_ip_address(
            db, ADMIN, IPAddressIn(address="10.1.1.10/26", device="r1", interface="eth0", dns_name="r1.example")
        )
        assert (out.device, out.interface, out.prefix) == ("r1", "eth0", "10.1.1.0/26")
        assert service.show_device(db, VIEWER, "r1").interfaces[0].addresses == ["10.1.1.10/26"]
        inside = service.list_ip_addresses(db, VIEWER, prefix="10.1.1.0/26").items
        assert [a.address for a in inside] == ["10.1.1.1/26", "10.1.1.2/26", "10.1.1.10/26"]
        assert [a.address for a in service.list_ip_addresses(db, VIEWER, device="r1").items] == ["10.1.1.10/26"]
        service.remove_ip_address(db, ADMIN, "10.1.1.10")
        with pytest.raises(NotFound):
            service.remove_ip_address(db, ADMIN, "10.1.1.10/26")


def test_removing_a_parent_reattaches_children(plan: Context) -> None:
    with plan.db() as db:
        service.remove_prefix(db, ADMIN, "10.1.1.0/24")
        child = service.show_prefix(db, VIEWER, "10.1.1.0/26")
        assert child.parent == "10.1.0.0/16" and child.depth == 2


def test_vlans(plan: Context) -> None:
    with plan.db() as db:
        service.add_vlan(db, ADMIN, VlanIn(vid=100, name="users-br", site="branch"))
        service.add_vlan(db, ADMIN, VlanIn(vid=999, name="global"))
        with pytest.raises(AlreadyExists):
            service.add_vlan(db, ADMIN, VlanIn(vid=100, name="again", site="hq"))
        vlans = service.list_vlans(db, VIEWER).items
        assert [(v.site, v.vid) for v in vlans] == [(None, 999), ("branch", 100), ("hq", 100)]
        assert service.show_vlan(db, VIEWER, 100, "hq").prefixes == ["10.1.1.0/24"]
        with pytest.raises(NotFound):
            service.show_vlan(db, VIEWER, 100, None)
        service.remove_vlan(db, ADMIN, 100, "hq")
        assert service.show_prefix(db, VIEWER, "10.1.1.0/24").vlan is None
    with pytest.raises(ValueError):
        VlanIn(vid=4095, name="x")


def test_links(plan: Context) -> None:
    with plan.db() as db:
        service.add_device(db, ADMIN, DeviceIn(name="r2", site="branch", platform="frr"))
        for dev, port in (("r1", "eth1"), ("r2", "eth1"), ("r2", "eth2")):
            service.add_interface(db, ADMIN, dev, InterfaceIn(name=port))
        out = service.add_link(db, ADMIN, LinkIn(a="r1", a_port="eth1", b="r2", b_port="eth1", kind="wan"))
        assert (out.a, out.a_port, out.b, out.b_port, out.source) == ("r1", "eth1", "r2", "eth1", "manual")
        with pytest.raises(AlreadyExists, match="already linked to r1:eth1"):
            service.add_link(db, ADMIN, LinkIn(a="r2", a_port="eth1", b="r2", b_port="eth2"))
        with pytest.raises(InvalidInput):
            service.add_link(db, ADMIN, LinkIn(a="r2", a_port="eth2", b="r2", b_port="eth2"))
        with pytest.raises(NotFound):
            service.add_link(db, ADMIN, LinkIn(a="r2", a_port="eth2", b="r1", b_port="nope"))
        assert service.show_link(db, VIEWER, "r2", "eth1").a == "r1"
        assert service.list_links(db, VIEWER, device="r2").total == 1
        with pytest.raises(Conflict, match="part of a link"):
            service.remove_interface(db, ADMIN, "r1", "eth1")
        service.remove_link(db, ADMIN, "r2", "eth1")
        assert service.list_links(db, VIEWER).total == 0
        # A removed device takes its links with it.
        service.add_link(db, ADMIN, LinkIn(a="r1", a_port="eth1", b="r2", b_port="eth2"))
        service.remove_device(db, ADMIN, "r2")
        assert service.list_links(db, VIEWER).total == 0


# ---------------------------------------------------------------- property: next-ip agrees with brute force


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plen=st.integers(min_value=26, max_value=30),
    used=st.sets(st.integers(min_value=0, max_value=63), max_size=40),
    child=st.one_of(st.none(), st.integers(min_value=28, max_value=30)),
)
def test_next_ip_matches_brute_force(sqlite_ctx: Context, plen: int, used: set[int], child: int | None) -> None:
    ctx = sqlite_ctx
    net = ipaddress.ip_network(f"198.51.100.0/{plen}")
    with ctx.db() as db:
        for p in service.list_prefixes(db, VIEWER).items:
            service.remove_prefix(db, ADMIN, p.cidr)
        for a in service.list_ip_addresses(db, VIEWER).items:
            service.remove_ip_address(db, ADMIN, a.address)
        service.add_prefix(db, ADMIN, PrefixIn(cidr=str(net)))
        child_net = None
        if child is not None and child > plen:
            child_net = ipaddress.ip_network(f"198.51.100.0/{child}")
            service.add_prefix(db, ADMIN, PrefixIn(cidr=str(child_net)))
        hosts = list(net.hosts())
        for i in sorted(used):
            if i < len(hosts):
                service.add_ip_address(db, ADMIN, IPAddressIn(address=f"{hosts[i]}/{plen}"))
        taken = {hosts[i] for i in used if i < len(hosts)}
        expected = next((h for h in hosts if h not in taken and not (child_net and h in child_net)), None)
        if expected is None:
            with pytest.raises(Conflict):
                service.next_free_ip(db, VIEWER, str(net))
        else:
            assert service.next_free_ip(db, VIEWER, str(net)).address == f"{expected}/{plen}"
