"""Every ntc-templates pair in ../shared/data: the TextFSM parse equals the recorded .yml, and the records read.

(a) proves the template named in our platform files is the one ntc-templates pairs
with that command; (b) proves our normalisation turns every recorded answer into
records, and spot-checks key fields against values read off the .yml by hand.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from ntc_templates.parse import parse_output

from netwarden.collect.parsers import PARSERS, parse, run_template
from netwarden.collect.platforms import CommandSpec, platforms
from netwarden.collect.records import (
    ArpEntry,
    DeviceFacts,
    InterfaceFacts,
    MacEntry,
    Neighbour,
    Route,
    RoutingNeighbour,
)
from tests.support.shared_data import shared_data

CORPUS = shared_data() / "ntc-templates" / "tests"
SUPPORTED = ("cisco_ios", "cisco_nxos", "arista_eos", "juniper_junos")
# Commands in the corpus that no platform file runs (nothing in the records needs them); (a) still checks them.
NOT_COLLECTED = {"cisco_ios/show_inventory", "cisco_ios/show_vlan", "cisco_ios/show_ip_interface_brief"}
MAC = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")

if not CORPUS.is_dir():  # pragma: no cover - the corpus ships beside the repository
    pytest.skip(f"ntc-templates corpus not found at {CORPUS}", allow_module_level=True)

PAIRS = sorted(p for plat in SUPPORTED for p in (CORPUS / plat).glob("*/*.raw"))


def _id(raw: Path) -> str:
    return f"{raw.parent.parent.name}/{raw.parent.name}/{raw.stem}"


def _expected(raw: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(raw.with_suffix(".yml").read_text())
    return list(data["parsed_sample"] or [])


def _template(raw: Path) -> str:
    return f"{raw.parent.parent.name}_{raw.parent.name}.textfsm"


def _spec(raw: Path) -> CommandSpec | None:
    platform = platforms()[raw.parent.parent.name]
    template = _template(raw)
    for kind in ("facts", "interfaces", "neighbours", "routing", "arp", "mac_table", "routes"):
        for spec in platform.commands.of(kind):  # type: ignore[arg-type]
            if spec.template == template:
                return spec
    return None


def test_the_corpus_has_every_pair_the_readme_lists() -> None:
    assert len(PAIRS) == 108
    assert all(p.with_suffix(".yml").is_file() for p in PAIRS)


def test_every_corpus_command_is_collected_except_the_listed_ones() -> None:
    uncollected = {f"{p.parent.parent.name}/{p.parent.name}" for p in PAIRS if _spec(p) is None}
    assert uncollected == NOT_COLLECTED


@pytest.mark.parametrize("raw", PAIRS, ids=_id)
def test_textfsm_parse_equals_the_recorded_sample(raw: Path) -> None:
    text = raw.read_text()
    expected = _expected(raw)
    assert run_template(_template(raw), text) == expected
    # ntc-templates' own index resolves the command to the same template.
    command = raw.parent.name.replace("_", " ")
    assert parse_output(platform=raw.parent.parent.name, command=command, data=text) == expected


# ---------------------------------------------------------------- (b) records


def _check_invariants(record: Any) -> None:
    if isinstance(record, InterfaceFacts):
        assert record.name
        assert record.mac == "" or MAC.match(record.mac)
        assert record.speed is None or record.speed > 0
        for addr in record.addresses:
            assert "/" in addr
            ipaddress.ip_interface(addr)
    elif isinstance(record, Neighbour):
        assert record.remote_name
        if record.remote_mgmt_ip:
            ipaddress.ip_address(record.remote_mgmt_ip)
    elif isinstance(record, RoutingNeighbour):
        assert record.neighbor_id and record.state
    elif isinstance(record, ArpEntry):
        ipaddress.ip_address(record.ip)
        assert MAC.match(record.mac)
    elif isinstance(record, MacEntry):
        assert MAC.match(record.mac)
    elif isinstance(record, Route):
        ipaddress.ip_network(record.prefix)  # strict: host bits clear
        for hop in record.next_hops:
            ipaddress.ip_address(hop)
    elif isinstance(record, DeviceFacts):
        assert record.os_version or record.model or record.hostname
    else:  # pragma: no cover
        raise AssertionError(f"unexpected record {record!r}")


def _find(records: list[Any], **fields: Any) -> Any:
    for record in records:
        if all(getattr(record, k) == v for k, v in fields.items()):
            return record
    raise AssertionError(f"no record with {fields} among {len(records)}")


def _ios_version(r: DeviceFacts) -> None:
    assert (r.hostname, r.model, r.serial, r.os_version) == ("router1", "WS-C4948E", "CAT1451S15C", "12.2(54)SG1")
    assert r.uptime == 2 * 365 * 86400 + 31 * 7 * 86400 + 6 * 86400 + 9 * 3600 + 55 * 60
    assert r.vendor == "Cisco" and r.platform == "cisco_ios"


def _nxos_version(r: DeviceFacts) -> None:
    assert (r.hostname, r.model, r.serial, r.os_version) == ("N9K1", "C9396PX", "SAL1819S6LU", "6.1(2)I3(1)")
    assert r.uptime == 123 * 86400 + 5 * 3600 + 15 * 60 + 19


def _eos_version(r: DeviceFacts) -> None:
    assert (r.model, r.os_version, r.uptime, r.vendor) == ("vEOS", "4.14.7M", 3900, "Arista")


def _junos_version(r: DeviceFacts) -> None:
    assert (r.hostname, r.model, r.serial, r.os_version) == ("lab", "mx240", "qfsn-0123456789", "13.3R1.4")


def _ios_interfaces(rs: list[InterfaceFacts]) -> None:
    gi1 = _find(rs, name="GigabitEthernet0/1")
    assert (gi1.description, gi1.admin_status, gi1.oper_status) == ("to iosvl2-2", "up", "up")
    assert (gi1.speed, gi1.mtu, gi1.mac) == (1_000_000_000, 1500, "fa:16:3e:4f:41:cc")
    gi0 = _find(rs, name="GigabitEthernet0/0")
    assert (gi0.admin_status, gi0.oper_status) == ("up", "down")


def _nxos_interfaces(rs: list[InterfaceFacts]) -> None:
    mgmt = _find(rs, name="mgmt0")
    assert (mgmt.addresses, mgmt.speed, mgmt.admin_status, mgmt.oper_status) == (["10.1.100.21/24"], 10**8, "up", "up")
    vlan = _find(rs, name="Vlan20")
    assert (vlan.kind, vlan.addresses) == ("vlan", ["10.1.20.3/24"])


def _junos_interfaces(rs: list[InterfaceFacts]) -> None:
    assert _find(rs, name="ge-0/0/0.2036").addresses == ["10.10.199.180/29"]
    assert _find(rs, name="ge-0/0/0").description == "Test"


def _eos_routes(rs: list[Route]) -> None:
    r = _find(rs, prefix="10.1.31.100/32")
    assert (r.protocol, r.next_hops, r.interfaces, r.distance) == ("bgp", ["192.168.17.5"], ["Ethernet18"], 200)


def _ios_routes(rs: list[Route]) -> None:
    ecmp = _find(rs, prefix="1.1.1.1/32")
    assert (ecmp.protocol, ecmp.next_hops, ecmp.distance) == ("static", ["212.0.0.1", "192.168.0.1"], 1)
    assert _find(rs, prefix="4.4.0.0/16").protocol == "ospf"
    assert _find(rs, prefix="5.5.5.0/24").protocol == "eigrp"


def _ios_bgp(rs: list[RoutingNeighbour]) -> None:
    peer = _find(rs, neighbor_id="10.0.0.2")
    assert (peer.remote_as, peer.local_as, peer.established, peer.prefixes_received) == (65001, 65000, True, 558720)
    assert peer.uptime == 3 * 7 * 86400


def _ios_bgp_asdot(rs: list[RoutingNeighbour]) -> None:
    peer = _find(rs, neighbor_id="100.127.255.7")
    assert (peer.remote_as, peer.local_as) == (65000 * 65536 + 1001, 65000 * 65536 + 1000)


def _ios_bgp_all(rs: list[RoutingNeighbour]) -> None:
    idle = _find(rs, neighbor_id="10.10.14.4")
    assert (idle.state, idle.established, idle.prefixes_received) == ("Idle", False, None)


def _ios_mac(rs: list[MacEntry]) -> None:
    assert rs[0] == MacEntry(mac="00:10:0d:e0:e2:89", vlan=1, interface="FastEthernet0/1", kind="dynamic")


def _eos_lldp(rs: list[Neighbour]) -> None:
    n = _find(rs, local_port="Ethernet1")
    assert (n.remote_name, n.remote_port) == ("spine2.company.com", "Ethernet1")
    assert n.remote_chassis_id == "2c:c2:60:81:ea:f9"
    assert n.remote_mgmt_ip is None  # EOS printed a MAC where the address goes


def _ios_ospf(rs: list[RoutingNeighbour]) -> None:
    n = _find(rs, neighbor_id="10.0.0.1")
    assert (n.address, n.state, n.interface, n.established) == ("10.0.1.1", "FULL/-", "Port-channel1", True)


def _ios_arp(rs: list[ArpEntry]) -> None:
    expected = ArpEntry(ip="172.16.233.229", mac="00:00:0c:59:f8:92", interface="Ethernet0/0")
    assert _find(rs, ip="172.16.233.229") == expected


def _ios_cdp(rs: list[Neighbour]) -> None:
    n = _find(rs, local_port="GigabitEthernet1/0/16")
    assert (n.protocol, n.remote_name, n.remote_port, n.remote_mgmt_ip) == (
        "cdp",
        "desktop-switch",
        "GigabitEthernet0/1",
        "10.1.1.2",
    )


def _nxos_cdp(rs: list[Neighbour]) -> None:
    n = _find(rs, local_port="mgmt0")
    assert (n.remote_name, n.remote_port) == ("PERIMETER", "FastEthernet1/0/32")  # no device ID: the chassis ID


def _junos_lldp(rs: list[Neighbour]) -> None:
    n = _find(rs, local_port="ge-0/0/1")
    assert (n.remote_name, n.remote_port, n.remote_chassis_id) == ("vmx2", "ge-0/0/1", "2c:6b:f5:a1:c2:c0")


def _ios_lldp_without_local_port(rs: list[Neighbour]) -> None:
    n = _find(rs, remote_name="USSC-CAMPUS-CORE-GW2")
    # The port ID (Eth1/6), not the free-text port description, names the remote port.
    assert (n.local_port, n.remote_port, n.remote_mgmt_ip) == ("", "Eth1/6", "11.11.11.11")


def _nxos_lldp(rs: list[Neighbour]) -> None:
    n = _find(rs, local_port="mgmt0")
    assert (n.remote_name, n.remote_port, n.remote_mgmt_ip) == ("Switch.cisco.com", "Fa1/0/9", "10.30.140.1")


SPOT: dict[str, Callable[[Any], None]] = {
    "cisco_ios/show_version/cisco_ios_show_version": _ios_version,
    "cisco_nxos/show_version/cisco_nxos_show_version": _nxos_version,
    "arista_eos/show_version/arista_eos_show_version": _eos_version,
    "juniper_junos/show_version/juniper_junos_show_version": _junos_version,
    "cisco_ios/show_interfaces/cisco_ios_show_interfaces": _ios_interfaces,
    "cisco_nxos/show_interface/cisco_nxos_show_interface": _nxos_interfaces,
    "juniper_junos/show_interfaces/juniper_junos_show_interfaces": _junos_interfaces,
    "arista_eos/show_ip_route/arista_eos_show_ip_route": _eos_routes,
    "cisco_ios/show_ip_route/cisco_ios_show_ip_route": _ios_routes,
    "cisco_ios/show_ip_bgp_summary/cisco_ios_show_ip_bgp_summary": _ios_bgp,
    "cisco_ios/show_ip_bgp_summary/cisco_ios_show_ip_bgp_summary_with_dot_peer_as": _ios_bgp_asdot,
    "cisco_ios/show_ip_bgp_summary/cisco_ios_show_ip_bgp_summary_all": _ios_bgp_all,
    "cisco_ios/show_mac-address-table/cisco_ios_show_mac-address-table": _ios_mac,
    "arista_eos/show_lldp_neighbors_detail/arista_eos_show_lldp_neighbors_detail": _eos_lldp,
    "cisco_ios/show_ip_ospf_neighbor/cisco_ios_show_ip_ospf_neighbor": _ios_ospf,
    "cisco_ios/show_ip_arp/cisco_ios_show_ip_arp": _ios_arp,
    "cisco_ios/show_cdp_neighbors_detail/cisco_ios_show_cdp_neighbors_detail": _ios_cdp,
    "cisco_nxos/show_cdp_neighbors_detail/cisco_nxos_show_cdp_neighbors_detail": _nxos_cdp,
    "juniper_junos/show_lldp_neighbors/juniper_junos_show_lldp_neighbors": _junos_lldp,
    "cisco_nxos/show_lldp_neighbors_detail/cisco_nxos_show_lldp_neighbors_detail": _nxos_lldp,
    "cisco_ios/show_lldp_neighbors_detail/cisco_ios_show_lldp_neighbors_detail2": _ios_lldp_without_local_port,
}

COLLECTED = [p for p in PAIRS if _spec(p) is not None]


def test_every_spot_check_names_a_real_pair() -> None:
    assert set(SPOT) <= {_id(p) for p in COLLECTED}


@pytest.mark.parametrize("raw", COLLECTED, ids=_id)
def test_records_from_the_recorded_output(raw: Path) -> None:
    spec = _spec(raw)
    assert spec is not None
    text = raw.read_text()
    parsed = parse(spec.parser, text, spec.template)
    records = [parsed] if isinstance(parsed, DeviceFacts) else list(parsed)
    for record in records:
        _check_invariants(record)
    rows = _expected(raw)
    if rows and PARSERS[spec.parser].kind != "facts":
        assert records, "rows but no records"
        assert len(records) <= len(rows)
    check = SPOT.get(_id(raw))
    if check is not None:
        check(parsed)
