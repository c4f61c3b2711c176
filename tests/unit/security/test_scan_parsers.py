"""Exposure scan, pure parts: version order, SSH identification and KEXINIT, HTTP answers, telnet
negotiation, greetings, weak-setting rules, scoring and the register's merge rule.

KEXINIT messages are built here field by field as RFC 4253 7.1 lays them out; the integration test
compares the parse of a real OpenSSH's KEXINIT with nmap's ssh2-enum-algos on the same server.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from netwarden.security.scan import banners, risk, sshkex, weak
from netwarden.security.scan.register import Coverage, merge
from netwarden.security.scan.schemas import HostOut, HttpDetails, RiskOut, ServiceOut, SnmpDetails, SshDetails
from netwarden.security.scan.versions import Version, compare, in_range

# ---------------------------------------------------------------- versions


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("8.4.4", "8.4.10"),
        ("9.2", "9.2p1"),
        ("9.2p1", "9.2p2"),
        ("9.2p2", "9.3"),
        ("9.3p2", "9.8p1"),
        ("1.0rc1", "1.0"),
        ("1.22.1", "1.26.2"),
        ("15.2(4)M3", "15.2(4)M10"),
        ("15.2(4)M10", "15.2(5)M1"),
        ("21.4R3-S5", "21.4R3-S10"),
        ("2022.82", "2022.83"),
    ],
)
def test_versions_order_as_vendors_write_them(older: str, newer: str) -> None:
    assert compare(older, newer) == -1 and compare(newer, older) == 1
    assert Version(older) < Version(newer)
    assert compare(newer, newer) == 0


def test_nvd_ranges_are_bounded_as_written() -> None:
    assert in_range("8.4.4", start_including="7.5.1", end_including="9.0")
    assert not in_range("9.0.1", start_including="7.5.1", end_including="9.0")
    assert in_range("9.2p1", end_excluding="9.3p2")
    assert not in_range("9.3p2", end_excluding="9.3p2")
    assert not in_range("8.4p1", start_including="8.5p1", end_excluding="9.8p1")
    assert not in_range("1.5.13", start_excluding="1.5.13")
    assert in_range("anything")


# ---------------------------------------------------------------- SSH


def name_list(names: list[str]) -> bytes:
    raw = ",".join(names).encode()
    return struct.pack(">I", len(raw)) + raw


def kexinit_payload(kex: list[str], keys: list[str], ciphers: list[str], macs: list[str]) -> bytes:
    lists = [kex, keys, ciphers, ciphers, macs, macs, ["none"], ["none"], [], []]
    return bytes([20]) + bytes(16) + b"".join(name_list(x) for x in lists) + b"\x00" + bytes(4)


def packet(payload: bytes) -> bytes:
    padding = 8 - (len(payload) + 5) % 8 + 8
    return struct.pack(">IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


def test_server_hello_gives_ident_and_algorithms() -> None:
    payload = kexinit_payload(
        ["curve25519-sha256", "diffie-hellman-group1-sha1"], ["ssh-rsa"], ["aes128-cbc"], ["hmac-sha1"]
    )
    data = b"SSH-2.0-OpenSSH_7.4 Debian-10+deb9u7\r\n" + packet(payload)
    ident = banners.parse_ssh_ident(data)
    assert ident == banners.SshIdent("SSH-2.0-OpenSSH_7.4 Debian-10+deb9u7", "2.0", "OpenSSH_7.4", "Debian-10+deb9u7")
    offer = sshkex.parse_server_hello(data)
    assert offer is not None
    assert offer.kex == ("curve25519-sha256", "diffie-hellman-group1-sha1")
    assert (offer.host_keys, offer.ciphers, offer.macs) == (("ssh-rsa",), ("aes128-cbc",), ("hmac-sha1",))


def test_pre_banner_lines_and_partial_packets() -> None:
    payload = kexinit_payload(["curve25519-sha256"], ["ssh-ed25519"], ["aes256-gcm@openssh.com"], ["hmac-sha2-256"])
    whole = b"Welcome to the jump host\r\nSSH-2.0-dropbear_2022.83\r\n" + packet(payload)
    assert banners.parse_ssh_ident(whole) is not None
    assert sshkex.parse_server_hello(whole[:-3]) is None  # more bytes needed
    assert sshkex.parse_server_hello(whole) is not None
    with pytest.raises(ValueError, match="implausible"):
        sshkex.read_packet(struct.pack(">IB", 1 << 30, 4))


def test_ident_of_ssh1_capable_server() -> None:
    ident = banners.parse_ssh_ident(b"SSH-1.99-Cisco-1.25\r\n")
    assert ident is not None and (ident.protocol, ident.software) == ("1.99", "Cisco-1.25")
    assert banners.parse_ssh_ident(b"HTTP/1.1 400 Bad Request\r\n") is None


@given(st.binary(max_size=600))
def test_ssh_parsers_never_raise(data: bytes) -> None:
    banners.parse_ssh_ident(data)
    sshkex.parse_server_hello(b"SSH-2.0-x\r\n" + data)
    sshkex.parse_kexinit(b"\x14" + data)


# ---------------------------------------------------------------- HTTP, telnet, greetings


def test_http_answer_headers_and_title() -> None:
    data = (
        b'HTTP/1.1 401 Unauthorized\r\nServer: lighttpd/1.4.59\r\nWWW-Authenticate: Basic realm="R&amp;S"\r\n'
        b"Content-Type: text/html\r\n\r\n<html><head><TITLE>\n  Switch &amp; Router\n</TITLE></head>"
    )
    answer = banners.parse_http(data)
    assert answer is not None
    assert (answer.status, answer.server, answer.title) == (401, "lighttpd/1.4.59", "Switch & Router")
    assert answer.authenticate.startswith("Basic realm=")
    truncated = banners.parse_http(b"HTTP/1.0 302 Found\r\nLocation: https://x/\r\nServ")
    assert truncated is not None and truncated.location == "https://x/" and truncated.server == ""
    assert banners.parse_http(b"SSH-2.0-x\r\n") is None


def test_telnet_options_are_refused_and_text_kept() -> None:
    IAC, WILL, DO, WONT, DONT, SB, SE = 255, 251, 253, 252, 254, 250, 240
    data = bytes([IAC, WILL, 1, IAC, DO, 24, IAC, SB, 24, 1, IAC, SE]) + b"\r\nlogin: " + bytes([IAC, IAC])
    read = banners.read_telnet(data)
    assert read.reply == bytes([IAC, DONT, 1, IAC, WONT, 24])
    assert read.text == b"\r\nlogin: \xff" and read.options == (1, 24) and read.negotiated


@given(st.binary(max_size=300))
def test_telnet_reader_never_raises(data: bytes) -> None:
    read = banners.read_telnet(data)
    assert len(read.reply) % 3 == 0


@pytest.mark.parametrize(
    ("port", "greeting", "name"),
    [
        (22, b"SSH-2.0-OpenSSH_9.2p1\r\n", "ssh"),
        (25, b"220 mx.example.org ESMTP Postfix (Debian/GNU)\r\n", "smtp"),
        (21, b"220 (vsFTPd 3.0.3)\r\n", "ftp"),
        (2121, b"220 Service ready\r\n", "ftp"),
        (110, b"+OK Dovecot ready.\r\n", "pop3"),
        (143, b"* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", "imap"),
        (23, bytes([255, 253, 24]), "telnet"),
        (2000, b"\r\n\r\nUser Access Verification\r\n\r\nUsername: ", "telnet"),
        (9999, b"220 something\r\n", None),
        (9999, b"", None),
    ],
)
def test_greetings_name_their_service(port: int, greeting: bytes, name: str | None) -> None:
    assert banners.classify_greeting(port, greeting) == name


def test_hostile_banner_is_escaped() -> None:
    assert banners.first_line(b"\x1b[31mred\x00\r\nnext") == "\\x1b[31mred\\x00"


# ---------------------------------------------------------------- weak settings

MODERN_KEX = ["curve25519-sha256", "kex-strict-s-v00@openssh.com"]


def ssh_host(
    kex: list[str], ciphers: list[str], macs: list[str], keys: list[str] | None = None, protocol: str = "2.0"
) -> HostOut:
    details = SshDetails(
        ident=f"SSH-{protocol}-Test_1.0",
        protocol=protocol,
        software="Test_1.0",
        kex=kex,
        host_keys=keys or ["ssh-ed25519"],
        ciphers=ciphers,
        macs=macs,
    )
    return HostOut(address="127.0.0.1", services=[ServiceOut(port=22, service="ssh", ssh=details)])


def kinds(host: HostOut) -> list[str]:
    return sorted(d.kind for d in weak.assess(host))


def test_modern_ssh_has_no_finding() -> None:
    host = ssh_host(
        MODERN_KEX, ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"], ["hmac-sha2-256-etm@openssh.com"]
    )
    assert kinds(host) == []


def test_terrapin_needs_a_vulnerable_mode_and_no_strict_kex() -> None:
    chacha = ssh_host(["curve25519-sha256"], ["chacha20-poly1305@openssh.com"], ["hmac-sha2-256"])
    assert kinds(chacha) == ["ssh-terrapin"]
    assert weak.assess(chacha)[0].cve == "CVE-2023-48795"
    cbc_etm = ssh_host(["curve25519-sha256"], ["aes256-ctr", "aes128-cbc"], ["hmac-sha2-256-etm@openssh.com"])
    assert kinds(cbc_etm) == ["ssh-terrapin", "ssh-weak-cipher"]
    ctr_etm = ssh_host(["curve25519-sha256"], ["aes256-ctr"], ["hmac-sha2-256-etm@openssh.com"])
    assert kinds(ctr_etm) == []


def test_each_weak_algorithm_is_named_with_the_worst_rating() -> None:
    host = ssh_host(
        ["diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1", "kex-strict-s-v00@openssh.com"],
        ["aes128-ctr", "arcfour256", "aes256-cbc"],
        ["hmac-sha2-256", "hmac-md5-96"],
        keys=["ssh-dss", "rsa-sha2-512"],
        protocol="1.99",
    )
    drafts = {d.kind: d for d in weak.assess(host)}
    assert sorted(drafts) == ["ssh-v1", "ssh-weak-cipher", "ssh-weak-hostkey", "ssh-weak-kex", "ssh-weak-mac"]
    assert drafts["ssh-weak-kex"].severity == 7.4  # group1 outranks group14-sha1
    assert [e.split()[2] for e in drafts["ssh-weak-cipher"].evidence] == ["arcfour256", "aes256-cbc"]
    assert [e.split()[2] for e in drafts["ssh-weak-mac"].evidence] == ["hmac-md5-96"]  # one entry per algorithm


def http_host(status: int, title: str = "", location: str = "", platform: str = "", tls: bool = False) -> HostOut:
    service = ServiceOut(
        port=443 if tls else 80,
        service="https" if tls else "http",
        tls=tls,
        http=HttpDetails(status=status, server="nginx", title=title, location=location),
    )
    return HostOut(address="127.0.0.1", platform=platform, services=[service])


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (http_host(200, "Welcome"), ["http-cleartext"]),
        (http_host(200, "Web Console Login"), ["http-management"]),
        (http_host(200, "Welcome", platform="arista_eos"), ["http-management"]),
        (http_host(301, location="https://127.0.0.1/"), []),
        (http_host(301, location="http://127.0.0.1/login"), ["http-cleartext"]),
        (http_host(200, "Login", tls=True), []),
    ],
)
def test_http_rules(host: HostOut, expected: list[str]) -> None:
    assert kinds(host) == expected


def test_snmp_private_is_its_own_finding() -> None:
    snmp = SnmpDetails(versions=["v1", "v2c"], default_communities=["public", "private"], sys_descr="x")
    host = HostOut(address="127.0.0.1", services=[ServiceOut(port=161, proto="udp", service="snmp", snmp=snmp)])
    assert kinds(host) == ["snmp-default-community", "snmp-write-community"]
    quiet = SnmpDetails(versions=["v2c"], credentials=["lab-snmp"])
    host = HostOut(address="127.0.0.1", services=[ServiceOut(port=161, proto="udp", service="snmp", snmp=quiet)])
    assert kinds(host) == []


def test_remediation_follows_the_platform() -> None:
    telnet = ServiceOut(port=23, service="telnet", banner="Username:")
    junos = weak.assess(HostOut(address="127.0.0.1", platform="juniper_junos", services=[telnet]))
    other = weak.assess(HostOut(address="127.0.0.1", platform="hp_procurve", services=[telnet]))
    assert "delete system services telnet" in junos[0].remediation
    assert other[0].remediation == weak.settings().services["telnet"].remediation["default"]


# ---------------------------------------------------------------- scoring and the register


def test_score_is_severity_times_exposure() -> None:
    host = HostOut(address="127.0.0.5", device="r1")
    found = risk.finding(host, risk.Draft(kind="vulnerability", title="t", severity=7.5, exposure=0.6, cve="CVE-1"))
    assert (found.score, found.level, found.target) == (4.5, "medium", "r1")
    again = risk.finding(host, risk.Draft(kind="vulnerability", title="other", severity=9.8, cve="CVE-1"))
    assert again.id == found.id  # same problem, same target: same id
    assert [risk.level_of(s) for s in (9.0, 8.9, 7.0, 4.0, 3.9, 0.1, 0.0)] == [
        "critical", "high", "high", "medium", "low", "low", "info"
    ]  # fmt: skip


T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(days=1)


def entry(address: str, kind: str, port: int | None, proto: str | None = "tcp", source: str = "scan") -> RiskOut:
    host = HostOut(address=address)
    draft = risk.Draft(kind=kind, title=kind, severity=5.0, port=port, proto=proto, source=source)  # type: ignore[arg-type]
    found = risk.finding(host, draft)
    return RiskOut(**found.model_dump(), first_seen=T0, last_seen=T0)


def test_register_resolves_only_what_the_scan_looked_at() -> None:
    old = [
        entry("10.0.0.1", "telnet", 23),  # host scanned, port scanned, not seen: resolved
        entry("10.0.0.1", "ftp", 21),  # port not in this scan's list: stays open
        entry("10.0.0.1", "snmp-default-community", 161, "udp"),  # SNMP not checked: stays open
        entry("10.0.0.2", "telnet", 23),  # host did not answer: stays open
        entry("10.0.0.1", "vulnerability", None, None, source="nvd-a.json"),  # feed not loaded: stays open
        entry("10.0.0.1", "ssh-weak-mac", 22),  # seen again: open, first seen kept
    ]
    again = risk.finding(
        HostOut(address="10.0.0.1"), risk.Draft(kind="ssh-weak-mac", title="x", severity=5.0, port=22, proto="tcp")
    )
    coverage = Coverage(addresses=frozenset({"10.0.0.1"}), tcp_ports=frozenset({22, 23}), snmp_checked=False)
    merged = {e.kind + e.address: e for e in merge(old, [again], coverage, T1)}
    assert merged["telnet10.0.0.1"].status == "resolved" and merged["telnet10.0.0.1"].resolved_at == T1
    for key in ("ftp10.0.0.1", "snmp-default-community10.0.0.1", "telnet10.0.0.2", "vulnerability10.0.0.1"):
        assert merged[key].status == "open", key
    kept = merged["ssh-weak-mac10.0.0.1"]
    assert (kept.status, kept.first_seen, kept.last_seen, kept.title) == ("open", T0, T1, "x")


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"title": "t", "severity": 11, "remediation": {"default": "x"}}, "severity must be 0..10"),
        ({"title": "t", "severity": 5, "remediation": {"cisco_ios": "x"}}, "needs a 'default' text"),
    ],
)
def test_weak_settings_data_refuses_a_bad_rating_or_remediation(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        weak.ServiceRule.model_validate(rule)
