"""Traps as events: linkDown/linkUp, coldStart/warmStart, BGP and OSPF neighbour changes, the rest as ``trap``.

Subjects follow :mod:`netwarden.alerts.events`: ``DEVICE:IFNAME`` for an interface,
``DEVICE:bgp:PEER`` and ``DEVICE:ospf:ROUTER-ID`` for neighbours, the device itself otherwise.
Each event's ``raw`` is :func:`render` of the trap: version, sender, trap name and varbinds.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import Final

from netwarden.alerts.events import Event, EventKind, Severity
from netwarden.collect import _ber as ber
from netwarden.monitor.trap_decode import GENERIC, SNMP_TRAP_ADDRESS, SYS_UPTIME, Trap

__all__ = ["render", "trap_events"]

COLD_START, WARM_START, LINK_DOWN, LINK_UP = (f"{GENERIC}{n}" for n in (1, 2, 3, 4))
OSPF_NBR_STATE_CHANGE: Final = "1.3.6.1.2.1.14.16.2.2"
# BGP4-MIB (RFC 4273 and the deprecated RFC 1657 names), the BGP4V2 draft (IETF experimental arc and
# FRR's 7336 arc) and CISCO-BGP4-MIB: trap OID -> established (True) or backward transition (False).
_BGP: Final[dict[str, bool]] = {
    "1.3.6.1.2.1.15.0.1": True,
    "1.3.6.1.2.1.15.0.2": False,
    "1.3.6.1.2.1.15.7.1": True,
    "1.3.6.1.2.1.15.7.2": False,
    "1.3.6.1.3.5.1.0.1": True,
    "1.3.6.1.3.5.1.0.2": False,
    "1.3.6.1.4.1.7336.4.2.1.0.1": True,
    "1.3.6.1.4.1.7336.4.2.1.0.2": False,
    "1.3.6.1.4.1.9.9.187.0.1": True,
    "1.3.6.1.4.1.9.9.187.0.2": False,
    "1.3.6.1.4.1.9.9.187.0.7": True,
    "1.3.6.1.4.1.9.9.187.0.8": False,
}
_BGP_PEER: Final = "1.3.6.1.2.1.15.3.1."  # bgpPeerTable, indexed by the peer's IPv4 address
# Peer tables indexed by InetAddressType + InetAddress: BGP4V2 (both arcs), cbgpPeer2Table.
_BGP_PEER_V2: Final = ("1.3.6.1.3.5.1.1.2.1.", "1.3.6.1.4.1.7336.4.2.1.1.2.1.", "1.3.6.1.4.1.9.9.187.1.2.5.1.")
_BGP_STATE: Final = {1: "idle", 2: "connect", 3: "active", 4: "openSent", 5: "openConfirm", 6: "established"}
_OSPF_STATE: Final = {
    1: "down",
    2: "attempt",
    3: "init",
    4: "twoWay",
    5: "exchangeStart",
    6: "exchange",
    7: "loading",
    8: "full",
}
# Names for the raw rendering and summaries.
_NAMES: Final = {
    SYS_UPTIME: "sysUpTime.0",
    SNMP_TRAP_ADDRESS: "snmpTrapAddress.0",
    COLD_START: "coldStart",
    WARM_START: "warmStart",
    LINK_DOWN: "linkDown",
    LINK_UP: "linkUp",
    GENERIC + "5": "authenticationFailure",
    GENERIC + "6": "egpNeighborLoss",
    "1.3.6.1.2.1.15.0.1": "bgpEstablishedNotification",
    "1.3.6.1.2.1.15.0.2": "bgpBackwardTransNotification",
    "1.3.6.1.2.1.15.7.1": "bgpEstablished",
    "1.3.6.1.2.1.15.7.2": "bgpBackwardTransition",
    OSPF_NBR_STATE_CHANGE: "ospfNbrStateChange",
}
# Table columns: prefix -> name (the instance suffix is kept).
_COLUMNS: Final = {
    "1.3.6.1.2.1.2.2.1.1.": "ifIndex",
    "1.3.6.1.2.1.2.2.1.2.": "ifDescr",
    "1.3.6.1.2.1.2.2.1.7.": "ifAdminStatus",
    "1.3.6.1.2.1.2.2.1.8.": "ifOperStatus",
    "1.3.6.1.2.1.31.1.1.1.1.": "ifName",
    "1.3.6.1.2.1.31.1.1.1.18.": "ifAlias",
    "1.3.6.1.2.1.15.3.1.2.": "bgpPeerState",
    "1.3.6.1.2.1.15.3.1.7.": "bgpPeerRemoteAddr",
    "1.3.6.1.2.1.15.3.1.14.": "bgpPeerLastError",
    "1.3.6.1.2.1.14.1.1.": "ospfRouterId",
    "1.3.6.1.2.1.14.10.1.1.": "ospfNbrIpAddr",
    "1.3.6.1.2.1.14.10.1.3.": "ospfNbrRtrId",
    "1.3.6.1.2.1.14.10.1.6.": "ospfNbrState",
}
_MAX_RAW: Final = 2000


def trap_events(trap: Trap, device: str) -> list[Event]:
    """The events one trap stands for, about ``device`` (the inventory name of the sender)."""
    oid = _canonical(trap.oid)
    vbs = trap.varbinds
    if oid in (LINK_DOWN, LINK_UP):
        # As the poller: a port shut while in service is down too (it carried traffic a moment ago;
        # a trap only comes on a change), so the trap and poll paths raise the same alert.
        name = _interface(vbs)
        subject = f"{device}:{name}" if name else device
        down = oid == LINK_DOWN
        why = " (shut down)" if _column(vbs, "1.3.6.1.2.1.2.2.1.7.") == 2 else ""
        kind: EventKind = "interface_down" if down else "interface_up"
        summary = f"{subject} is {'down' if down else 'up again'}{why} (trap)"
        return [_event(trap, device, kind, subject, "major", summary)]
    if oid in (COLD_START, WARM_START):
        how = "cold" if oid == COLD_START else "warm"
        return [_event(trap, device, "reboot", device, "warning", f"{device} restarted ({how} start trap)")]
    if oid in _BGP:
        peer = _bgp_peer(vbs) or "?"
        up = _BGP[oid]
        state = _BGP_STATE.get(_int(_column(vbs, _BGP_PEER + "2.")) or 0, "")
        what = "established" if up else f"left Established{f' (now {state})' if state else ''}"
        kind = "neighbor_up" if up else "neighbor_down"
        summary = f"BGP peer {peer} of {device} {what} (trap)"
        return [_event(trap, device, kind, f"{device}:bgp:{peer}", "info" if up else "major", summary)]
    if oid == OSPF_NBR_STATE_CHANGE:
        # RFC 4750 sends this on a regression or on reaching a terminal state: full, or twoWay between
        # two DROthers on a broadcast segment (healthy, they never go further); anything else is a loss.
        neighbour = _ospf_neighbour(vbs) or "?"
        number = _int(_column(vbs, "1.3.6.1.2.1.14.10.1.6."))
        state = _OSPF_STATE.get(number or 0, str(number) if number is not None else "unknown")
        up = number in (4, 8)
        kind = "neighbor_up" if up else "neighbor_down"
        summary = f"OSPF neighbour {neighbour} of {device} is {state} (trap)"
        return [_event(trap, device, kind, f"{device}:ospf:{neighbour}", "info" if up else "major", summary)]
    name = _NAMES.get(trap.oid, trap.oid)
    label = f"{name} ({trap.oid})" if name != trap.oid else trap.oid
    return [_event(trap, device, "trap", device, "info", f"trap {label} from {device}")]


def _event(trap: Trap, device: str, kind: EventKind, subject: str, severity: Severity, summary: str) -> Event:
    return Event(
        source="trap", kind=kind, subject=subject, device=device, severity=severity, summary=summary, raw=render(trap)
    )


def _canonical(oid: str) -> str:
    """SNMPv2 form of a trap OID that came from a v1 trap (``enterprise.0.specific`` -> ``enterprise.specific``)."""
    if oid in _BGP or oid == OSPF_NBR_STATE_CHANGE:
        return oid
    head, _, last = oid.rpartition(".")
    if head.endswith(".0"):
        shorter = f"{head[:-2]}.{last}"
        if shorter in _BGP or shorter == OSPF_NBR_STATE_CHANGE:
            return shorter
    return oid


def _column(varbinds: Sequence[tuple[str, ber.Value]], prefix: str) -> ber.Value:
    for oid, value in varbinds:
        if oid.startswith(prefix):
            return value
    return None


def _int(value: ber.Value) -> int | None:
    return value if isinstance(value, int) else None


def _interface(varbinds: Sequence[tuple[str, ber.Value]]) -> str:
    for prefix in ("1.3.6.1.2.1.31.1.1.1.1.", "1.3.6.1.2.1.2.2.1.2."):  # ifName, then ifDescr
        value = _column(varbinds, prefix)
        if isinstance(value, bytes) and value.strip():
            return _text(value.strip())
    index = _column(varbinds, "1.3.6.1.2.1.2.2.1.1.")
    if isinstance(index, int):
        return f"ifIndex{index}"
    for oid, _ in varbinds:  # an IF-MIB column still names the row
        if oid.startswith(("1.3.6.1.2.1.2.2.1.", "1.3.6.1.2.1.31.1.1.1.")):
            return f"ifIndex{oid.rsplit('.', 1)[1]}"
    return ""


def _bgp_peer(varbinds: Sequence[tuple[str, ber.Value]]) -> str:
    remote = _column(varbinds, "1.3.6.1.2.1.15.3.1.7.")
    if isinstance(remote, str):
        return remote
    for oid, _ in varbinds:
        if oid.startswith(_BGP_PEER):
            arcs = oid.split(".")
            if len(arcs) >= 14:
                return ".".join(arcs[-4:])
        if oid.startswith(_BGP_PEER_V2):
            found = _address_suffix([int(a) for a in oid.split(".")])
            if found:
                return found
    return ""


def _address_suffix(arcs: list[int]) -> str:
    """The IPv4/IPv6 address ending an InetAddressType+InetAddress index (with or without its length)."""
    for size, kinds in ((4, (1, 4)), (16, (2, 16))):
        if len(arcs) > size and arcs[-size - 1] in kinds and all(0 <= a <= 255 for a in arcs[-size:]):
            return str(ipaddress.ip_address(bytes(arcs[-size:])))
    return ""


def _ospf_neighbour(varbinds: Sequence[tuple[str, ber.Value]]) -> str:
    router_id = _column(varbinds, "1.3.6.1.2.1.14.10.1.3.")
    if isinstance(router_id, str) and router_id != "0.0.0.0":
        return router_id
    address = _column(varbinds, "1.3.6.1.2.1.14.10.1.1.")
    if isinstance(address, str):
        return address
    for oid, _ in varbinds:  # the ospfNbrTable index is ospfNbrIpAddr.ospfNbrAddressLessIndex
        if oid.startswith("1.3.6.1.2.1.14.10.1."):
            arcs = oid.split(".")
            if len(arcs) >= 15:
                return ".".join(arcs[-5:-1])
    return ""


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _value(value: ber.Value) -> str:
    if isinstance(value, bytes):
        try:
            text: str | None = value.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        shown = repr(text) if text is not None and text.isprintable() else "0x" + value.hex()
        return shown[:200]
    return "null" if value is None else str(value)


def _name(oid: str) -> str:
    for prefix, name in _COLUMNS.items():
        if oid.startswith(prefix):
            return f"{name}.{oid[len(prefix) :]}"
    return _NAMES.get(oid, oid)


def render(trap: Trap) -> str:
    """A readable line for the event's ``raw``: version, sender, trap name and varbinds (bounded)."""
    head = f"{trap.version} from {trap.sender}"
    if trap.agent:
        head += f" (agent {trap.agent})"
    if trap.user:
        head += f" user {trap.user}"
    kind = "inform" if trap.inform else "trap"
    parts = [f"{_name(o)}={_value(v)}" for o, v in trap.varbinds]
    text = "; ".join([f"{head}: {kind} {_name(trap.oid)} uptime={trap.uptime}", *parts])
    return text[:_MAX_RAW]
