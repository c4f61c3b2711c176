"""Log parsers: every rule on a line in its real format, times and zones, hosts, bad input.

Where the samples come from: OpenSSH, PAM, dropbear, vsftpd and RouterOS lines are fail2ban's corpus
(../shared/data/fail2ban) verbatim or with our addresses; the NFLOG lines are what ``tcpdump -i nflog:1
-n -l`` printed in a namespace with a ``log group 1`` rule (src/netwarden/lab/firewall.py does the
same); the FRR line is the lab's (tests/unit/security/test_network_events.py records it); sudo, su,
netfilter, Cisco, Arista and Junos lines follow the formats their documentation gives (named in each
rule's ``origin``), with our addresses and names.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.security.logs.model import KINDS
from netwarden.security.logs.parse import STEPS, is_parsed, parse_line, parse_lines, parse_message
from netwarden.security.syslog import parse

NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
S = "Mar  9 10:00:00 srv "  # a BSD header with a HOSTNAME
A = "<30>1 2026-11-23T15:38:29.826Z fw1 nftables-accept - - - "  # the lab firewall's accept log, as forwarded

# (rule, line, expected event values; "rule" is checked against fields["rule"])
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("sshd.accepted", S + "sshd[1558]: Accepted password for known from 192.0.2.114 port 52100 ssh2",
     {"kind": "auth-success", "source_ip": "192.0.2.114", "source_port": 52100, "user": "known", "outcome": "success"}),
    ("sshd.failed", S + "sshd[31602]: Failed password for invalid user ROOT from 194.117.26.69 port 50273 ssh2",
     {"kind": "auth-failure", "source_ip": "194.117.26.69", "user": "ROOT", "outcome": "failure", "app": "sshd"}),
    ("sshd.failed", S + "sshd[2737]: Failed password for invalid user from 10.10.1.1 from 127.0.0.1 port 58946 ssh2",
     {"source_ip": "127.0.0.1"}),
    ("sshd.failed", S + "sshd[2737]: Failed password for invalid user test from 10.10.1.2 port 55555 ssh2 from "
     "127.0.0.1 port 58946 ssh2", {"source_ip": "127.0.0.1"}),
    ("sshd.pam-error", S + "sshd[28732]: error: PAM: Authentication failure for stefanor from example.com",
     {"kind": "auth-failure", "source_ip": None, "user": "stefanor"}),
    ("sshd.unknown-user", S + "sshd[1328]: error: PAM: User not known to the underlying authentication module for "
     "illegal user kernelitshell from 10.215.4.227 ", {"kind": "auth-invalid-user", "user": "kernelitshell"}),
    ("sshd.root-refused", S + "sshd[1643]: ROOT LOGIN REFUSED FROM ::ffff:1.2.3.4",
     {"kind": "auth-failure", "source_ip": "1.2.3.4", "user": "root"}),
    ("sshd.invalid-user", S + "sshd[22708]: Invalid user ftp from 192.0.2.2 port 37220",
     {"kind": "auth-invalid-user", "source_ip": "192.0.2.2", "source_port": 37220, "user": "ftp"}),
    ("sshd.userauth-invalid", S + "sshd[3719]: input_userauth_request: invalid user root [preauth]",
     {"kind": "auth-invalid-user", "user": "root", "source_ip": None}),
    ("sshd.not-allowed", S + "sshd[5154]: User root from 46.45.128.3 not allowed because listed in DenyUsers",
     {"kind": "auth-failure", "source_ip": "46.45.128.3", "user": "root"}),
    ("sshd.locked", S + "sshd[3719]: User root not allowed because account is locked", {"kind": "auth-failure"}),
    ("sshd.refused-connect", S + "sshd[5174]: refused connect from host.example (::ffff:218.249.210.161)",
     {"source_ip": "218.249.210.161"}),
    ("sshd.max-attempts", S + "sshd[21810]: error: maximum authentication attempts exceeded for root from 61.0.0.1 "
     "port 49940 ssh2 [preauth]", {"kind": "auth-failure", "source_ip": "61.0.0.1", "user": "root"}),
    ("sshd.too-many", S + "sshd[8148]: Disconnecting: Too many authentication failures for root [preauth]",
     {"kind": "auth-failure", "user": "root"}),
    ("sshd.disconnect-too-many", S + "sshd[109798]: Disconnecting invalid user xxx 192.0.2.7 port 49941: Too many "
     "authentication failures [preauth]", {"kind": "session-close", "source_ip": "192.0.2.7"}),
    ("sshd.change-user", S + "sshd[5672]: Disconnecting invalid user admin 192.0.2.117 port 44004: Change of "
     "username or service not allowed: (admin,ssh-connection) -> (user,ssh-connection) [preauth]",
     {"kind": "auth-failure", "user": "admin", "source_ip": "192.0.2.117"}),
    ("sshd.disconnect-auth-fail", S + "sshd[4931]: Received disconnect from 89.24.13.192: 3: "
     "com.jcraft.jsch.JSchException: Auth fail", {"kind": "auth-failure", "source_ip": "89.24.13.192"}),
    ("sshd.no-auth-methods", S + "sshd[3625]: error: Received disconnect from 192.168.2.92 port 1684:14: No "
     "supported authentication methods available [preauth]", {"kind": "session-close", "outcome": "failure"}),
    ("sshd.disconnect-bye", S + "sshd[2364]: Received disconnect from 198.51.100.76 port 58846:11: Bye Bye [preauth]",
     {"kind": "session-close", "source_ip": "198.51.100.76", "source_port": 58846}),
    ("sshd.closed", S + "sshd[1300]: Connection closed by authenticating user test 127.0.0.1 192.0.2.11 port 46039 "
     "[preauth]", {"kind": "session-close", "source_ip": "192.0.2.11", "user": "test 127.0.0.1"}),
    ("sshd.connection-from", S + "sshd[22440]: Connection from 192.0.2.3 port 39678 on 192.168.1.9 port 22",
     {"source_ip": "192.0.2.3", "dest_ip": "192.168.1.9", "dest_port": 22, "action": "connect"}),
    ("sshd.ltype", S + "sshd[32686]: SSH: Server;Ltype: Version;Remote: 127.0.0.1-1780;Protocol: 2.0;Client: "
     "libssh2_1.4.3", {"source_ip": "127.0.0.1", "source_port": 1780}),
    ("sshd.no-ident", S + "sshd[8782]: Did not receive identification string from 192.0.2.5 port 35836",
     {"kind": "session-close", "source_ip": "192.0.2.5"}),
    ("sshd.bad-version", S + "sshd[8783]: Bad protocol version identification 'dummy string' from 192.0.2.1' from "
     "69.61.56.115 port 31778", {"source_ip": "69.61.56.115"}),
    ("sshd.kex-ident", S + "sshd[19725]: error: kex_exchange_identification: client sent invalid protocol "
     'identifier ""', {"kind": "session-close"}),
    ("sshd.kex-other", S + "sshd[1189575]: error: kex_exchange_identification: banner line too long", {}),
    ("sshd.banner-invalid", S + "sshd[1189575]: banner exchange: Connection from 192.0.2.12 port 44105: invalid "
     "format", {"source_ip": "192.0.2.12"}),
    ("sshd.dispatch-fatal", S + "sshd[71905]: ssh_dispatch_run_fatal: Connection from 192.0.2.13 port 33738: message "
     "authentication code incorrect [preauth]", {"source_ip": "192.0.2.13"}),
    ("sshd.read-reset", S + "sshd[32686]: fatal: Read from socket failed: Connection reset by peer [preauth]", {}),
    ("sshd.auth-timeout", S + "sshd[3801]: Timeout before authentication for connection from 192.0.2.17 to "
     "127.0.0.1, pid = 29098", {"source_ip": "192.0.2.17"}),
    ("sshd.negotiate", S + "sshd[45]: Unable to negotiate with 192.0.2.1 port 55419: no matching cipher found. "
     "Their offer: aes256-cbc [preauth]", {"source_ip": "192.0.2.1", "action": "negotiate"}),
    ("pam.auth-failure", S + "sshd[2716]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
     "ruser= rhost=192.0.2.112  user=root", {"kind": "auth-failure", "source_ip": "192.0.2.112", "user": "root"}),
    ("pam.auth-failure", S + "daemon: pam_unix(auth): authentication failure; logname= uid=0 euid=0 tty=xxx "
     "ruser=test rhost=192.0.2.151 rhost=192.0.2.1", {"source_ip": "192.0.2.1", "user": "test rhost=192.0.2.151"}),
    ("pam.more-failures", S + "sshd[77]: PAM 2 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
     "rhost=192.0.2.7  user=root", {"kind": "auth-failure", "source_ip": "192.0.2.7", "user": "root"}),
    ("pam.user-unknown", S + "sshd[77]: pam_unix(sshd:auth): check pass; user unknown", {"kind": "auth-invalid-user"}),
    ("pam.session", S + "sshd[1558]: pam_unix(sshd:session): session opened for user known by (uid=0)",
     {"kind": "session-open", "user": "known"}),
    ("pam.session", S + "sudo: pam_unix(sudo:session): session closed for user root", {"kind": "session-close"}),
    ("sudo.bad-password", S + "sudo:    alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; "
     "USER=root ; COMMAND=/usr/bin/id", {"kind": "auth-failure", "user": "alice", "action": "sudo"}),
    ("sudo.refused", S + "sudo:      bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; "
     "COMMAND=/bin/bash", {"kind": "sudo", "user": "bob", "outcome": "failure"}),
    ("sudo.command", S + "sudo[991]:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls /root",
     {"kind": "sudo", "user": "alice", "outcome": "success"}),
    ("su.failed", S + "su[12]: FAILED su for root by alice", {"kind": "auth-failure", "user": "alice"}),
    ("su.failed", S + "su: FAILED SU (to root) alice on pts/0", {"kind": "auth-failure", "user": "alice"}),
    ("su.ok", S + "su[13]: Successful su for root by alice", {"kind": "sudo", "user": "alice", "outcome": "success"}),
    ("su.ok", S + "su[14]: - pts/0 alice:root", {"kind": "auth-failure", "outcome": "failure", "user": "alice"}),
    ("dropbear.bad-password", S + "dropbear[4092]: bad password attempt for 'root' from 198.51.100.87:5543",
     {"kind": "auth-failure", "source_ip": "198.51.100.87", "source_port": 5543, "user": "root"}),
    ("dropbear.no-such-user", S + "dropbear[1252]: login attempt for nonexistent user from "
     "::ffff:198.51.100.215:60495", {"kind": "auth-invalid-user", "source_ip": "198.51.100.215"}),
    ("dropbear.max-tries", S + "dropbear[825]: [825] Jul 10 23:57:29 Exit before auth from <192.0.2.3:52289>: (user "
     "'root', 10 fails): Max auth tries reached - user 'root'", {"source_ip": "192.0.2.3", "user": "root"}),
    ("dropbear.accepted", S + "dropbear[9]: Password auth succeeded for 'root' from 192.0.2.8:40000",
     {"kind": "auth-success", "source_ip": "192.0.2.8"}),
    ("dropbear.connect", S + "dropbear[9]: Child connection from 192.0.2.8:40000", {"source_port": 40000}),
    ("dropbear.exit", S + "dropbear[9]: Exit (root): Disconnect received", {"kind": "session-close", "user": "root"}),
    ("vsftpd.fail-login", 'Thu Sep  8 00:39:49 2016 [pid 15019] [guest] FAIL LOGIN: Client "::ffff:192.0.2.1", '
     '"User is not in the allow user list."', {"kind": "auth-failure", "source_ip": "192.0.2.1", "user": "guest"}),
    ("vsftpd.ok-login", S + 'vsftpd[2]: [alice] OK LOGIN: Client "192.0.2.9"', {"kind": "auth-success"}),
    ("vsftpd.connect", S + 'vsftpd[1]: CONNECT: Client "192.0.2.9"', {"source_ip": "192.0.2.9"}),
    ("netfilter.log", "<4>" + S + "kernel: [ 4711.123456] [UFW BLOCK] IN=eth0 OUT= MAC=00:11:22:33:44:55 "
     "SRC=192.0.2.9 DST=10.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=0 DF PROTO=TCP SPT=40000 DPT=23 WINDOW=1024 "
     "RES=0x00 SYN URGP=0", {"kind": "firewall-deny", "source_ip": "192.0.2.9", "dest_port": 23, "proto": "tcp"}),
    ("netfilter.log", S + "kernel: nft-accept: IN=eth1 OUT=eth2 SRC=2001:db8::1 DST=2001:db8::2 LEN=80 TC=0 "
     "HOPLIMIT=63 FLOWLBL=0 PROTO=UDP SPT=5353 DPT=53 LEN=40", {"kind": "firewall-accept", "dest_ip": "2001:db8::2"}),
    ("netfilter.log", S + "kernel: DROP IN=eth0 OUT= SRC=192.0.2.9 DST=10.0.0.1 LEN=84 PROTO=ICMP TYPE=8 CODE=0 ID=1",
     {"kind": "firewall-deny", "proto": "icmp", "dest_port": None}),
    ("nflog.tcp", "15:38:29.826535 IP 127.0.0.1.44612 > 127.0.0.1.22: Flags [S], seq 843905539, win 65495, options "
     "[mss 65495,sackOK,TS val 1791507970 ecr 0,nop,wscale 10], length 0",
     {"kind": "firewall-deny", "source_port": 44612, "dest_port": 22, "proto": "tcp"}),
    ("nflog.tcp", "15:38:31.810706 IP6 ::1.40476 > ::1.443: Flags [S], seq 888815426, win 65476, length 0",
     {"source_ip": "::1", "dest_port": 443, "proto": "tcp"}),
    ("nflog.icmp", "15:38:31.810695 IP 127.0.0.1 > 127.0.0.1: ICMP echo request, id 17629, seq 1, length 64",
     {"proto": "icmp", "source_port": None}),
    ("nflog.udp", "15:38:31.810565 IP 127.0.0.1.42413 > 127.0.0.1.53: domain [length 2 < 12] (invalid)",
     {"proto": "udp", "dest_port": 53}),
    ("nflog.other", "12:00:00.000001 IP 192.0.2.1 > 192.0.2.2: ip-proto-47 40", {"proto": None}),
    # The lab firewall's accept log (NFLOG group 2), forwarded as app nftables-accept.
    ("nflog-accept.tcp", A + "15:38:29.826535 IP 10.1.20.3.44612 > 10.1.10.2.22: Flags [S], seq 1, win 64240, "
     "length 0", {"kind": "firewall-accept", "action": "accept", "source_ip": "10.1.20.3", "dest_port": 22}),
    ("nflog-accept.udp", A + "15:38:31.810565 IP 10.1.20.3.42413 > 10.1.10.2.53: 4242+ A? srv1. (23)",
     {"kind": "firewall-accept", "proto": "udp"}),
    ("nflog-accept.icmp", A + "15:38:31.810695 IP 10.1.20.3 > 10.1.10.2: ICMP echo request, id 1, seq 1, length 64",
     {"kind": "firewall-accept", "proto": "icmp"}),
    ("nflog-accept.other", A + "12:00:00.000001 IP 10.1.20.3 > 10.1.10.2: ip-proto-47 40", {"kind": "firewall-accept"}),
    ("cisco.login-failed", "<188>52: r1: *Mar  1 00:01:02.345 UTC: %SEC_LOGIN-4-LOGIN_FAILED: Login failed [user: "
     "admin] [Source: 10.0.0.5] [localport: 22] [Reason: Login Authentication Failed] at 00:01:02 UTC Mon Mar 1 2026",
     {"kind": "auth-failure", "user": "admin", "source_ip": "10.0.0.5", "dest_port": 22, "host": "r1"}),
    ("cisco.login-success", "<189>53: r1: *Mar  1 00:01:09.001 UTC: %SEC_LOGIN-5-LOGIN_SUCCESS: Login Success "
     "[user: admin] [Source: 10.0.0.5] [localport: 22] at 00:01:09 UTC Mon Mar 1 2026",
     {"kind": "auth-success", "user": "admin"}),
    ("cisco.ssh-userauth", "<189>54: *Mar  1 00:02:00.000: %SSH-5-SSH2_USERAUTH: User 'admin' authentication for "
     "SSH2 Session from 10.0.0.5 (tty = 0) using crypto cipher 'aes256-ctr', hmac 'hmac-sha2-256' Failed",
     {"kind": "auth-failure", "outcome": "failure"}),
    ("cisco.acl", "<190>55: *Mar  1 00:03:00.000: %SEC-6-IPACCESSLOGP: list 101 denied tcp 10.1.1.1(1234) "
     "(GigabitEthernet0/1 0011.2233.4455) -> 10.2.2.2(23), 1 packet",
     {"kind": "firewall-deny", "source_ip": "10.1.1.1", "source_port": 1234, "dest_port": 23, "proto": "tcp"}),
    ("cisco.acl", "<190>56: *Mar  1 00:03:01.000: %SEC-6-IPACCESSLOGDP: list 101 permitted icmp 10.1.1.1 -> "
     "10.2.2.2 (8/0), 5 packets", {"kind": "firewall-accept", "proto": "icmp"}),
    ("cisco.acl", "<190>57: *Mar  1 00:03:02.000: %SEC-6-IPACCESSLOGS: list 10 denied 10.1.1.7 3 packets",
     {"kind": "firewall-deny", "source_ip": "10.1.1.7"}),
    ("cisco.acl", "<190>58: *Mar  1 00:03:03.000: %IPV6_ACL-6-ACCESSLOGP: list V6-IN/20 denied tcp "
     "2001:DB8::1(40000) -> 2001:DB8::2(22), 1 packet", {"source_ip": "2001:db8::1", "dest_port": 22}),
    ("arista.acl", "<190>Mar  9 10:00:00 leaf1 Acl: %ACL-6-IPACCESS: list mgmt Ethernet1 denied tcp "
     "10.0.0.1(51000) -> 10.0.0.2(22)", {"kind": "firewall-deny", "dest_port": 22, "host": "leaf1"}),
    ("junos.sshd-login-failed", "<38>Mar  9 10:00:00 mx1 sshd[1234]: SSHD_LOGIN_FAILED: Login failed for user "
     "'root' from host '192.0.2.50'", {"kind": "auth-failure", "source_ip": "192.0.2.50", "user": "root"}),
    ("junos.login-failed", "<38>Mar  9 10:00:00 mx1 login[77]: LOGIN_FAILED: Login failed for user admin from host "
     "ttyd0", {"kind": "auth-failure", "user": "admin"}),
    ("junos.login", "<38>Mar  9 10:00:00 mx1 mgd[4711]: UI_LOGIN_EVENT: User 'netops' login, class 'j-super-user' "
     "[4711], ssh-connection '192.0.2.60 51000 192.0.2.1 22', client-mode 'cli'",
     {"kind": "auth-success", "source_ip": "192.0.2.60", "dest_port": 22, "user": "netops"}),
    ("junos.auth", "<38>Mar  9 10:00:00 mx1 mgd[4711]: UI_AUTH_EVENT: Authenticated user 'netops' at permission "
     "level 'j-super-user'", {"kind": "auth-success"}),
    ("junos.logout", "<38>Mar  9 10:00:00 mx1 mgd[4711]: UI_LOGOUT_EVENT: User 'netops' logout",
     {"kind": "session-close"}),
    ("junos.flow-deny", "<14>Mar  9 10:00:00 srx1 RT_FLOW: RT_FLOW_SESSION_DENY: session denied "
     "10.0.0.1/1234->10.0.0.2/23 0x0 junos-telnet 6(0) deny-all trust untrust UNKNOWN UNKNOWN N/A(N/A) ge-0/0/0.0",
     {"kind": "firewall-deny", "source_ip": "10.0.0.1", "dest_port": 23, "proto": "tcp"}),
    ("junos.flow-create", "<14>Mar  9 10:00:00 srx1 RT_FLOW: RT_FLOW_SESSION_CREATE: session created "
     "10.0.0.1/51000->192.0.2.10/443 0x0 junos-https 198.51.100.1/32000->192.0.2.10/443 0x0 source rule r1 N/A N/A 6 "
     "allow-web trust untrust 12345 N/A(N/A) ge-0/0/1.0", {"kind": "firewall-accept", "dest_port": 443}),
    ("junos.flow-close", "<14>Mar  9 10:00:00 srx1 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP FIN: "
     "10.0.0.1/51000->192.0.2.10/443 0x0 junos-https 198.51.100.1/32000->192.0.2.10/443", {"kind": "device"}),
    ("junos.pfe-firewall", "<14>Mar  9 10:00:00 mx1 fpc0 PFE_FW_SYSLOG_IP: FW: ge-0/0/0.0   D  tcp 192.0.2.70 "
     "10.0.0.1 51234    23 (1 packets)", {"kind": "firewall-deny", "source_ip": "192.0.2.70", "dest_port": 23}),
    ("routeros.login-failure", "Mar  2 09:09:46 gw.local system,error,critical login failure for user user with "
     "space from 1.2.3.4 via ssh", {"kind": "auth-failure", "user": "user with space", "source_ip": "1.2.3.4"}),
    ("routeros.login", S + "system,info,account user admin logged in from 192.0.2.1 via winbox",
     {"kind": "auth-success", "user": "admin"}),
    ("routeros.logout", S + "system,info,account user admin logged out from 192.0.2.1 via winbox",
     {"kind": "session-close"}),
    ("cisco.message", "<189>60: *Mar  1 00:05:00.000: %SYS-5-RESTART: System restarted --",
     {"kind": "device", "parser": "device"}),
    ("junos.message", "<28>Mar  9 10:00:00 mx1 chassisd[1]: CHASSISD_SNMP_TRAP7: SNMP trap generated: Fan Failure",
     {"kind": "device"}),
    ("frr.message", '<30>1 2026-11-23T12:06:15.066000+00:00 r1 frr - - [timeQuality tzKnown="1" isSynced="0"] '
     "2026/11/23 12:14:47.899 OSPF: [S5PCG-77H23] Packet[DD]: Neighbor 10.255.0.1 Negotiation done (Master).",
     {"kind": "device", "parser": "frr"}),
    ("net.cisco_link_updown", "<187>41: *Mar  1 00:12:31.467: %LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed "
     "state to down", {"kind": "interface-down", "parser": "network"}),
    ("net.frr_bgp_adjchange", '<30>1 2026-11-23T12:06:20.410000+00:00 r1 frr - - - 2026/11/23 12:06:20.410 BGP: '
     "[M7Q4P-46WDR] %ADJCHANGE: neighbor 203.0.113.2(r4) in vrf default Up", {"kind": "neighbor-up",
     "dest_ip": "203.0.113.2"}),
    ("net.cisco_config_i", "<189>48: r9: *Mar  1 00:15:00.000: %SYS-5-CONFIG_I: Configured from console by admin on "
     "vty0 (10.0.0.5)", {"kind": "config-change", "user": "admin", "host": "r9"}),
    ("net.junos_ui_commit", "<29>Mar  9 10:00:00 mx1 mgd[2911]: UI_COMMIT: User 'netops' requested 'commit' "
     "operation (comment: none)", {"kind": "config-change", "user": "netops"}),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "line", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_format_gives_its_event(rule: str, line: str, expected: dict[str, Any]) -> None:
    event = parse_line(line, received=NOW)
    assert event.fields.get("rule") == rule, event
    assert event.raw == line
    assert is_parsed(event)
    got = {key: getattr(event, key) for key in expected}
    assert got == expected


def test_every_rule_has_a_sample_an_origin_and_a_known_kind() -> None:
    rules = [r for step in STEPS if not isinstance(step, str) for r in step.rules]
    assert {r.name for r in rules} <= {c[0] for c in CASES}
    assert all(r.origin for r in rules)
    assert all(r.kind in KINDS for r in rules)


def test_sudo_and_su_name_the_account_they_switch_to() -> None:
    sudo = parse_line(S + "sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls /root")
    assert (sudo.fields["target_user"], sudo.fields["command"]) == ("root", "/bin/ls /root")
    su = parse_line(S + "su: (to postgres) alice on pts/0")
    assert (su.kind, su.user, su.fields["target_user"]) == ("sudo", "alice", "postgres")


def test_a_line_no_rule_reads_is_kept_as_other() -> None:
    event = parse_line(S + "CRON[4242]: (root) CMD (run-parts /etc/cron.hourly)", received=NOW)
    assert (event.kind, event.parser, event.app, event.host, is_parsed(event)) == (
        "other",
        "generic",
        "CRON",
        "srv",
        False,
    )
    assert event.message == "(root) CMD (run-parts /etc/cron.hourly)"
    assert event.fields["pid"] == "4242"


def test_times_keep_the_zone_given_and_say_when_it_was_assumed() -> None:
    zoned = parse_line("<38>1 2019-07-08T17:40:16.954167-04:00 h sshd 57915 - - Invalid user x from 192.0.2.1")
    assert zoned.time == dt.datetime(2019, 7, 8, 17, 40, 16, 954167, tzinfo=dt.timezone(dt.timedelta(hours=-4)))
    assert "zone" not in zoned.fields
    iso = parse_line("2015-04-16T18:02:50.321974+02:00 host sshd[2716]: Invalid user x from 192.0.2.1", received=NOW)
    assert iso.time.utcoffset() == dt.timedelta(hours=2) and "zone" not in iso.fields
    bsd = parse_line("Mar  9 10:00:00 srv sshd[1]: Invalid user x from 192.0.2.1", received=NOW)
    assert bsd.time == dt.datetime(2026, 3, 9, 10, 0, tzinfo=dt.UTC)  # the receiver's year, UTC
    assert bsd.fields["zone"] == "assumed"
    december = parse_line("Dec 31 23:59:59 srv sshd[1]: Invalid user x from 192.0.2.1", received=NOW)
    assert december.time.year == 2025  # nine months ahead of the receiver: last year's
    for line in ("Apr  1 00:00:00 srv sshd[1]: x", "<38>Apr  1 00:00:00 srv sshd[1]: x"):
        assert parse_line(line, received=NOW).time.year == 2025  # a file holds no lines from the future
    live = parse_message(parse(b"<38>Apr  1 00:00:00 srv sshd[1]: x", "192.0.2.1", NOW))
    assert live.time.year == 2026  # the receiver allows a live sender's clock to run a month ahead
    journal = parse_line("srv sshd[1]: Invalid user x from 192.0.2.1", received=NOW)
    assert (journal.time, journal.fields["zone"], journal.host, journal.app) == (NOW, "received", "srv", "sshd")
    nflog = parse_line("11:59:59.500000 IP 192.0.2.1.1 > 192.0.2.2.2: Flags [S], length 0", received=NOW)
    assert nflog.time == dt.datetime(2026, 3, 10, 11, 59, 59, 500000, tzinfo=dt.UTC)
    late = parse_line("23:59:59.000000 IP 192.0.2.1.1 > 192.0.2.2.2: Flags [S], length 0", received=NOW)
    assert late.time.date() == dt.date(2026, 3, 9)  # tcpdump's clock ahead of the receiver: yesterday


def test_the_host_is_the_callers_then_the_inventorys_then_the_hostname_then_the_sender() -> None:
    msg = parse(b"<38>Mar  9 10:00:00 edge-7 sshd[1]: Invalid user x from 192.0.2.1", "10.9.9.9", NOW)
    assert parse_message(msg, host="given").host == "given"
    assert parse_message(msg, lookup={"10.9.9.9": "edge7"}.get).host == "edge7"
    assert parse_message(msg, lookup=lambda _a: None).host == "edge-7"

    def broken(_address: str) -> str | None:
        raise RuntimeError("store unreachable")

    assert parse_message(msg, lookup=broken).host == "edge-7"
    hostless = parse(b"<187>12: %LINK-3-UPDOWN: Interface Gi0/3, changed state to down", "10.9.9.9", NOW)
    assert parse_message(hostless).host == "10.9.9.9"


def test_parse_lines_skips_blank_lines_and_keeps_order() -> None:
    lines = ["", S + "sshd[1]: Invalid user a from 192.0.2.1", "   ", S + "sshd[2]: Invalid user b from 192.0.2.2\n"]
    assert [e.user for e in parse_lines(lines, received=NOW, host="h1")] == ["a", "b"]
    assert {e.host for e in parse_lines(lines, received=NOW, host="h1")} == {"h1"}


def test_a_huge_line_and_a_bad_pri_are_read_not_refused() -> None:
    huge = S + "sshd[1]: Invalid user " + "x" * 70_000 + " from 192.0.2.1"
    event = parse_line(huge, received=NOW)
    assert (event.raw, event.fields["truncated"], event.app) == (huge[:65_000], True, "sshd")
    bad_pri = parse_line("<999>Mar  9 10:00:00 srv sshd[1]: Invalid user a from 192.0.2.1", received=NOW)
    assert bad_pri.raw.startswith("<999>")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_gives_one_event(text: str) -> None:
    event = parse_line(text, received=NOW)
    assert event.kind in KINDS
    assert event.time.tzinfo is not None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([c[1] for c in CASES]),
    st.integers(min_value=0, max_value=400),
    st.text(max_size=30),
)
def test_cut_or_spliced_real_lines_give_one_event(line: str, at: int, junk: str) -> None:
    for variant in (line[:at], line[:at] + junk + line[at:], line.replace(" ", junk[:3] or " ")):
        event = parse_line(variant, received=NOW)
        assert event.kind in KINDS
