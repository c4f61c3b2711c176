"""Wireless: access points behind a controller, and standalone access points, over SNMP.

Which MIB answers decides what is read; the MIBs are data (:data:`CONTROLLERS`), not code paths:

====================  ==========================================================================
MIB                   read
====================  ==========================================================================
AIRESPACE-WIRELESS    Cisco wireless LAN controllers (AireOS): bsnAPTable (name, model, address,
                      operation status associated/disassociating/downloading, admin status) and
                      bsnAPIfTable (per radio: type, channel, oper status, associated clients)
WLSX-WLAN             Aruba mobility controllers (ArubaOS): wlsxWlanAPTable (name, model,
                      address, status up/down) and wlsxWlanRadioTable (per radio: type, channel,
                      associated clients)
IEEE802dot11          a standalone access point: dot11DesiredSSID and dot11CurrentChannel per
                      wireless interface, with the client count from UBNT-AirMAX-MIB
                      (ubntWlStatStaCount) where the device has it
====================  ==========================================================================

Points (device = the controller; instance = the AP's name): ``ap_up`` (1/0), ``ap_clients``; per
radio (instance ``AP:radioN``) ``ap_radio_channel``, ``ap_radio_clients`` and ``ap_radio_up``
where the MIB says; per controller ``wlc_aps_up``, ``wlc_aps_down`` and ``wlc_clients``. A
standalone AP: ``wifi_channel`` and ``wifi_clients`` per SSID.

Events (a :class:`WirelessWatch` remembers the last state): ``ap_down`` / ``ap_up`` on a change
only, subject ``wlc1:ap:AP-NAME``. An AP is down when the controller says so (Aruba status down,
Cisco anything but associated) or when an AP that was up is gone from the table (a Cisco
controller drops an AP that lost its CAPWAP tunnel). An AP an operator disabled (Cisco
bsnAPAdminStatus disable) is not a failure. A failed read raises no event.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from netwarden.alerts.events import Event
from netwarden.collect import snmp
from netwarden.collect._ber import Value
from netwarden.collect.records import TargetResult
from netwarden.monitor.poller import PollOutcome, Target, observe_each
from netwarden.monitor.records import Point

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ControllerMib:
    """Where one controller MIB keeps its AP and radio columns, and what its status values mean.

    AP rows are indexed by the AP's MAC (six arcs); radio rows by the MAC and a radio number.
    """

    name: str
    ap: dict[str, str]  # name, status, model, address, admin (optional)
    radio: dict[str, str]  # type, channel, clients, status (optional)
    up: frozenset[int]  # AP status values meaning up
    status_names: dict[int, str]
    radio_up: frozenset[int] = frozenset()
    admin_disabled: frozenset[int] = frozenset()
    radio_types: dict[int, str] = field(default_factory=dict)


_BSN = "1.3.6.1.4.1.14179.2.2."
_WLSX = "1.3.6.1.4.1.14823.2.2.1.5.2.1."
CONTROLLERS: Final = (
    ControllerMib(
        name="AIRESPACE-WIRELESS-MIB",
        ap={
            "name": _BSN + "1.1.3",  # bsnAPName
            "status": _BSN + "1.1.6",  # bsnAPOperationStatus
            "model": _BSN + "1.1.16",  # bsnAPModel
            "address": _BSN + "1.1.19",  # bsnApIpAddress
            "admin": _BSN + "1.1.37",  # bsnAPAdminStatus
        },
        radio={
            "type": _BSN + "2.1.2",  # bsnAPIfType
            "channel": _BSN + "2.1.4",  # bsnAPIfPhyChannelNumber
            "status": _BSN + "2.1.12",  # bsnAPIfOperStatus
            "clients": _BSN + "2.1.15",  # bsnApIfNoOfUsers
        },
        up=frozenset({1}),
        status_names={1: "associated", 2: "disassociating", 3: "downloading"},
        radio_up=frozenset({2}),  # down(1), up(2)
        admin_disabled=frozenset({2}),  # enable(1), disable(2)
        radio_types={1: "802.11b/g", 2: "802.11a", 3: "uwb"},
    ),
    ControllerMib(
        name="WLSX-WLAN-MIB",
        ap={
            "name": _WLSX + "4.1.3",  # wlanAPName
            "address": _WLSX + "4.1.2",  # wlanAPIpAddress
            "model": _WLSX + "4.1.13",  # wlanAPModelName
            "status": _WLSX + "4.1.19",  # wlanAPStatus
        },
        radio={
            "type": _WLSX + "5.1.2",  # wlanAPRadioType
            "channel": _WLSX + "5.1.3",  # wlanAPRadioChannel
            "clients": _WLSX + "5.1.7",  # wlanAPRadioNumAssociatedClients
        },
        up=frozenset({1}),
        status_names={1: "up", 2: "down"},
        radio_types={},  # ArubaPhyType values vary by release: the number is shown as it is
    ),
)
DOT11_SSID: Final = "1.2.840.10036.1.1.1.9"  # dot11DesiredSSID, per wireless ifIndex
DOT11_CHANNEL: Final = "1.2.840.10036.4.5.1.1"  # dot11CurrentChannel (dot11PhyDSSSTable)
UBNT_STA_COUNT: Final = "1.3.6.1.4.1.41112.1.4.5.1.15"  # ubntWlStatStaCount
STANDALONE: Final = {"ssid": DOT11_SSID, "channel": DOT11_CHANNEL, "ubnt_clients": UBNT_STA_COUNT}


@dataclass(frozen=True)
class Radio:
    number: str
    kind: str = ""
    channel: int | None = None
    clients: int | None = None
    up: bool | None = None


@dataclass(frozen=True)
class AccessPoint:
    """One AP as its controller sees it."""

    mac: str
    name: str
    status: str
    up: bool
    disabled: bool = False
    model: str = ""
    address: str = ""
    radios: tuple[Radio, ...] = ()

    @property
    def clients(self) -> int | None:
        counts = [r.clients for r in self.radios if r.clients is not None]
        return sum(counts) if counts else None


@dataclass(frozen=True)
class Ssid:
    """A standalone AP's wireless interface."""

    index: str
    ssid: str
    channel: int | None = None
    clients: int | None = None


@dataclass
class WirelessReading:
    mib: str | None = None  # the controller MIB that answered, None when none did
    access_points: list[AccessPoint] = field(default_factory=list)
    ssids: list[Ssid] = field(default_factory=list)
    ts: float = field(default_factory=time.time)


def _int(value: Value | None) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: Value | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip("\x00").strip()
    return value if isinstance(value, str) else ""


def _mac(index: str) -> str | None:
    arcs = index.split(".")
    if len(arcs) != 6 or not all(a.isdigit() and int(a) < 256 for a in arcs):
        return None
    return ":".join(f"{int(a):02x}" for a in arcs)


def access_points_from(mib: ControllerMib, columns: dict[str, dict[str, Value]]) -> list[AccessPoint]:
    """APs of one controller MIB from walked columns, keyed ``ap.<key>`` and ``radio.<key>``."""

    def ap(key: str) -> dict[str, Value]:
        return columns.get(f"ap.{key}", {})

    def radio(key: str) -> dict[str, Value]:
        return columns.get(f"radio.{key}", {})

    radios: dict[str, list[Radio]] = {}
    radio_rows = set(radio("channel")) | set(radio("clients")) | set(radio("type"))
    for index in sorted(radio_rows, key=lambda i: [int(a) for a in i.split(".") if a.isdigit()]):
        mac_part, _, number = index.rpartition(".")
        if _mac(mac_part) is None:
            continue
        kind = _int(radio("type").get(index))
        status = _int(radio("status").get(index))
        radios.setdefault(mac_part, []).append(
            Radio(
                number=number,
                kind=mib.radio_types.get(kind, str(kind)) if kind is not None else "",
                channel=_int(radio("channel").get(index)),
                clients=_int(radio("clients").get(index)),
                up=(status in mib.radio_up) if status is not None and mib.radio_up else None,
            )
        )
    out: list[AccessPoint] = []
    for index, raw_status in ap("status").items():
        mac = _mac(index)
        status = _int(raw_status)
        if mac is None or status is None:
            continue
        admin = _int(ap("admin").get(index))
        address = ap("address").get(index)
        out.append(
            AccessPoint(
                mac=mac,
                name=_text(ap("name").get(index)) or mac,
                status=mib.status_names.get(status, str(status)),
                up=status in mib.up,
                disabled=admin is not None and admin in mib.admin_disabled,
                model=_text(ap("model").get(index)),
                address=address if isinstance(address, str) else "",
                radios=tuple(radios.get(index, ())),
            )
        )
    return out


def ssids_from(columns: dict[str, dict[str, Value]]) -> list[Ssid]:
    """A standalone AP's SSIDs (IEEE802dot11-MIB, per ifIndex) with the channel and, on airOS, the clients."""
    clients = [v for v in columns.get("ubnt_clients", {}).values() if _int(v) is not None]
    ssids = columns.get("ssid", {})
    out = []
    for index, name in ssids.items():
        out.append(
            Ssid(
                index=index,
                ssid=_text(name),
                channel=_int(columns.get("channel", {}).get(index)),
                # airOS has one wireless interface; its station count is the SSID's.
                clients=_int(clients[0]) if len(clients) == 1 and len(ssids) == 1 else None,
            )
        )
    return out


def wireless_columns() -> dict[str, str]:
    """Every column one read walks: ``MIB/ap.key``, ``MIB/radio.key`` and the standalone ones."""
    out: dict[str, str] = {}
    for mib in CONTROLLERS:
        out |= {f"{mib.name}/ap.{k}": oid for k, oid in mib.ap.items()}
        out |= {f"{mib.name}/radio.{k}": oid for k, oid in mib.radio.items()}
    return out | {f"standalone/{k}": oid for k, oid in STANDALONE.items()}


def reading_from(walked: dict[str, dict[str, Value]], ts: float | None = None) -> WirelessReading:
    """A reading from walked columns keyed as :func:`wireless_columns` names them."""
    reading = WirelessReading(ts=time.time() if ts is None else ts)
    for mib in CONTROLLERS:
        prefix = f"{mib.name}/"
        columns = {k.removeprefix(prefix): v for k, v in walked.items() if k.startswith(prefix)}
        if columns.get("ap.status"):
            reading.mib = mib.name
            reading.access_points = access_points_from(mib, columns)
            break
    standalone = {k.removeprefix("standalone/"): v for k, v in walked.items() if k.startswith("standalone/")}
    reading.ssids = ssids_from(standalone)
    return reading


async def read_wireless(
    target: Target, *, timeout: float = 2.0, retries: int = 1, max_repetitions: int = 25
) -> TargetResult[WirelessReading]:
    """Walk the controller and access-point columns of ``target``; tables it does not have come back empty."""
    if target.snmp is None:
        return TargetResult.failure(target.address, "unsupported", f"{target.name} has no SNMP credential")
    columns = wireless_columns()

    async def read(session: snmp.Session) -> WirelessReading:
        walked = await session.walk_columns(list(columns.values()))
        return reading_from({key: walked[oid] for key, oid in columns.items()})

    return await snmp.collect(
        target.address,
        target.snmp,
        read,
        port=target.snmp_port,
        timeout=timeout,
        retries=retries,
        max_repetitions=max_repetitions,
    )


class WirelessWatch:
    """Turns wireless readings into points and ``ap_down``/``ap_up`` events; remembers each AP's state."""

    def __init__(self) -> None:
        self.up: dict[tuple[str, str], bool] = {}  # (controller, AP name) -> last state

    def observe(self, device: str, reading: WirelessReading) -> PollOutcome:
        out = PollOutcome(device)
        ts = reading.ts
        points = out.points
        seen: set[tuple[str, str]] = set()
        names = [ap.name for ap in reading.access_points]
        for ap in reading.access_points:
            # Two APs of one name (a controller allows it): the MAC tells them apart.
            name = ap.name if names.count(ap.name) == 1 else f"{ap.name}/{ap.mac}"
            key = (device, name)
            seen.add(key)
            points.append(Point(device, "ap_up", name, ts, 1.0 if ap.up else 0.0))
            if ap.clients is not None:
                points.append(Point(device, "ap_clients", name, ts, float(ap.clients)))
            for radio in ap.radios:
                instance = f"{name}:radio{radio.number}"
                if radio.channel is not None:
                    points.append(Point(device, "ap_radio_channel", instance, ts, float(radio.channel)))
                if radio.clients is not None:
                    points.append(Point(device, "ap_radio_clients", instance, ts, float(radio.clients)))
                if radio.up is not None:
                    points.append(Point(device, "ap_radio_up", instance, ts, 1.0 if radio.up else 0.0))
            if ap.disabled:
                self.up.pop(key, None)  # switched off on purpose: neither down nor remembered as up
                continue
            self._decide(out, key, ap.up, f"the controller says {ap.status}", ap)
        for key in [k for k in self.up if k[0] == device and k not in seen]:
            if self.up[key]:  # remembered as down, so that its return is an ap_up
                self._decide(out, key, False, "gone from the controller's AP table", None)
        if reading.access_points:
            up_count = sum(1 for ap in reading.access_points if ap.up)
            points.append(Point(device, "wlc_aps_up", "", ts, float(up_count)))
            points.append(Point(device, "wlc_aps_down", "", ts, float(len(reading.access_points) - up_count)))
            clients = [ap.clients for ap in reading.access_points if ap.clients is not None]
            if clients:
                points.append(Point(device, "wlc_clients", "", ts, float(sum(clients))))
        for ssid in reading.ssids:
            instance = ssid.ssid or ssid.index
            if ssid.channel is not None:
                points.append(Point(device, "wifi_channel", instance, ts, float(ssid.channel)))
            if ssid.clients is not None:
                points.append(Point(device, "wifi_clients", instance, ts, float(ssid.clients)))
        return out

    def _decide(self, out: PollOutcome, key: tuple[str, str], up: bool, why: str, ap: AccessPoint | None) -> None:
        before = self.up.get(key)
        self.up[key] = up
        if before == up or (before is None and up):
            return
        device, name = key
        subject = f"{device}:ap:{name}"
        where = f" ({ap.model}, {ap.address})" if ap is not None and ap.model and ap.address else ""
        log.info("access point changed subject=%s up=%s why=%s", subject, up, why)
        out.events.append(
            Event(
                source="poll",
                kind="ap_up" if up else "ap_down",
                subject=subject,
                device=device,
                severity="major",
                summary=f"access point {name}{where} on {device} is {'up' if up else 'down'}: {why}",
            )
        )

    def forget(self, devices: Iterable[str]) -> None:
        gone = set(devices)
        for key in [k for k in self.up if k[0] in gone]:
            del self.up[key]


async def wireless_round(
    watch: WirelessWatch,
    targets: Sequence[Target],
    *,
    timeout: float = 2.0,
    retries: int = 1,
    concurrency: int = 64,
) -> list[PollOutcome]:
    """Read every target's wireless tables; devices without any answer nothing and cost one walk."""

    async def read(target: Target) -> TargetResult[WirelessReading]:
        return await read_wireless(target, timeout=timeout, retries=retries)

    return await observe_each([t for t in targets if t.snmp is not None], read, watch.observe, concurrency)
