"""Device facts over SNMP: identity, interfaces, addresses, LLDP neighbours, OSPF/BGP peers.

One :func:`collect_snmp` call asks an agent for SNMPv2-MIB's system group, then walks the
columns below in a single multi-column GETBULK walk and maps them onto the typed records of
:mod:`netwarden.collect.records`. Tables an agent does not implement simply come back empty.

=================  ========================================================================
MIB                columns read
=================  ========================================================================
IF-MIB             ifDescr ifType ifMtu ifSpeed ifPhysAddress ifAdminStatus ifOperStatus,
                   ifName ifHighSpeed ifAlias
IP-MIB             ipAdEntIfIndex ipAdEntNetMask (IPv4), ipAddressIfIndex ipAddressPrefix (IPv6)
LLDP-MIB           lldpLocPortId/Desc, lldpRem ChassisId PortIdSubtype PortId PortDesc SysName
                   SysDesc, lldpRemManAddrIfSubtype (its index carries the address)
ENTITY-MIB         entPhysicalClass SoftwareRev SerialNum MfgName ModelName (the chassis row)
OSPF-MIB           ospfNbrIpAddr ospfNbrRtrId ospfNbrState
BGP4-MIB           bgpPeerState bgpPeerRemoteAddr bgpPeerRemoteAs bgpPeerFsmEstablishedTime, bgpLocalAs
=================  ========================================================================
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Final

from netwarden.collect import snmp
from netwarden.collect._ber import Exception_, Value
from netwarden.collect.records import (
    DeviceFacts,
    DeviceSnapshot,
    InterfaceFacts,
    Neighbour,
    RoutingNeighbour,
    Status,
    TargetResult,
)
from netwarden.errors import InvalidInput
from netwarden.inventory.schemas import CredentialSecret

__all__ = ["SYSTEM", "TABLES", "auth_from_secret", "collect_snmp", "snapshot_from"]

SYSTEM: Final = {
    "descr": "1.3.6.1.2.1.1.1.0",
    "object_id": "1.3.6.1.2.1.1.2.0",
    "uptime": "1.3.6.1.2.1.1.3.0",
    "name": "1.3.6.1.2.1.1.5.0",
    "location": "1.3.6.1.2.1.1.6.0",
}
_IF = "1.3.6.1.2.1.2.2.1."
_IFX = "1.3.6.1.2.1.31.1.1.1."
_LLDP = "1.0.8802.1.1.2.1."
_ENT = "1.3.6.1.2.1.47.1.1.1.1."
TABLES: Final = {
    "if_descr": _IF + "2",
    "if_type": _IF + "3",
    "if_mtu": _IF + "4",
    "if_speed": _IF + "5",
    "if_mac": _IF + "6",
    "if_admin": _IF + "7",
    "if_oper": _IF + "8",
    "if_name": _IFX + "1",
    "if_high_speed": _IFX + "15",
    "if_alias": _IFX + "18",
    "ip4_ifindex": "1.3.6.1.2.1.4.20.1.2",
    "ip4_mask": "1.3.6.1.2.1.4.20.1.3",
    "ip_ifindex": "1.3.6.1.2.1.4.34.1.3",
    "ip_prefix": "1.3.6.1.2.1.4.34.1.5",
    "lldp_loc_port_id": _LLDP + "3.7.1.3",
    "lldp_loc_port_desc": _LLDP + "3.7.1.4",
    "lldp_rem_chassis": _LLDP + "4.1.1.5",
    "lldp_rem_port_subtype": _LLDP + "4.1.1.6",
    "lldp_rem_port": _LLDP + "4.1.1.7",
    "lldp_rem_port_desc": _LLDP + "4.1.1.8",
    "lldp_rem_name": _LLDP + "4.1.1.9",
    "lldp_rem_descr": _LLDP + "4.1.1.10",
    "lldp_rem_man": _LLDP + "4.2.1.3",
    "ent_class": _ENT + "5",
    "ent_software": _ENT + "10",
    "ent_serial": _ENT + "11",
    "ent_mfg": _ENT + "12",
    "ent_model": _ENT + "13",
    "ospf_nbr_rtr": "1.3.6.1.2.1.14.10.1.3",
    "ospf_nbr_state": "1.3.6.1.2.1.14.10.1.6",
    "bgp_state": "1.3.6.1.2.1.15.3.1.2",
    "bgp_remote_as": "1.3.6.1.2.1.15.3.1.9",
    "bgp_established_time": "1.3.6.1.2.1.15.3.1.16",
}
BGP_LOCAL_AS: Final = "1.3.6.1.2.1.15.2.0"

_STATUS: Final[dict[int, Status]] = {
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}
_OSPF_STATE: Final = {
    1: "Down",
    2: "Attempt",
    3: "Init",
    4: "2-Way",
    5: "ExStart",
    6: "Exchange",
    7: "Loading",
    8: "Full",
}
_BGP_STATE: Final = {1: "Idle", 2: "Connect", 3: "Active", 4: "OpenSent", 5: "OpenConfirm", 6: "Established"}
# IANAifType values worth naming; the rest are "other"
_IF_KIND: Final = {6: "ethernet", 24: "loopback", 131: "tunnel", 53: "virtual", 135: "vlan", 161: "lag", 209: "bridge"}


def auth_from_secret(cred: CredentialSecret) -> snmp.Auth:
    """The SNMP credentials of a stored credential (``snmp-v2c`` or ``snmp-v3``)."""
    if cred.kind == "snmp-v2c":
        return snmp.V2c(cred.secret.get_secret_value())
    if cred.kind == "snmp-v3":
        params = cred.params
        auth_protocol = params.auth_protocol if cred.secret.get_secret_value() else None
        priv = cred.priv_secret.get_secret_value() if cred.priv_secret is not None else ""
        return snmp.V3(
            user=cred.username,
            auth_protocol=auth_protocol,
            auth_password=cred.secret.get_secret_value(),
            priv_protocol=params.priv_protocol if priv else None,
            priv_password=priv,
            context=params.context or "",
        )
    raise InvalidInput(f"credential {cred.name!r} is {cred.kind}, not an SNMP credential")


async def collect_snmp(
    target: str,
    auth: snmp.Auth,
    *,
    port: int = 161,
    timeout: float = 2.0,
    retries: int = 1,
    max_repetitions: int = 25,
    classify: Callable[[DeviceFacts], DeviceFacts] | None = None,
) -> TargetResult[DeviceSnapshot]:
    """Identify ``target`` and read its facts; any SNMP failure is a failed result with its reason."""

    async def read(session: snmp.Session) -> DeviceSnapshot:
        system = dict(await session.get([*SYSTEM.values(), BGP_LOCAL_AS]))
        if all(isinstance(v, Exception_) or v is None for v in system.values()):
            raise snmp.SnmpProtocolError("the agent answered without the system group (SNMPv2-MIB)")
        tables = await session.walk_columns(list(TABLES.values()))
        columns = {key: tables[oid] for key, oid in TABLES.items()}
        return snapshot_from(target, system, columns, classify)

    return await snmp.collect(
        target, auth, read, port=port, timeout=timeout, retries=retries, max_repetitions=max_repetitions
    )


def snapshot_from(
    target: str,
    system: dict[str, Value],
    columns: dict[str, dict[str, Value]],
    classify: Callable[[DeviceFacts], DeviceFacts] | None = None,
) -> DeviceSnapshot:
    """Map the system group and walked columns (``{key: {index: value}}``, keys of :data:`TABLES`)."""
    warnings: list[str] = []
    interfaces, names = _interfaces(columns)
    facts = DeviceFacts(
        hostname=_text(system.get(SYSTEM["name"])) or target,
        sys_descr=_text(system.get(SYSTEM["descr"])),
        sys_object_id=_oid(system.get(SYSTEM["object_id"])),
        uptime=_uptime(system.get(SYSTEM["uptime"])),
        location=_text(system.get(SYSTEM["location"])),
        **_entity(columns),
    )
    if classify is not None:
        facts = classify(facts)
    local_as = system.get(BGP_LOCAL_AS)
    return DeviceSnapshot(
        target=target,
        facts=facts,
        interfaces=interfaces,
        neighbours=_lldp(columns, names, warnings),
        routing=_ospf(columns) + _bgp(columns, local_as if isinstance(local_as, int) else None),
        via=["snmp"],
        warnings=warnings,
    )


# ---------------------------------------------------------------- value helpers


def _text(value: Value | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip("\x00").strip()
    if isinstance(value, str):
        return value
    return ""


def _oid(value: Value | None) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Value | None) -> int | None:
    return value if isinstance(value, int) else None


def _uptime(value: Value | None) -> float | None:
    return value / 100 if isinstance(value, int) else None


def _mac(value: Value | None) -> str:
    if isinstance(value, bytes) and len(value) == 6:
        return value.hex(":")
    return ""


def _id_text(value: Value | None, subtype: int | None = None) -> str:
    """An LLDP id: a MAC when it has the shape of one (subtype 3 or six raw bytes), text otherwise."""
    if isinstance(value, bytes) and len(value) == 6 and (subtype in (3, None) or not value.isascii()):
        return value.hex(":")
    return _text(value)


# ---------------------------------------------------------------- tables


def _interfaces(columns: dict[str, dict[str, Value]]) -> tuple[list[InterfaceFacts], dict[str, str]]:
    descr = columns["if_descr"]
    names: dict[str, str] = {}
    for index in descr:
        names[index] = _text(columns["if_name"].get(index)) or _text(descr[index]) or f"if{index}"
    addresses = _addresses(columns)
    out = []
    for index, name in names.items():
        high = _int(columns["if_high_speed"].get(index))
        low = _int(columns["if_speed"].get(index))
        speed = high * 1_000_000 if high else low
        kind_code = _int(columns["if_type"].get(index))
        out.append(
            InterfaceFacts(
                name=name,
                index=int(index) if index.isdigit() else None,
                description=_text(columns["if_alias"].get(index)),
                admin_status=_STATUS.get(_int(columns["if_admin"].get(index)) or 4, "unknown"),
                oper_status=_STATUS.get(_int(columns["if_oper"].get(index)) or 4, "unknown"),
                speed=speed if speed else None,
                mtu=_int(columns["if_mtu"].get(index)) or None,
                mac=_mac(columns["if_mac"].get(index)),
                addresses=addresses.get(index, []),
                kind=_IF_KIND.get(kind_code or 1, "other"),
            )
        )
    return out, names


def _addresses(columns: dict[str, dict[str, Value]]) -> dict[str, list[str]]:
    """ifIndex -> ["address/len"]; IPv4 from ipAddrTable, IPv6 (and v4 when only there) from ipAddressTable."""
    found: dict[str, list[str]] = {}
    seen: set[str] = set()
    masks = columns["ip4_mask"]
    for addr, ifindex in columns["ip4_ifindex"].items():
        mask = masks.get(addr)
        try:
            length = ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen if isinstance(mask, str) else 32
            iface = ipaddress.IPv4Interface(f"{addr}/{length}")
        except ValueError:
            continue
        if iface.ip.is_loopback:
            continue
        found.setdefault(str(ifindex), []).append(str(iface))
        seen.add(str(iface.ip))
    prefixes = columns["ip_prefix"]
    for index, ifindex in columns["ip_ifindex"].items():
        arcs = [int(a) for a in index.split(".")]
        if len(arcs) < 3 or arcs[1] != len(arcs) - 2 or arcs[0] not in (1, 2):
            continue
        raw = bytes(arcs[2:])
        try:
            ip = ipaddress.ip_address(raw)
        except ValueError:
            continue
        if str(ip) in seen or ip.is_loopback or ip.is_link_local:
            continue
        prefix = prefixes.get(index)
        length = int(prefix.rsplit(".", 1)[1]) if isinstance(prefix, str) and "." in prefix else ip.max_prefixlen
        if not 0 <= length <= ip.max_prefixlen:
            length = ip.max_prefixlen
        found.setdefault(str(ifindex), []).append(f"{ip}/{length}")
    return found


def _entity(columns: dict[str, dict[str, Value]]) -> dict[str, str]:
    """Model, serial, vendor and software of the first chassis row (entPhysicalClass 3)."""
    chassis = next((i for i, v in columns["ent_class"].items() if v == 3), None)
    if chassis is None:
        return {}
    fields = {
        "model": _text(columns["ent_model"].get(chassis)),
        "serial": _text(columns["ent_serial"].get(chassis)),
        "vendor": _text(columns["ent_mfg"].get(chassis)),
        "os_version": _text(columns["ent_software"].get(chassis)),
    }
    return {k: v for k, v in fields.items() if v}


def _lldp(columns: dict[str, dict[str, Value]], if_names: dict[str, str], warnings: list[str]) -> list[Neighbour]:
    """lldpRemTable rows (index timeMark.localPortNum.remIndex) with the local port named."""
    local_ids = columns["lldp_loc_port_id"]
    local_desc = columns["lldp_loc_port_desc"]
    managed: dict[str, str] = {}
    for index in columns["lldp_rem_man"]:
        arcs = index.split(".")
        # timeMark.localPort.remIndex.addrSubtype.addrLen.addr...
        if len(arcs) >= 9 and arcs[3] == "1" and arcs[4] == "4":
            managed.setdefault(".".join(arcs[:3]), ".".join(arcs[5:9]))
    out = []
    for index, name in columns["lldp_rem_name"].items():
        arcs = index.split(".")
        if len(arcs) != 3:
            warnings.append(f"LLDP row with an odd index {index}")
            continue
        port_num = arcs[1]
        local = (
            if_names.get(port_num)
            or _text(local_desc.get(port_num))
            or _id_text(local_ids.get(port_num))
            or f"port{port_num}"
        )
        subtype = _int(columns["lldp_rem_port_subtype"].get(index))
        remote_port = _id_text(columns["lldp_rem_port"].get(index), subtype)
        if subtype == 3:  # a MAC says little; the description usually names the port
            remote_port = _text(columns["lldp_rem_port_desc"].get(index)) or remote_port
        out.append(
            Neighbour(
                protocol="lldp",
                local_port=local,
                remote_name=_text(name) or _id_text(columns["lldp_rem_chassis"].get(index)),
                remote_port=remote_port,
                remote_mgmt_ip=managed.get(index),
                remote_description=_text(columns["lldp_rem_descr"].get(index)),
                remote_chassis_id=_id_text(columns["lldp_rem_chassis"].get(index)),
            )
        )
    return out


def _ospf(columns: dict[str, dict[str, Value]]) -> list[RoutingNeighbour]:
    out = []
    states = columns["ospf_nbr_state"]
    for index, router_id in columns["ospf_nbr_rtr"].items():
        state = _int(states.get(index)) or 1
        address = ".".join(index.split(".")[:4])
        out.append(
            RoutingNeighbour(
                protocol="ospf",
                neighbor_id=_oid(router_id) or address,
                address=address,
                state=_OSPF_STATE.get(state, str(state)),
                established=state == 8,
            )
        )
    return out


def _bgp(columns: dict[str, dict[str, Value]], local_as: int | None) -> list[RoutingNeighbour]:
    out = []
    for index, state_value in columns["bgp_state"].items():
        state = _int(state_value) or 1
        established = _int(columns["bgp_established_time"].get(index))
        out.append(
            RoutingNeighbour(
                protocol="bgp",
                neighbor_id=index,
                address=index,
                state=_BGP_STATE.get(state, str(state)),
                established=state == 6,
                remote_as=_int(columns["bgp_remote_as"].get(index)),
                local_as=local_as,
                uptime=float(established) if established is not None and state == 6 else None,
            )
        )
    return out
