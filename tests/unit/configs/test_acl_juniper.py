"""Junos firewall filters (curly and set form) into the shared ACL model."""

from __future__ import annotations

import pytest

from netwarden.configs.acl import registry
from netwarden.configs.acl.analyze import analyze, compare, query, verdict
from netwarden.configs.acl.juniper import parse
from netwarden.configs.acl.model import AclSyntaxError, Packet
from tests.support.shared_data import shared_data

CAPIRCA = shared_data() / "capirca" / "tests" / "characterization_data" / "filters_expected"

CURLY = """
firewall {
    family inet {
        filter PROTECT-RE {
            interface-specific;
            term ssh {
                from {
                    source-address {
                        10.0.0.0/8;
                        10.1.0.0/16 except;   # a hole in the management range
                        10.1.1.0/24;
                    }
                    protocol tcp;
                    destination-port ssh;
                }
                then {
                    count ssh-in;
                    accept;
                }
            }
            term bgp {
                from {
                    source-prefix-list {
                        PEERS;
                    }
                    protocol tcp;
                    port bgp;
                }
                then accept;
            }
            term ping {
                from {
                    protocol icmp;
                    icmp-type [ echo-request echo-reply ];
                }
                then accept;
            }
            term high {
                from {
                    protocol [ tcp udp ];
                    destination-port 1024-65535;
                    tcp-established;
                }
                then accept;
            }
            term log-rest {
                then {
                    count rest;
                    log;
                    next term;
                }
            }
            term telnet {
                from {
                    protocol tcp;
                    destination-port telnet;
                }
                then {
                    reject tcp-reset;
                }
            }
        }
    }
}
policy-options {
    prefix-list PEERS {
        192.0.2.1/32;
        192.0.2.2/32;
    }
}
"""

SET = """
set policy-options prefix-list PEERS 192.0.2.1/32
set policy-options prefix-list PEERS 192.0.2.2/32
set firewall family inet filter PROTECT-RE interface-specific
set firewall family inet filter PROTECT-RE term ssh from source-address 10.0.0.0/8
set firewall family inet filter PROTECT-RE term ssh from source-address 10.1.0.0/16 except
set firewall family inet filter PROTECT-RE term ssh from source-address 10.1.1.0/24
set firewall family inet filter PROTECT-RE term ssh from protocol tcp
set firewall family inet filter PROTECT-RE term ssh from destination-port 22
set firewall family inet filter PROTECT-RE term ssh then count ssh-in
set firewall family inet filter PROTECT-RE term ssh then accept
set firewall family inet filter PROTECT-RE term bgp from source-prefix-list PEERS
set firewall family inet filter PROTECT-RE term bgp from protocol tcp
set firewall family inet filter PROTECT-RE term bgp from port 179
set firewall family inet filter PROTECT-RE term bgp then accept
set firewall family inet filter PROTECT-RE term ping from protocol icmp
set firewall family inet filter PROTECT-RE term ping from icmp-type [ echo-request echo-reply ]
set firewall family inet filter PROTECT-RE term ping then accept
set firewall family inet filter PROTECT-RE term high from protocol tcp
set firewall family inet filter PROTECT-RE term high from protocol udp
set firewall family inet filter PROTECT-RE term high from destination-port 1024-65535
set firewall family inet filter PROTECT-RE term high from tcp-established
set firewall family inet filter PROTECT-RE term high then accept
set firewall family inet filter PROTECT-RE term log-rest then count rest
set firewall family inet filter PROTECT-RE term log-rest then next term
set firewall family inet filter PROTECT-RE term telnet from protocol tcp
set firewall family inet filter PROTECT-RE term telnet from destination-port telnet
set firewall family inet filter PROTECT-RE term telnet then reject tcp-reset
"""


def _tcp(src: str, dport: int, *, sport: int = 40000, ack: bool = False) -> Packet:
    return Packet(src=src, dst="198.51.100.1", proto=6, sport=sport, dport=dport, tcp_established=ack)


def test_registry_knows_the_platform() -> None:
    assert registry.parser("juniper_junos") is parse


def test_curly_form_terms_and_lines() -> None:
    parsed = parse(CURLY)
    acl = parsed.acl("PROTECT-RE")
    assert acl.default_action == "deny"
    # log-rest only counts and goes to the next term: no rule
    assert [r.text for r in acl.rules] == ["term ssh {", "term bgp {", "term ping {", "term high {", "term telnet {"]
    assert [r.line for r in acl.rules] == [6, 21, 31, 38, 53]
    assert [r.action for r in acl.rules] == ["permit", "permit", "permit", "permit", "deny"]
    assert parsed.unparsed == ()


def test_except_follows_the_longest_match() -> None:
    acl = parse(CURLY).acl("PROTECT-RE")
    assert query(acl, _tcp("10.2.0.1", 22)) == acl.rules[0]
    assert query(acl, _tcp("10.1.2.1", 22)) is None  # in the except hole
    assert query(acl, _tcp("10.1.1.9", 22)) == acl.rules[0]  # a longer prefix inside the hole
    assert verdict(acl, _tcp("11.0.0.1", 22)) == "deny"


def test_prefix_lists_ports_icmp_and_flags() -> None:
    acl = parse(CURLY).acl("PROTECT-RE")
    assert query(acl, _tcp("192.0.2.2", 80, sport=179)) == acl.rules[1]  # `port` is source or destination
    assert query(acl, _tcp("192.0.2.3", 179)) is None
    ping = Packet(src="203.0.113.9", dst="198.51.100.1", proto=1, icmp_type=8)
    assert query(acl, ping) == acl.rules[2]
    assert verdict(acl, Packet(src="203.0.113.9", dst="198.51.100.1", proto=1, icmp_type=13)) == "deny"
    assert verdict(acl, _tcp("203.0.113.9", 5000, ack=True)) == "permit"
    assert verdict(acl, _tcp("203.0.113.9", 5000)) == "deny"
    assert query(acl, _tcp("203.0.113.9", 23)) == acl.rules[4]
    # an IPv4 filter never matches IPv6 packets: they get the implicit discard
    assert query(acl, Packet(src="2001:db8::1", dst="2001:db8::2", proto=1, icmp_type=8)) is None


def test_set_form_is_the_same_filter() -> None:
    curly = parse(CURLY).acl("PROTECT-RE")
    set_form = parse(SET).acl("PROTECT-RE")
    assert len(set_form.rules) == 5
    first = "set firewall family inet filter PROTECT-RE term ssh from source-address 10.0.0.0/8"
    assert (set_form.rules[0].text, set_form.rules[0].line) == (first, 5)
    assert compare(curly, set_form) is None
    altered = parse(SET.replace("destination-port 1024-65535", "destination-port 1025-65535")).acl("PROTECT-RE")
    witness = compare(curly, altered)
    assert witness is not None
    assert witness.dport == 1024 and witness.tcp_established
    assert verdict(curly, witness) == "permit" and verdict(altered, witness) == "deny"


def test_terms_without_terminating_action_accept() -> None:
    text = """firewall { filter COUNT-ONLY {
        term web { from { protocol tcp; destination-port [ http https ]; } then count web; }
        term nothing-said { from { protocol udp; } }
        term next { from { protocol tcp; } then { count all-tcp; next term; } }
        term drop-tcp { from { protocol tcp; } then discard; }
    } }"""
    acl = parse(text).acl("COUNT-ONLY")
    assert [(r.text, r.action) for r in acl.rules] == [
        ("term web { from { protocol tcp; destination-port [ http https ]; } then count web; }", "permit"),
        ("term nothing-said { from { protocol udp; } }", "permit"),
        ("term drop-tcp { from { protocol tcp; } then discard; }", "deny"),
    ]
    assert verdict(acl, _tcp("203.0.113.1", 443)) == "permit"
    assert verdict(acl, _tcp("203.0.113.1", 22)) == "deny"


def test_inet6_filters_and_shadowing() -> None:
    text = """
firewall {
    family inet6 {
        filter V6-IN {
            term any-icmp6 { from { next-header icmp6; } then accept; }
            term echo { from { next-header icmp6; icmp-type echo-request; } then discard; }
            term docs { from { destination-address { 2001:db8::/32; } } then accept; }
        }
    }
}"""
    acl = parse(text).acl("inet6 V6-IN")
    echo = Packet(src="2001:db8::1", dst="2001:db8::2", proto=58, icmp_type=128)
    assert verdict(acl, echo) == "permit"
    findings = analyze(acl)
    assert findings[1].status == "unreachable" and findings[1].shadowed_by == (1,)
    assert findings[2].status != "unreachable"


def test_capirca_rendering_parses() -> None:
    parsed = parse((CAPIRCA / "sample_multitarget.jcl").read_text())
    assert [a.name for a in parsed.acls] == ["edge-inbound", "edge-outbound"]
    inbound = parsed.acl("edge-inbound")
    assert len(inbound.rules) == 8
    assert verdict(inbound, Packet(src="8.8.8.8", dst="200.1.1.5", proto=6, sport=3333, dport=995)) == "permit"
    assert verdict(inbound, Packet(src="10.0.0.1", dst="200.1.1.5", proto=6, sport=3333, dport=995)) == "deny"
    assert parsed.unparsed == ()


def test_loopback_rendering_reports_what_it_cannot_model() -> None:
    parsed = parse((CAPIRCA / "sample_juniper_loopback.jcl").read_text())
    acl = parsed.acl("LOOPBACK")
    reasons = [u.reason for u in parsed.unparsed]
    assert sum("configured-neighbors-only" in r for r in reasons) == 2
    assert any("is-fragment" in r for r in reasons)
    assert sum("packet-length" in r for r in reasons) == 2
    # the `next term` term (ratelimit-large-dns) is not a rule; the others are, in order
    assert "term ratelimit-large-dns {" not in [r.text for r in acl.rules]
    assert len(acl.rules) == 22
    # SNMP from INTERNAL to INTERNAL is accepted, from outside it reaches discard-default
    snmp = Packet(src="10.1.1.1", dst="10.2.2.2", proto=17, sport=5000, dport=161)
    assert verdict(acl, snmp) == "permit"
    assert query(acl, Packet(src="8.8.8.8", dst="10.2.2.2", proto=17, sport=5000, dport=161)) == acl.rules[-1]


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("firewall {\n filter F {\n  term a {\n   from { source-address { 10.0.0.300/8; } }\n", 3, "never closed"),
        ("firewall { filter F {\n term a {\n from { source-address { 10.0.0.300/8; } } } } }", 3, "10.0.0.300"),
        ("firewall { filter F {\n term a {\n from { protocol tcp; destination-port nosuch; } } } }", 3, "nosuch"),
        ("firewall { filter F {\n term a {\n from { protocol nosuchproto; } } } }", 3, "nosuchproto"),
        ("firewall { filter F { term a { then accept; } } } }", 1, "without a matching"),
    ],
)
def test_bad_input_names_the_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(AclSyntaxError) as err:
        parse(text)
    assert err.value.line == line
    assert needle in str(err.value)


def test_non_ip_families_are_reported_not_guessed() -> None:
    parsed = parse("firewall { family bridge { filter L2 { term a { then accept; } } } }")
    assert parsed.acls == ()
    assert "bridge" in parsed.unparsed[0].reason
