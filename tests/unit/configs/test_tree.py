"""The hierarchical config model on real configs (Batfish IOS, FRR topotests, Capirca Junos) and on bad input."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netwarden.configs.syntax import syntaxes
from netwarden.configs.tree import ConfigSyntaxError, ConfigTree, UnknownConfigSyntax, parse
from netwarden.errors import InvalidInput
from tests.support.shared_data import shared_data

BATFISH = shared_data() / "batfish" / "networks" / "example" / "live" / "configs"
FRR = shared_data() / "frr" / "tests" / "topotests"
CAPIRCA = shared_data() / "capirca" / "tests" / "characterization_data" / "filters_expected"

needs_corpus = pytest.mark.skipif(not BATFISH.is_dir(), reason=f"shared corpus not found at {BATFISH}")


def check_invariants(tree: ConfigTree) -> None:
    """Arrays agree: file order, parents before children, subtrees contiguous and nested."""
    n = len(tree)
    for k in range(n):
        parent, end, depth = tree._parent[k], tree._end[k], tree._depth[k]
        assert k < end <= n
        if parent < 0:
            assert depth == 0
        else:
            assert parent < k < tree._end[parent]
            assert depth == tree._depth[parent] + 1
            assert end <= tree._end[parent]


# ---------------------------------------------------------------- real configs


@needs_corpus
@pytest.mark.parametrize("path", sorted(BATFISH.glob("*.cfg")), ids=lambda p: p.stem)
def test_batfish_ios_configs_parse_completely(path):
    text = path.read_text()
    tree = parse(text, "cisco_ios")
    assert tree.unclassified == [], tree.unclassified
    assert not tree.truncated
    check_invariants(tree)
    # Every non-comment line of the file is a statement of the tree, at the depth its indentation says.
    expected = [
        (len(line) - len(line.lstrip()), line.strip())
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("!") and line.strip() != "end"
    ]
    assert [(d, t) for d, t in zip(tree._depth, tree._text, strict=True)] == expected
    # Interface blocks are where grep finds them.
    grep = [i for i, line in enumerate(text.splitlines(), 1) if line.startswith("interface ")]
    assert [n.line for n in tree.blocks(r"^interface ")] == grep


@needs_corpus
def test_batfish_as2dept1_structure():
    tree = parse((BATFISH / "as2dept1.cfg").read_text(), "cisco_ios")
    bgp = tree.block("router bgp 65001")
    assert bgp is not None and bgp.line == 80
    family = bgp.child(r"^address-family ipv4$")
    assert family is not None
    assert [c.text for c in family.children][:2] == ["bgp dampening", "bgp additional-paths select all"]
    assert family.children[-1].text == "maximum-paths eibgp 5"
    # " exit-address-family" is an IOS statement inside router bgp, after the family.
    assert bgp.children[-1].text == "exit-address-family"
    vty = tree.block("line vty 0 4")
    assert vty is not None and [c.text for c in vty.children] == ["login"]
    shut = tree.find(r"^shutdown$")
    assert [(n.line, n.parent.text if n.parent else "") for n in shut] == [(56, "interface Ethernet0/0")]
    icmp = tree.find(r"permit icmp any any")
    assert icmp[0].path == ("ip access-list extended RESTRICT_HOST_TRAFFIC_IN", "permit icmp any any")
    assert icmp[0].line == 113


@pytest.mark.skipif(not FRR.is_dir(), reason="FRR corpus not found")
def test_frr_topotest_files():
    combined = parse((FRR / "ospf_topo1" / "r1" / "frr.conf").read_text(), "frr")
    assert combined.unclassified == []
    # "int r1-eth1" (an abbreviation FRR accepts) reads as the interface statement.
    assert [c.text for c in combined.children] == [
        "interface r1-eth0",
        "interface r1-eth1",
        "router ospf",
        "router ospf6",
    ]
    eth1 = combined.block("interface r1-eth1")
    assert eth1 is not None and eth1.line == 6
    assert eth1.child(r"^ip ospf dead-interval 10$") is not None
    ospfd = parse((FRR / "ospf_unnumbered_point_to_multipoint" / "r1" / "ospfd.conf").read_text(), "frr")
    router = ospfd.block("router ospf")
    assert router is not None
    assert [c.text for c in router.children] == ["ospf router-id 10.0.255.1", "network 0.0.0.0/0 area 0"]
    for path in FRR.glob("*/*/*.conf"):
        tree = parse(path.read_text(), "frr")
        assert tree.unclassified == [], (path, tree.unclassified)
        check_invariants(tree)


FRR8_RUNNING = """Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname r1
log syslog informational
service integrated-vtysh-config
!
interface eth1
 ip address 10.0.0.1/30
 ip ospf area 0
exit
!
interface lo
exit
!
router bgp 65001
 bgp router-id 10.255.0.1
 neighbor 203.0.113.2 remote-as 65000
 !
 address-family ipv4 unicast
  redistribute connected
 exit-address-family
 neighbor 203.0.113.2 timers 3 9
exit
!
end
"""


def test_frr8_running_config_blocks_end_at_exit():
    tree = parse(FRR8_RUNNING, "frr")
    assert tree.unclassified == [] and not tree.truncated and tree.had_preamble
    assert [c.text for c in tree.children] == [
        "frr version 8.4.4",
        "frr defaults traditional",
        "hostname r1",
        "log syslog informational",
        "service integrated-vtysh-config",
        "interface eth1",
        "interface lo",
        "router bgp 65001",
    ]
    assert tree.block("interface lo").children == []  # type: ignore[union-attr]
    bgp = tree.block("router bgp 65001")
    assert bgp is not None
    # The statement after exit-address-family is back in router bgp.
    assert [c.text for c in bgp.children][-2:] == ["address-family ipv4 unicast", "neighbor 203.0.113.2 timers 3 9"]
    assert tree.block(["router bgp 65001", "address-family ipv4 unicast", "redistribute connected"]) is not None
    check_invariants(tree)


def test_frr_output_without_end_is_truncated_but_a_file_need_not_end():
    cut = FRR8_RUNNING[: FRR8_RUNNING.index("router bgp")]
    tree = parse(cut, "frr")
    assert tree.truncated
    assert "truncated" in tree.unclassified[-1].reason
    # The same statements as a hand-written frr.conf (no vtysh preamble): no "end" is needed.
    tree = parse(cut.split("Current configuration:\n", 1)[1], "frr")
    assert not tree.truncated and tree.unclassified == []


def test_frr_stray_exit_and_orphan_child_are_reported():
    tree = parse("exit\nhostname r1\ninterface lo\nexit\n ip address 10.0.0.1/24\n", "frr")
    reasons = [(u.line, u.reason) for u in tree.unclassified]
    assert reasons == [(1, "'exit' outside any block"), (5, "indented line outside any block")]


JUNOS_CURLY = """## Last commit: 2024-01-01 10:00:00 UTC by admin
version 20.4R3;
system {
    host-name r1;
    login {
        message "Authorized { access } only";
    }
    services {
        ssh {
            root-login deny;
        }
        telnet;
    }
    /* remote syslog */
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
    inactive: ge-0/0/1 {
        disable;
    }
}
snmp {
    community public {
        authorization read-only;
    }
}
"""

JUNOS_SET = """set version 20.4R3
set system host-name r1
set system login message "Authorized { access } only"
set system services ssh root-login deny
set system services telnet
set system syslog host 10.0.0.9 any notice
set system ntp server 10.0.0.1
set interfaces ge-0/0/0 unit 0 family inet address 10.0.0.1/24
set interfaces ge-0/0/1 disable
deactivate interfaces ge-0/0/1
set snmp community public authorization read-only
"""


def test_junos_curly_and_set_forms_give_one_tree():
    curly = parse(JUNOS_CURLY, "juniper_junos")
    flat = parse(JUNOS_SET, "juniper_junos")
    assert curly.unclassified == [] and flat.unclassified == []
    assert curly.lines() == flat.lines()
    for tree in (curly, flat):
        check_invariants(tree)
        services = tree.block(["system", "services"])
        assert services is not None
        assert [c.text for c in services.children] == ["ssh", "telnet"]
        assert tree.block(["interfaces", "ge-0/0/1"]).inactive  # type: ignore[union-attr]
        assert not tree.block(["interfaces", "ge-0/0/0"]).inactive  # type: ignore[union-attr]
        assert [n.text for n in tree.find_path(r"^interfaces ge-0/0/0 unit 0 family inet address ")] == [
            "address 10.0.0.1/24"
        ]
        assert tree.blocks(r"^snmp$", r"^community ")[0].text == "community public"
    # Line numbers are the file's own.
    assert curly.block(["system", "services", "telnet"]).line == 12  # type: ignore[union-attr]
    assert flat.block(["system", "services", "telnet"]).line == 5  # type: ignore[union-attr]


def test_junos_set_lines_merge_into_curly_blocks():
    tree = parse(JUNOS_CURLY + "set system services netconf ssh\nset system services telnet\n", "juniper_junos")
    services = tree.block(["system", "services"])
    assert services is not None
    assert [c.text for c in services.children] == ["ssh", "telnet", "netconf"]
    assert tree.block(["system", "services", "netconf", "ssh"]) is not None
    bad = parse("set system services ssh\ndeactivate system services telnet\nset\n", "juniper_junos")
    assert [u.reason for u in bad.unclassified] == [
        "deactivates a statement that is not configured",
        "unknown top-level statement 'set' for juniper_junos",
    ]


@pytest.mark.skipif(not CAPIRCA.is_dir(), reason="Capirca corpus not found")
@pytest.mark.parametrize("name", ["sample_multitarget.jcl", "sample_juniper_loopback.jcl", "sample_srx.srx"])
def test_capirca_junos_renderings_parse(name):
    text = (CAPIRCA / name).read_text()
    tree = parse(text, "juniper_junos")
    assert tree.unclassified == [] and not tree.truncated
    check_invariants(tree)
    # As many leaves ending in ";" as the file has statement lines outside comments.
    body = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    leaves = [line for line in body.splitlines() if line.strip().endswith(";")]
    assert sum(1 for n in tree.walk() if not n.children) >= len(leaves) > 0


def test_capirca_filter_term_path():
    if not CAPIRCA.is_dir():
        pytest.skip("Capirca corpus not found")
    tree = parse((CAPIRCA / "sample_multitarget.jcl").read_text(), "juniper_junos")
    then = tree.block(["firewall", "family inet", "filter edge-inbound", "term deny-from-bogons", "then"])
    assert then is not None and [c.text for c in then.children] == ["discard"]


NFT = """#!/usr/sbin/nft -f
flush ruleset
define WEB = 10.1.10.5
table inet filter {
  set blocked {
    type ipv4_addr
    elements = { 192.0.2.1, 192.0.2.2,
                 192.0.2.3 }
  }
  chain input {
    type filter hook input priority 0; policy drop;
    ct state established,related accept
    iifname "lo" accept  # loopback
    tcp dport { 22, 80 } accept comment "ssh # and web {"
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip daddr $WEB tcp dport 23 counter drop comment "no telnet"
  }
}
"""


def test_nftables_ruleset():
    tree = parse(NFT, "nftables")
    assert tree.unclassified == [] and not tree.truncated
    check_invariants(tree)
    chains = tree.blocks(r"^table ", r"^chain ")
    assert [c.text for c in chains] == ["chain input", "chain forward"]
    assert [c.text for c in chains[0].children] == [
        "type filter hook input priority 0; policy drop",
        "ct state established,related accept",
        'iifname "lo" accept',
        'tcp dport { 22, 80 } accept comment "ssh # and web {"',
    ]
    elements = tree.block(["table inet filter", "set blocked", "elements = { 192.0.2.1, 192.0.2.2,"])
    assert elements is not None and [c.text for c in elements.children] == ["192.0.2.3"]


def test_linux_fallback_is_flat():
    tree = parse("# sysctl\nnet.ipv4.ip_forward = 1\n\n  kernel.panic = 10\n", "linux")
    assert [(n.line, n.text, n.depth) for n in tree.walk()] == [
        (2, "net.ipv4.ip_forward = 1", 0),
        (4, "kernel.panic = 10", 0),
    ]


def test_banners_are_kept_verbatim_and_never_searched():
    text = "banner motd ^C\nno telnet password 7 here\n  indented\n^C\nhostname a\nbanner login ^CHi^C\nend\n"
    tree = parse(text, "cisco_ios")
    assert tree.unclassified == []
    motd = tree.block("banner motd ^C")
    assert motd is not None and motd.section() == [
        (0, "banner motd ^C"),
        (1, "no telnet password 7 here"),
        (1, "  indented"),
    ]
    assert tree.find("password 7") == []
    assert [c.text for c in tree.children] == ["banner motd ^C", "hostname a", "banner login ^CHi^C"]
    eos = parse("banner login\nHello\nEOF\nhostname a\nend\n", "arista_eos")
    assert [c.text for c in eos.children] == ["banner login", "hostname a"]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("platform", "text", "line", "reason"),
    [
        ("cisco_ios", "hostname a\nfrobnicate now\nend\n", 2, "unknown top-level statement 'frobnicate'"),
        ("cisco_ios", "hostname a\nend\nhostname b\n", 3, "text after 'end'"),
        ("cisco_ios", " ip address 10.0.0.1 255.0.0.0\nend\n", 1, "indented line outside any block"),
        ("cisco_ios", "hostname a\nfoo\x01bar\nend\n", 2, "control characters"),
        ("nftables", "table inet f {\n}\n}\n", 3, "'}' closes no open block"),
        ("juniper_junos", "system {\n} host-name x;\n", 2, "text after '}'"),
        ("juniper_junos", "chassis {\n}\nbogus-top 1;\n", 3, "unknown top-level statement 'bogus-top'"),
        ("arista_eos", "hostname a\nend\n!\nextra\n", 4, "text after 'end'"),
    ],
)
def test_unclassified_lines_are_reported(platform, text, line, reason):
    tree = parse(text, platform)
    assert [(u.line, u.reason.startswith(reason)) for u in tree.unclassified] == [(line, True)]


@pytest.mark.parametrize(
    ("platform", "text"),
    [
        ("cisco_ios", "hostname a\ninterface Gi1\n description cut here"),
        ("arista_eos", "hostname a\nbanner login\nunfinished text\n"),
        ("juniper_junos", "system {\n    services {\n        ssh;\n"),
        ("juniper_junos", "system {\n}\n/* open comment\n"),
        ("nftables", "table inet f {\n  chain input {\n"),
        ("cisco_ios", "banner motd ^C\nhello\n"),
    ],
)
def test_truncated_configs_are_marked(platform, text):
    tree = parse(text, platform)
    assert tree.truncated
    assert any("truncated" in u.reason or "never closed" in u.reason for u in tree.unclassified)
    with pytest.raises(ConfigSyntaxError, match=rf"^{platform} config: \d+ line\(s\) not understood"):
        parse(text, platform, strict=True)


@needs_corpus
def test_a_config_cut_anywhere_is_truncated():
    text = (BATFISH / "as2dept1.cfg").read_text()
    for cut in (200, len(text) // 2, len(text) - 10):
        assert parse(text[:cut], "cisco_ios").truncated


def test_binary_input_is_one_clear_error():
    with pytest.raises(ConfigSyntaxError, match=r"^cisco_ios config: binary data \(NUL byte"):
        parse(b"\x7fELF\x02\x01\x01\x00\x00\x00", "cisco_ios")
    with pytest.raises(ConfigSyntaxError, match=r"NUL byte on line 2"):
        parse("hostname a\nx\x00y\n", "frr")
    with pytest.raises(ConfigSyntaxError, match=r"looks like binary data"):
        parse("".join(f"{chr(i % 8 + 1)}garbage\n" for i in range(50)), "juniper_junos")
    assert issubclass(ConfigSyntaxError, InvalidInput)


def test_bytes_are_decoded():
    tree = parse("hostname caf\u00e9\nend\n".encode("latin-1"), "cisco_ios")
    assert tree.children[0].text == "hostname caf\u00e9"
    assert parse("hostname r\u00fc\nend\n".encode(), "cisco_ios").children[0].text == "hostname r\u00fc"


def test_unknown_platform():
    with pytest.raises(UnknownConfigSyntax, match=r"no config syntax for platform 'vyos'; known: arista_eos"):
        parse("x", "vyos")


def test_large_config_parses():
    block = "interface GigabitEthernet1/0/{n}\n description port {n}\n switchport mode access\n shutdown\n!\n"
    text = "hostname big\n" + "".join(block.format(n=n) for n in range(20_000)) + "end\n"
    assert text.count("\n") > 100_000
    tree = parse(text, "cisco_ios")
    assert tree.unclassified == [] and not tree.truncated
    assert len(tree.blocks(r"^interface ")) == 20_000
    assert len(tree.find(r"^shutdown$")) == 20_000
    assert tree.block("interface GigabitEthernet1/0/19999").line == text.count("\n") - 5  # type: ignore[union-attr]
    deep = "x {\n" * 5000 + "}\n" * 5000
    tree = parse(deep.replace("x {", "system {", 1), "juniper_junos")
    assert len(tree) == 5000 and tree._depth[-1] == 4999


# ---------------------------------------------------------------- search


PATTERNS = [
    r"^interface ",
    r"^interface GigabitEthernet1/0/1\b",
    r"^shutdown$",
    r"password 7 ",
    r"^ip(v6)? address",
    r"^ipv?6? address",
    r"^(?:ntp|sntp) server",
    r"^ntp server|^logging host",
    r"address \S+",
    r"^no ",
    r"\.1 ",
    r"^descr",
    r"^in",
    r"^banner motd",
    r"^x*interface",
    r"end$",
    r"^transport input ssh$",
    r"^ip access-group ACL-1 in$",
]


@needs_corpus
@pytest.mark.parametrize("pattern", PATTERNS)
def test_find_equals_a_plain_scan(pattern):
    rx = re.compile(pattern)
    for path in sorted(BATFISH.glob("*.cfg"))[:4]:
        tree = parse(path.read_text(), "cisco_ios")
        brute = [n for n in tree.walk() if rx.search(n.text)]
        assert tree.find(pattern) == brute
        assert tree.find(pattern, top_level=True) == [n for n in brute if n.depth == 0]


TOKEN = st.sampled_from([*'ab {};!# \t"/*^C\x01', "end", "exit", "set ", "interface ", "banner motd ^C", "inactive: "])
LINE = st.lists(TOKEN, max_size=12).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(LINE, max_size=40), platform=st.sampled_from(sorted(syntaxes())))
def test_fuzzed_text_never_crashes(lines, platform):
    try:
        tree = parse("\n".join(lines), platform)
    except ConfigSyntaxError:
        return
    check_invariants(tree)
    for node in tree.walk():
        assert node.path[-1] == node.text
