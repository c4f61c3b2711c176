"""Records from FRRouting's vtysh: its ``show ... json`` output, and ``show version`` text.

vtysh's JSON is FRR's own stable interface (the topotests compare it), so no
templates are needed. Where the daemon is not running vtysh prints
``bgpd is not running`` (or nothing): that is an empty table, not garbage.
"""

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
from netwarden.collect.records import DeviceFacts, InterfaceFacts, Route, RoutingNeighbour

_NOT_RUNNING = re.compile(r"^\s*(\w+ is not running|% ?No BGP process is configured|% BGP instance not found)", re.I)
_VERSION = re.compile(r"FRRouting\s+(?P<version>\S+)\s+\((?P<host>[^)\n]*)\)(?:\s+on\s+(?P<os>\S+?))?\.?\s*$", re.M)


def load_json(text: str, what: str) -> dict[str, Any]:
    """vtysh JSON as a dict; ``{}`` when the daemon is not running.

    Raises:
        ParseError: when the text is neither JSON nor a known "not running" notice.
    """
    stripped = text.strip()
    if not stripped or _NOT_RUNNING.match(stripped):
        return {}
    try:
        data = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise ParseError(f"{what}: vtysh did not answer with JSON ({stripped[:60]!r})") from exc
    if not isinstance(data, dict):
        raise ParseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ParseError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


@register("frr.version", "facts")
def version(text: str) -> DeviceFacts:
    """``show version``: ``FRRouting 8.4.4 (r1) on Linux(6.1.0-18-amd64).`` (the hostname is in brackets)."""
    m = _VERSION.search(text)
    if m is None:
        raise ParseError("show version: no 'FRRouting <version> (<host>)' line")
    return DeviceFacts(
        hostname=m.group("host").strip(),
        vendor="FRRouting",
        model=(m.group("os") or "").strip(),
        os_version=m.group("version"),
        platform="frr",
    )


_FRR_KIND = {"loopback": "loopback", "veth": "ethernet", "ethernet": "ethernet", "wireguard": "tunnel"}


@register("frr.interfaces", "interfaces")
def interfaces(text: str) -> list[InterfaceFacts]:
    """``show interface json``; FRR reports speed in Mbit/s."""
    out = []
    for name, raw in load_json(text, "show interface json").items():
        info = _dict(raw, f"interface {name}")
        addresses = []
        for entry in info.get("ipAddresses", []) or []:
            addr = _dict(entry, f"interface {name} address").get("address")
            if isinstance(addr, str):
                addresses.append(prefix(addr))
        kind_raw = str(info.get("interfaceType") or info.get("type") or "").lower()
        if name == "lo":
            kind = "loopback"
        elif kind_raw in _FRR_KIND:
            kind = _FRR_KIND[kind_raw]
        else:
            # WireGuard and other L3 tunnels: FRR says "Other"/"Unknown" and they have no MAC.
            kind = "ethernet" if info.get("hardwareAddress") else "tunnel"
        raw_speed = info.get("speed")
        out.append(
            InterfaceFacts(
                name=name,
                description=str(info.get("description", "")),
                admin_status=status(str(info.get("administrativeStatus", "unknown"))),
                oper_status=status(str(info.get("operationalStatus", "unknown"))),
                speed=speed(raw_speed, default_unit="m") if isinstance(raw_speed, int) and raw_speed > 0 else None,
                mtu=to_int(info.get("mtu")),
                mac=mac_or_empty(str(info.get("hardwareAddress", ""))),
                addresses=addresses,
                index=to_int(info.get("index")),
                kind=kind,
            )
        )
    return out


@register("frr.ospf", "routing")
def ospf(text: str) -> list[RoutingNeighbour]:
    """``show ip ospf neighbor json`` (FRR 8+: each router ID maps to a list of adjacencies)."""
    data = load_json(text, "show ip ospf neighbor json")
    out = []
    for rid, raw in _dict(data.get("neighbors", {}), "neighbors").items():
        entries = raw if isinstance(raw, list) else [raw]
        for entry in entries:
            nbr = _dict(entry, f"neighbor {rid}")
            state = str(nbr.get("nbrState") or nbr.get("state") or "")
            up_ms = nbr.get("upTimeInMsec")
            out.append(
                RoutingNeighbour(
                    protocol="ospf",
                    neighbor_id=rid,
                    address=ip_or_none(str(nbr.get("ifaceAddress") or nbr.get("address") or "")),
                    state=state,
                    established=state.lower().startswith(("full", "2-way", "2way")),
                    interface=str(nbr.get("ifaceName", "")).split(":", 1)[0],
                    uptime=up_ms / 1000 if isinstance(up_ms, int | float) else None,
                )
            )
    return out


@register("frr.bgp", "routing")
def bgp(text: str) -> list[RoutingNeighbour]:
    """``show bgp summary json``: one record per peer (a peer in several address families counts once)."""
    data = load_json(text, "show bgp summary json")
    seen: dict[str, RoutingNeighbour] = {}
    for afi, raw in data.items():
        if not isinstance(raw, dict) or "peers" not in raw:
            continue
        local_as = to_int(raw.get("as"))
        for peer, praw in _dict(raw["peers"], f"{afi} peers").items():
            if peer in seen:
                continue
            info = _dict(praw, f"peer {peer}")
            state = str(info.get("state", ""))
            up_ms = info.get("peerUptimeMsec")
            seen[peer] = RoutingNeighbour(
                protocol="bgp",
                neighbor_id=peer,
                address=ip_or_none(peer),
                state=state,
                established=state.lower() == "established",
                interface=peer if ip_or_none(peer) is None else "",  # unnumbered BGP names the interface
                remote_as=to_int(info.get("remoteAs")),
                local_as=to_int(info.get("localAs")) or local_as,
                uptime=up_ms / 1000 if isinstance(up_ms, int | float) and state.lower() == "established" else None,
                prefixes_received=to_int(info.get("pfxRcd")),
            )
    return list(seen.values())


@register("frr.routes", "routes")
def routes(text: str) -> list[Route]:
    """``show ip route json`` / ``show ipv6 route json``: every route entry, ``selected`` as FRR says."""
    out = []
    for dest, raw in load_json(text, "show ip route json").items():
        entries = raw if isinstance(raw, list) else [raw]
        for entry in entries:
            info = _dict(entry, f"route {dest}")
            hops: list[str] = []
            ifaces: list[str] = []
            for hop_raw in info.get("nexthops", []) or []:
                hop = _dict(hop_raw, f"route {dest} nexthop")
                addr = ip_or_none(str(hop.get("ip", "")))
                if addr and addr not in hops:
                    hops.append(addr)
                iface = hop.get("interfaceName")
                if isinstance(iface, str) and iface not in ifaces:
                    ifaces.append(iface)
            out.append(
                Route(
                    prefix=network(str(info.get("prefix", dest))),
                    protocol=str(info.get("protocol", "unknown")),
                    next_hops=hops,
                    interfaces=ifaces,
                    distance=to_int(info.get("distance")),
                    metric=to_int(info.get("metric")),
                    selected=bool(info.get("selected", False)),
                )
            )
    return out
