"""Export renderers beyond netwarden's own YAML: CSV files, an Ansible inventory, a Nornir inventory.

Pure functions of an :class:`InventoryDoc`: no store, no secrets (the document never holds any
on export). Group names are made safe for Ansible (letters, digits, underscore).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from netwarden.inventory.document import InventoryDoc, doc_to_csv

__all__ = ["ANSIBLE_NETWORK_OS", "render_ansible", "render_csv", "render_nornir"]

# netwarden platform -> ansible_network_os (collections' names); platforms absent here are plain SSH hosts.
ANSIBLE_NETWORK_OS = {
    "cisco_ios": "cisco.ios.ios",
    "cisco_xe": "cisco.ios.ios",
    "cisco_nxos": "cisco.nxos.nxos",
    "cisco_xr": "cisco.iosxr.iosxr",
    "cisco_asa": "cisco.asa.asa",
    "arista_eos": "arista.eos.eos",
    "juniper_junos": "junipernetworks.junos.junos",
    "vyos": "vyos.vyos.vyos",
    "frr": "frr.frr.frr",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")


def _group(prefix: str, name: str) -> str:
    return f"{prefix}_{_UNSAFE.sub('_', name)}".lower()


def _dump(data: Any) -> str:
    return str(yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, default_flow_style=False))


def render_csv(doc: InventoryDoc) -> dict[str, str]:
    """``{"devices": "<csv text>", "interfaces": ..., ...}`` for the kinds that have rows."""
    return doc_to_csv(doc)


def _host_vars(device: Any) -> dict[str, Any]:
    hv: dict[str, Any] = {}
    if device.mgmt_ip:
        hv["ansible_host"] = device.mgmt_ip
    network_os = ANSIBLE_NETWORK_OS.get(device.platform)
    if network_os:
        hv["ansible_network_os"] = network_os
        hv["ansible_connection"] = "ansible.netcommon.network_cli"
    hv["netwarden_platform"] = device.platform
    hv["netwarden_site"] = device.site
    for key in ("role", "status", "vendor", "model", "serial", "os_version"):
        value = getattr(device, key)
        if value:
            hv[f"netwarden_{key}"] = value
    if device.tags:
        hv["netwarden_tags"] = list(device.tags)
    return hv


def render_ansible(doc: InventoryDoc) -> str:
    """An Ansible YAML inventory: groups per site, role and platform under ``all``."""
    children: dict[str, dict[str, Any]] = {}

    def add(group: str, host: str) -> None:
        children.setdefault(group, {"hosts": {}})["hosts"][host] = None

    hostvars: dict[str, Any] = {}
    for d in doc.devices:
        hostvars[d.name] = _host_vars(d)
        add(_group("site", d.site), d.name)
        add(_group("platform", d.platform), d.name)
        if d.role:
            add(_group("role", d.role), d.name)
    # Host variables live once, on the site group's entry; other groups only list the host.
    for d in doc.devices:
        children[_group("site", d.site)]["hosts"][d.name] = hostvars[d.name]
    return _dump({"all": {"children": dict(sorted(children.items()))}})


def render_nornir(doc: InventoryDoc) -> dict[str, str]:
    """Nornir SimpleInventory files: ``hosts.yaml``, ``groups.yaml``, ``defaults.yaml``."""
    hosts: dict[str, Any] = {}
    groups: dict[str, Any] = {}
    for d in doc.devices:
        host_groups = [_group("site", d.site)] + ([_group("role", d.role)] if d.role else [])
        for g in host_groups:
            groups.setdefault(g, {"data": {}})
        groups[_group("site", d.site)]["data"]["site"] = d.site
        data: dict[str, Any] = {"site": d.site, "role": d.role, "status": d.status}
        for key in ("vendor", "model", "serial", "os_version"):
            if getattr(d, key):
                data[key] = getattr(d, key)
        if d.tags:
            data["tags"] = list(d.tags)
        entry: dict[str, Any] = {"hostname": d.mgmt_ip or d.name, "platform": d.platform, "groups": host_groups}
        if d.snmp_port:
            data["snmp_port"] = d.snmp_port
        entry["data"] = data
        hosts[d.name] = entry
    return {
        "hosts.yaml": _dump(hosts),
        "groups.yaml": _dump(dict(sorted(groups.items()))),
        "defaults.yaml": _dump({"data": {"source": "netwarden"}}),
    }
