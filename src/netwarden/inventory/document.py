"""The inventory as one document: what ``import`` reads and ``export`` writes (YAML or CSV).

The YAML document has one list per resource::

    version: 1
    sites:        [{name, description, address, tags}]
    devices:      [{name, site, platform, mgmt_ip, role, status, ..., interfaces: [{name, ...}]}]
    vlans:        [{vid, name, site, description}]
    prefixes:     [{cidr, site, vlan, status, description}]
    ip_addresses: [{address, device, interface, status, dns_name, description}]
    links:        [{a, a_port, b, b_port, kind, description}]
    credentials:  [{name, kind, username, params, secret, priv_secret}]   (secrets on import only)

CSV carries the same records, one file per resource (``devices.csv``,
``interfaces.csv`` with a ``device`` column, ...), lists joined with ``;``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from netwarden.inventory.schemas import (
    CredentialKind,
    CredentialParams,
    DeviceIn,
    InterfaceIn,
    IPAddressIn,
    LinkIn,
    Name,
    PrefixIn,
    SiteIn,
    VlanIn,
)

FORMAT_VERSION = 1


class DeviceRecord(DeviceIn):
    interfaces: list[InterfaceIn] = []


class CredentialRecord(BaseModel):
    """A credential in a file: the secret is optional (exports never carry it)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Name
    kind: CredentialKind
    username: str = Field(default="", max_length=128)
    params: CredentialParams = CredentialParams()
    secret: SecretStr | None = None
    priv_secret: SecretStr | None = None


class InventoryDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = FORMAT_VERSION
    sites: list[SiteIn] = []
    devices: list[DeviceRecord] = []
    vlans: list[VlanIn] = []
    prefixes: list[PrefixIn] = []
    ip_addresses: list[IPAddressIn] = []
    links: list[LinkIn] = []
    credentials: list[CredentialRecord] = []


# ---------------------------------------------------------------- CSV mapping

# file stem -> (columns in order, list-valued columns, int-valued columns)
CSV_KINDS: dict[str, tuple[list[str], set[str], set[str]]] = {
    "sites": (["name", "description", "address", "tags"], {"tags"}, set()),
    "devices": (
        [
            "name",
            "site",
            "platform",
            "mgmt_ip",
            "role",
            "status",
            "vendor",
            "model",
            "serial",
            "os_version",
            "snmp_port",
            "tags",
        ],
        {"tags"},
        {"snmp_port"},
    ),
    "interfaces": (
        ["device", "name", "description", "admin_status", "oper_status", "speed", "mtu", "mac", "kind"],
        set(),
        {"speed", "mtu"},
    ),
    "vlans": (["vid", "name", "site", "description"], set(), {"vid"}),
    "prefixes": (["cidr", "site", "vlan", "status", "description"], set(), {"vlan"}),
    "ip_addresses": (["address", "device", "interface", "status", "dns_name", "description"], set(), set()),
    "links": (["a", "a_port", "b", "b_port", "kind", "description"], set(), set()),
    "credentials": (
        ["name", "kind", "username", "port", "auth_protocol", "priv_protocol", "context", "secret", "priv_secret"],
        set(),
        {"port"},
    ),
}
_OPTIONAL = {"mgmt_ip", "site", "vlan", "snmp_port", "speed", "mtu", "device", "interface", "secret", "priv_secret"}
_PARAMS = ("port", "auth_protocol", "priv_protocol", "context")


def csv_kind_of(header: list[str], stem: str) -> str:
    """Which resource a CSV file holds: by its file name, else by its header."""
    if stem in CSV_KINDS:
        return stem
    for kind, (columns, _, _) in CSV_KINDS.items():
        if header == columns or (header and set(header) <= set(columns) and columns[0] == header[0]):
            return kind
    raise ValueError(
        f"cannot tell what {stem!r} holds from its name or header; name it one of "
        + ", ".join(f"{k}.csv" for k in CSV_KINDS)
    )


def csv_rows_to_records(kind: str, rows: Iterable[dict[str, str | None]]) -> list[dict[str, Any]]:
    """CSV rows (strings) to plain records ready for the document model; cells are not trusted."""
    columns, lists, ints = CSV_KINDS[kind]
    records = []
    for row in rows:
        unknown = set(row) - set(columns)
        if None in row or unknown:
            raise ValueError(f"unknown column(s) {sorted(str(u) for u in unknown)}; expected {columns}")
        rec: dict[str, Any] = {}
        for key, raw in row.items():
            value = (raw or "").strip() if isinstance(raw, str) else ""
            if key in lists:
                rec[key] = [v for v in value.split(";") if v]
            elif value == "" and (key in _OPTIONAL or key in ints or key in _PARAMS):
                rec[key] = None
            elif key in ints:
                try:
                    rec[key] = int(value)
                except ValueError:
                    raise ValueError(f"column {key}: {value!r} is not a whole number") from None
            else:
                rec[key] = value
        if kind == "credentials":
            rec["params"] = {p: rec.pop(p) for p in _PARAMS if p in rec and rec[p] is not None}
            for p in _PARAMS:
                rec.pop(p, None)
        records.append({k: v for k, v in rec.items() if v is not None})
    return records


def csv_records_to_doc(tables: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Assemble per-kind CSV records into the document's shape (interfaces nest under devices)."""
    doc: dict[str, Any] = {k: v for k, v in tables.items() if k != "interfaces"}
    interfaces = tables.get("interfaces", [])
    if interfaces:
        devices = {d.get("name"): d for d in doc.get("devices", [])}
        for iface in interfaces:
            name = iface.pop("device", None)
            if name not in devices:
                raise ValueError(
                    f"interfaces.csv names device {name!r}, which devices.csv does not list "
                    "(import interfaces together with their devices)"
                )
            devices[name].setdefault("interfaces", []).append(iface)
    return doc


def doc_to_csv(doc: InventoryDoc) -> dict[str, str]:
    """One CSV text per resource kind that has rows."""
    plain = doc.model_dump(mode="json", exclude={"version"})
    tables: dict[str, list[dict[str, Any]]] = {k: list(v) for k, v in plain.items()}
    tables["interfaces"] = [
        {"device": d["name"], **iface} for d in tables["devices"] for iface in d.pop("interfaces", [])
    ]
    for cred in tables["credentials"]:
        params = cred.pop("params") or {}
        cred.update({p: params.get(p) for p in _PARAMS})
    out: dict[str, str] = {}
    for kind, (columns, lists, _) in CSV_KINDS.items():
        rows = tables.get(kind, [])
        if not rows:
            continue
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    c: (";".join(row.get(c) or []) if c in lists else ("" if row.get(c) is None else row.get(c)))
                    for c in columns
                }
            )
        out[kind] = buf.getvalue()
    return out
