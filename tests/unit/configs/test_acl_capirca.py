"""Capirca policies into the shared ACL model, and the corpus proof: every rendering equals its policy."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from netwarden.configs.acl import registry
from netwarden.configs.acl.analyze import query, verdict
from netwarden.configs.acl.capirca import parse
from netwarden.configs.acl.model import AclSyntaxError, Packet
from netwarden.errors import InvalidInput
from tests.support.shared_data import shared_data

CHAR = shared_data() / "capirca" / "tests" / "characterization_data"
POLICIES = CHAR / "policies" / "pol"
EXPECTED = CHAR / "filters_expected"


def _policy(stem: str) -> tuple[str, str]:
    path = POLICIES / f"{stem}.pol"
    return path.read_text(), str(path)


def _tcp(src: str, dst: str, dport: int, *, sport: int = 40000, ack: bool = False, state: str = "new") -> Packet:
    return Packet(src=src, dst=dst, proto=6, sport=sport, dport=dport, tcp_established=ack, ct_state=state)


def test_registry_knows_the_platform() -> None:
    assert registry.parser("capirca") is parse


def test_one_acl_per_target_and_family() -> None:
    text, source = _policy("sample_multitarget")
    parsed = parse(text, source=source)
    names = [a.name for a in parsed.acls]
    assert names[:10] == [
        "juniper:edge-inbound",
        "cisco:edge-inbound",
        "cisco:ipv6-edge-inbound",
        "speedway:INPUT",
        "ciscoasa:asa_in",
        "demo:edge-inbound",
        "arista:edge-inbound",
        "brocade:edge-inbound",
        "ciscoxr:edge-inbound",
        "cisconx:edge-inbound",
    ]
    assert names[10:] == [
        "juniper:edge-outbound",
        "cisco:edge-outbound",
        "cisco:ipv6-edge-outbound",
        "speedway:OUTPUT",
        "ciscoasa:asa_out",
    ]
    assert parsed.unparsed == ()
    juniper = parsed.acl("juniper:edge-inbound")
    # included terms carry the #include line; the policy's own terms their `term` line
    assert [(r.line, r.text) for r in juniper.rules[:4]] == [
        (21, "term deny-from-bogons {"),
        (21, "term deny-from-reserved {"),
        (21, "term deny-to-rfc1918 {"),
        (23, "term permit-mail-services {"),
    ]
    assert all(a.default_action == "deny" for a in parsed.acls)


def test_definitions_resolve_names_and_families() -> None:
    text, source = _policy("sample_multitarget")
    parsed = parse(text, source=source)
    v4 = parsed.acl("juniper:edge-inbound")
    v6 = parsed.acl("cisco:ipv6-edge-inbound")
    # MAIL_SERVICES = SMTP ESMTP SMTP_SSL POP_SSL, each a name for a port/tcp
    for port in (25, 465, 587, 995):
        assert verdict(v4, _tcp("8.8.8.8", "200.1.1.5", port)) == "permit"
    assert verdict(v4, _tcp("8.8.8.8", "200.1.1.5", 110)) == "deny"
    # BOGON's IPv6 entries are dropped from the inet filter, kept in the inet6 one
    assert query(v4, _tcp("2001:db8::1", "200.1.1.5", 25)) is None
    bogon = query(v6, _tcp("2001:db8::1", "2001:db9::1", 25))
    assert bogon is not None and bogon.text == "term deny-from-bogons {"
    # terms whose addresses are all IPv4 are absent from the IPv6 filter (they match nothing)
    mail = next(r for r in v6.rules if r.text == "term permit-mail-services {")
    assert mail.matches == ()


def test_established_is_flags_on_acls_and_state_on_speedway() -> None:
    text, source = _policy("sample_multitarget")
    parsed = parse(text, source=source)
    juniper = parsed.acl("juniper:edge-inbound")
    speedway = parsed.acl("speedway:INPUT")
    assert verdict(juniper, _tcp("8.8.8.8", "200.1.1.1", 2222, ack=True)) == "permit"
    assert verdict(juniper, _tcp("8.8.8.8", "200.1.1.1", 2222)) == "deny"
    assert verdict(speedway, _tcp("8.8.8.8", "200.1.1.1", 2222, state="established")) == "permit"
    assert verdict(speedway, _tcp("8.8.8.8", "200.1.1.1", 2222, ack=True)) == "deny"
    # speedway accepts only tracked states: an INVALID packet to the mail server is dropped
    assert verdict(speedway, _tcp("8.8.8.8", "200.1.1.5", 25, state="invalid")) == "deny"
    assert verdict(juniper, _tcp("8.8.8.8", "200.1.1.5", 25, state="invalid")) == "permit"


def _write_defs(tmp: Path) -> Path:
    defs = tmp / "def"
    defs.mkdir()
    (defs / "NETWORKS.net").write_text(
        "# test networks\n"
        "INTERNAL = 10.0.0.0/8   # rfc1918\n"
        "           LAB\n"
        "LAB = 192.168.0.0/16\n"
        "      2001:db8::/32\n"
        "HOLE = 10.1.0.0/16\n"
        "LOOP1 = LOOP2\n"
        "LOOP2 = LOOP1\n"
    )
    (defs / "SERVICES.svc").write_text(
        "DNS = 53/tcp 53/udp\nWEB = HTTP\n      443/tcp\nHTTP = 80/tcp\nHIGH = 1024-65535/udp\nNTP = 123/udp\n"
    )
    return defs


POLICY = """header {
  target:: juniper F inet
  target:: cisco F mixed
  target:: speedway INPUT ACCEPT
}
term dns {
  source-address:: INTERNAL
  source-exclude:: HOLE
  protocol:: tcp udp
  destination-port:: DNS
  option:: established
  action:: accept
}
term web {
  protocol:: tcp
  destination-port:: WEB
  platform-exclude:: cisco
  action:: reject
}
term old {
  protocol:: udp
  expiration:: 2020-01-01
  action:: accept
}
term skip {
  action:: next
}
"""


def test_options_excludes_platforms_and_expiry(tmp_path: Path) -> None:
    defs = _write_defs(tmp_path)
    parsed = parse(POLICY, defs=defs, today=datetime.date(2024, 5, 1))
    juniper = parsed.acl("juniper:F")
    cisco = parsed.acl("cisco:F")
    speedway = parsed.acl("speedway:INPUT")
    assert [r.text for r in juniper.rules] == ["term dns {", "term web {"]  # `old` expired, `next` no rule
    assert [r.text for r in cisco.rules] == ["term dns {"]
    assert speedway.default_action == "permit"
    assert "expired on 2020-01-01" in parsed.unparsed[0].reason
    # established on tcp+udp: destination 53 or 1024-65535 (FixHighPorts); juniper flags tcp only when alone
    assert verdict(juniper, _tcp("10.2.0.1", "8.8.8.8", 53)) == "permit"
    assert verdict(juniper, _tcp("10.2.0.1", "8.8.8.8", 5000)) == "permit"
    assert verdict(juniper, _tcp("10.1.0.1", "8.8.8.8", 53)) == "deny"  # excluded
    assert verdict(cisco, _tcp("10.2.0.1", "8.8.8.8", 5000)) == "deny"  # cisco marks its tcp lines established
    assert verdict(cisco, _tcp("10.2.0.1", "8.8.8.8", 5000, ack=True)) == "permit"
    assert verdict(cisco, Packet(src="10.2.0.1", dst="8.8.8.8", proto=17, sport=9, dport=5000)) == "permit"
    assert verdict(cisco, Packet(src="2001:db8::1", dst="2001:db9::1", proto=17, dport=53)) == "deny"
    ipv6 = parsed.acl("cisco:ipv6-F")
    assert verdict(ipv6, Packet(src="2001:db8::1", dst="2001:db9::1", proto=17, dport=53)) == "permit"
    # speedway: established means conntrack, no high ports
    assert verdict(speedway, _tcp("10.2.0.1", "8.8.8.8", 53, state="established")) == "permit"
    assert query(speedway, _tcp("10.2.0.1", "8.8.8.8", 5000, state="new")) is None
    assert verdict(juniper, _tcp("8.8.8.8", "10.0.0.1", 443)) == "deny"
    web = query(juniper, _tcp("8.8.8.8", "10.0.0.1", 443))
    assert web is not None and web.text == "term web {"
    # only one platform
    assert [a.name for a in parse(POLICY, defs=defs, target="speedway").acls] == ["speedway:INPUT"]


@pytest.mark.parametrize(
    ("term", "needle"),
    [
        ("  protocol:: tcp\n  destination-port:: DNS\n", "action"),
        ("  destination-port:: DNS\n  action:: accept\n", "need a protocol"),
        ("  protocol:: tcp\n  destination-port:: NTP\n  action:: accept\n", "no port for tcp"),
        ("  protocol:: tcp\n  destination-port:: NOPE\n  action:: accept\n", "NOPE"),
        ("  source-address:: NOWHERE\n  action:: accept\n", "NOWHERE"),
        ("  source-address:: LOOP1\n  action:: accept\n", "refers to itself"),
        ("  protocol:: icmp\n  option:: established\n  action:: accept\n", "established"),
    ],
)
def test_bad_terms_name_the_line(tmp_path: Path, term: str, needle: str) -> None:
    defs = _write_defs(tmp_path)
    text = "header {\n  target:: juniper F\n}\n\nterm t {\n" + term + "}\n"
    with pytest.raises(AclSyntaxError) as err:
        parse(text, defs=defs)
    assert err.value.line == 5
    assert needle in str(err.value)


def test_structure_errors(tmp_path: Path) -> None:
    defs = _write_defs(tmp_path)
    with pytest.raises(AclSyntaxError, match="never closed"):
        parse("header {\n  target:: juniper F\n}\nterm t {\n  action:: accept\n", defs=defs)
    with pytest.raises(AclSyntaxError, match="before any header"):
        parse("term t {\n  action:: accept\n}\n", defs=defs)
    with pytest.raises(AclSyntaxError, match="no such file"):
        parse("#include 'nope.inc'\n", defs=defs, policies=tmp_path)
    with pytest.raises(InvalidInput, match="definitions"):
        parse("header {\n  target:: juniper F\n}\n", source="/nonexistent/policies/y.pol")


def test_targets_outside_the_model_are_reported(tmp_path: Path) -> None:
    defs = _write_defs(tmp_path)
    parsed = parse(
        "header {\n  target:: gce my-net\n  target:: juniper F\n}\nterm t {\n  action:: accept\n}\n", defs=defs
    )
    assert [a.name for a in parsed.acls] == ["juniper:F"]
    assert [(u.line, "gce" in u.reason) for u in parsed.unparsed] == [(2, True)]
