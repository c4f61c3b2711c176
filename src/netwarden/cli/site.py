"""``netwarden site add|list|show|update|rm``."""

from __future__ import annotations

from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.inventory import service
from netwarden.inventory.schemas import SiteIn, SitePatch

app = typer.Typer(help="Sites.", no_args_is_help=True)
Tag = Annotated[list[str] | None, typer.Option("--tag", help="A tag (repeatable).")]


@app.command("add")
def add(
    name: str,
    description: Annotated[str, typer.Option()] = "",
    address: Annotated[str, typer.Option()] = "",
    tag: Tag = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Add a site."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.add_site(db, actor(), SiteIn(name=name, description=description, address=address, tags=tag or []))
    emit(out, json_out, lambda: console.print(f"site {out.name} added"))


@app.command("list")
def list_(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """List sites."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_sites(db, actor(), limit=100000)
    emit(page.items, json_out, lambda: table(page.items, ["name", "devices", "description", "tags"], "sites"))


@app.command("show")
def show(name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Show one site."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.show_site(db, actor(), name)
    emit(out, json_out, lambda: table([out], ["name", "devices", "description", "address", "tags"], "site"))


@app.command("update")
def update(
    name: str,
    description: Annotated[str | None, typer.Option()] = None,
    address: Annotated[str | None, typer.Option()] = None,
    tag: Tag = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Change a site."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.update_site(db, actor(), name, SitePatch(description=description, address=address, tags=tag))
    emit(out, json_out, lambda: console.print(f"site {name} updated"))


@app.command("rm")
def rm(name: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Remove an empty site."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_site(db, actor(), name)
    emit({"removed": name}, json_out, lambda: console.print(f"site {name} removed"))
