"""Cisco-style ACL parsing (IOS, IOS-XR, EOS, NX-OS, ASA) checked through the packets the ACLs decide,
and the capirca renderings of one policy proven equivalent across platforms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netwarden.configs.acl.analyze import analyze, compare, query, verdict
from netwarden.configs.acl.cisco import parse_asa, parse_eos, parse_ios, parse_xr
from netwarden.configs.acl.model import Acl, AclSyntaxError, Packet
from netwarden.configs.acl.registry import parse, platforms
from tests.support.shared_data import shared_data

CAPIRCA = shared_data() / "capirca" / "tests" / "characterization_data" / "filters_expected"
RENDERINGS = {
    "sample_cisco_lab.acl": "cisco_ios",
    "sample_multitarget.acl": "cisco_ios",
    "sample_multitarget.bacl": "cisco_ios",
    "sample_multitarget.eacl": "arista_eos",
    "sample_multitarget.xacl": "cisco_xr",
    "sample_multitarget.asa": "cisco_asa",
}


def _hit(acl: Acl, packet: Packet) -> int | None:
    rule = query(acl, packet)
    return None if rule is None else rule.index


def _entry_lines(text: str) -> int:
    """Lines of a rendering that are permit/deny entries (counted from the file, not hard-coded)."""
    count = 0
    for line in text.splitlines():
        words = line.split()
        if "permit" in words[:4] or "deny" in words[:4]:
            count += 1
    return count


@pytest.mark.skipif(not CAPIRCA.is_dir(), reason="shared capirca corpus not present")
@pytest.mark.parametrize("name", sorted(RENDERINGS))
def test_capirca_renderings_parse_completely(name: str) -> None:
    text = (CAPIRCA / name).read_text()
    parsed = parse(text, RENDERINGS[name])
    assert parsed.unparsed == ()
    assert sum(len(a.rules) for a in parsed.acls) == _entry_lines(text)
    for acl in parsed.acls:
        assert acl.platform == RENDERINGS[name]
        for rule in acl.rules:
            assert text.splitlines()[rule.line - 1].strip() == rule.text


@pytest.mark.skipif(not CAPIRCA.is_dir(), reason="shared capirca corpus not present")
def test_capirca_renderings_of_one_policy_are_equivalent() -> None:
    edge = {
        name: parse((CAPIRCA / name).read_text(), RENDERINGS[name]).acl("edge-inbound")
        for name in ("sample_multitarget.acl", "sample_multitarget.eacl", "sample_multitarget.xacl")
    }
    ios = edge["sample_multitarget.acl"]
    for name, acl in edge.items():
        assert compare(ios, acl) is None, name
    # a port changed in one entry of the EOS rendering: the analyser proves them different
    altered_text = (
        (CAPIRCA / "sample_multitarget.eacl")
        .read_text()
        .replace("permit tcp any host 200.1.1.1 eq https", "permit tcp any host 200.1.1.1 eq 8443")
    )
    altered = parse_eos(altered_text).acl("edge-inbound")
    witness = compare(ios, altered)
    assert witness is not None
    assert verdict(ios, witness) != verdict(altered, witness)
    assert witness.dst == "200.1.1.1" and witness.proto == 6 and witness.dport in (443, 8443)


@pytest.mark.skipif(not CAPIRCA.is_dir(), reason="shared capirca corpus not present")
def test_asa_rendering_differs_only_by_stateless_replies() -> None:
    """The ASA is stateful: capirca drops `established` there, so the ASA rendering permits new TCP
    connections to the mail/web hosts on any port; the witness is such a packet."""
    ios = parse_ios((CAPIRCA / "sample_multitarget.acl").read_text()).acl("edge-inbound")
    asa = parse_asa((CAPIRCA / "sample_multitarget.asa").read_text()).acl("asa_in")
    witness = compare(ios, asa)
    assert witness is not None
    assert witness.proto == 6 and not witness.tcp_established
    assert verdict(ios, witness) == "deny" and verdict(asa, witness) == "permit"
    assert compare(ios, ios) is None


IOS_CONFIG = """\
hostname r1
!
interface GigabitEthernet0/1
 ip address 10.0.0.1 255.255.255.0
 ip access-group EDGE in
!
access-list 10 remark management hosts
access-list 10 permit 192.0.2.10
access-list 10 permit 198.51.100.0 0.0.0.255 log
access-list 101 permit tcp host 10.1.1.1 eq 179 host 10.1.1.2
access-list 101 permit tcp 10.0.0.0 0.0.255.0 any eq www 443
access-list 101 deny   udp any range 1000 1999 any neq domain
access-list 101 permit icmp any any echo-reply
access-list 101 permit icmp any any 3 4
access-list 101 permit 47 any any
!
ip access-list extended EDGE
 remark allow replies
 10 permit tcp any 10.0.0.0 0.0.0.255 established
 20 permit tcp any host 10.0.0.5 gt 1023 log-input
 30 deny   tcp any any lt 1024
 40 permit ospf any any
 50 permit ip any any dscp ef
 60 deny   ip any any log
ip access-list standard MGMT
 permit host 192.0.2.1
 deny   any
!
ipv6 access-list V6
 permit icmp any any nd-na
 sequence 20 permit tcp 2001:db8::/32 any eq 22
 deny ipv6 any any log
router bgp 65000
 neighbor 10.1.1.2 remote-as 65001
"""


def test_ios_numbered_named_standard_and_ipv6() -> None:
    parsed = parse_ios(IOS_CONFIG)
    names = [a.name for a in parsed.acls]
    assert names == ["10", "101", "EDGE", "MGMT", "V6"]
    # the dscp entry is reported and left out; nothing outside the ACL blocks is reported
    assert [(u.line, u.reason) for u in parsed.unparsed] == [(23, "'dscp' is not modelled")]
    std, ext, edge, mgmt, v6 = parsed.acls

    assert _hit(std, Packet("192.0.2.10", "1.1.1.1", 17)) == 1
    assert _hit(std, Packet("192.0.2.11", "1.1.1.1", 17)) is None
    assert _hit(std, Packet("198.51.100.77", "1.1.1.1", 6)) == 2

    assert _hit(ext, Packet("10.1.1.1", "10.1.1.2", 6, sport=179, dport=5000)) == 1
    assert _hit(ext, Packet("10.1.1.1", "10.1.1.2", 6, sport=180, dport=179)) is None
    # non-contiguous wildcard 0.0.255.0: the third octet is free, the fourth must be 0
    assert _hit(ext, Packet("10.0.77.0", "8.8.8.8", 6, dport=443)) == 2
    assert _hit(ext, Packet("10.0.77.1", "8.8.8.8", 6, dport=80)) is None
    assert _hit(ext, Packet("10.0.77.0", "8.8.8.8", 6, dport=8080)) is None
    assert _hit(ext, Packet("1.1.1.1", "2.2.2.2", 17, sport=1500, dport=54)) == 3
    assert _hit(ext, Packet("1.1.1.1", "2.2.2.2", 17, sport=1500, dport=53)) is None
    assert _hit(ext, Packet("1.1.1.1", "2.2.2.2", 17, sport=2000, dport=54)) is None
    assert _hit(ext, Packet("1.1.1.1", "2.2.2.2", 1, icmp_type=0, icmp_code=9)) == 4
    assert _hit(ext, Packet("1.1.1.1", "2.2.2.2", 1, icmp_type=3, icmp_code=4)) == 5
    assert _hit(ext, Packet("1.1.1.1", "2.2.2.2", 1, icmp_type=3, icmp_code=3)) is None
    assert _hit(ext, Packet("1.1.1.1", "2.2.2.2", 47)) == 6
    assert _hit(ext, Packet("2001:db8::1", "2001:db8::2", 47)) is None  # IPv4 ACL: IPv6 packets fall through

    assert [r.index for r in edge.rules] == [1, 2, 3, 4, 5]
    assert _hit(edge, Packet("8.8.8.8", "10.0.0.9", 6, sport=443, dport=40000, tcp_established=True)) == 1
    assert _hit(edge, Packet("8.8.8.8", "10.0.0.9", 6, sport=443, dport=40000)) == 5
    assert _hit(edge, Packet("8.8.8.8", "10.0.0.5", 6, dport=1023)) == 3
    assert _hit(edge, Packet("8.8.8.8", "10.0.0.5", 6, dport=1024)) == 2
    assert _hit(edge, Packet("8.8.8.8", "10.0.0.5", 89)) == 4
    assert edge.rules[4].text == "60 deny   ip any any log" and edge.rules[4].line == 24

    assert _hit(mgmt, Packet("192.0.2.1", "10.0.0.1", 6)) == 1
    assert verdict(mgmt, Packet("192.0.2.2", "10.0.0.1", 6)) == "deny"

    assert _hit(v6, Packet("fe80::1", "fe80::2", 58, icmp_type=136)) == 1
    assert _hit(v6, Packet("fe80::1", "fe80::2", 1, icmp_type=136)) == 3  # ICMPv6 is 58 in an IPv6 ACL
    assert _hit(v6, Packet("2001:db8:1::1", "2001:db9::1", 6, dport=22)) == 2
    assert _hit(v6, Packet("2001:db9::1", "2001:db8::1", 6, dport=22)) == 3


def test_arista_and_xr_sequence_numbers_and_cidr() -> None:
    eos = parse_eos(
        "ip access-list WEB\n"
        "   statistics per-entry\n"
        "   20 deny tcp any 10.0.0.0/8 eq telnet\n"
        "   10 permit tcp 192.0.2.0/24 10.0.0.0/8 eq ssh\n"
        "   30 permit ip any any\n"
        "   no 30\n"
        "ip access-list standard ONLY\n"
        "   10 permit 10.0.0.0/8\n"
    )
    assert eos.unparsed == ()
    web, only = eos.acls
    assert [r.text for r in web.rules] == [
        "10 permit tcp 192.0.2.0/24 10.0.0.0/8 eq ssh",
        "20 deny tcp any 10.0.0.0/8 eq telnet",
    ]
    assert _hit(web, Packet("192.0.2.9", "10.9.9.9", 6, dport=22)) == 1
    assert _hit(only, Packet("10.2.3.4", "1.1.1.1", 6)) == 1
    xr = parse_xr(
        "ipv4 access-list XR\n 10 remark mgmt\n 20 permit ipv4 host 10.0.0.1 any\n 30 deny udp any any eq 161\n"
        " 40 permit tcp any port-group WEB any\n"
    )
    assert [(u.line, u.reason) for u in xr.unparsed] == [(5, "'port-group' references are not modelled")]
    (acl,) = xr.acls
    assert [(r.index, r.line) for r in acl.rules] == [(1, 3), (2, 4)]
    assert _hit(acl, Packet("10.0.0.1", "9.9.9.9", 132)) == 1
    assert _hit(acl, Packet("10.0.0.2", "9.9.9.9", 17, dport=161)) == 2


def test_unknown_lines_inside_an_acl_are_reported_outside_are_not() -> None:
    text = (
        "interface Loopback0\n"
        " frobnicate everything\n"
        "ip access-list extended X\n"
        " permit tcp any any eq 22 time-range WORKHOURS\n"
        " frobnicate everything\n"
        " permit tcp any object-group SERVERS eq 80\n"
        " permit udp any any\n"
        "line vty 0 4\n"
        " transport input ssh\n"
    )
    parsed = parse_ios(text)
    assert [(u.line, u.text) for u in parsed.unparsed] == [
        (4, "permit tcp any any eq 22 time-range WORKHOURS"),
        (5, "frobnicate everything"),
        (6, "permit tcp any object-group SERVERS eq 80"),
    ]
    assert "time-range" in parsed.unparsed[0].reason and "object-group" in parsed.unparsed[2].reason
    assert [r.text for r in parsed.acls[0].rules] == ["permit udp any any"]


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("permit ip 10.0.0.256 0.0.0.255 any", "10.0.0.256"),
        ("permit ip any 10.0.0.0 0.0.300.255", "0.0.300.255"),
        ("permit tcp any any eq 70000", "70000"),
        ("permit tcp any any eq nosuchport", "nosuchport"),
        ("permit tcp any any range 90 80", "range"),
        ("permit frob any any", "frob"),
        ("permit udp any any established", "established"),
        ("permit ip any any eq 80", "ports"),
        ("permit tcp any", "missing"),
    ],
)
def test_invalid_values_raise_with_the_line_number(line: str, fragment: str) -> None:
    with pytest.raises(AclSyntaxError) as err:
        parse_ios(f"hostname r\nip access-list extended BAD\n {line}\n")
    assert err.value.line == 3
    assert str(err.value).startswith("line 3: ") and fragment in str(err.value)


def test_binary_input_is_refused() -> None:
    with pytest.raises(AclSyntaxError, match="binary"):
        parse_ios("ip access-list extended X\n\x00\x01\x02 permit ip any any\n")


def test_registry_lists_cisco_family_and_rejects_unknown_platforms() -> None:
    assert {"cisco_ios", "cisco_xr", "cisco_asa", "arista_eos"} <= set(platforms())
    with pytest.raises(Exception, match="unknown ACL platform 'nope'"):
        parse("", "nope")


def test_analysis_on_a_parsed_acl_names_the_shadowing_rules() -> None:
    acl = parse_ios(
        "ip access-list extended S\n"
        " permit tcp 10.0.0.0 0.0.0.127 any eq 22\n"
        " permit tcp 10.0.0.128 0.0.0.127 any eq 22\n"
        " deny   tcp 10.0.0.0 0.0.0.255 any range 20 23\n"
        " deny   tcp host 10.0.0.5 any eq 22\n"
        " permit ip any any\n"
    ).acls[0]
    by_index = {f.rule.index: f for f in analyze(acl)}
    assert by_index[4].status == "unreachable" and by_index[4].shadowed_by == (1,)
    assert by_index[4].different_action
    # The /24 deny carves nothing out of the two permits: they are exceptions written before it.
    assert by_index[3].status == "ok" and by_index[3].generalizes == (1, 2) and by_index[3].overlaps == ()
    assert by_index[1].status == "ok"
    # A rule crossing an earlier one of the other action without containing it is a conflict.
    crossing = parse_ios(
        "ip access-list extended X\n"
        " deny   tcp 10.0.0.0 0.0.0.255 any range 20 23\n"
        " permit tcp 10.0.0.0 0.0.1.255 any range 22 80\n"
        " deny   tcp 10.0.0.0 0.0.0.255 any eq 21\n"
    ).acls[0]
    found = {f.rule.index: f for f in analyze(crossing)}
    assert found[2].status == "conflict" and found[2].overlaps == (1,)
    assert found[3].status == "redundant" and found[3].shadowed_by == (1,) and not found[3].different_action


WORDS = [
    "permit", "deny", "ip", "tcp", "udp", "icmp", "ipv6", "any", "host", "10.0.0.1", "0.0.0.255", "10.0.0.0/8",
    "2001:db8::/32", "eq", "neq", "lt", "gt", "range", "80", "www", "65535", "established", "log", "echo", "3",
    "dscp", "object-group", "remark", "10", "sequence", "no", "!", "exit", "standard", "extended", "ipv4",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(["ip access-list extended F", "ipv6 access-list F", "ipv4 access-list F", "access-list 101"]),
    st.lists(st.lists(st.sampled_from(WORDS), max_size=9), max_size=6),
    st.sampled_from([parse_ios, parse_eos, parse_xr, parse_asa]),
)
def test_any_token_soup_parses_or_fails_with_a_line(header: str, lines: list[list[str]], parser: object) -> None:
    """Whatever the words, a parser returns filters or raises AclSyntaxError naming a line: never a crash."""
    if header.startswith("access-list"):
        text = "".join(f"{header} {' '.join(words)}\n" for words in lines)
    else:
        text = header + "\n" + "".join(f" {' '.join(words)}\n" for words in lines)
    try:
        parsed = parser(text)  # type: ignore[operator]
    except AclSyntaxError as exc:
        assert 1 <= exc.line <= len(text.splitlines())
        return
    for acl in parsed.acls:
        analyze(acl)
