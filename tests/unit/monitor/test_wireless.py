"""Access points from recorded SNMP walks of real wireless devices (snmpsim-data): a Cisco AireOS controller
(226 APs), an Aruba 7210 mobility controller (13 APs, some down) and a Ubiquiti NanoStation M5."""

from __future__ import annotations

from collections import Counter

from netwarden.collect._ber import Value
from netwarden.monitor.wireless import (
    CONTROLLERS,
    WirelessReading,
    WirelessWatch,
    reading_from,
    wireless_columns,
)
from tests.unit.monitor import snmprec

AIRESPACE, WLSX = CONTROLLERS
_BSN_USERS = "1.3.6.1.4.1.14179.2.2.2.1.15."
_WLSX_STATUS = "1.3.6.1.4.1.14823.2.2.1.5.2.1.4.1.19."


def reading(name: str, drop_mac: str = "", ts: float = 0.0) -> WirelessReading:
    """Parse a recording (optionally without the rows of one AP, as when it leaves its controller)."""
    record = snmprec.load(name)
    if drop_mac:
        arcs = ".".join(str(int(b, 16)) for b in drop_mac.split(":"))
        record = {oid: v for oid, v in record.items() if f".{arcs}" not in oid}
    return reading_from(snmprec.columns(record, wireless_columns()), ts=ts)


def raw(name: str, prefix: str) -> dict[str, Value]:
    return {oid: v for oid, v in snmprec.load(name).items() if oid.startswith(prefix)}


def test_cisco_controller_aps_radios_and_clients() -> None:
    got = reading("cisco-wlc.snmprec")
    assert got.mib == AIRESPACE.name
    aps = got.access_points
    assert len(aps) == 226 and all(ap.up and ap.status == "associated" for ap in aps)
    first = next(ap for ap in aps if ap.mac == "00:3a:98:b0:2e:70")
    assert (first.name, first.model, first.address) == ("erjiao_sw", "AIR-LAP1242AG-C-K9", "10.10.2.12")
    assert [(r.number, r.kind, r.channel, r.up) for r in first.radios] == [
        ("0", "802.11b/g", 6, True),
        ("1", "802.11a", 161, True),
    ]
    recorded_clients = sum(v for v in raw("cisco-wlc.snmprec", _BSN_USERS).values() if isinstance(v, int))
    assert sum(ap.clients or 0 for ap in aps) == recorded_clients > 0
    assert got.ssids == []


def test_aruba_controller_reports_its_down_aps_at_first_sight() -> None:
    got = reading("aruba-7210.snmprec")
    assert got.mib == WLSX.name
    statuses = Counter(raw("aruba-7210.snmprec", _WLSX_STATUS).values())
    assert len(got.access_points) == sum(statuses.values()) == 13
    down = {ap.name for ap in got.access_points if not ap.up}
    assert len(down) == statuses[2] > 0
    out = WirelessWatch().observe("wlc1", got)
    assert sorted(e.subject for e in out.events) == sorted(f"wlc1:ap:{name}" for name in down)
    assert {e.kind for e in out.events} == {"ap_down"}
    points = {(p.metric, p.instance): p.value for p in out.points}
    assert points["wlc_aps_down", ""] == len(down) and points["wlc_aps_up", ""] == 13 - len(down)
    with_radios = [ap for ap in got.access_points if ap.radios]
    assert with_radios and all(r.channel for ap in with_radios for r in ap.radios)


def test_an_ap_that_leaves_the_controller_is_down_and_up_again_when_it_rejoins() -> None:
    watch = WirelessWatch()
    assert watch.observe("wlc1", reading("cisco-wlc.snmprec")).events == []
    gone = watch.observe("wlc1", reading("cisco-wlc.snmprec", drop_mac="00:3a:98:b0:2e:70"))
    assert [(e.kind, e.subject) for e in gone.events] == [("ap_down", "wlc1:ap:erjiao_sw")]
    assert "gone from the controller" in gone.events[0].summary
    again = watch.observe("wlc1", reading("cisco-wlc.snmprec", drop_mac="00:3a:98:b0:2e:70"))
    assert again.events == []
    back = watch.observe("wlc1", reading("cisco-wlc.snmprec"))
    assert [(e.kind, e.subject) for e in back.events] == [("ap_up", "wlc1:ap:erjiao_sw")]


def test_points_per_ap_and_radio() -> None:
    out = WirelessWatch().observe("wlc1", reading("cisco-wlc.snmprec", ts=7.0))
    points = {(p.metric, p.instance): p.value for p in out.points}
    assert points["ap_up", "erjiao_sw"] == 1
    assert points["ap_radio_channel", "erjiao_sw:radio1"] == 161
    assert ("ap_radio_clients", "erjiao_sw:radio0") in points
    assert points["wlc_clients", ""] == sum(v for (m, _), v in points.items() if m == "ap_radio_clients")
    assert {p.ts for p in out.points} == {7.0}


def test_standalone_ap_ssid_channel_and_clients() -> None:
    got = reading("ubiquiti-nanostation-m5.snmprec")
    assert got.mib is None and got.access_points == []
    assert [(s.ssid, s.channel, s.clients) for s in got.ssids] == [("patrikeevo", 172, 1)]
    points = {(p.metric, p.instance): p.value for p in WirelessWatch().observe("ap1", got).points}
    assert points == {("wifi_channel", "patrikeevo"): 172, ("wifi_clients", "patrikeevo"): 1}


def test_a_router_has_no_wireless() -> None:
    got = reading("frr-r1-healthy.snmprec")
    assert got.mib is None and got.access_points == [] and got.ssids == []
    assert WirelessWatch().observe("r1", got).points == []
