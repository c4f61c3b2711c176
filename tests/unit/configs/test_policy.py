"""Compliance policies: the default pack on real configs (Batfish IOS, FRR topotests, the lab firewall) and
hand-checked samples of the other platforms; every rule kind; policy-file errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from netwarden.configs.policy import (
    PolicyError,
    RuleResult,
    check,
    check_text,
    default_policies,
    load_policies,
    load_policy,
    score,
    summarize,
)
from netwarden.configs.render import DeviceFacts, render_config
from netwarden.configs.syntax import syntaxes
from netwarden.configs.tree import parse
from tests.support.shared_data import shared_data

BATFISH = shared_data() / "batfish" / "networks" / "example" / "live" / "configs"
FRR = shared_data() / "frr" / "tests" / "topotests"
LAB_TOPOLOGY = Path(__file__).resolve().parents[3] / "src" / "netwarden" / "lab" / "topologies" / "default.yml"

needs_batfish = pytest.mark.skipif(not BATFISH.is_dir(), reason=f"shared corpus not found at {BATFISH}")


def facts(name: str, platform: str, **kw: object) -> DeviceFacts:
    return DeviceFacts(name=name, platform=platform, **kw)  # type: ignore[arg-type]


def statuses(results: list[RuleResult]) -> dict[str, str]:
    return {r.rule: r.status for r in results}


def run(text: str, platform: str, name: str = "dev", **kw: object) -> dict[str, RuleResult]:
    return {r.rule: r for r in check(parse(text, platform), facts(name, platform, **kw), default_policies())}


# ---------------------------------------------------------------- the default pack


def test_default_pack_loads_and_names_known_platforms():
    (policy,) = default_policies()
    assert policy.name == "default"
    ids = [r.id for r in policy.rules]
    assert len(ids) == len(set(ids))
    for rule in policy.rules:
        assert rule.scope.platform, rule.id
        assert set(rule.scope.platform) <= set(syntaxes()), rule.id
        assert rule.title and rule.severity in ("critical", "major", "minor", "warning", "info")
    covered = {p for r in policy.rules for p in r.scope.platform or []}
    assert covered == {"cisco_ios", "cisco_nxos", "arista_eos", "juniper_junos", "frr", "nftables"}


# What the Batfish example network's live configs hold, read from the files: no "transport input" under
# "line vty 0 4" anywhere; NTP servers on the border routers; remote logging on the cores; AAA only on
# as2border1; no banner, SNMP, "ip ssh version" or "service password-encryption" anywhere; the only
# address-less interface (Ethernet0/0) is shut; no password lines.
NTP = {"as1border2", "as2border1", "as2border2", "as3border1", "as3border2"}
SYSLOG = {"as1core1", "as2core1", "as2core2", "as3core1"}
AAA = {"as2border1"}


@needs_batfish
@pytest.mark.parametrize("path", sorted(BATFISH.glob("*.cfg")), ids=lambda p: p.stem)
def test_default_pack_on_batfish_configs(path):
    text = path.read_text()
    device = path.stem
    results = check(parse(text, "cisco_ios"), facts(device, "cisco_ios"), default_policies())
    got = statuses(results)
    assert got == {
        "ios-vty-ssh-only": "fail",
        "ios-ssh-version-2": "fail",
        "ios-snmp-community": "not_applicable",
        "ios-ntp": "pass" if device in NTP else "fail",
        "ios-syslog": "pass" if device in SYSLOG else "fail",
        "ios-aaa": "pass" if device in AAA else "fail",
        "ios-banner": "fail",
        "ios-unused-interfaces-shut": "pass",
        "ios-password-encryption": "fail",
        "ios-no-reversible-passwords": "pass",
    }
    vty = next(r for r in results if r.rule == "ios-vty-ssh-only")
    vty_line = text.splitlines().index("line vty 0 4") + 1
    assert [(e.line, e.text) for e in vty.evidence] == [(vty_line, "line vty 0 4")]
    assert vty.remediation == "line vty 0 4\n transport input ssh"
    assert vty.severity == "critical" and vty.device == device and vty.policy == "default"
    if device in NTP:
        ntp = next(r for r in results if r.rule == "ios-ntp")
        assert ntp.evidence[0].text == "ntp server 18.18.18.18"
    summary = summarize(device, results)
    assert summary.not_applicable == 1
    assert summary.passed + summary.failed == 9
    assert summary.score == pytest.approx(summary.passed / 9)


@needs_batfish
def test_changing_a_batfish_config_flips_the_rules():
    text = (BATFISH / "as2dept1.cfg").read_text()
    lines = text.splitlines()
    vty = lines.index("line vty 0 4")
    shut = lines.index(" shutdown")
    changed = lines[:shut] + lines[shut + 1 : vty + 1] + [" transport input ssh"] + lines[vty + 1 : -1]
    changed += [
        "snmp-server community Public RO",
        "snmp-server community n0tguessable RO",
        "username ops privilege 15 password 7 0822455D0A16",
        "ip ssh version 2",
        "service password-encryption",
        "banner motd ^C",
        "Authorised access only",
        "^C",
        "end",
    ]
    results = run("\n".join(changed) + "\n", "cisco_ios", "as2dept1")
    assert results["ios-vty-ssh-only"].status == "pass"
    assert results["ios-ssh-version-2"].status == "pass"
    assert results["ios-password-encryption"].status == "pass"
    assert results["ios-banner"].status == "pass"
    snmp = results["ios-snmp-community"]
    assert snmp.status == "fail"
    assert [e.text for e in snmp.evidence] == ["snmp-server community Public RO"]
    assert snmp.remediation == "no snmp-server community Public"
    weak = results["ios-no-reversible-passwords"]
    assert weak.status == "fail" and weak.evidence[0].text.startswith("username ops")
    unused = results["ios-unused-interfaces-shut"]
    assert unused.status == "fail"
    assert [(e.line, e.text) for e in unused.evidence] == [(54, "interface Ethernet0/0")]
    assert unused.remediation == "interface Ethernet0/0\n shutdown"


def test_truncated_config_gets_a_failing_completeness_result():
    results = check(
        parse("hostname a\nntp server 10.0.0.1\ninterface Gi1\n", "cisco_ios"),
        facts("a", "cisco_ios"),
        default_policies(),
    )
    assert results[0].rule == "config-complete" and results[0].status == "fail"
    assert results[0].evidence[0].line == 3
    assert statuses(results)["ios-ntp"] == "pass"


# ---------------------------------------------------------------- FRR


@pytest.mark.skipif(not FRR.is_dir(), reason="FRR corpus not found")
def test_default_pack_on_frr_topotest_configs():
    # The topotest files configure interfaces and OSPF only: no log target, no password
    # encryption, and no password lines at all.
    for path in sorted(FRR.glob("*/*/*.conf")):
        got = statuses(check(parse(path.read_text(), "frr"), facts(path.parent.name, "frr"), default_policies()))
        assert got == {
            "frr-no-cleartext-password": "pass",
            "frr-password-encryption": "fail",
            "frr-logging": "fail",
        }, path


FRR_RUNNING = """Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname r2
password zebra
enable password s3cret
log file /var/log/frr/frr.log informational
service integrated-vtysh-config
!
interface eth1
 ip address 10.0.0.1/30
exit
!
end
"""


def test_frr_cleartext_and_encrypted_passwords():
    results = run(FRR_RUNNING, "frr", "r2")
    weak = results["frr-no-cleartext-password"]
    assert weak.status == "fail"
    assert [(e.line, e.text) for e in weak.evidence] == [(8, "password zebra"), (9, "enable password s3cret")]
    assert results["frr-logging"].status == "pass"
    encrypted = FRR_RUNNING.replace("password zebra", "password 8 Cb/yfFsI.abgg").replace(
        "enable password s3cret", "enable password 8 7vBmQq2kYAgA2\nservice password-encryption"
    )
    results = run(encrypted, "frr", "r2")
    assert results["frr-no-cleartext-password"].status == "pass"
    assert results["frr-password-encryption"].status == "pass"


def test_the_shipped_frr_template_passes_the_frr_rules():
    device = facts("r1", "frr", site="hq", role="router", vars={"log_file": "/var/log/frr/r1.log"})
    intended = render_config(device).text
    assert set(statuses(check(parse(intended, "frr"), device, default_policies())).values()) == {"pass"}


# ---------------------------------------------------------------- nftables (the lab firewall)


def lab_firewall_ruleset() -> str:
    topology = yaml.safe_load(LAB_TOPOLOGY.read_text())
    return str(topology["nodes"]["fw1"]["nftables"]).replace("$srv1", "10.1.10.2")


def test_lab_firewall_forward_chain_accepts_by_default():
    results = run(lab_firewall_ruleset(), "nftables", "fw1")
    rule = results["nft-default-drop"]
    assert rule.status == "fail"
    assert [e.text for e in rule.evidence] == ["chain forward"]
    assert "counter drop" in rule.remediation


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("type filter hook input priority 0; policy drop;\n    ct state established accept", "pass"),
        ("type filter hook forward priority 0; policy accept;\n    tcp dport 22 accept\n    counter drop", "pass"),
        ('type filter hook input priority 0;\n    tcp dport 22 accept\n    log prefix "in: " drop', "pass"),
        ("type filter hook input priority 0;\n    reject with icmp type admin-prohibited", "pass"),
        ("type filter hook input priority 0; policy accept;\n    tcp dport 23 drop", "fail"),
        ("type filter hook input priority 0; policy accept;\n    counter drop\n    tcp dport 22 accept", "fail"),
        ("type nat hook postrouting priority 100;\n    masquerade", "not_applicable"),
        ("type filter hook output priority 0; policy accept;", "not_applicable"),
    ],
)
def test_nftables_base_chain_default(body, status):
    text = f"table inet filter {{\n  chain c {{\n    {body}\n  }}\n}}\n"
    assert run(text, "nftables")["nft-default-drop"].status == status


# ---------------------------------------------------------------- Junos, EOS, NX-OS samples

JUNOS = """system {
    host-name r1;
    login {
        message "Authorised access only";
    }
    services {
        ssh;
        telnet;
    }
    syslog {
        host 10.0.0.9 {
            any notice;
        }
    }
    ntp {
        server 10.0.0.1;
    }
}
interfaces {
    ge-0/0/0 {
        unit 0 {
            family inet {
                address 10.0.0.1/24;
            }
        }
    }
    ge-0/0/1 {
        disable;
    }
    ge-0/0/2;
    lo0 {
        unit 0;
    }
}
snmp {
    community public {
        authorization read-only;
    }
    community "n0t-public" {
        authorization read-only;
    }
}
"""

JUNOS_SET = """set system host-name r1
set system login message "Authorised access only"
set system services ssh
set system services telnet
set system syslog host 10.0.0.9 any notice
set system ntp server 10.0.0.1
set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24
set interfaces ge-0/0/1 disable
set interfaces ge-0/0/2
set interfaces lo0 unit 0
set snmp community public authorization read-only
set snmp community n0t-public authorization read-only
"""


@pytest.mark.parametrize("text", [JUNOS, JUNOS_SET], ids=["curly", "set"])
def test_default_pack_on_junos(text):
    results = run(text, "juniper_junos", "mx1")
    assert statuses(list(results.values())) == {
        "junos-no-telnet": "fail",
        "junos-snmp-community": "fail",
        "junos-ntp": "pass",
        "junos-syslog": "pass",
        "junos-aaa": "fail",
        "junos-banner": "pass",
        "junos-unused-interfaces-disabled": "fail",
    }
    assert [e.text for e in results["junos-no-telnet"].evidence] == ["telnet"]
    assert [e.text for e in results["junos-unused-interfaces-disabled"].evidence] == ["ge-0/0/2"]
    assert results["junos-snmp-community"].remediation == "delete snmp community public"
    clean = text.replace("telnet", "netconf").replace("public", "s3cret")
    results = run(clean, "juniper_junos", "mx1")
    assert results["junos-no-telnet"].status == "pass"
    assert results["junos-snmp-community"].status == "pass"


EOS = """! Command: show running-config
! device: leaf1 (vEOS, EOS-4.28.0F)
!
hostname leaf1
username admin privilege 15 role network-admin secret sha512 $6$abc$def
username guest nopassword
!
snmp-server community public ro
ntp server 10.0.0.1
logging vrf MGMT host 10.0.0.9
aaa authentication login default group tacacs+ local
!
banner login
Authorised access only
EOF
!
management telnet
   no shutdown
!
interface Ethernet1
   description uplink
   no switchport
   ip address 10.0.0.2/31
!
interface Ethernet2
!
interface Ethernet3
   shutdown
!
interface Management1
   ip address 192.0.2.10/24
!
end
"""


def test_default_pack_on_eos():
    results = run(EOS, "arista_eos", "leaf1")
    assert statuses(list(results.values())) == {
        "eos-no-telnet": "fail",
        "eos-snmp-community": "fail",
        "eos-ntp": "pass",
        "eos-syslog": "pass",
        "eos-aaa": "pass",
        "eos-banner": "pass",
        "eos-unused-interfaces-shut": "fail",
        "eos-no-weak-passwords": "fail",
    }
    assert [e.text for e in results["eos-unused-interfaces-shut"].evidence] == ["interface Ethernet2"]
    assert [e.text for e in results["eos-no-weak-passwords"].evidence] == ["username guest nopassword"]


NXOS = """!Command: show running-config
!Running configuration last done at: Mon Jan  1 10:00:00 2024
!Time: Mon Jan  1 10:05:00 2024

version 9.3(5) Bios:version
hostname n9k1
feature telnet
feature tacacs+
username admin password 5 $5$abc$def  role network-admin
username backup password cleartext1 role network-operator
snmp-server community private group network-operator
ntp server 10.0.0.1 use-vrf management
logging server 10.0.0.9 5 use-vrf management
aaa authentication login default group TACACS
banner motd #Authorised access only#

interface Ethernet1/1
  description uplink
  no switchport
  ip address 10.0.0.1/31
  no shutdown

interface Ethernet1/2
  no shutdown

interface Ethernet1/3

interface mgmt0
  vrf member management
  ip address 192.0.2.20/24
"""


def test_default_pack_on_nxos():
    results = run(NXOS, "cisco_nxos", "n9k1")
    assert statuses(list(results.values())) == {
        "nxos-ssh-only": "fail",
        "nxos-snmp-community": "fail",
        "nxos-ntp": "pass",
        "nxos-syslog": "pass",
        "nxos-aaa": "pass",
        "nxos-banner": "pass",
        "nxos-unused-interfaces-shut": "fail",
        "nxos-no-cleartext-passwords": "fail",
    }
    assert [(e.line, e.text) for e in results["nxos-unused-interfaces-shut"].evidence] == [(24, "no shutdown")]
    assert [e.text for e in results["nxos-no-cleartext-passwords"].evidence] == [
        "username backup password cleartext1 role network-operator"
    ]


# ---------------------------------------------------------------- rule kinds and scopes


def write_policy(tmp_path: Path, body: str, name: str = "site.yml") -> Path:
    path = tmp_path / name
    path.write_text(body)
    return path


@needs_batfish
def test_value_range_and_set(tmp_path):
    policy = load_policy(
        write_policy(
            tmp_path,
            r"""
policy: site
scope: {platform: cisco_ios}
rules:
  - id: console-timeout
    kind: value
    block: '^line (con|aux) '
    regex: '^exec-timeout (\d+)'
    range: [1, 15]
    remediation: "{{ block }} has exec-timeout {{ values | join(',') }}"
  - id: ntp-servers
    kind: value
    regex: '^ntp server (\S+)'
    in: [18.18.18.18, 23.23.23.23]
  - id: bgp-as
    kind: value
    regex: '^router bgp (\d+)'
    range: [64512, 65534]
""",
        )
    )
    text = (BATFISH / "as2border1.cfg").read_text()
    results = {r.rule: r for r in check(parse(text, "cisco_ios"), facts("as2border1", "cisco_ios"), [policy])}
    timeout = results["console-timeout"]
    assert timeout.status == "fail"
    assert [e.text for e in timeout.evidence] == ["exec-timeout 0 0", "exec-timeout 0 0"]
    assert "range 1..15" in timeout.message
    assert results["ntp-servers"].status == "pass"
    # as2border1 runs BGP AS 2, a public AS number.
    assert results["bgp-as"].status == "fail" and results["bgp-as"].evidence[0].text == "router bgp 2"
    dept = {
        r.rule: r.status
        for r in check(parse((BATFISH / "as2dept1.cfg").read_text(), "cisco_ios"), facts("d", "cisco_ios"), [policy])
    }
    assert dept == {"console-timeout": "fail", "ntp-servers": "not_applicable", "bgp-as": "pass"}


GOLDEN_POLICY = """
policy: golden
rules:
  - id: vty
    kind: golden
    scope: {platform: cisco_ios}
    block: '^line vty '
    template: |
      line vty 0 4
       exec-timeout {{ vty_timeout | default(10) }} 0
       transport input ssh
  - id: base
    kind: golden
    scope: {platform: cisco_ios}
    template: |
      hostname {{ name }}
      ip domain name {{ site }}.example.net
"""


def test_golden_sections(tmp_path):
    (policy,) = load_policies([write_policy(tmp_path, GOLDEN_POLICY)])
    good = "hostname sw1\nip domain name hq.example.net\nline vty 0 4\n exec-timeout 10 0\n transport input ssh\nend\n"
    device = facts("sw1", "cisco_ios", site="hq")
    assert statuses(check(parse(good, "cisco_ios"), device, [policy])) == {"vty": "pass", "base": "pass"}
    bad = "hostname sw2\nline vty 0 4\n transport input telnet ssh\nline vty 5 15\n transport input ssh\nend\n"
    results = {r.rule: r for r in check(parse(bad, "cisco_ios"), device, [policy])}
    vty = results["vty"]
    assert vty.status == "fail"
    # The device's vty section is both vty blocks; their last line matches the golden's last line.
    assert [(e.line, e.text) for e in vty.evidence] == [
        (0, "missing:  exec-timeout 10 0"),
        (3, " transport input telnet ssh"),
        (4, "line vty 5 15"),
    ]
    assert vty.remediation == "line vty 0 4\n exec-timeout 10 0\n transport input ssh"
    base = results["base"]
    assert base.status == "fail"
    # Without a block, each golden statement must be on the device; other statements are not compared.
    assert [(e.line, e.text) for e in base.evidence] == [
        (0, "missing: hostname sw1"),
        (0, "missing: ip domain name hq.example.net"),
    ]
    # The golden template sees the device's variables.
    custom = facts("sw1", "cisco_ios", site="hq", vars={"vty_timeout": 5})
    assert statuses(check(parse(good, "cisco_ios"), custom, [policy]))["vty"] == "fail"


def test_golden_template_needs_its_variables(tmp_path):
    path = write_policy(tmp_path, "rules:\n  - id: g\n    kind: golden\n    template: 'ntp server {{ ntp_server }}'\n")
    (policy,) = load_policies([path])
    with pytest.raises(Exception, match=r"template site/g golden line 1: 'ntp_server' is undefined"):
        check(parse("hostname a\nend\n", "cisco_ios"), facts("a", "cisco_ios"), [policy])


def test_scopes_by_role_site_name_and_tags(tmp_path):
    path = write_policy(
        tmp_path,
        """
scope: {platform: 'cisco_*'}
rules:
  - {id: core, kind: must_contain, line: hostname x, scope: {role: [core, 'dist*']}}
  - {id: hq, kind: must_contain, line: hostname x, scope: {site: 'hq-*'}}
  - {id: named, kind: must_contain, line: hostname x, scope: {name: 'sw?'}}
  - {id: tagged, kind: must_contain, line: hostname x, scope: {tags: pci}}
  - {id: junos-only, kind: must_contain, line: hostname x, scope: {platform: juniper_junos}}
""",
    )
    (policy,) = load_policies([path])
    tree = parse("hostname x\nend\n", "cisco_ios")
    assert set(statuses(check(tree, facts("sw1", "cisco_ios", role="distribution"), [policy]))) == {"core", "named"}
    assert set(statuses(check(tree, facts("r10", "cisco_ios", site="hq-2", tags=["pci"]), [policy]))) == {
        "hq",
        "tagged",
    }
    assert statuses(check(parse("hostname x\n", "cisco_nxos"), facts("sw2", "cisco_nxos"), [policy])) == {
        "named": "pass"
    }


def test_must_contain_in_blocks_with_when_and_position(tmp_path):
    path = write_policy(
        tmp_path,
        r"""
rules:
  - id: trunk-nonegotiate
    kind: must_contain
    block: '^interface '
    when: {contains: ['^switchport mode trunk$']}
    line: switchport nonegotiate
    remediation: "{{ block }}\n switchport nonegotiate"
  - id: acl-ends-deny
    kind: must_contain
    block: '^ip access-list extended '
    any_of: [{regex: '^deny ip any any', position: last}]
  - id: no-any-any-permit
    kind: must_not_contain
    block: '^ip access-list '
    regex: '^permit ip any any$'
""",
    )
    text = """interface Gi1
 switchport mode trunk
interface Gi2
 switchport mode trunk
 switchport nonegotiate
interface Gi3
 switchport mode access
ip access-list extended A
 permit tcp any any eq 22
 deny ip any any log
ip access-list extended B
 deny ip any any
 permit ip any any
end
"""
    results = {r.rule: r for r in check(parse(text, "cisco_ios"), facts("s", "cisco_ios"), load_policies([path]))}
    trunk = results["trunk-nonegotiate"]
    assert trunk.status == "fail" and [e.line for e in trunk.evidence] == [1]
    assert trunk.message == "1 of 2 block(s) matching /^interface / lack 'switchport nonegotiate'"
    assert trunk.remediation == "interface Gi1\n switchport nonegotiate"
    acl = results["acl-ends-deny"]
    assert acl.status == "fail" and [e.text for e in acl.evidence] == ["ip access-list extended B"]
    permit = results["no-any-any-permit"]
    assert permit.status == "fail" and [(e.line, e.text) for e in permit.evidence] == [(13, "permit ip any any")]


def test_check_text_and_score():
    results = check_text("hostname a\nntp server 10.0.0.1\nend\n", facts("a", "cisco_ios"), default_policies())
    assert statuses(results)["ios-ntp"] == "pass"
    assert score(results) == pytest.approx(
        sum(r.status == "pass" for r in results) / sum(r.status != "not_applicable" for r in results)
    )
    assert score([]) is None
    assert summarize("nobody", results).score is None


# ---------------------------------------------------------------- bad policy files


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("rules: [\n  - id: x\n", r"^policy file bad\.yml: not valid YAML at line \d+: "),
        ("- just a list\n", r"^policy file bad\.yml: expected a mapping with 'rules' at the top$"),
        (
            "rules:\n  - {id: r1, kind: must_exist, line: x}\n",
            r"^policy file bad\.yml, rule r1: kind: unknown kind 'must_exist'; use must_contain, must_not_contain",
        ),
        (
            "rules:\n  - {id: r2, kind: must_contain, regex: 'interface (Gi'}\n",
            r"^policy file bad\.yml, rule r2: bad regex 'interface \(Gi': missing \), unterminated subpattern",
        ),
        (
            "rules:\n  - {id: r3, kind: value, regex: '^ntp server \\S+', in: [a]}\n",
            r"^policy file bad\.yml, rule r3: value regex .* needs exactly one capture group, has 0$",
        ),
        (
            "rules:\n  - {id: r4, kind: must_contain, line: a, regex: b}\n",
            r"^policy file bad\.yml, rule r4: must_contain needs exactly one of 'line', 'regex', 'any_of'$",
        ),
        (
            "rules:\n  - {id: r5, kind: must_contain, line: a, colour: red}\n",
            r"^policy file bad\.yml, rule r5: colour: Extra inputs are not permitted$",
        ),
        (
            "rules:\n  - {id: r6, kind: must_contain, line: a, remediation: '{{ block '}\n",
            r"^policy file bad\.yml, rule r6: template bad/r6 remediation line 1: ",
        ),
        (
            "rules:\n  - {id: r7, kind: must_contain, line: a}\n  - {id: r7, kind: must_contain, line: b}\n",
            r"^policy file bad\.yml: rule id 'r7' appears twice$",
        ),
        (
            "rules:\n  - {id: r8, kind: value, regex: '(x)', range: [5, 1]}\n",
            r"^policy file bad\.yml, rule r8: range \[5\.0, 1\.0\]: the low end is above the high end$",
        ),
        (
            "rules:\n  - {id: r9, kind: golden, template_file: missing.j2}\n",
            r"^policy file bad\.yml, rule r9: cannot read template_file 'missing\.j2'",
        ),
        ("rules:\n  - {kind: must_contain, line: a}\n", r"^policy file bad\.yml, rule #1: id: Field required$"),
    ],
)
def test_bad_policy_files_are_one_line_errors(tmp_path, body, message):
    path = write_policy(tmp_path, body, "bad.yml")
    with pytest.raises(PolicyError, match=message) as info:
        load_policies([path])
    assert "\n" not in str(info.value)


def test_missing_policy_file_and_directory_loading(tmp_path):
    with pytest.raises(PolicyError, match=r"^policy file .*nope\.yml: cannot read it"):
        load_policies([tmp_path / "nope.yml"])
    write_policy(tmp_path, "rules:\n  - {id: a, kind: must_contain, line: x}\n", "a.yml")
    write_policy(tmp_path, "policy: b\nrules:\n  - {id: a, kind: must_contain, line: x}\n", "b.yaml")
    assert [p.name for p in load_policies([tmp_path])] == ["a", "b"]
    write_policy(tmp_path, "policy: a\nrules: []\n", "c.yml")
    with pytest.raises(PolicyError, match=r"^policy 'a' is defined in both .*a\.yml and .*c\.yml$"):
        load_policies([tmp_path])


def test_remediation_sees_failing_values_and_facts(tmp_path):
    path = write_policy(
        tmp_path,
        r"""
rules:
  - id: snmp
    kind: value
    regex: '^snmp-server community (\S+)'
    not_in: [public]
    remediation: "{% for v in values %}no snmp-server community {{ v }} ! on {{ name }} at {{ site }}{% endfor %}"
""",
    )
    results = check(
        parse("snmp-server community public RO\nend\n", "cisco_ios"),
        facts("sw9", "cisco_ios", site="lab"),
        load_policies([path]),
    )
    assert results[0].remediation == "no snmp-server community public ! on sw9 at lab"
    assert re.fullmatch(r"1 value\(s\) not allowed \(forbidden: public\): public", results[0].message)
