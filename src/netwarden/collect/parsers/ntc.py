"""Records from ntc-templates (TextFSM) rows, for Cisco IOS/IOS-XE, NX-OS, Arista EOS and Juniper Junos.

ntc-templates names the same fact differently per platform (``bgp_neighbor``,
``bgp_neigh``, ``peer_ip``); each mapper here reads every known spelling, so one
mapper serves all platforms for its fact kind. Only ``show version`` differs
enough to need one mapper per platform.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from netwarden.collect.parsers.common import (
    ParseError,
    as_list,
    duration,
    first,
    ip_or_none,
    mac_or_empty,
    network,
    prefix,
    speed,
    status,
    to_int,
)
from netwarden.collect.parsers.registry import Row, register
from netwarden.collect.records import (
    ArpEntry,
    DeviceFacts,
    InterfaceFacts,
    MacEntry,
    Neighbour,
    Route,
    RoutingNeighbour,
    Status,
)


def _rows(rows: Any) -> list[Row]:
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ParseError("expected TextFSM rows")
    return rows


def _duration_or_none(value: str) -> float | None:
    try:
        return duration(value) if value else None
    except ParseError:
        return None


# ---------------------------------------------------------------- facts (show version)


@register("ntc.ios_version", "facts", rows=True)
def ios_version(rows: list[Row]) -> DeviceFacts:
    """``show version`` on IOS / IOS-XE."""
    row = _one(rows, "show version")
    return DeviceFacts(
        hostname=first(row, "hostname"),
        vendor="Cisco",
        model=first(row, "hardware"),
        serial=first(row, "serial"),
        os_version=first(row, "version"),
        uptime=_duration_or_none(first(row, "uptime")),
        platform="cisco_ios",
    )


@register("ntc.nxos_version", "facts", rows=True)
def nxos_version(rows: list[Row]) -> DeviceFacts:
    """``show version`` on NX-OS."""
    row = _one(rows, "show version")
    return DeviceFacts(
        hostname=first(row, "hostname"),
        vendor="Cisco",
        model=first(row, "platform"),
        serial=first(row, "serial"),
        os_version=first(row, "os"),
        uptime=_duration_or_none(first(row, "uptime")),
        platform="cisco_nxos",
    )


@register("ntc.eos_version", "facts", rows=True)
def eos_version(rows: list[Row]) -> DeviceFacts:
    """``show version`` on EOS (no hostname there: see ``ntc.eos_hostname``)."""
    row = _one(rows, "show version")
    return DeviceFacts(
        hostname="",
        vendor="Arista",
        model=first(row, "model"),
        serial=first(row, "serial_number"),
        os_version=first(row, "image"),
        uptime=_duration_or_none(first(row, "uptime")),
        platform="arista_eos",
    )


@register("ntc.eos_hostname", "facts", rows=True)
def eos_hostname(rows: list[Row]) -> DeviceFacts:
    """``show hostname`` on EOS."""
    row = _one(rows, "show hostname")
    return DeviceFacts(hostname=first(row, "hostname", "fqdn"), vendor="Arista", platform="arista_eos")


@register("ntc.junos_version", "facts", rows=True)
def junos_version(rows: list[Row]) -> DeviceFacts:
    """``show version`` on Junos."""
    row = _one(rows, "show version")
    return DeviceFacts(
        hostname=first(row, "hostname"),
        vendor="Juniper",
        model=first(row, "model"),
        serial=first(row, "serial_number"),
        os_version=first(row, "junos_version"),
        platform="juniper_junos",
    )


def _one(rows: Any, what: str) -> Row:
    table = _rows(rows)
    if not table:
        raise ParseError(f"{what}: nothing recognisable in the output")
    return table[0]


# ---------------------------------------------------------------- interfaces

_KIND = (
    (re.compile(r"loopback|^lo\d*$", re.I), "loopback"),
    (re.compile(r"channel|^po\d|^ae\d|lag", re.I), "lag"),
    (re.compile(r"svi|^vlan|^irb", re.I), "vlan"),
    (re.compile(r"tunnel|gre|ip-over-ip|^gr-|^ip-|^lt-", re.I), "tunnel"),
)


def _kind(name: str, hardware: str) -> str:
    for pattern, kind in _KIND:
        if pattern.search(hardware) or pattern.search(name):
            return kind
    return "ethernet"


def _admin_oper(row: Row) -> tuple[Status, Status]:
    link = first(row, "link_status")
    proto = first(row, "protocol_status")
    admin_raw = first(row, "admin_state")
    oper: Status = status(proto) if proto else status(link)
    if "administratively down" in link.lower() or "admin down" in link.lower():
        admin: Status = "down"
        oper = "down"
    elif admin_raw and status(admin_raw) != "unknown":
        admin = status(admin_raw)
    elif proto:
        # IOS/EOS: the first word is the line status; anything but "administratively down" means admin up.
        admin = "up" if link else "unknown"
    else:
        admin = "up" if oper == "up" else "unknown"
    return admin, oper


def _addresses(row: Row) -> list[str]:
    out: list[str] = []
    lengths = as_list(row.get("prefix_length"))
    for i, addr in enumerate(as_list(row.get("ip_address"))):
        length = lengths[i] if i < len(lengths) else (lengths[0] if lengths else None)
        _append_prefix(out, addr, None if "/" in addr else length)
    # Junos: "Local: 10.0.0.1, Destination: 10.0.0.0/30" (lists when several addresses).
    dests = as_list(row.get("destination"))
    for i, local in enumerate(as_list(row.get("local"))):
        dest = dests[i] if i < len(dests) else ""
        _append_prefix(out, local, dest.split("/", 1)[1] if "/" in dest else "32")
    return out


def _append_prefix(out: list[str], address: str, length: str | None) -> None:
    try:
        value = prefix(address, length)
    except ParseError:
        return  # "unassigned", "x.x.x.x" (sanitised output) and the like carry no address
    if value not in out:
        out.append(value)


def _speed(row: Row) -> int | None:
    for key, unit in (("speed", ""), ("bandwidth", "k")):
        raw = first(row, key)
        if raw:
            try:
                value = speed(raw, default_unit=unit)
            except ParseError:
                continue
            if value:
                return value
    return None


@register("ntc.interfaces", "interfaces", rows=True)
def interfaces(rows: list[Row]) -> list[InterfaceFacts]:
    """``show interfaces`` (IOS, EOS, Junos) / ``show interface`` (NX-OS)."""
    out = []
    for row in _rows(rows):
        name = first(row, "interface")
        if not name:
            continue
        admin, oper = _admin_oper(row)
        out.append(
            InterfaceFacts(
                name=name,
                description=first(row, "description"),
                admin_status=admin,
                oper_status=oper,
                speed=_speed(row),
                mtu=to_int(first(row, "mtu")),
                mac=mac_or_empty(first(row, "mac_address", "bia")),
                addresses=_addresses(row),
                kind=_kind(name, first(row, "hardware_type")),
            )
        )
    return out


# ---------------------------------------------------------------- LLDP / CDP


def _remote_port(port_id: str, description: str) -> str:
    """The LLDP port ID unless it is an ifIndex or a MAC (subtypes local/mac): then the port description.

    IOS's template puts the port ID in ``neighbor_port_id`` and the description in ``neighbor_interface``;
    the other templates give only the port ID, in ``neighbor_interface``.
    """
    if port_id and not port_id.isdigit() and not mac_or_empty(port_id):
        return port_id
    return description or port_id


def _neighbours(rows: Iterable[Row], protocol: str) -> list[Neighbour]:
    out = []
    for row in rows:
        local = first(row, "local_interface")
        chassis = first(row, "chassis_id")
        name = first(row, "neighbor_name", "system_name") or mac_or_empty(chassis) or chassis
        if not name:
            continue  # old IOS prints no local port in the detail view: keep those, they still name a device
        out.append(
            Neighbour(
                protocol="lldp" if protocol == "lldp" else "cdp",
                local_port=local,
                remote_name=name,
                remote_port=_remote_port(first(row, "neighbor_port_id"), first(row, "neighbor_interface")),
                remote_mgmt_ip=ip_or_none(first(row, "mgmt_address", "interface_ip")),
                remote_description=first(row, "neighbor_description"),
                remote_chassis_id=mac_or_empty(chassis) or chassis,
            )
        )
    return out


@register("ntc.lldp", "neighbours", rows=True)
def lldp(rows: list[Row]) -> list[Neighbour]:
    """``show lldp neighbors [detail]`` on every TextFSM platform."""
    return _neighbours(_rows(rows), "lldp")


@register("ntc.cdp", "neighbours", rows=True)
def cdp(rows: list[Row]) -> list[Neighbour]:
    """``show cdp neighbors detail`` (IOS, NX-OS)."""
    return _neighbours(_rows(rows), "cdp")


# ---------------------------------------------------------------- OSPF / BGP


@register("ntc.ospf", "routing", rows=True)
def ospf(rows: list[Row]) -> list[RoutingNeighbour]:
    """``show ip ospf neighbor`` (IOS, NX-OS, EOS) / ``show ospf neighbor`` (Junos)."""
    out = []
    for row in _rows(rows):
        rid = first(row, "neighbor_id")
        if not rid:
            continue
        state = re.sub(r"\s+", "", first(row, "state"))
        out.append(
            RoutingNeighbour(
                protocol="ospf",
                neighbor_id=rid,
                address=ip_or_none(first(row, "ip_address")),
                state=state,
                # 2WAY is the stable state between two DROTHERs on a broadcast segment.
                established=state.upper().startswith(("FULL", "2WAY")),
                interface=first(row, "interface"),
                uptime=_duration_or_none(first(row, "uptime")),
            )
        )
    return out


def _asn(value: str) -> int | None:
    """``65001`` or asdot ``1.10`` -> int."""
    if re.fullmatch(r"\d+", value):
        return int(value)
    m = re.fullmatch(r"(\d+)\.(\d+)", value)
    return int(m.group(1)) * 65536 + int(m.group(2)) if m else None


_JUNOS_COUNTS = re.compile(r"^\d+/\d+/\d+(/\d+)?$")


@register("ntc.bgp", "routing", rows=True)
def bgp(rows: list[Row]) -> list[RoutingNeighbour]:
    """``show ip bgp summary`` (IOS, NX-OS, EOS) / ``show bgp summary`` (Junos)."""
    out = []
    for row in _rows(rows):
        peer = first(row, "bgp_neighbor", "bgp_neigh", "peer_ip")
        if not peer:
            continue
        combined = first(row, "state_or_prefixes_received")
        explicit = first(row, "state")
        prefixes: int | None
        if explicit:
            state = explicit
            prefixes = to_int(first(row, "state_pfxrcd", "received"))
            if _JUNOS_COUNTS.match(explicit):
                # Junos prints the active/received/accepted counts instead of "Established".
                state, prefixes = "Established", int(explicit.split("/")[1])
        else:
            combined = combined or first(row, "state_pfxrcd")
            prefixes = to_int(combined)
            state = "Established" if prefixes is not None else combined
        out.append(
            RoutingNeighbour(
                protocol="bgp",
                neighbor_id=peer,
                address=ip_or_none(peer),
                state=state,
                established=state.lower().startswith("estab"),
                remote_as=_asn(first(row, "neighbor_as", "neigh_as", "peer_as")),
                local_as=_asn(first(row, "local_as")),
                uptime=_duration_or_none(first(row, "up_down")),
                prefixes_received=prefixes,
            )
        )
    return out


# ---------------------------------------------------------------- ARP / MAC


@register("ntc.arp", "arp", rows=True)
def arp(rows: list[Row]) -> list[ArpEntry]:
    """``show ip arp`` (IOS, NX-OS, EOS) / ``show arp no-resolve`` (Junos); incomplete entries are left out."""
    out = []
    for row in _rows(rows):
        addr = ip_or_none(first(row, "ip_address", "address"))
        hw = mac_or_empty(first(row, "mac_address", "mac"))
        if addr is None or not hw:
            continue
        out.append(ArpEntry(ip=addr, mac=hw, interface=first(row, "interface")))
    return out


def _mac_kind(value: str) -> str:
    low = value.lower()
    if "static" in low or low in ("s", "permanent"):
        return "static"
    if "dynamic" in low or "learn" in low or low in ("d", "dl"):
        return "dynamic"
    return "other"


@register("ntc.mac", "mac_table", rows=True)
def mac_table(rows: list[Row]) -> list[MacEntry]:
    """``show mac address-table`` on every TextFSM platform; entries without a valid MAC are left out."""
    out = []
    for row in _rows(rows):
        hw = mac_or_empty(first(row, "destination_address", "mac_address"))
        if not hw:
            continue
        kind = _mac_kind(first(row, "type", "mac_flag"))
        out.append(
            MacEntry(
                mac=hw,
                vlan=to_int(first(row, "vlan_id", "vlan")),
                interface=first(row, "destination_port", "ports", "logical_interface"),
                kind="static" if kind == "static" else "dynamic" if kind == "dynamic" else "other",
            )
        )
    return out


# ---------------------------------------------------------------- routes

_PROTO_CODES = {
    "c": "connected",
    "direct": "connected",
    "connected": "connected",
    "l": "local",
    "local": "local",
    "s": "static",
    "static": "static",
    "r": "rip",
    "rip": "rip",
    "b": "bgp",
    "bgp": "bgp",
    "d": "eigrp",
    "ex": "eigrp",
    "eigrp": "eigrp",
    "o": "ospf",
    "ospf": "ospf",
    "i": "isis",
    "isis": "isis",
    "k": "kernel",
    "a": "aggregate",
    "am": "adjacency",
    "hsrp": "hsrp",
    "vrrp": "vrrp",
}


def protocol_name(code: str) -> str:
    """``O IA`` -> ``ospf``, ``B E`` -> ``bgp``, ``S*`` -> ``static``, ``ospf-1`` -> ``ospf``; unknown -> as given."""
    token = code.strip().lower().split()[0] if code.strip() else ""
    token = token.rstrip("*+%&>").split("-")[0]
    return _PROTO_CODES.get(token, token or "unknown")


@register("ntc.routes", "routes", rows=True)
def routes(rows: list[Row]) -> list[Route]:
    """``show ip route`` (IOS, NX-OS, EOS): one record per prefix and protocol, next hops merged (ECMP)."""
    merged: dict[tuple[str, str, str], dict[str, Any]] = {}
    for row in _rows(rows):
        net = first(row, "network")
        if not net:
            continue
        length = first(row, "prefix_length")
        dest = network(net, length or None)
        proto = protocol_name(first(row, "protocol"))
        key = (first(row, "vrf"), dest, proto)
        entry = merged.setdefault(
            key,
            {
                "prefix": dest,
                "protocol": proto,
                "next_hops": [],
                "interfaces": [],
                "distance": to_int(first(row, "distance")),
                "metric": to_int(first(row, "metric")),
            },
        )
        for hop in as_list(row.get("nexthop_ip")) + as_list(row.get("next_hop")):
            addr = ip_or_none(hop)
            if addr and addr not in entry["next_hops"]:
                entry["next_hops"].append(addr)
        for iface in as_list(row.get("nexthop_if")) + as_list(row.get("interface")):
            if iface not in entry["interfaces"]:
                entry["interfaces"].append(iface)
    return [Route(**entry) for entry in merged.values()]
