"""``netwarden vlan add|list|show|update|rm``."""

from __future__ import annotations

from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.inventory import service
from netwarden.inventory.schemas import VlanIn, VlanPatch

app = typer.Typer(help="VLANs, per site or global.", no_args_is_help=True)
Site = Annotated[str | None, typer.Option(help="The VLAN's site (omit for a global VLAN).")]
COLUMNS = ["vid", "name", "site", "prefixes", "description"]


@app.command("add")
def add(
    vid: int,
    name: str,
    site: Site = None,
    description: Annotated[str, typer.Option()] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Add a VLAN (ID 1-4094)."""
    data = VlanIn.model_validate({"vid": vid, "name": name, "site": site, "description": description})
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.add_vlan(db, actor(), data)
    emit(out, json_out, lambda: console.print(f"VLAN {out.vid} ({out.name}) added"))


@app.command("list")
def list_(site: Site = None, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """List VLANs."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_vlans(db, actor(), site, limit=10**9)
    emit(page.items, json_out, lambda: table(page.items, COLUMNS, "VLANs"))


@app.command("show")
def show(vid: int, site: Site = None, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Show one VLAN with its prefixes."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.show_vlan(db, actor(), vid, site)
    emit(out, json_out, lambda: table([out], COLUMNS, "VLAN"))


@app.command("update")
def update(
    vid: int,
    site: Site = None,
    name: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Rename or describe a VLAN."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.update_vlan(db, actor(), vid, site, VlanPatch(name=name, description=description))
    emit(out, json_out, lambda: console.print(f"VLAN {vid} updated"))


@app.command("rm")
def rm(vid: int, site: Site = None, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Remove a VLAN."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_vlan(db, actor(), vid, site)
    emit({"removed": vid, "site": site}, json_out, lambda: console.print(f"VLAN {vid} removed"))
