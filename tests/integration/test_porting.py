"""Import and export: exact round trips, all-or-nothing, clear errors, and the tools that read the exports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from netwarden.access.models import AuditEntry
from netwarden.context import Context
from netwarden.errors import ImportFailed, PermissionDenied
from netwarden.inventory import formats, porting, service
from netwarden.inventory.models import Device, Interface
from tests.conftest import ADMIN, VIEWER

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "inventory.yml"
BIN = Path(sys.executable).parent


def load(ctx: Context, text: str) -> porting.ImportResult:
    with ctx.db() as db:
        return porting.import_inventory(db, ADMIN, ctx.vault, porting.parse_yaml(text))


def export_yaml(ctx: Context) -> str:
    with ctx.db() as db:
        return porting.dump_yaml(porting.export_inventory(db, VIEWER))


def fresh(tmp_path: Path, name: str) -> Context:
    return Context.create(data_dir=tmp_path / name)


def counts(ctx: Context) -> tuple[int, int, int]:
    with ctx.db() as db:
        return (
            db.scalar(select(func.count()).select_from(Device)) or 0,
            db.scalar(select(func.count()).select_from(Interface)) or 0,
            db.scalar(select(func.count()).select_from(AuditEntry)) or 0,
        )


def test_yaml_round_trip_is_exact_and_identical_on_both_stores(ctx: Context, tmp_path: Path) -> None:
    result = load(ctx, EXAMPLE.read_text())
    assert result.created["devices"] == 6 and result.created["links"] == 5
    first = export_yaml(ctx)
    # Re-importing the export changes nothing.
    again = load(ctx, first)
    assert again.created == {} and again.updated == {}
    # A fresh store fed the export exports the very same text.
    other = fresh(tmp_path, "other")
    load(other, first)
    assert export_yaml(other) == first
    # And the document says what the example says (nothing lost on the way).
    source, exported = yaml.safe_load(EXAMPLE.read_text()), yaml.safe_load(first)
    assert {d["name"] for d in source["devices"]} == {d["name"] for d in exported["devices"]}
    core1 = next(d for d in exported["devices"] if d["name"] == "hq-core1")
    assert [i["name"] for i in core1["interfaces"]][:2] == ["GigabitEthernet1/0/1", "GigabitEthernet1/0/2"]
    assert core1["interfaces"][0]["mac"] == "00:1b:54:00:00:01"
    assert len(exported["prefixes"]) == 9 and len(exported["ip_addresses"]) == 5


def test_csv_round_trip_is_exact(ctx: Context, tmp_path: Path) -> None:
    load(ctx, EXAMPLE.read_text())
    with ctx.db() as db:
        files = formats.render_csv(porting.export_inventory(db, VIEWER))
    assert set(files) == {"sites", "devices", "interfaces", "vlans", "prefixes", "ip_addresses", "links"}
    other = fresh(tmp_path, "other")
    with other.db() as db:
        porting.import_inventory(db, ADMIN, other.vault, porting.parse_csv_tables(files))
    with other.db() as db:
        assert formats.render_csv(porting.export_inventory(db, VIEWER)) == files
    assert export_yaml(other) == export_yaml(ctx)


def test_updates_are_applied_and_audited(ctx: Context) -> None:
    load(ctx, EXAMPLE.read_text())
    doc = yaml.safe_load(export_yaml(ctx))
    doc["devices"][0]["os_version"] = "23.2R1"
    doc["devices"][0]["interfaces"][0]["description"] = "WAN via ISP-B"
    doc["devices"][0]["interfaces"].append({"name": "ge-0/0/7"})
    result = load(ctx, yaml.safe_dump(doc))
    assert result.updated == {"devices": 1, "interfaces": 1} and result.created == {"interfaces": 1}
    with ctx.db() as db:
        dev = service.show_device(db, VIEWER, "br-rtr1")
        entries, _ = service_audit(db, "br-rtr1")
    assert dev.os_version == "23.2R1" and dev.interfaces[-1].name == "ge-0/0/7"
    assert entries[0].changes == {"os_version": ["22.4R1", "23.2R1"]}


def service_audit(db: object, obj: str) -> tuple[list[object], int]:
    from netwarden.access import audit

    return audit.list_entries(db, ADMIN, obj=obj)  # type: ignore[arg-type,return-value]


BAD_DOCS = [
    ("sites: [\n  - name: hq\n  bad", "not valid YAML at line"),
    ("- just\n- a list\n", "expected a mapping"),
    ("", "the file is empty"),
    ("sites: [{name: hq, colour: red}]", "sites[0] (hq).colour: Extra inputs are not permitted"),
    ("devices: [{name: r1, site: hq, platform: commodore64}]", "devices[0] (r1).platform: unknown platform"),
    ("devices: [{name: r1, site: nowhere, platform: frr}]", "site 'nowhere' is neither in the file nor in the store"),
    ("sites: [{name: a}, {name: a}]", "sites[1]: a appears twice"),
    ("prefixes: [{cidr: 10.0.0.1/8}]", "has host bits set; did you mean 10.0.0.0/8"),
    (
        "sites: [{name: a}, {name: b}]\nprefixes: [{cidr: 10.0.0.0/8, site: a}, {cidr: 10.1.0.0/16, site: b}]",
        "prefixes[1] (10.1.0.0/16): prefix 10.1.0.0/16 overlaps 10.0.0.0/8 of site 'a'",
    ),
    ("ip_addresses: [{address: 10.9.9.9/24, prefix: 10.1.0.0/16}]", "is outside prefix 10.1.0.0/16"),
    ("credentials: [{name: c, kind: snmp-v2c}]", "no secret in the file"),
    ("devices: [{name: r1, site: hq, platform: frr, interfaces: [{name: e0, mtu: -1}]}]", "interfaces[0] (e0).mtu"),
    (
        "devices: [{name: r1, site: hq, platform: frr, mgmt_ip: 192.0.2.1}, "
        "{name: r2, site: hq, platform: frr, mgmt_ip: 192.0.2.1}]",
        "management IP 192.0.2.1 appears twice",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_DOCS, ids=[m for _, m in BAD_DOCS])
def test_bad_documents_fail_clearly_and_change_nothing(ctx: Context, text: str, message: str) -> None:
    load(ctx, "sites: [{name: hq}]")
    before = counts(ctx)
    with pytest.raises(ImportFailed) as info:
        load(ctx, "devices: [{name: ok1, site: hq, platform: frr}]\n" + text if text.startswith("prefixes") else text)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert counts(ctx) == before


def test_import_is_all_or_nothing(ctx: Context) -> None:
    """The last record is bad: the devices and interfaces before it must not stay behind."""
    load(ctx, "sites: [{name: hq}]")
    before = counts(ctx)
    doc = {
        "devices": [
            {"name": f"d{i}", "site": "hq", "platform": "linux", "interfaces": [{"name": "eth0"}]} for i in range(50)
        ],
        "links": [{"a": "d1", "a_port": "eth0", "b": "d2", "b_port": "missing"}],
    }
    with pytest.raises(ImportFailed, match=r"links\[0\].*interface 'missing' does not exist"):
        load(ctx, yaml.safe_dump(doc))
    assert counts(ctx) == before


def test_viewer_cannot_import(ctx: Context) -> None:
    with ctx.db() as db, pytest.raises(PermissionDenied):
        porting.import_inventory(db, VIEWER, ctx.vault, porting.parse_yaml("sites: [{name: x}]"))


def test_csv_errors(ctx: Context) -> None:
    with pytest.raises(ImportFailed, match=r"devices.csv line 1: unknown column"):
        porting.parse_csv_tables({"devices": "name,site,platform,colour\nr1,hq,frr,red\n"})
    with pytest.raises(ImportFailed, match=r"snmp_port: 'x' is not a whole number"):
        porting.parse_csv_tables({"devices": "name,site,platform,snmp_port\nr1,hq,frr,x\n"})
    with pytest.raises(ImportFailed, match=r"which devices\.csv does not list"):
        porting.parse_csv_tables({"interfaces": "device,name\nr9,eth0\n"})
    with pytest.raises(ImportFailed, match="cannot tell what"):
        porting.parse_csv_tables({"stuff": "x,y\n1,2\n"})


def test_load_document_from_files(tmp_path: Path) -> None:
    with pytest.raises(ImportFailed, match="does not exist"):
        porting.load_document(tmp_path / "nope.yml")
    (tmp_path / "bin.yml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ImportFailed):
        porting.load_document(tmp_path / "bin.yml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailed, match=r"holds no \.csv files"):
        porting.load_document(tmp_path / "empty")
    (tmp_path / "devices.csv").write_text("name,site,platform\nr1,hq,frr\n")
    assert porting.load_document(tmp_path / "devices.csv").devices[0].name == "r1"


def test_ansible_inventory_reads_the_export(ctx: Context, tmp_path: Path) -> None:
    load(ctx, EXAMPLE.read_text())
    with ctx.db() as db:
        text = formats.render_ansible(porting.export_inventory(db, VIEWER))
    path = tmp_path / "inventory.yml"
    path.write_text(text)
    out = subprocess.run(
        [str(BIN / "ansible-inventory"), "-i", str(path), "--list"],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/bin:/bin", "ANSIBLE_LOCAL_TEMP": str(tmp_path), "HOME": str(tmp_path)},
    )
    inv = json.loads(out.stdout)
    hostvars = inv["_meta"]["hostvars"]
    assert hostvars["hq-core1"]["ansible_host"] == "192.0.2.1"
    assert hostvars["hq-core1"]["ansible_network_os"] == "cisco.ios.ios"
    assert hostvars["br-srv1"].get("ansible_network_os") is None
    assert set(inv["site_hq"]["hosts"]) == {"hq-core1", "hq-core2", "hq-access1", "hq-fw1"}
    assert set(inv["role_core"]["hosts"]) == {"hq-core1", "hq-core2"}


def test_nornir_reads_the_export(ctx: Context, tmp_path: Path) -> None:
    from nornir import InitNornir

    load(ctx, EXAMPLE.read_text())
    with ctx.db() as db:
        files = formats.render_nornir(porting.export_inventory(db, VIEWER))
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    nr = InitNornir(
        runner={"plugin": "serial"},
        inventory={
            "plugin": "SimpleInventory",
            "options": {
                "host_file": str(tmp_path / "hosts.yaml"),
                "group_file": str(tmp_path / "groups.yaml"),
                "defaults_file": str(tmp_path / "defaults.yaml"),
            },
        },
        logging={"enabled": False},
    )
    host = nr.inventory.hosts["br-rtr1"]
    assert (host.hostname, host.platform) == ("198.51.100.1", "juniper_junos")
    assert host["site"] == "branch" and host["role"] == "router"
    assert sorted(g.name for g in host.groups) == ["role_router", "site_branch"]
    assert len(nr.filter(site="hq").inventory.hosts) == 4
