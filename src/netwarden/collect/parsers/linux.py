"""Records from a Linux shell: iproute2's JSON (``ip -j``), /proc, /sys, os-release and ``lldpcli -f json``."""

from __future__ import annotations

import json
import re
from typing import Any

from netwarden.collect.parsers.common import (
    ParseError,
    ip_or_none,
    mac_or_empty,
    network,
    prefix,
    speed,
    status,
    to_int,
)
from netwarden.collect.parsers.registry import register
from netwarden.collect.records import ArpEntry, DeviceFacts, InterfaceFacts, Neighbour, Route, Status


def _json_list(text: str, what: str) -> list[dict[str, Any]]:
    stripped = text.strip()
    if not stripped:
        return []
    try:
        data = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"{what}: not JSON ({stripped[:60]!r})") from exc
    if not isinstance(data, list) or not all(isinstance(e, dict) for e in data):
        raise ParseError(f"{what}: expected a JSON list of objects")
    return data


# ---------------------------------------------------------------- facts

_HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-_]{0,252}$")


@register("linux.hostname", "facts")
def hostname(text: str) -> DeviceFacts:
    """``hostname``."""
    name = text.strip()
    if not _HOSTNAME.match(name):
        raise ParseError(f"hostname: not a host name: {name[:60]!r}")
    return DeviceFacts(hostname=name, platform="linux")


@register("linux.uptime", "facts")
def uptime(text: str) -> DeviceFacts:
    """``cat /proc/uptime``: ``12345.67 23456.78``."""
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s+\d+(?:\.\d+)?\s*$", text)
    if m is None:
        raise ParseError(f"/proc/uptime: unexpected content {text[:60]!r}")
    return DeviceFacts(hostname="", uptime=float(m.group(1)), platform="linux")


@register("linux.uname", "facts")
def uname(text: str) -> DeviceFacts:
    """``uname -sr``: ``Linux 6.1.0-18-amd64``; the kernel becomes the OS version unless os-release says more."""
    m = re.match(r"^\s*(\S+)\s+(\S+)\s*$", text)
    if m is None:
        raise ParseError(f"uname: unexpected content {text[:60]!r}")
    return DeviceFacts(hostname="", vendor=m.group(1), model=f"{m.group(1)} {m.group(2)}", platform="linux")


@register("linux.os_release", "facts")
def os_release(text: str) -> DeviceFacts:
    """``cat /etc/os-release``: ``PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`` is the OS version."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line.strip())
        if m:
            values[m.group(1)] = m.group(2).strip().strip("\"'")
    if not values:
        raise ParseError("os-release: no KEY=value lines")
    return DeviceFacts(
        hostname="",
        vendor=values.get("NAME", ""),
        os_version=values.get("PRETTY_NAME") or f"{values.get('NAME', '')} {values.get('VERSION', '')}".strip(),
        platform="linux",
    )


# ---------------------------------------------------------------- interfaces

_LINK_KIND = {"loopback": "loopback", "ether": "ethernet", "none": "tunnel", "ipip": "tunnel", "gre": "tunnel"}


def _oper(raw: str, flags: list[str]) -> Status:
    state = raw.lower()
    if state == "unknown":
        # Loopbacks and tunnels report UNKNOWN: the carrier flag says whether they pass traffic.
        return "up" if "LOWER_UP" in flags and "UP" in flags else "down" if "UP" not in flags else "unknown"
    return status(state)


@register("linux.addresses", "interfaces")
def addresses(text: str) -> list[InterfaceFacts]:
    """``ip -j addr``: every link with its addresses."""
    out = []
    for link in _json_list(text, "ip -j addr"):
        name = link.get("ifname")
        if not isinstance(name, str) or not name:
            raise ParseError("ip -j addr: a link without ifname")
        flags = [str(f) for f in link.get("flags", []) or []]
        addrs = []
        for info in link.get("addr_info", []) or []:
            if isinstance(info, dict) and "local" in info and "prefixlen" in info:
                addrs.append(prefix(str(info["local"]), str(info["prefixlen"])))
        out.append(
            InterfaceFacts(
                name=name,
                description=str(link.get("ifalias", "")),
                admin_status="up" if "UP" in flags else "down",
                oper_status=_oper(str(link.get("operstate", "unknown")), flags),
                mtu=to_int(link.get("mtu")),
                mac=mac_or_empty(str(link.get("address", ""))) if link.get("link_type") == "ether" else "",
                addresses=addrs,
                index=to_int(link.get("ifindex")),
                kind=_LINK_KIND.get(str(link.get("link_type", "")), "ethernet"),
            )
        )
    return out


@register("linux.speeds", "interfaces")
def speeds(text: str) -> list[InterfaceFacts]:
    """``grep -sH . /sys/class/net/*/speed``: ``/sys/class/net/eth1/speed:10000`` (Mbit/s; -1 when unknown)."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^/sys/class/net/([^/]+)/speed:(-?\d+)\s*$", line.strip())
        if m is None:
            raise ParseError(f"speeds: unexpected line {line[:60]!r}")
        value = int(m.group(2))
        out.append(InterfaceFacts(name=m.group(1), speed=speed(value, default_unit="m") if value > 0 else None))
    return out


# ---------------------------------------------------------------- routes and neighbours

# iproute2 prints FRR's protocol numbers by name only when /etc/iproute2/rt_protos knows them.
_RT_PROTO = {
    "boot": "static",
    "static": "static",
    "186": "bgp",
    "187": "isis",
    "188": "ospf",
    "189": "rip",
    "192": "eigrp",
    "196": "static",
    "zebra": "zebra",
}


@register("linux.routes", "routes")
def routes(text: str) -> list[Route]:
    """``ip -j route`` / ``ip -j -6 route``."""
    out = []
    for entry in _json_list(text, "ip -j route"):
        dst = str(entry.get("dst", ""))
        if not dst:
            raise ParseError("ip -j route: a route without dst")
        if dst == "default":
            dst = "::/0" if ":" in str(entry.get("gateway", "")) else "0.0.0.0/0"
        proto = str(entry.get("protocol", "kernel"))
        name = "connected" if proto == "kernel" and entry.get("scope") == "link" else _RT_PROTO.get(proto, proto)
        hops: list[str] = []
        ifaces: list[str] = []
        for hop in [entry, *[h for h in entry.get("nexthops", []) or [] if isinstance(h, dict)]]:
            gw = ip_or_none(str(hop.get("gateway", "")))
            if gw and gw not in hops:
                hops.append(gw)
            dev = hop.get("dev")
            if isinstance(dev, str) and dev not in ifaces:
                ifaces.append(dev)
        out.append(
            Route(
                prefix=network(dst),
                protocol=name,
                next_hops=hops,
                interfaces=ifaces,
                metric=to_int(entry.get("metric")),
            )
        )
    return out


@register("linux.neighbours", "arp")
def neighbours(text: str) -> list[ArpEntry]:
    """``ip -j neigh``: resolved entries only (FAILED/INCOMPLETE carry no MAC)."""
    out = []
    for entry in _json_list(text, "ip -j neigh"):
        addr = ip_or_none(str(entry.get("dst", "")))
        hw = mac_or_empty(str(entry.get("lladdr", "")))
        if addr and hw:
            out.append(ArpEntry(ip=addr, mac=hw, interface=str(entry.get("dev", ""))))
    return out


def _items(value: Any) -> list[tuple[str, Any]]:
    """lldpcli's JSON gives ``{name: {...}}`` for one item and ``[{name: {...}}, ...]`` for several."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return [pair for item in value if isinstance(item, dict) for pair in item.items()]
    return []


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("value", ""))
    if isinstance(value, list):
        return _text(value[0]) if value else ""
    return "" if value is None else str(value)


@register("linux.lldp", "neighbours")
def lldp(text: str) -> list[Neighbour]:
    """``lldpcli -f json show neighbors`` (lldpd)."""
    stripped = text.strip()
    if not stripped:
        return []
    try:
        data = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"lldpcli: not JSON ({stripped[:60]!r})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("lldp"), dict | list):
        raise ParseError("lldpcli: no 'lldp' object")
    out = []
    for _, lldp_obj in _items(data["lldp"]) if isinstance(data["lldp"], list) else [("lldp", data["lldp"])]:
        for local, raw in _items(lldp_obj.get("interface") if isinstance(lldp_obj, dict) else None):
            if not isinstance(raw, dict):
                continue
            chassis_items = _items(raw.get("chassis"))
            name, chassis = "", {}
            for key, value in chassis_items:
                if isinstance(value, dict) and key != "id":
                    name, chassis = key, value
                    break
            if not chassis and isinstance(raw.get("chassis"), dict):
                chassis = raw["chassis"]
                name = _text(chassis.get("name"))
            chassis_id = _text(chassis.get("id"))
            mgmt = chassis.get("mgmt-ip")
            mgmt_list = mgmt if isinstance(mgmt, list) else [mgmt] if mgmt else []
            port_raw = raw.get("port")
            port: dict[str, Any] = port_raw if isinstance(port_raw, dict) else {}
            out.append(
                Neighbour(
                    protocol="lldp",
                    local_port=local,
                    remote_name=name or chassis_id,
                    remote_port=_text(port.get("id")) or _text(port.get("descr")),
                    remote_mgmt_ip=next((a for a in (ip_or_none(str(m)) for m in mgmt_list) if a), None),
                    remote_description=_text(chassis.get("descr")),
                    remote_chassis_id=mac_or_empty(chassis_id) or chassis_id,
                )
            )
    return out
