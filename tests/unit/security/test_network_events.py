"""Syslog network events: each rule of netwarden.security.network_events on a line in its real format.

Where each sample's format comes from (the wording is the vendor's; addresses and names are ours):

- Cisco IOS: System Message Guide entries LINK-3-UPDOWN, LINEPROTO-5-UPDOWN, BGP-5-ADJCHANGE,
  OSPF-5-ADJCHG, SYS-5-CONFIG_I; framing as IOS sends it (sequence number, '*' for a clock not set).
- Arista EOS: the same LINEPROTO mnemonic with the interface description; BGP-5-ADJCHANGE 'peer ...
  old state ... new state ...' as EOS logs it.
- Cisco NX-OS: System Messages Reference ETHPORT-5-IF_DOWN_LINK_FAILURE / ETHPORT-5-IF_UP.
- Junos: System Log Explorer entries SNMP_TRAP_LINK_DOWN/UP (mib2d), RPD_OSPF_NBRDOWN,
  BGP_NEIGHBOR_STATE_CHANGED (rpd), UI_COMMIT (mgd).
- Linux: e1000e/igb print '<if> NIC Link is Down' (netdev_info), phylib/r8169 '<if>: Link is Down'.
- FRR: the format strings in ospfd/ospf_nsm.c (nsm_notice_state_change) and bgpd/bgp_fsm.c
  ('%ADJCHANGE: neighbor %pBP in vrf %s Up/Down %s'), in the frr.log line shape the lab's FRR 8.4 writes
  ('YYYY/MM/DD HH:MM:SS.mmm DAEMON: [XXXXX-XXXXX] ...', see /run/netwarden-lab/*/nodes/*/log/frr.log),
  forwarded as RFC 5424 by the lab's logger (src/netwarden/lab/syslog.py).
"""

from __future__ import annotations

import datetime as dt

import pytest

from netwarden.security.network_events import RULES, events_for
from netwarden.security.syslog import parse

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
FRR = '<30>1 2026-11-23T12:06:15.066000+00:00 r1 frr - - [timeQuality tzKnown="1" isSynced="0"] '

# (rule, line, kind, subject) -- the device is "rtr" unless the line names it (RFC 5424 HOSTNAME r1).
CASES = [
    ("cisco_link_updown", "<187>41: *Mar  1 00:12:31.467: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, "
     "changed state to down", "interface_down", "rtr:GigabitEthernet0/1"),
    ("cisco_link_updown", "<189>42: *Mar  1 00:12:32.471: %LINEPROTO-5-UPDOWN: Line protocol on Interface "
     "GigabitEthernet0/1, changed state to up", "interface_up", "rtr:GigabitEthernet0/1"),
    ("cisco_link_updown", "<187>43: *Mar  1 00:12:40.003: %LINK-5-CHANGED: Interface Gi0/2, changed state to "
     "administratively down", "interface_down", "rtr:Gi0/2"),
    ("cisco_link_updown", "<189>Nov 23 11:59:58 leaf1 Ebra: %LINEPROTO-5-UPDOWN: Line protocol on Interface "
     "Ethernet49/1 (to spine1), changed state to down", "interface_down", "leaf1:Ethernet49/1"),
    ("nxos_ethport", "<189>2026 Nov 23 11:59:58 n9k %ETHPORT-5-IF_DOWN_LINK_FAILURE: Interface Ethernet1/7 is "
     "down (Link failure)", "interface_down", "n9k:Ethernet1/7"),
    ("nxos_ethport", "<189>2026 Nov 23 12:00:03 n9k %ETHPORT-5-IF_UP: Interface Ethernet1/7 is up in mode "
     "access", "interface_up", "n9k:Ethernet1/7"),
    ("junos_snmp_trap_link", "<28>Nov 23 11:59:58 mx1 mib2d[1625]: SNMP_TRAP_LINK_DOWN: ifIndex 526, "
     "ifAdminStatus up(1), ifOperStatus down(2), ifName ge-0/0/1", "interface_down", "mx1:ge-0/0/1"),
    ("junos_snmp_trap_link", "<30>Nov 23 12:00:04 mx1 mib2d[1625]: SNMP_TRAP_LINK_UP: ifIndex 526, "
     "ifAdminStatus up(1), ifOperStatus up(1), ifName ge-0/0/1", "interface_up", "mx1:ge-0/0/1"),
    ("linux_kernel_link", "<6>Nov 23 11:59:58 srv1 kernel: [ 4711.123456] e1000e: eth1 NIC Link is Down",
     "interface_down", "srv1:eth1"),
    ("linux_kernel_link", "<6>Nov 23 12:00:01 srv1 kernel: [ 4714.200000] e1000e: eth1 NIC Link is Up 1000 Mbps "
     "Full Duplex, Flow Control: Rx/Tx", "interface_up", "srv1:eth1"),
    ("linux_kernel_link", "<6>Nov 23 11:59:58 gw kernel: r8169 0000:03:00.0 enp3s0: Link is Down",
     "interface_down", "gw:enp3s0"),
    # Recorded from the lab (FRR 8.4.4, Debian 12) by tests/lab/test_syslog_lab.py, verbatim after FRR:
    ("frr_ospf_adjchg", FRR + "2026/11/23 12:14:47.899 OSPF: [Y05P2-YJVXY] AdjChg: Nbr 10.255.0.2, NbrIP 10.0.0.2 "
     "(default) on eth1:10.0.0.1: Full -> Deleted (KillNbr)", "neighbor_down", "r1:ospf:10.255.0.2"),
    ("frr_ospf_adjchg", FRR + "2026/11/23 12:06:15.066 OSPF: [T883P-E4VEN] AdjChg: Nbr 10.255.0.2(default) on "
     "eth1:10.0.0.1: Full -> Deleted (KillNbr)", "neighbor_down", "r1:ospf:10.255.0.2"),
    ("frr_ospf_adjchg", FRR + "2026/11/23 12:06:19.101 OSPF: [T883P-E4VEN] AdjChg: Nbr 10.255.0.2(default) on "
     "eth1:10.0.0.1: Loading -> Full (LoadingDone)", "neighbor_up", "r1:ospf:10.255.0.2"),
    ("frr_ospf_adjchg", "<29>Nov 23 12:00:00 r7 ospfd[812]: AdjChg: Nbr 10.255.0.9 on eth2:10.0.9.1: Full -> "
     "Down (InactivityTimer)", "neighbor_down", "r7:ospf:10.255.0.9"),
    ("frr_ospf_adjchg", FRR + "2026/11/23 12:06:15.066 OSPF: [T883P-E4VEN] AdjChg: Nbr 10.255.0.7(default) on "
     "eth3:10.0.3.1: 2-Way -> Deleted (KillNbr)", None, None),
    ("frr_bgp_adjchange", FRR + "2026/11/23 12:06:20.410 BGP: [M7Q4P-46WDR] %ADJCHANGE: neighbor 203.0.113.2(r4)"
     " in vrf default Down BGP Notification send", "neighbor_down", "r1:bgp:203.0.113.2"),
    ("frr_bgp_adjchange", FRR + "2026/11/23 12:06:25.002 BGP: [M7Q4P-46WDR] %ADJCHANGE: neighbor 203.0.113.2(r4)"
     " in vrf default Up", "neighbor_up", "r1:bgp:203.0.113.2"),
    ("frr_bgp_adjchange", "<30>Nov 23 12:00:00 q1 bgpd[77]: %ADJCHANGE: neighbor 192.0.2.9 Down Peer closed the "
     "session", "neighbor_down", "q1:bgp:192.0.2.9"),
    ("cisco_bgp_adjchange", "<189>44: *Mar  1 00:13:02.111: %BGP-5-ADJCHANGE: neighbor 10.1.1.2 Down Interface "
     "flap", "neighbor_down", "rtr:bgp:10.1.1.2"),
    ("cisco_bgp_adjchange", "<189>45: *Mar  1 00:13:30.881: %BGP-5-ADJCHANGE: neighbor 10.1.1.2 vpn vrf CUST Up",
     "neighbor_up", "rtr:bgp:10.1.1.2"),
    ("arista_bgp_adjchange", "<189>Nov 23 11:59:58 leaf1 Rib: %BGP-5-ADJCHANGE: peer 10.0.0.1 (VRF default AS "
     "65001) old state Established event Stop new state Idle", "neighbor_down", "leaf1:bgp:10.0.0.1"),
    ("cisco_ospf_adjchg", "<189>46: *Mar  1 00:14:02.001: %OSPF-5-ADJCHG: Process 1, Nbr 10.0.0.2 on "
     "GigabitEthernet0/1 from FULL to DOWN, Neighbor Down: Interface down or detached", "neighbor_down",
     "rtr:ospf:10.0.0.2"),
    ("cisco_ospf_adjchg", "<189>47: *Mar  1 00:14:40.301: %OSPF-5-ADJCHG: Process 1, Nbr 10.0.0.2 on "
     "GigabitEthernet0/1 from LOADING to FULL, Loading Done", "neighbor_up", "rtr:ospf:10.0.0.2"),
    ("junos_ospf_nbr", "<28>Nov 23 11:59:58 mx1 rpd[1410]: RPD_OSPF_NBRDOWN: OSPF neighbor 10.0.0.6 (realm "
     "ospf-v2 ge-0/0/1.0 area 0.0.0.0) state changed from Full to Down due to KillNbr (event reason: interface "
     "went down)", "neighbor_down", "mx1:ospf:10.0.0.6"),
    ("junos_bgp_state", "<28>Nov 23 11:59:58 mx1 rpd[1410]: BGP_NEIGHBOR_STATE_CHANGED: BGP peer 192.0.2.1 "
     "(External AS 65002) changed state from Established to Idle (event RecvNotify) (instance master)",
     "neighbor_down", "mx1:bgp:192.0.2.1"),
    ("cisco_config_i", "<189>48: r9: *Mar  1 00:15:00.000: %SYS-5-CONFIG_I: Configured from console by admin on "
     "vty0 (10.0.0.5)", "config_change", "r9"),
    ("cisco_config_i", "<189>2026 Nov 23 11:59:58 n9k %VSHD-5-VSHD_SYSLOG_CONFIG_I: Configured from vty by admin "
     "on 10.0.0.5@pts/0", "config_change", "n9k"),
    ("junos_ui_commit", "<29>Nov 23 11:59:58 mx1 mgd[2911]: UI_COMMIT: User 'netops' requested 'commit' operation "
     "(comment: none)", "config_change", "mx1"),
    # As the lab's r2 logged it (FRR 8.4 with 'log commands'), forwarded by the node's logger.
    ("frr_log_commands", "<190>1 2026-11-23T14:17:31.598Z r2 frr - - - 2026/11/23 14:17:31.598 ZEBRA: "
     "[M7Q4P-46WDR] vty[48]@(config-if)# description changed by netwarden lab fault 1", "config_change", "r2"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "line", "kind", "subject"), CASES)
def test_each_format_gives_its_event(rule: str, line: str, kind: str | None, subject: str | None) -> None:
    msg = parse(line.encode(), "192.0.2.200", NOW)
    matched = [r.name for r in RULES if r.needle in msg.text and r.pattern.search(msg.text)]
    assert matched[:1] == [rule]
    # Hostless lines (Cisco without origin-id) are named by the lookup: here it knows no address,
    # so a line without HOSTNAME is named after the sender; "rtr" stands for that below.
    events = events_for(msg, lambda addr: "rtr" if addr == "192.0.2.200" and not msg.host else None)
    if kind is None:
        assert events == []
        return
    [event] = events
    assert (event.kind, event.subject, event.source, event.raw) == (kind, subject, "syslog", line)
    assert event.device == subject.split(":")[0]
    assert event.severity == ("info" if kind.endswith("_up") or kind == "config_change" else "major")


def test_every_rule_has_a_sample_and_an_origin() -> None:
    assert {r.name for r in RULES} == {c[0] for c in CASES}
    assert all(r.origin for r in RULES)


def test_the_inventory_name_wins_over_the_hostname_and_the_address_is_the_last_resort() -> None:
    line = b"<187>Nov 23 11:59:58 edge-7.example.net %LINK-3-UPDOWN: Interface Gi0/3, changed state to down"
    msg = parse(line, "10.9.9.9", NOW)
    assert [e.subject for e in events_for(msg, {"10.9.9.9": "edge7"}.get)] == ["edge7:Gi0/3"]
    assert [e.subject for e in events_for(msg, lambda _a: None)] == ["edge-7.example.net:Gi0/3"]
    hostless = parse(b"<187>12: %LINK-3-UPDOWN: Interface Gi0/3, changed state to down", "10.9.9.9", NOW)
    assert [e.subject for e in events_for(hostless)] == ["10.9.9.9:Gi0/3"]


def test_a_failing_lookup_does_not_lose_the_event() -> None:
    def broken(_address: str) -> str | None:
        raise RuntimeError("store unreachable")

    msg = parse(b"<187>Nov 23 11:59:58 r2 %LINK-3-UPDOWN: Interface eth1, changed state to down", "10.0.0.2", NOW)
    assert [e.subject for e in events_for(msg, broken)] == ["r2:eth1"]


@pytest.mark.parametrize(
    "text",
    [
        "sshd[77]: Failed password for root from 192.0.2.1 port 50273 ssh2",
        "OSPF: [S5PCG-77H23] Packet[DD]: Neighbor 10.255.0.1 Negotiation done (Master).",
        "BGP: [M59KS-A3ZXZ] bgp_update_receive: rcvd End-of-RIB for IPv4 Unicast from 10.254.0.2 in vrf default",
        "ZEBRA: [WPPMZ-G9797] if_zebra_speed_update: nwt8q5-wg0a old speed: 0 new speed: 10000",
        "the Link is Down song",
        "ZEBRA: [M7Q4P-46WDR] vty[48]@# do write terminal",  # a show command (netwarden's backup): no change
    ],
)
def test_ordinary_lines_are_no_events(text: str) -> None:
    # The first four are real lines of the lab's frr.log / fail2ban's sshd corpus.
    assert events_for(parse(f"<30>Nov 23 12:00:00 r1 {text}".encode(), "10.0.0.1", NOW)) == []
