"""``netwarden device add|list|show|update|rm``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.inventory import service
from netwarden.inventory.schemas import DeviceFilter, DeviceIn, DevicePatch

app = typer.Typer(help="Devices.", no_args_is_help=True)
Tag = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")]
COLUMNS = ["name", "site", "platform", "mgmt_ip", "role", "status", "vendor", "model", "os_version"]


@app.command("add")
def add(
    name: str,
    site: Annotated[str, typer.Option(help="Site name.")],
    platform: Annotated[str, typer.Option(help="Platform, e.g. cisco_ios, arista_eos, frr, linux.")],
    mgmt_ip: Annotated[str | None, typer.Option("--mgmt-ip", help="Management IP address.")] = None,
    role: Annotated[str, typer.Option(help="Role, e.g. router, switch, firewall.")] = "",
    status: Annotated[str, typer.Option(help="active, planned, offline, missing, decommissioning.")] = "active",
    vendor: Annotated[str, typer.Option()] = "",
    model: Annotated[str, typer.Option()] = "",
    serial: Annotated[str, typer.Option()] = "",
    os_version: Annotated[str, typer.Option("--os-version")] = "",
    snmp_port: Annotated[int | None, typer.Option("--snmp-port")] = None,
    tag: Tag = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Add a device."""
    data = DeviceIn.model_validate(
        {
            "name": name,
            "site": site,
            "platform": platform,
            "mgmt_ip": mgmt_ip,
            "role": role,
            "status": status,
            "vendor": vendor,
            "model": model,
            "serial": serial,
            "os_version": os_version,
            "snmp_port": snmp_port,
            "tags": tag or [],
        }
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.add_device(db, actor(), data)
    emit(out, json_out, lambda: console.print(f"device {out.name} added to site {out.site}"))


@app.command("list")
def list_(
    site: Annotated[str | None, typer.Option()] = None,
    role: Annotated[str | None, typer.Option()] = None,
    platform: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[str | None, typer.Option()] = None,
    q: Annotated[str | None, typer.Option("--search", "-q", help="Substring of name, IP, model or serial.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """List devices."""
    filters = DeviceFilter(site=site, role=role, platform=platform, status=status, tag=tag, q=q)
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_devices(db, actor(), filters, limit=10**9)
    emit(page.items, json_out, lambda: table(page.items, COLUMNS, "devices"))


@app.command("show")
def show(name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Show a device with its interfaces."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.show_device(db, actor(), name)

    def human() -> None:
        fields = out.model_dump(mode="json", exclude={"interfaces"})
        table([{"field": k, "value": v} for k, v in fields.items()], ["field", "value"], f"device {name}")
        cols = ["name", "admin_status", "oper_status", "speed", "mtu", "mac", "addresses", "description"]
        table(out.interfaces, cols, "interfaces")

    emit(out, json_out, human)


@app.command("update")
def update(
    name: str,
    site: Annotated[str | None, typer.Option()] = None,
    platform: Annotated[str | None, typer.Option()] = None,
    mgmt_ip: Annotated[str | None, typer.Option("--mgmt-ip")] = None,
    role: Annotated[str | None, typer.Option()] = None,
    status: Annotated[str | None, typer.Option()] = None,
    vendor: Annotated[str | None, typer.Option()] = None,
    model: Annotated[str | None, typer.Option()] = None,
    serial: Annotated[str | None, typer.Option()] = None,
    os_version: Annotated[str | None, typer.Option("--os-version")] = None,
    snmp_port: Annotated[int | None, typer.Option("--snmp-port")] = None,
    tag: Tag = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Change a device (only the options given)."""
    given: dict[str, Any] = {
        k: v
        for k, v in {
            "site": site,
            "platform": platform,
            "mgmt_ip": mgmt_ip,
            "role": role,
            "status": status,
            "vendor": vendor,
            "model": model,
            "serial": serial,
            "os_version": os_version,
            "snmp_port": snmp_port,
            "tags": tag,
        }.items()
        if v is not None
    }
    patch = DevicePatch.model_validate(given)
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.update_device(db, actor(), name, patch)
    emit(out, json_out, lambda: console.print(f"device {name} updated"))


@app.command("rm")
def rm(name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Remove a device and its interfaces."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_device(db, actor(), name)
    emit({"removed": name}, json_out, lambda: console.print(f"device {name} removed"))
