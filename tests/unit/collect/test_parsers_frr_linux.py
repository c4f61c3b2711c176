"""FRR (vtysh JSON), lldpd (lldpcli JSON) and iproute2 (ip -j) output read into records.

The FRR and lldpd samples are real output of a netwarden lab router (r1), trimmed to a few
entries; the iproute2 samples are real output of this machine, except the multipath route,
written in iproute2's JSON shape (the lab test parses a real one from a router's kernel).
"""

from __future__ import annotations

import json

import pytest

from netwarden.collect.parsers import ParseError, parse
from netwarden.collect.records import ArpEntry, DeviceFacts, InterfaceFacts, Neighbour, Route, RoutingNeighbour

FRR_VERSION = (
    "FRRouting 8.4.4 (r1) on Linux(6.18.44-fc-v782).\nCopyright 1996-2005 Kunihiro Ishiguro, et al.\nconfig"
    "ured with:\n    '--build=x86_64-linux-gnu' '--prefix=/usr'\n"
)

FRR_INTERFACES = (
    '{"eth1":{"administrativeStatus":"up","operationalStatus":"up","linkDetection":true,"linkUps":2,"linkDowns":2,"'
    'lastLinkUp":"2026/11/23 07:21:44.21","lastLinkDown":"2026/11/23 07:21:44.21","vrfName":"default","mplsEnabled"'
    ':false,"linkDown":false,"linkDownV6":false,"mcForwardingV4":false,"mcForwardingV6":false,"pseudoInterface":fal'
    'se,"index":3,"metric":0,"mtu":1500,"speed":10000,"flags":"<UP,BROADCAST,RUNNING,MULTICAST>","type":"Ethernet",'
    '"hardwareAddress":"76:56:be:82:ea:8d","ipAddresses":[{"address":"10.0.0.1/30","secondary":false,"unnumbered":f'
    'alse},{"address":"fe80::7456:beff:fe82:ea8d/64","secondary":false,"unnumbered":false}],"interfaceType":"VETH",'
    '"interfaceSlaveType":"None","lacpBypass":false,"evpnMh":{},"protodown":"off","parentInterface":"eth1"},"lo":{"'
    'administrativeStatus":"up","operationalStatus":"up","linkDetection":true,"linkUps":0,"linkDowns":0,"vrfName":"'
    'default","mplsEnabled":false,"linkDown":false,"linkDownV6":false,"mcForwardingV4":false,"mcForwardingV6":false'
    ',"pseudoInterface":false,"index":1,"metric":0,"mtu":65536,"speed":0,"flags":"<UP,LOOPBACK,RUNNING>","type":"Lo'
    'opback","ipAddresses":[{"address":"10.255.0.1/32","secondary":false,"unnumbered":false}],"interfaceType":"Othe'
    'r","interfaceSlaveType":"None","lacpBypass":false,"evpnMh":{},"protodown":"off"},"nwtdol-wg0a":{"administrativ'
    'eStatus":"up","operationalStatus":"up","linkDetection":true,"linkUps":1,"linkDowns":1,"lastLinkUp":"2026/11/23'
    ' 07:21:38.36","lastLinkDown":"2026/11/23 07:21:38.31","vrfName":"default","mplsEnabled":false,"linkDown":false'
    ',"linkDownV6":false,"mcForwardingV4":false,"mcForwardingV6":false,"pseudoInterface":false,"index":6,"metric":0'
    ',"mtu":1420,"speed":10000,"flags":"<UP,POINTOPOINT,RUNNING,NOARP,MULTICAST>","type":"Unknown","ipAddresses":[{'
    '"address":"10.254.0.1/30","secondary":false,"unnumbered":false},{"address":"fe80::3f13:43c8:f689:7e66/64","sec'
    'ondary":false,"unnumbered":false}],"interfaceType":"Other","interfaceSlaveType":"None","lacpBypass":false,"evp'
    'nMh":{},"protodown":"off"}}'
)

FRR_ROUTES = (
    '{"10.0.0.0/30":[{"prefix":"10.0.0.0/30","prefixLen":30,"protocol":"ospf","vrfId":0,"vrfName":"default","distan'
    'ce":110,"metric":10,"table":254,"internalStatus":0,"internalFlags":0,"internalNextHopNum":1,"internalNextHopAc'
    'tiveNum":1,"nexthopGroupId":50,"uptime":"00:01:17","nexthops":[{"flags":1,"directlyConnected":true,"interfaceI'
    'ndex":3,"interfaceName":"eth1","active":true,"weight":1}]},{"prefix":"10.0.0.0/30","prefixLen":30,"protocol":"'
    'connected","vrfId":0,"vrfName":"default","selected":true,"destSelected":true,"distance":0,"metric":0,"installe'
    'd":true,"table":254,"internalStatus":16,"internalFlags":8,"internalNextHopNum":1,"internalNextHopActiveNum":1,'
    '"nexthopGroupId":51,"installedNexthopGroupId":51,"uptime":"00:01:17","nexthops":[{"flags":3,"fib":true,"direct'
    'lyConnected":true,"interfaceIndex":3,"interfaceName":"eth1","active":true}]}],"10.0.0.4/30":[{"prefix":"10.0.0'
    '.4/30","prefixLen":30,"protocol":"ospf","vrfId":0,"vrfName":"default","selected":true,"destSelected":true,"dis'
    'tance":110,"metric":20,"failed":true,"table":254,"internalStatus":32,"internalFlags":8,"internalNextHopNum":2,'
    '"internalNextHopActiveNum":2,"nexthopGroupId":35,"installedNexthopGroupId":35,"uptime":"00:00:39","nexthops":['
    '{"flags":3,"fib":true,"ip":"10.0.0.2","afi":"ipv4","interfaceIndex":3,"interfaceName":"eth1","active":true,"we'
    'ight":1},{"flags":3,"fib":true,"ip":"10.0.0.10","afi":"ipv4","interfaceIndex":4,"interfaceName":"eth2","active'
    '":true,"weight":1}]}],"203.0.113.6/32":[{"prefix":"203.0.113.6/32","prefixLen":32,"protocol":"static","vrfId":'
    '0,"vrfName":"default","selected":true,"destSelected":true,"distance":1,"metric":0,"installed":true,"table":254'
    ',"internalStatus":16,"internalFlags":73,"internalNextHopNum":1,"internalNextHopActiveNum":1,"nexthopGroupId":1'
    '8,"installedNexthopGroupId":18,"uptime":"00:01:23","nexthops":[{"flags":3,"fib":true,"ip":"203.0.113.2","afi":'
    '"ipv4","interfaceIndex":5,"interfaceName":"eth3","active":true,"weight":1}]}],"10.255.0.5/32":[{"prefix":"10.2'
    '55.0.5/32","prefixLen":32,"protocol":"bgp","vrfId":0,"vrfName":"default","selected":true,"destSelected":true,"'
    'distance":20,"metric":0,"installed":true,"table":254,"internalStatus":16,"internalFlags":8,"internalNextHopNum'
    '":1,"internalNextHopActiveNum":1,"nexthopGroupId":18,"installedNexthopGroupId":18,"uptime":"00:01:21","nexthop'
    's":[{"flags":3,"fib":true,"ip":"203.0.113.2","afi":"ipv4","interfaceIndex":5,"interfaceName":"eth3","active":t'
    'rue,"weight":1}]}]}'
)

FRR_OSPF = (
    '{\n  "neighbors":{\n    "10.255.0.2":[\n      {\n        "priority":1,\n        "state":"Full\\/-",\n      '
    '  "nbrPriority":1,\n        "nbrState":"Full\\/-",\n        "converged":"Full",\n        "role":"DROther'
    '",\n        "upTimeInMsec":75491,\n        "deadTimeMsecs":3527,\n        "routerDeadIntervalTimerDueMs'
    'ec":3527,\n        "upTime":"1m15s",\n        "deadTime":"3.527s",\n        "address":"10.0.0.2",\n     '
    '   "ifaceAddress":"10.0.0.2",\n        "ifaceName":"eth1:10.0.0.1",\n        "retransmitCounter":0,\n  '
    '      "linkStateRetransmissionListCounter":0,\n        "requestCounter":0,\n        "linkStateRequestL'
    'istCounter":0,\n        "dbSummaryCounter":0,\n        "databaseSummaryListCounter":0\n      }\n    ],\n '
    '   "10.255.0.3":[\n      {\n        "priority":1,\n        "state":"Full\\/-",\n        "nbrPriority":1,\n'
    '        "nbrState":"Full\\/-",\n        "converged":"Full",\n        "role":"DROther",\n        "upTimeI'
    'nMsec":38744,\n        "deadTimeMsecs":3608,\n        "routerDeadIntervalTimerDueMsec":3608,\n        "'
    'upTime":"38.744s",\n        "deadTime":"3.608s",\n        "address":"10.0.0.10",\n        "ifaceAddress'
    '":"10.0.0.10",\n        "ifaceName":"eth2:10.0.0.9",\n        "retransmitCounter":0,\n        "linkStat'
    'eRetransmissionListCounter":0,\n        "requestCounter":0,\n        "linkStateRequestListCounter":0,\n'
    '        "dbSummaryCounter":0,\n        "databaseSummaryListCounter":0\n      }\n    ]\n  }\n}\n'
)

FRR_BGP = (
    '{"ipv4Unicast":{"routerId":"10.255.0.1","as":65001,"vrfId":0,"vrfName":"default","tableVersion":49,"ribCount":'
    '39,"ribMemory":7488,"peerCount":2,"peerMemory":1482928,"peers":{"10.254.0.2":{"hostname":"r4","remoteAs":65002'
    ',"localAs":65001,"version":4,"msgRcvd":62,"msgSent":63,"tableVersion":0,"outq":0,"inq":0,"peerUptime":"00:01:2'
    '2","peerUptimeMsec":82000,"peerUptimeEstablishedEpoch":1795418498,"pfxRcd":9,"pfxSnt":20,"state":"Established"'
    ',"peerState":"OK","connectionsEstablished":1,"connectionsDropped":0,"desc":"r4","idType":"ipv4"},"203.0.113.2"'
    ':{"hostname":"wan","remoteAs":65000,"localAs":65001,"version":4,"msgRcvd":62,"msgSent":62,"tableVersion":0,"ou'
    'tq":0,"inq":0,"peerUptime":"00:01:23","peerUptimeMsec":83000,"peerUptimeEstablishedEpoch":1795418497,"pfxRcd":'
    '9,"pfxSnt":20,"state":"Established","peerState":"OK","connectionsEstablished":1,"connectionsDropped":0,"desc":'
    '"wan","idType":"ipv4"}},"failedPeers":0,"displayedPeers":2,"totalPeers":2,"dynamicPeers":0,"bestPath":{"multiP'
    'athRelax":"false"}}}'
)

LLDPCLI_R1 = (
    '{"lldp":{"interface":[{"eth1":{"via":"LLDP","rid":"1","age":"0 day, 00:00:21","chassis":{"r2":{"id":{"type":"m'
    'ac","value":"96:48:73:01:ec:60"},"descr":"Debian GNU/Linux 12 (bookworm) Linux 6.18.44-fc-v782 #1 SMP PREEMPT_'
    'DYNAMIC @0 x86_64","mgmt-ip":["10.255.0.2","fe80::6c80:46ff:fe42:f3bd"],"mgmt-iface":["1","2"],"capability":[{'
    '"type":"Bridge","enabled":false},{"type":"Router","enabled":true},{"type":"Wlan","enabled":false},{"type":"Sta'
    'tion","enabled":false}]}},"port":{"id":{"type":"ifname","value":"eth1"},"descr":"eth1","ttl":"4"}}},{"eth2":{"'
    'via":"LLDP","rid":"3","age":"0 day, 00:00:21","chassis":{"r3":{"id":{"type":"mac","value":"d2:e5:c5:f1:7b:39"}'
    ',"descr":"Debian GNU/Linux 12 (bookworm) Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 x86_64","mgmt-ip":["1'
    '0.255.0.3","fe80::6844:27ff:fed5:bab3"],"mgmt-iface":["1","2"],"capability":[{"type":"Bridge","enabled":false}'
    ',{"type":"Router","enabled":true},{"type":"Wlan","enabled":false},{"type":"Station","enabled":false}]}},"port"'
    ':{"id":{"type":"ifname","value":"eth2"},"descr":"eth2","ttl":"4"}}},{"eth3":{"via":"LLDP","rid":"2","age":"0 d'
    'ay, 00:00:21","chassis":{"wan":{"id":{"type":"mac","value":"de:02:2a:d3:fc:c4"},"descr":"Debian GNU/Linux 12 ('
    'bookworm) Linux 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 x86_64","mgmt-ip":["10.255.0.5","fe80::28d9:edff:fee'
    'a:7b40"],"mgmt-iface":["1","2"],"capability":[{"type":"Bridge","enabled":false},{"type":"Router","enabled":tru'
    'e},{"type":"Wlan","enabled":false},{"type":"Station","enabled":false}]}},"port":{"id":{"type":"ifname","value"'
    ':"eth1"},"descr":"eth1","ttl":"4"}}}]}}'
)

IP_ADDR = (
    '[{"ifindex":1,"ifname":"lo","flags":["LOOPBACK","UP","LOWER_UP"],"mtu":65536,"qdisc":"noqueue","operstate":"UN'
    'KNOWN","group":"default","txqlen":1000,"link_type":"loopback","address":"00:00:00:00:00:00","broadcast":"00:00'
    ':00:00:00:00","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host","label":"lo","val'
    'id_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"::1","prefixlen":128,"sc'
    'ope":"host","valid_life_time":4294967295,"preferred_life_time":4294967295}]},{"ifindex":4,"ifname":"eth0","fla'
    'gs":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1400,"qdisc":"pfifo_fast","operstate":"UP","group":"defaul'
    't","txqlen":1000,"link_type":"ether","address":"02:fc:00:00:00:01","broadcast":"ff:ff:ff:ff:ff:ff","addr_info"'
    ':[{"family":"inet","local":"192.0.2.2","prefixlen":24,"broadcast":"192.0.2.255","scope":"global","label":"eth0'
    '","valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"inet6","local":"fd00::2","prefixle'
    'n":64,"scope":"global","nodad":true,"valid_life_time":4294967295,"preferred_life_time":4294967295},{"family":"'
    'inet6","local":"fe80::fc:ff:fe00:1","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life'
    '_time":4294967295}]}]'
)

IP_ROUTE = (
    '[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]},{"dst":"192.0.2.0/24","dev":"eth0","protocol"'
    ':"kernel","scope":"link","prefsrc":"192.0.2.2","flags":[]},{"dst":"10.255.0.2","protocol":"ospf","metric":20,"'
    'flags":[],"nexthops":[{"gateway":"10.0.0.2","dev":"eth1","weight":1,"flags":[]},{"gateway":"10.0.0.10","dev":"'
    'eth2","weight":1,"flags":[]}]}]'
)

IP_NEIGH = (
    '[{"dst":"198.18.100.18","dev":"nwtftq-mgmt","lladdr":"be:ef:52:aa:98:e8","state":["REACHABLE"]},{"dst":"198.18'
    '.100.99","dev":"nwtftq-mgmt","state":["FAILED"]},{"dst":"fe80::1","dev":"eth0","lladdr":"02:fc:00:00:00:02","r'
    'outer":null,"state":["STALE"]}]'
)

# ---------------------------------------------------------------- tests


def _by(records: object, attr: str) -> dict[str, object]:
    assert isinstance(records, list)
    return {getattr(r, attr): r for r in records}


def test_frr_version_names_host_and_release() -> None:
    facts = parse("frr.version", FRR_VERSION)
    assert isinstance(facts, DeviceFacts)
    assert (facts.hostname, facts.os_version, facts.vendor, facts.platform) == ("r1", "8.4.4", "FRRouting", "frr")
    assert facts.model == "Linux(6.18.44-fc-v782)"


def test_frr_interfaces() -> None:
    ifaces = _by(parse("frr.interfaces", FRR_INTERFACES), "name")
    eth1 = ifaces["eth1"]
    assert eth1 == InterfaceFacts(
        name="eth1",
        admin_status="up",
        oper_status="up",
        speed=10_000_000_000,  # FRR says 10000 (Mbit/s)
        mtu=1500,
        mac="76:56:be:82:ea:8d",
        addresses=["10.0.0.1/30", "fe80::7456:beff:fe82:ea8d/64"],
        index=3,
        kind="ethernet",
    )
    lo = ifaces["lo"]
    assert isinstance(lo, InterfaceFacts) and lo.kind == "loopback" and "10.255.0.1/32" in lo.addresses
    wg = ifaces["nwtdol-wg0a"]
    assert isinstance(wg, InterfaceFacts) and (wg.kind, wg.mtu, wg.mac) == ("tunnel", 1420, "")


def test_frr_routes_keep_every_entry_with_fib_selection() -> None:
    routes = parse("frr.routes", FRR_ROUTES)
    assert isinstance(routes, list)
    same_prefix = [r for r in routes if isinstance(r, Route) and r.prefix == "10.0.0.0/30"]
    assert {(r.protocol, r.selected) for r in same_prefix} == {("ospf", False), ("connected", True)}
    ecmp = _by([r for r in routes if isinstance(r, Route) and r.selected], "prefix")["10.0.0.4/30"]
    assert ecmp == Route(
        prefix="10.0.0.4/30",
        protocol="ospf",
        next_hops=["10.0.0.2", "10.0.0.10"],
        interfaces=["eth1", "eth2"],
        distance=110,
        metric=20,
        selected=True,
    )
    static = _by(routes, "prefix")["203.0.113.6/32"]
    assert isinstance(static, Route) and (static.protocol, static.next_hops) == ("static", ["203.0.113.2"])


def test_frr_ospf_neighbours() -> None:
    nbrs = _by(parse("frr.ospf", FRR_OSPF), "neighbor_id")
    assert set(nbrs) == {"10.255.0.2", "10.255.0.3"}
    first = nbrs["10.255.0.2"]
    assert isinstance(first, RoutingNeighbour)
    assert (first.address, first.interface, first.state, first.established) == ("10.0.0.2", "eth1", "Full/-", True)
    assert first.uptime == pytest.approx(75.491)


def test_frr_bgp_peers() -> None:
    peers = _by(parse("frr.bgp", FRR_BGP), "neighbor_id")
    r4 = peers["10.254.0.2"]
    assert isinstance(r4, RoutingNeighbour)
    assert (r4.remote_as, r4.local_as, r4.state, r4.established) == (65002, 65001, "Established", True)
    assert (r4.prefixes_received, r4.uptime) == (9, 82.0)
    assert set(peers) == {"10.254.0.2", "203.0.113.2"}


@pytest.mark.parametrize("parser", ["frr.ospf", "frr.bgp", "frr.routes", "frr.interfaces"])
@pytest.mark.parametrize("text", ["", "bgpd is not running", "ospfd is not running\n", "{}"])
def test_frr_daemon_not_running_is_an_empty_table(parser: str, text: str) -> None:
    assert parse(parser, text) == []


def test_frr_error_text_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="did not answer with JSON"):
        parse("frr.bgp", "% Unknown command: show bgp summary jsn")
    with pytest.raises(ParseError):
        parse("frr.version", "Hello World")


def test_lldpcli_neighbours_from_the_lab() -> None:
    nbrs = _by(parse("linux.lldp", LLDPCLI_R1), "local_port")
    assert set(nbrs) == {"eth1", "eth2", "eth3"}
    wan = nbrs["eth3"]
    assert isinstance(wan, Neighbour)
    assert (wan.remote_name, wan.remote_port, wan.remote_mgmt_ip) == ("wan", "eth1", "10.255.0.5")
    assert wan.remote_chassis_id == "de:02:2a:d3:fc:c4"
    assert wan.remote_description.startswith("Debian GNU/Linux 12")


def test_lldpcli_single_neighbour_is_an_object_not_a_list() -> None:
    data = json.loads(LLDPCLI_R1)
    single = {"lldp": {"interface": data["lldp"]["interface"][0]}}
    nbrs = parse("linux.lldp", json.dumps(single))
    assert isinstance(nbrs, list) and [n.remote_name for n in nbrs if isinstance(n, Neighbour)] == ["r2"]
    assert parse("linux.lldp", '{"lldp": {}}') == []


def test_ip_addr() -> None:
    ifaces = _by(parse("linux.addresses", IP_ADDR), "name")
    lo, eth0 = ifaces["lo"], ifaces["eth0"]
    assert isinstance(lo, InterfaceFacts) and isinstance(eth0, InterfaceFacts)
    assert (lo.kind, lo.oper_status, lo.mac, lo.addresses) == ("loopback", "up", "", ["127.0.0.1/8", "::1/128"])
    assert (eth0.mac, eth0.mtu, eth0.index, eth0.admin_status, eth0.oper_status) == (
        "02:fc:00:00:00:01",
        1400,
        4,
        "up",
        "up",
    )
    assert eth0.addresses == ["192.0.2.2/24", "fd00::2/64", "fe80::fc:ff:fe00:1/64"]


def test_sys_speeds_merge_with_ip_addr() -> None:
    from netwarden.collect.parsers.snapshot import merge_by_name

    speeds = parse("linux.speeds", "/sys/class/net/eth0/speed:1000\n/sys/class/net/lo/speed:-1\n")
    assert isinstance(speeds, list)
    addr = parse("linux.addresses", IP_ADDR)
    assert isinstance(addr, list)
    merged = _by(merge_by_name([*addr, *speeds]), "name")  # type: ignore[list-item]
    eth0 = merged["eth0"]
    assert isinstance(eth0, InterfaceFacts) and eth0.speed == 10**9 and eth0.mac == "02:fc:00:00:00:01"


def test_ip_route() -> None:
    routes = _by(parse("linux.routes", IP_ROUTE), "prefix")
    default = routes["0.0.0.0/0"]
    assert isinstance(default, Route) and (default.next_hops, default.interfaces) == (["192.0.2.1"], ["eth0"])
    connected = routes["192.0.2.0/24"]
    assert isinstance(connected, Route) and (connected.protocol, connected.next_hops) == ("connected", [])
    ecmp = routes["10.255.0.2/32"]
    assert isinstance(ecmp, Route)
    assert (ecmp.protocol, ecmp.next_hops, ecmp.interfaces, ecmp.metric) == (
        "ospf",
        ["10.0.0.2", "10.0.0.10"],
        ["eth1", "eth2"],
        20,
    )


def test_ip_neigh_keeps_resolved_entries() -> None:
    arp = parse("linux.neighbours", IP_NEIGH)
    assert arp == [
        ArpEntry(ip="198.18.100.18", mac="be:ef:52:aa:98:e8", interface="nwtftq-mgmt"),
        ArpEntry(ip="fe80::1", mac="02:fc:00:00:00:02", interface="eth0"),
    ]


def test_linux_facts_merge_into_one_record() -> None:
    from netwarden.collect.parsers.snapshot import merge_facts

    parts = [
        parse("linux.hostname", "h1\n"),
        parse("linux.uptime", "20696.92 41000.11\n"),
        parse("linux.os_release", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'),
        parse("linux.uname", "Linux 6.1.0-18-amd64\n"),
    ]
    facts = merge_facts([p for p in parts if isinstance(p, DeviceFacts)])
    assert (facts.hostname, facts.uptime, facts.vendor, facts.os_version, facts.model) == (
        "h1",
        20696.92,
        "Debian GNU/Linux",
        "Debian GNU/Linux 12 (bookworm)",
        "Linux 6.1.0-18-amd64",
    )


@pytest.mark.parametrize(
    ("parser", "text"),
    [
        ("linux.hostname", "-bash: hostname: command not found"),
        ("linux.uptime", "cat: /proc/uptime: No such file or directory"),
        ("linux.addresses", 'Object "-j" is unknown, try "ip help".'),
        ("linux.routes", '[{"gateway": "10.0.0.1"}]'),
        ("linux.speeds", "speed: 1000"),
        ("linux.lldp", "[]"),
        ("linux.os_release", "\n\n"),
    ],
)
def test_linux_error_output_is_a_parse_error(parser: str, text: str) -> None:
    with pytest.raises(ParseError):
        parse(parser, text)
