"""iptables-save parsing into the shared ACL model: Batfish's host rule sets, capirca's renderings, chains."""

from __future__ import annotations

import json

import pytest

from netwarden.configs.acl import registry
from netwarden.configs.acl.analyze import analyze, compare, query, verdict
from netwarden.configs.acl.iptables import parse
from netwarden.configs.acl.model import AclSyntaxError, Packet
from tests.support.shared_data import shared_data

BATFISH = shared_data() / "batfish"
CAPIRCA = shared_data() / "capirca" / "tests" / "characterization_data" / "filters_expected"


def _tcp(dst: str, dport: int, *, src: str = "8.8.4.4", state: str = "new", ack: bool = False) -> Packet:
    return Packet(src=src, dst=dst, proto=6, sport=40000, dport=dport, ct_state=state, tcp_established=ack)


def test_registry_knows_the_platform() -> None:
    assert registry.parser("iptables") is parse


def test_batfish_hosts_chains_and_policies() -> None:
    text = (BATFISH / "networks/example/live/iptables/host1.iptables").read_text()
    parsed = parse(text, source="host1.iptables")
    inp = parsed.acl("filter/INPUT")
    assert inp.default_action == "deny"
    assert [r.text for r in inp.rules] == [
        "-A INPUT -p udp --dport 53 -j ACCEPT",
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
    ]
    assert [r.line for r in inp.rules] == [15, 16]
    assert parsed.acl("filter/OUTPUT").default_action == "permit"
    assert parsed.acl("mangle/PREROUTING").rules == ()
    assert parsed.unparsed == ()


def _flow(row: dict[str, object]) -> Packet:
    flow = row["Flow"]
    assert isinstance(flow, dict)
    proto = {"TCP": 6, "UDP": 17, "ICMP": 1}[str(flow["ipProtocol"])]
    ack = bool(flow.get("tcpFlagsAck")) or bool(flow.get("tcpFlagsRst"))
    return Packet(
        src=str(flow["srcIp"]),
        dst=str(flow["dstIp"]),
        proto=proto,
        sport=int(str(flow.get("srcPort", 0))),
        dport=int(str(flow.get("dstPort", 0))),
        tcp_established=ack,
        ct_state=str(flow.get("state", "NEW")).lower(),
    )


def test_same_verdicts_as_batfish_testfilters() -> None:
    """Batfish's testfilters answer (dstIp 1.1.1.1 through every host chain): same action, same line."""
    ref = json.loads((BATFISH / "tests/basic/testfilters.ref").read_text())
    rows = ref[0]["rows"]
    assert rows
    for row in rows:
        host = row["Node"]["name"]
        parsed = parse((BATFISH / f"networks/example/live/iptables/{host}.iptables").read_text())
        table, _, chain = row["Filter_Name"].partition("::")
        acl = parsed.acl(f"{table}/{chain}")
        packet = _flow(row)
        rule = query(acl, packet)
        assert verdict(acl, packet) == {"PERMIT": "permit", "DENY": "deny"}[row["Action"]], row
        if row["Line_Content"] == "default":
            assert rule is None
        else:
            assert rule is not None and rule.text.split() == str(row["Line_Content"]).split()


def test_capirca_speedway_rendering_inlines_term_chains() -> None:
    parsed = parse((CAPIRCA / "sample_multitarget.ipt").read_text())
    inp = parsed.acl("filter/INPUT")
    assert inp.default_action == "deny"
    # comment-only rules emit nothing; every -A I_term rule with a verdict is one rule, in order
    assert len(inp.rules) == 29
    assert inp.rules[0].text == "-A I_deny-from-bogons -p all -s 0.0.0.0/8 -j DROP"
    mail = query(inp, _tcp("200.1.1.5", 587))
    assert mail is not None and "I_permit-mail-services" in mail.text
    # stateful: an INVALID packet to the mail server falls through to default-deny
    invalid = query(inp, _tcp("200.1.1.5", 587, state="invalid"))
    assert invalid is not None and invalid.text == "-A I_default-deny -p all -j DROP"
    assert verdict(inp, _tcp("200.1.1.1", 2222, state="established")) == "permit"
    assert verdict(inp, _tcp("200.1.1.1", 2222, ack=True)) == "deny"  # flags mean nothing to conntrack rules
    out = parsed.acl("filter/OUTPUT")
    assert verdict(out, _tcp("10.1.2.3", 80)) == "deny"
    assert verdict(out, _tcp("8.8.8.8", 80)) == "permit"


def test_speedway_icmp_type_and_reject() -> None:
    parsed = parse((CAPIRCA / "sample_speedway.ipt").read_text())
    inp = parsed.acl("filter/INPUT")
    ping = Packet(src="192.0.2.1", dst="192.0.2.2", proto=1, icmp_type=8)
    assert verdict(inp, ping) == "permit"
    assert verdict(inp, Packet(src="192.0.2.1", dst="192.0.2.2", proto=1, icmp_type=13)) == "deny"
    forward = parsed.acl("filter/FORWARD")
    assert [r.action for r in forward.rules] == ["deny"]  # REJECT is a deny


RETURNS = """*filter
:INPUT DROP [0:0]
:CHECK - [0:0]
-A INPUT -p tcp --dport 22 -j CHECK
-A INPUT -p tcp -m multiport --dports 22,80,8000:8080 -j ACCEPT
-A INPUT -j LOG --log-prefix "dropped: "
-A CHECK -s 10.0.0.0/8 -j RETURN
-A CHECK ! -s 192.168.0.0/16 -j DROP
-A CHECK -j ACCEPT
COMMIT
"""


def test_return_and_negation_are_exact() -> None:
    parsed = parse(RETURNS)
    inp = parsed.acl("filter/INPUT")
    assert [r.line for r in inp.rules] == [8, 9, 5]  # LOG emits nothing
    # from 10/8 CHECK returns, then INPUT's multiport rule accepts port 22
    assert query(inp, _tcp("192.0.2.1", 22, src="10.1.1.1")) == inp.rules[2]
    assert verdict(inp, _tcp("192.0.2.1", 22, src="172.16.0.1")) == "deny"
    assert verdict(inp, _tcp("192.0.2.1", 22, src="192.168.1.1")) == "permit"
    assert query(inp, _tcp("192.0.2.1", 22, src="192.168.1.1")) == inp.rules[1]
    assert verdict(inp, _tcp("192.0.2.1", 8080)) == "permit"
    assert verdict(inp, _tcp("192.0.2.1", 8081)) == "deny"
    # the same policy written without the chain is equivalent; dropping the RETURN is not
    flat = parse(
        "*filter\n:INPUT DROP [0:0]\n"
        "-A INPUT -p tcp --dport 22 -s 10.0.0.0/8 -j ACCEPT\n"
        "-A INPUT -p tcp --dport 22 ! -s 192.168.0.0/16 -j DROP\n"
        "-A INPUT -p tcp -m multiport --dports 22,80,8000:8080 -j ACCEPT\nCOMMIT\n"
    ).acl("filter/INPUT")
    assert compare(inp, flat) is None
    broken = parse(RETURNS.replace("-A CHECK -s 10.0.0.0/8 -j RETURN\n", "")).acl("filter/INPUT")
    witness = compare(inp, broken)
    assert witness is not None
    assert verdict(inp, witness) != verdict(broken, witness)
    assert witness.src.startswith("10.")


def test_goto_does_not_come_back() -> None:
    text = """*filter
:FORWARD ACCEPT [0:0]
:WEB - [0:0]
-A FORWARD -p tcp -g WEB
-A FORWARD -p tcp -j DROP
-A WEB --dport 80 -j ACCEPT
COMMIT
"""
    fwd = parse(text).acl("filter/FORWARD")
    # tcp to port 443 leaves WEB at its end and returns to FORWARD's caller: the policy accepts it
    assert verdict(fwd, _tcp("192.0.2.1", 443)) == "permit"
    findings = analyze(fwd)
    assert findings[1].status == "unreachable"  # the DROP after the goto is never reached


def test_interfaces_and_unmodelled_conditions_are_reported() -> None:
    text = """*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT ! -i eth0 -p udp -j ACCEPT
-A INPUT -p icmp -m limit --limit 1/sec -j ACCEPT
-A INPUT -p tcp --syn -j DROP
COMMIT
"""
    parsed = parse(text)
    inp = parsed.acl("filter/INPUT")
    reasons = {u.line: u.reason for u in parsed.unparsed}
    assert set(reasons) == {3, 4, 5, 6}
    assert "an interface no rule names" in reasons[3]
    assert "--limit" in reasons[5] and "--syn" in reasons[6]
    # default slice: an interface no rule names, so -i lo never matches and ! -i eth0 always does
    assert inp.rules[0].matches == ()
    assert verdict(inp, Packet(src="192.0.2.1", dst="192.0.2.2", proto=17)) == "permit"
    # the lo slice
    lo_parsed = parse(text, iif="lo")
    assert "interface 'lo'" in lo_parsed.unparsed[0].reason
    lo = lo_parsed.acl("filter/INPUT")
    assert verdict(lo, _tcp("127.0.0.1", 22)) == "permit"
    eth0 = parse(text, iif="eth0").acl("filter/INPUT")
    assert verdict(eth0, Packet(src="192.0.2.1", dst="192.0.2.2", proto=17)) == "deny"


def test_user_chain_not_reached_is_reported() -> None:
    parsed = parse("*filter\n:INPUT ACCEPT [0:0]\n:ORPHAN - [0:0]\n-A ORPHAN -j DROP\nCOMMIT\n")
    assert [u.line for u in parsed.unparsed] == [4]
    assert "not reached" in parsed.unparsed[0].reason


def test_ipv6_rule_sets() -> None:
    text = (
        "# Generated by ip6tables-save\n*filter\n:INPUT DROP [0:0]\n"
        "-A INPUT -s 2001:db8::/32 -p ipv6-icmp -j ACCEPT\nCOMMIT\n"
    )
    inp = parse(text).acl("filter/INPUT")
    assert verdict(inp, Packet(src="2001:db8::1", dst="2001:db8::2", proto=58)) == "permit"
    assert verdict(inp, Packet(src="2001:db9::1", dst="2001:db8::2", proto=58)) == "deny"


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("-A INPUT -s 10.0.0.300 -j DROP", "invalid"),
        ("-A INPUT -p tcp --dport 70000 -j DROP", "70000"),
        ("-A INPUT -p nosuchproto -j DROP", "nosuchproto"),
        ("-A INPUT -m state --state SLEEPY -j DROP", "SLEEPY"),
        ('-A INPUT -m comment --comment "unterminated -j DROP', "quotes"),
    ],
)
def test_invalid_values_name_the_line(line: str, needle: str) -> None:
    with pytest.raises(AclSyntaxError) as err:
        parse(f"*filter\n:INPUT ACCEPT [0:0]\n{line}\nCOMMIT\n")
    assert err.value.line == 3
    assert needle in str(err.value)


def test_chain_loop_is_an_error() -> None:
    text = "*filter\n:INPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n-A INPUT -j A\n-A A -j B\n-A B -j A\nCOMMIT\n"
    with pytest.raises(AclSyntaxError, match="loop"):
        parse(text)


def test_registry_parse_reaches_the_parser() -> None:
    """The platform name in the registry reaches the same parser as a direct call."""
    text = (BATFISH / "networks/example/live/iptables/host2.iptables").read_text()
    parsed = registry.parse(text, "iptables", source="host2.iptables")
    out = parsed.acl("filter/OUTPUT")
    assert verdict(out, _tcp("2.128.0.101", 80)) == "deny"
    assert verdict(out, _tcp("2.128.0.102", 80)) == "permit"
