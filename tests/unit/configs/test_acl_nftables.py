"""nftables rule sets into the shared ACL model: the lab firewall, `nft list ruleset` output, commands."""

from __future__ import annotations

import pytest

from netwarden.configs.acl import iptables, registry
from netwarden.configs.acl.analyze import analyze, compare, query, verdict
from netwarden.configs.acl.model import AclSyntaxError, Packet
from netwarden.configs.acl.nftables import parse
from netwarden.errors import InvalidInput
from netwarden.lab.plan import make_plan
from netwarden.lab.topology import load_topology


def _lab_firewall_text() -> str:
    plan = make_plan(load_topology())
    nodes = plan.nodes.values() if isinstance(plan.nodes, dict) else plan.nodes
    texts = [n.nftables for n in nodes if n.nftables]
    assert len(texts) == 1
    return texts[0]


def _tcp(src: str, dst: str, dport: int, *, state: str = "new") -> Packet:
    return Packet(src=src, dst=dst, proto=6, sport=40000, dport=dport, ct_state=state)


def test_registry_knows_the_platform() -> None:
    assert registry.parser("nftables") is parse


def test_lab_firewall_shadowed_rule_is_reported() -> None:
    """The lab's `tcp dport 80 counter drop` can never match: the `{ 22, 80 } accept` rule takes port 80."""
    text = _lab_firewall_text()
    assert "define srv1 = " in text
    parsed = parse(text, source="fw1/nftables.conf")
    assert parsed.unparsed == ()
    acl = parsed.acl("inet filter/forward")
    assert acl.default_action == "permit"
    findings = {f.rule.index: f for f in analyze(acl)}
    shadowed = [f for f in findings.values() if f.status == "unreachable"]
    assert [f.rule.text for f in shadowed] == [
        'ip daddr $srv1 tcp dport 80 counter drop comment "shadowed: port 80 is accepted above"'
    ]
    accept_rule = acl.rules[shadowed[0].shadowed_by[0] - 1]
    assert accept_rule.text == "ip daddr $srv1 tcp dport { 22, 80 } accept"
    assert shadowed[0].different_action
    # and the rule's line is its line in the file the lab writes
    assert text.splitlines()[shadowed[0].rule.line - 1].strip() == shadowed[0].rule.text


def test_lab_firewall_verdicts() -> None:
    acl = parse(_lab_firewall_text()).acl("inet filter/forward")
    srv1 = next(line.split()[-1] for line in _lab_firewall_text().splitlines() if line.startswith("define srv1 "))
    assert verdict(acl, _tcp("10.1.20.3", srv1, 80)) == "permit"
    assert verdict(acl, _tcp("10.1.20.3", srv1, 23)) == "deny"
    assert verdict(acl, _tcp("10.1.20.3", srv1, 443)) == "deny"
    assert verdict(acl, _tcp("10.1.20.3", srv1, 443, state="established")) == "permit"
    assert verdict(acl, _tcp("10.1.20.3", srv1, 8080)) == "permit"  # above 1024: the policy accepts
    assert verdict(acl, Packet(src="10.1.20.3", dst=srv1, proto=17, sport=5353, dport=53)) == "permit"


LISTING = """table inet filter { # handle 1
\tset blocklist { # handle 3
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 192.0.2.0/24,
\t\t\t     198.51.100.7 }
\t}

\tchain input { # handle 1
\t\ttype filter hook input priority filter; policy drop;
\t\tiifname "lo" accept # handle 4
\t\tct state invalid counter packets 3 bytes 120 drop # handle 5
\t\tct state { established, related } accept # handle 6
\t\tip saddr @blocklist drop # handle 7
\t\tmeta l4proto { tcp, udp } th dport 53 accept # handle 8
\t\ttcp dport vmap { 22 : jump ssh, 80 : accept, 23 : drop } # handle 9
\t\tip6 nexthdr icmpv6 icmpv6 type { echo-request, nd-neighbor-solicit } accept # handle 10
\t\ticmp type echo-request limit rate 5/second accept # handle 11
\t\ttcp flags & (fin|syn) == (fin|syn) drop # handle 12
\t\tip saddr 203.0.113.0/24 counter name "blocked" reject with icmp type host-unreachable # handle 13
\t}

\tchain ssh { # handle 2
\t\tip saddr != 10.0.0.0/8 return
\t\tcounter accept
\t}
}
table ip nat { # handle 2
\tchain prerouting { # handle 1
\t\ttype nat hook prerouting priority dstnat; policy accept;
\t\ttcp dport 8080 dnat to 10.0.0.5:80
\t}
}
"""


def test_listing_sets_vmap_jump_return() -> None:
    parsed = parse(LISTING)
    assert [a.name for a in parsed.acls] == ["inet filter/input", "ip nat/prerouting"]
    acl = parsed.acl("inet filter/input")
    assert acl.default_action == "deny"
    # the vmap is three rules on line 16; its jump is inlined with the return
    assert verdict(acl, _tcp("10.1.1.1", "10.9.9.9", 22)) == "permit"
    rule = query(acl, _tcp("10.1.1.1", "10.9.9.9", 22))
    assert rule is not None and rule.text == "counter accept" and rule.line == 25
    assert verdict(acl, _tcp("8.8.8.8", "10.9.9.9", 22)) == "deny"  # returned from ssh, then the policy
    assert query(acl, _tcp("8.8.8.8", "10.9.9.9", 80)) is not None
    assert verdict(acl, _tcp("8.8.8.8", "10.9.9.9", 23)) == "deny"
    assert verdict(acl, _tcp("192.0.2.77", "10.9.9.9", 80)) == "deny"  # the named interval set
    assert verdict(acl, _tcp("198.51.100.7", "10.9.9.9", 80)) == "deny"
    assert verdict(acl, Packet(src="8.8.8.8", dst="10.9.9.9", proto=17, sport=999, dport=53)) == "permit"
    assert verdict(acl, _tcp("8.8.8.8", "10.9.9.9", 5555, state="established")) == "permit"
    assert verdict(acl, _tcp("8.8.8.8", "10.9.9.9", 80, state="invalid")) == "deny"
    v6_ping = Packet(src="2001:db8::1", dst="2001:db8::2", proto=58, icmp_type=128)
    assert verdict(acl, v6_ping) == "permit"
    # ip6 expressions do not match IPv4 packets even with an ICMPv6 header
    assert verdict(acl, Packet(src="8.8.8.8", dst="10.9.9.9", proto=58, icmp_type=128)) == "deny"
    rejected = query(acl, _tcp("203.0.113.9", "10.9.9.9", 9999))
    assert rejected is not None and rejected.action == "deny" and rejected.line == 20
    nat = parsed.acl("ip nat/prerouting")
    assert verdict(nat, _tcp("8.8.8.8", "10.9.9.9", 8080)) == "permit"


def test_interfaces_and_unmodelled_conditions_are_reported() -> None:
    parsed = parse(LISTING)
    reasons = {u.line: u.reason for u in parsed.unparsed}
    assert set(reasons) == {11, 18, 19}
    assert "iifname" in reasons[11] and "an interface no rule names" in reasons[11]
    assert "limit" in reasons[18]
    assert "tcp flags" in reasons[19]
    acl = parsed.acl("inet filter/input")
    assert verdict(acl, Packet(src="8.8.8.8", dst="10.9.9.9", proto=1, icmp_type=8)) == "deny"
    on_lo = parse(LISTING, iif="lo")
    assert "interface 'lo'" in {u.line: u.reason for u in on_lo.unparsed}[11]
    assert verdict(on_lo.acl("inet filter/input"), _tcp("8.8.8.8", "10.9.9.9", 9999)) == "permit"


def test_same_policy_as_iptables_is_equivalent() -> None:
    nft = parse(
        "table ip filter {\n chain INPUT {\n  type filter hook input priority 0; policy drop;\n"
        "  ct state established,related accept\n"
        "  ip saddr 10.0.0.0/8 tcp dport { 22, 443 } accept\n"
        "  udp dport 53 accept\n }\n}\n"
    ).acl("ip filter/INPUT")
    ipt_text = (
        "*filter\n:INPUT DROP [0:0]\n"
        "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
        "-A INPUT -s 10.0.0.0/8 -p tcp -m multiport --dports 22,443 -j ACCEPT\n"
        "-A INPUT -p udp --dport 53 -j ACCEPT\nCOMMIT\n"
    )
    ipt = iptables.parse(ipt_text).acl("filter/INPUT")
    assert compare(nft, ipt) is None
    altered = iptables.parse(ipt_text.replace("22,443", "22,8443")).acl("filter/INPUT")
    witness = compare(nft, altered)
    assert witness is not None
    assert (witness.proto, witness.dport) in ((6, 443), (6, 8443))
    assert verdict(nft, witness) != verdict(altered, witness)


def test_command_form_and_variables() -> None:
    text = """#!/usr/sbin/nft -f
flush ruleset
define mgmt = { 10.0.0.0/8, 172.16.0.0/12 }
define web = 80
add table inet fw
add chain inet fw in { type filter hook input priority 0 ; policy drop ; }
add rule inet fw in ip saddr $mgmt tcp dport ssh accept
add rule inet fw in tcp dport { $web, 443 } accept
insert rule inet fw in ip6 saddr fe80::/10 accept
"""
    acl = parse(text).acl("inet fw/in")
    assert [r.line for r in acl.rules] == [9, 7, 8]
    assert verdict(acl, _tcp("172.16.5.5", "10.9.9.9", 22)) == "permit"
    assert verdict(acl, _tcp("8.8.8.8", "10.9.9.9", 22)) == "deny"
    assert verdict(acl, _tcp("8.8.8.8", "10.9.9.9", 80)) == "permit"
    assert verdict(acl, _tcp("fe80::1", "fe80::2", 9)) == "permit"


def test_unreached_chain_is_reported() -> None:
    parsed = parse("table ip t {\n chain lonely {\n  drop\n }\n}\n")
    assert parsed.acls == ()
    assert [u.line for u in parsed.unparsed] == [2]


HEAD = "table ip t {\n chain c {\n  type filter hook input priority 0;\n"


@pytest.mark.parametrize(
    ("rule", "line", "needle"),
    [
        ("ip saddr $nope drop", 4, "$nope"),
        ("ip saddr 10.0.0.256 drop", 4, "256"),
        ("tcp dport 99999 drop", 4, "99999"),
        ("ip saddr @nope drop", 4, "@nope"),
        ("ct state sleepy drop", 4, "sleepy"),
        (None, 3, "never closed"),
    ],
)
def test_bad_input_names_the_line(rule: str | None, line: int, needle: str) -> None:
    text = HEAD if rule is None else f"{HEAD}  {rule}\n }}\n}}\n"
    with pytest.raises(AclSyntaxError) as err:
        parse(text)
    assert err.value.line == line
    assert needle in str(err.value)


def test_an_acl_is_found_by_its_chain_name_alone() -> None:
    from netwarden.configs.acl.nftables import parse

    text = (
        "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n"
        "  tcp dport 22 accept\n }\n"
        " chain forward {\n  type filter hook forward priority 0; policy accept;\n }\n}\n"
        "table ip nat {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n }\n}\n"
    )
    parsed = parse(text)
    assert parsed.acl("input").name == "inet filter/input"
    with pytest.raises(InvalidInput, match="no ACL named 'forward'"):
        parsed.acl("forward")  # two chains called forward: the full name is needed
