"""``netwarden link add|list|show|rm``."""

from __future__ import annotations

from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.inventory import service
from netwarden.inventory.schemas import LinkIn

app = typer.Typer(help="Links between device interfaces.", no_args_is_help=True)
COLUMNS = ["a", "a_port", "b", "b_port", "kind", "source", "description"]


@app.command("add")
def add(
    a: Annotated[str, typer.Argument(help="Device at one end.")],
    a_port: Annotated[str, typer.Argument(help="Its interface.")],
    b: Annotated[str, typer.Argument(help="Device at the other end.")],
    b_port: Annotated[str, typer.Argument(help="Its interface.")],
    kind: Annotated[str, typer.Option(help="physical, logical, wan, vpn, l3.")] = "physical",
    description: Annotated[str, typer.Option()] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Link two interfaces: netwarden link add r1 eth1 r2 eth1."""
    data = LinkIn.model_validate(
        {"a": a, "a_port": a_port, "b": b, "b_port": b_port, "kind": kind, "description": description}
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.add_link(db, actor(), data)
    emit(out, json_out, lambda: console.print(f"link {a}:{a_port} -- {b}:{b_port} added"))


@app.command("list")
def list_(
    device: Annotated[str | None, typer.Option(help="Only links of this device.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """List links."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_links(db, actor(), device, limit=10**9)
    emit(page.items, json_out, lambda: table(page.items, COLUMNS, "links"))


@app.command("show")
def show(device: str, port: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Show the link on one interface."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.show_link(db, actor(), device, port)
    emit(out, json_out, lambda: table([out], [*COLUMNS, "first_seen", "last_seen"], "link"))


@app.command("rm")
def rm(device: str, port: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Remove the link on one interface (either end)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_link(db, actor(), device, port)
    emit({"removed": f"{device}:{port}"}, json_out, lambda: console.print(f"link on {device}:{port} removed"))
