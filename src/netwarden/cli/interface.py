"""``netwarden interface add|list|update|rm``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.inventory import service
from netwarden.inventory.schemas import InterfaceIn, InterfacePatch

app = typer.Typer(help="Device interfaces.", no_args_is_help=True)


@app.command("add")
def add(
    device: str,
    name: str,
    description: Annotated[str, typer.Option()] = "",
    admin_status: Annotated[str, typer.Option("--admin-status")] = "up",
    oper_status: Annotated[str, typer.Option("--oper-status")] = "unknown",
    speed: Annotated[int | None, typer.Option(help="bits per second")] = None,
    mtu: Annotated[int | None, typer.Option()] = None,
    mac: Annotated[str, typer.Option()] = "",
    kind: Annotated[str, typer.Option()] = "ethernet",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Add an interface to a device."""
    data = InterfaceIn.model_validate(
        {
            "name": name,
            "description": description,
            "admin_status": admin_status,
            "oper_status": oper_status,
            "speed": speed,
            "mtu": mtu,
            "mac": mac,
            "kind": kind,
        }
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.add_interface(db, actor(), device, data)
    emit(out, json_out, lambda: console.print(f"interface {device}:{name} added"))


@app.command("list")
def list_(
    device: Annotated[str | None, typer.Option()] = None, data_dir: DataDir = None, json_out: JsonOut = False
) -> None:
    """List interfaces (of one device with --device)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_interfaces(db, actor(), device, limit=10**9)
    cols = ["device", "name", "admin_status", "oper_status", "speed", "mtu", "mac", "addresses"]
    emit(page.items, json_out, lambda: table(page.items, cols, "interfaces"))


@app.command("update")
def update(
    device: str,
    name: str,
    description: Annotated[str | None, typer.Option()] = None,
    admin_status: Annotated[str | None, typer.Option("--admin-status")] = None,
    oper_status: Annotated[str | None, typer.Option("--oper-status")] = None,
    speed: Annotated[int | None, typer.Option()] = None,
    mtu: Annotated[int | None, typer.Option()] = None,
    mac: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Change an interface."""
    given: dict[str, Any] = {
        k: v
        for k, v in dict(
            description=description,
            admin_status=admin_status,
            oper_status=oper_status,
            speed=speed,
            mtu=mtu,
            mac=mac,
        ).items()
        if v is not None
    }
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.update_interface(db, actor(), device, name, InterfacePatch.model_validate(given))
    emit(out, json_out, lambda: console.print(f"interface {device}:{name} updated"))


@app.command("rm")
def rm(device: str, name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Remove an interface."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_interface(db, actor(), device, name)
    emit({"removed": f"{device}:{name}"}, json_out, lambda: console.print(f"interface {device}:{name} removed"))
