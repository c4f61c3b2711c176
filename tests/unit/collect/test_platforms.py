"""Platform files: every packaged one validates; the schema rejects mistakes; identification picks the right one."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from netwarden.collect.parsers.registry import FACT_KINDS
from netwarden.collect.parsers.snapshot import build_snapshot
from netwarden.collect.platforms import (
    UnknownPlatform,
    get_platform,
    identify,
    load_platform,
    platform_dir,
    platforms,
)
from netwarden.errors import InvalidInput, NotFound
from netwarden.inventory.platforms import KNOWN_PLATFORMS

REQUIRED = {"frr", "linux", "cisco_ios", "cisco_nxos", "arista_eos", "juniper_junos"}


def test_the_required_platforms_ship_and_are_known_to_the_inventory() -> None:
    assert set(platforms()) >= REQUIRED
    assert set(platforms()) <= KNOWN_PLATFORMS


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_platform_drives_ssh_and_collects_the_basics(name: str) -> None:
    spec = get_platform(name)
    assert spec.ssh is not None and spec.ssh.prompt and spec.ssh.setup and spec.ssh.probe
    assert spec.commands.facts and spec.commands.interfaces
    assert spec.recognise.sys_descr or spec.recognise.sys_object_id


def test_unknown_platform() -> None:
    with pytest.raises(UnknownPlatform, match="no platform knowledge for 'cisco-ios'") as err:
        get_platform("cisco-ios")
    assert isinstance(err.value, NotFound)


def _base() -> dict[str, object]:
    return yaml.safe_load((platform_dir() / "cisco_ios.yml").read_text())


def _write(tmp_path: Path, data: dict[str, object], name: str = "cisco_ios") -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_copy_of_a_packaged_file_validates(tmp_path: Path) -> None:
    assert load_platform(_write(tmp_path, _base())) == get_platform("cisco_ios")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(colour="blue"), "colour: Extra inputs are not permitted"),
        (lambda d: d["recognise"].update(sys_descr=["(unclosed"]), "bad regular expression"),
        (lambda d: d["recognise"].update(sys_object_id=["1.3.6.x"]), "not a dotted OID prefix"),
        (lambda d: d["ssh"].update(prompt="[a-"), "bad regular expression"),
        (lambda d: d["commands"]["facts"][0].update(parser="ntc.nothing"), "unknown parser 'ntc.nothing'"),
        (lambda d: d["commands"]["facts"][0].update(parser="ntc.interfaces"), "yields interfaces, not facts"),
        (lambda d: d["commands"]["facts"][0].pop("template"), "name a template"),
        (lambda d: d["commands"]["facts"][0].update(template="nope.textfsm"), "has no template 'nope.textfsm'"),
        (
            lambda d: d["commands"].update(
                facts=[{"command": "x", "parser": "frr.version", "template": "cisco_ios_show_version.textfsm"}]
            ),
            "takes no template",
        ),
        (lambda d: d["commands"].update(firmware=[]), "firmware: Extra inputs"),
        (lambda d: d.pop("vendor"), "vendor: Field required"),
    ],
)
def test_schema_rejects_mistakes_with_the_file_and_field(tmp_path: Path, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    data = _base()
    mutate(data)
    with pytest.raises(InvalidInput, match=r"cisco_ios\.yml") as err:
        load_platform(_write(tmp_path, data))
    assert message in str(err.value)


def test_name_must_match_the_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="differs from the file name"):
        load_platform(_write(tmp_path, _base(), name="cisco_xe"))


@pytest.mark.parametrize("text", ["", "- a list", "key: [unclosed", "42"])
def test_unreadable_files(tmp_path: Path, text: str) -> None:
    path = tmp_path / "frr.yml"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=r"frr\.yml"):
        load_platform(path)


# ---------------------------------------------------------------- identification

REAL_DESCRS = [
    (
        "1.3.6.1.4.1.9.1.1208",
        "Cisco IOS Software, C2960S Software (C2960S-UNIVERSALK9-M), Version 15.0(2)SE4, RELEASE SOFTWARE (fc1)",
        "cisco_ios",
    ),
    (
        "1.3.6.1.4.1.9.1.2494",
        "Cisco IOS Software [Amsterdam], ISR Software (X86_64_LINUX_IOSD-UNIVERSALK9-M), Version 17.3.4a",
        "cisco_ios",
    ),
    (
        "1.3.6.1.4.1.9.12.3.1.3.1812",
        "Cisco NX-OS(tm) n9000, Software (n9000-dk9), Version 9.3(8), RELEASE SOFTWARE",
        "cisco_nxos",
    ),
    (
        "1.3.6.1.4.1.30065.1.3011.7048.427.3648",
        "Arista Networks EOS version 4.27.6M running on an Arista DCS-7048T",
        "arista_eos",
    ),
    (
        "1.3.6.1.4.1.2636.1.1.1.2.21",
        "Juniper Networks, Inc. mx240 internet router, kernel JUNOS 13.3R1.4",
        "juniper_junos",
    ),
    ("1.3.6.1.4.1.8072.3.2.10", "Linux srv1 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 x86_64", "linux"),
]


@pytest.mark.parametrize(("oid", "descr", "expected"), REAL_DESCRS)
def test_identify_real_devices(oid: str, descr: str, expected: str) -> None:
    assert identify(oid, descr, None) == expected
    assert identify(f".{oid}", descr) == expected  # net-snmp prints a leading dot
    assert identify(None, descr) == expected  # sysDescr alone names the OS


def test_sysdescr_beats_a_shared_enterprise_oid() -> None:
    # An NX-OS box with an IOS-looking sysObjectID is still NX-OS.
    assert identify("1.3.6.1.4.1.9.1.1", "Cisco NX-OS(tm) nxos.9.3.8.bin") == "cisco_nxos"


def test_frr_on_linux_is_frr() -> None:
    descr = "netwarden lab FRRouting 8.4 router r1 (Linux 6.1.0)"
    assert identify("1.3.6.1.4.1.8072.3.2.10", descr) == "frr"
    assert identify(".1.3.6.1.4.1.32473.1.1", descr) == "frr"


def test_lab_nodes_by_sysobjectid_alone() -> None:
    assert identify(".1.3.6.1.4.1.32473.1.3") == "frr"  # router
    assert identify(".1.3.6.1.4.1.32473.3.9") == "frr"  # firewall: vtysh too
    assert identify(".1.3.6.1.4.1.32473.4.10") == "linux"  # host
    assert identify(".1.3.6.1.4.1.32473.2.4") == "linux"  # switch (Linux bridge)


def test_oid_prefix_matches_whole_arcs_only() -> None:
    assert identify("1.3.6.1.4.1.26361") is None  # not 1.3.6.1.4.1.2636 (Juniper)
    assert identify("1.3.6.1.4.1.2636") == "juniper_junos"


def test_banner_and_probe_output() -> None:
    assert identify(banner="SSH-2.0-Cisco-1.25") == "cisco_ios"
    assert identify(banner="SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3") == "linux"
    assert identify(banner="SSH-2.0-OpenSSH_8.0") is None  # many vendors ship plain OpenSSH
    assert identify(version_output="FRRouting 8.4.4 (r1) on Linux(6.1.0).") == "frr"
    assert identify(version_output="Linux 6.1.0-18-amd64") == "linux"
    # The probe output outranks the banner.
    assert identify(banner="SSH-2.0-OpenSSH_9.2p1 Debian-2", version_output="FRRouting 8.4.4 (r1) on Linux") == "frr"


@pytest.mark.parametrize(
    "args",
    [(None, None, None), ("1.3.6.1.4.1.99999.1", "Acme RouterOS 1.0", "SSH-2.0-dropbear"), ("", "", "")],
)
def test_nothing_known_is_none(args: tuple[str | None, str | None, str | None]) -> None:
    assert identify(*args) is None


# ---------------------------------------------------------------- snapshot assembly


def test_build_snapshot_turns_failures_into_warnings() -> None:
    spec = get_platform("frr")
    outputs = {
        "show version": "FRRouting 8.4.4 (r9) on Linux(6.1.0).",
        "show interface json": '{"lo": {"administrativeStatus": "up", "operationalStatus": "up",'
        ' "ipAddresses": [{"address": "10.255.0.9/32"}]}}',
        "show ip ospf neighbor json": "this is not JSON",
        "show bgp summary json": "bgpd is not running",
        "show ip route json": "{}",
    }
    snap = build_snapshot("198.18.0.9", spec, outputs, failed={"show ipv6 route json": "the device said: % Unknown"})
    assert (snap.facts.hostname, snap.facts.platform, snap.facts.vendor) == ("r9", "frr", "FRRouting")
    assert snap.interfaces[0].addresses == ["10.255.0.9/32"]
    assert snap.routing == [] and snap.via == ["ssh"]
    assert len(snap.warnings) == 2
    assert snap.warnings[0].startswith("show ip ospf neighbor json: ")
    assert snap.warnings[1] == "show ipv6 route json: the device said: % Unknown"


def test_all_commands_lists_each_once_in_fact_order() -> None:
    spec = get_platform("linux")
    commands = spec.all_commands()
    assert len(commands) == len(set(commands))
    assert commands[0] == "hostname"
    assert sum(len(spec.commands.of(k)) for k in FACT_KINDS) == len(commands)
