"""Intended configs from templates (lookup, strict variables, the shipped FRR template checked by FRR's own
vtysh) and the intended/running diff."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from netwarden.configs.render import (
    DeviceFacts,
    TemplateError,
    TemplateNotFound,
    diff,
    find_template,
    render_config,
    significant_lines,
)
from netwarden.configs.tree import parse
from netwarden.errors import InvalidInput, NotFound
from netwarden.inventory.schemas import DeviceDetail, InterfaceOut

VTYSH = shutil.which("vtysh")


def lab_router(**vars: object) -> DeviceFacts:
    return DeviceFacts(name="r1", platform="frr", site="hq", role="router", vars=dict(vars))  # type: ignore[arg-type]


def test_shipped_frr_template_renders_the_base_config():
    rendered = render_config(lab_router(log_file="/var/log/frr/r1.log"))
    assert rendered.template == "frr/default.j2"
    tree = parse(rendered.text, "frr")
    assert tree.unclassified == []
    assert [c.text for c in tree.children] == [
        "frr defaults traditional",
        "hostname r1",
        "log file /var/log/frr/r1.log informational",
        "log syslog informational",
        "service password-encryption",
    ]
    plain = render_config(DeviceFacts(name="r9", platform="frr", vars={"log_level": "debugging"}))
    assert "log file" not in plain.text
    assert "log syslog debugging\n" in plain.text and "banner" not in plain.text


@pytest.mark.skipif(VTYSH is None, reason="FRR's vtysh is not installed")
def test_frr_accepts_the_rendered_config(tmp_path):
    path = tmp_path / "frr.conf"
    path.write_text(render_config(lab_router(log_file=str(tmp_path / "frr.log"))).text)
    # vtysh --dryrun reads the file with FRR's own command parser without touching any daemon.
    done = subprocess.run([VTYSH, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
    path.write_text("hostname r1\nbanner motd lines oops\n")
    bad = subprocess.run([VTYSH, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0


def test_lookup_order_user_dir_role_then_default(tmp_path):
    user = tmp_path / "templates"
    (user / "frr").mkdir(parents=True)
    (user / "frr" / "router.j2").write_text("hostname {{ name }}-router\n")
    assert render_config(lab_router(), [user]).text == "hostname r1-router\n"
    assert find_template(lab_router(), [user]) == str(user / "frr" / "router.j2")
    # Another role: the user has no default, so the shipped default renders.
    edge = DeviceFacts(name="e1", platform="frr", role="edge")
    assert render_config(edge, [user]).template == "frr/default.j2"
    assert find_template(edge, [user]).endswith("configs/templates/frr/default.j2")
    # A user default beats the shipped one.
    (user / "frr" / "default.j2").write_text("hostname {{ name }}-mine\n")
    assert render_config(edge, [user]).text == "hostname e1-mine\n"
    # An explicit template name.
    assert render_config(edge, [user], template="frr/router.j2").text == "hostname e1-router\n"


def test_missing_template_names_what_was_tried(tmp_path):
    device = DeviceFacts(name="sw1", platform="cisco_ios", role="access")
    with pytest.raises(
        TemplateNotFound, match=r"^no template for sw1: tried cisco_ios/access\.j2, cisco_ios/default\.j2 in "
    ):
        render_config(device, [tmp_path])
    assert issubclass(TemplateNotFound, NotFound)


def test_undefined_variable_names_template_line_and_variable(tmp_path):
    (tmp_path / "frr").mkdir()
    (tmp_path / "frr" / "router.j2").write_text("hostname {{ name }}\n!\nntp server {{ ntp_server }}\n")
    with pytest.raises(TemplateError, match=r"^template frr/router\.j2 line 3: 'ntp_server' is undefined") as info:
        render_config(lab_router(), [tmp_path])
    assert "\n" not in str(info.value)
    assert issubclass(TemplateError, InvalidInput)
    (tmp_path / "frr" / "router.j2").write_text("hostname {{ name }\n")
    with pytest.raises(TemplateError, match=r"^template frr/router\.j2 line 1: "):
        render_config(lab_router(), [tmp_path])
    (tmp_path / "frr" / "router.j2").write_text("{{ interfaces[3].name }}\n")
    with pytest.raises(TemplateError, match=r"^template frr/router\.j2 line 1: "):
        render_config(lab_router(), [tmp_path])


def test_facts_from_inventory_records(tmp_path):
    now = dt.datetime.now(dt.UTC)
    device = DeviceDetail(
        name="sw1", site="hq", platform="cisco_ios", mgmt_ip="192.0.2.1", role="access", status="active",
        vendor="Cisco", model="C9300", serial="FOC1", os_version="17.9", snmp_port=None, tags=["pci"],
        created_at=now, updated_at=now, last_seen=None,
        interfaces=[
            InterfaceOut(device="sw1", name="Vlan10", description="users", admin_status="up", oper_status="up",
                         speed=None, mtu=1500, mac="", kind="vlan", addresses=["10.0.10.1/24"]),
        ],
    )  # fmt: skip
    facts = DeviceFacts.from_inventory(device, variables={"syslog_server": "10.0.0.9"})
    assert facts.addresses == ["10.0.10.1/24"] and facts.tags == ["pci"] and facts.site == "hq"
    lifted = DeviceFacts(
        name="sw1",
        platform="cisco_ios",
        facts={"mgmt_ip": "192.0.2.1", "interfaces": [{"name": "Vlan10", "addresses": ["10.0.10.1/24"]}], "x": 1},
    )
    assert lifted.mgmt_ip == "192.0.2.1" and lifted.addresses == ["10.0.10.1/24"] and lifted.vars == {"x": 1}
    (tmp_path / "cisco_ios").mkdir()
    (tmp_path / "cisco_ios" / "access.j2").write_text(
        "hostname {{ name }}\n{% for i in interfaces %}interface {{ i.name }}\n description {{ i.description }}\n"
        "{% for a in i.addresses %} ip address {{ a }}\n{% endfor %}{% endfor %}logging host {{ syslog_server }}\n"
    )
    text = render_config(facts, [tmp_path]).text
    assert (
        text == "hostname sw1\ninterface Vlan10\n description users\n ip address 10.0.10.1/24\nlogging host 10.0.0.9\n"
    )


RUNNING = """Building configuration...

Current configuration : 412 bytes
!
! Last configuration change at 10:01:02 UTC Mon Jan 1 2024 by admin
version 15.2
hostname sw1
ntp clock-period 17179860
!
interface Gi1
 description users
 shutdown
!
logging host 10.0.0.9
end
"""

INTENDED = """version 15.2
hostname sw1
interface Gi1
 description users
!
logging host 10.0.0.10
end
"""


def test_diff_ignores_comments_and_volatile_lines():
    assert significant_lines(RUNNING, "cisco_ios") == [
        "version 15.2",
        "hostname sw1",
        "interface Gi1",
        " description users",
        " shutdown",
        "logging host 10.0.0.9",
        "end",
    ]
    text = diff(INTENDED, RUNNING, "cisco_ios")
    assert text.splitlines()[:2] == ["--- intended", "+++ running"]
    changes = [line for line in text.splitlines()[2:] if line[:1] in "+-"]
    assert changes == ["-logging host 10.0.0.10", "+ shutdown", "+logging host 10.0.0.9"]
    assert diff(RUNNING, RUNNING.replace("10:01:02", "11:00:00"), "cisco_ios") == ""


def test_structural_diff_of_junos_forms():
    curly = "system {\n    host-name r1;\n    services {\n        ssh;\n    }\n}\n"
    flat = "set system host-name r1\nset system services ssh\n"
    assert diff(curly, flat, "juniper_junos") != ""
    assert diff(curly, flat, "juniper_junos", structural=True) == ""
    changed = diff(curly, flat + "set system services telnet\n", "juniper_junos", structural=True)
    assert [line for line in changed.splitlines() if line.startswith("+") and not line.startswith("+++")] == [
        "+  telnet"
    ]


def test_frr_template_against_a_running_config():
    intended = render_config(lab_router(log_file="/var/log/frr/r1.log")).text
    running = (
        "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nfrr defaults traditional\n"
        "hostname r1\nlog file /var/log/frr/r1.log informational\nlog syslog informational\n"
        "service password-encryption\n!\nend\n"
    )
    # "frr version" is volatile for FRR; "end" is only in the running copy.
    assert [line for line in diff(intended, running, "frr").splitlines() if line[:1] in "+-"][2:] == ["+end"]
    assert diff(intended, running, "frr", structural=True) == ""


def test_shipped_templates_are_where_expected():
    assert Path(find_template(lab_router())).name == "default.j2"
