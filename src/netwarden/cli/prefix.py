"""``netwarden prefix add|list|show|update|rm``."""

from __future__ import annotations

from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.inventory import service
from netwarden.inventory.schemas import PrefixIn, PrefixOut, PrefixPatch

app = typer.Typer(help="IP prefixes (IPAM): hierarchy and utilisation.", no_args_is_help=True)
COLUMNS = ["cidr", "site", "vlan", "status", "used", "size", "utilisation", "description"]
Site = Annotated[str | None, typer.Option(help="Site the prefix belongs to.")]
Vlan = Annotated[int | None, typer.Option(help="VLAN ID (in the prefix's site, or global).")]


def _tree_rows(items: list[PrefixOut]) -> list[dict[str, object]]:
    rows = []
    for p in items:
        row = p.model_dump()
        row["cidr"] = "  " * p.depth + p.cidr
        row["utilisation"] = f"{p.utilisation:.1f}%"
        rows.append(row)
    return rows


@app.command("add")
def add(
    cidr: str,
    site: Site = None,
    vlan: Vlan = None,
    status: Annotated[str, typer.Option(help="active, reserved, deprecated, container.")] = "active",
    description: Annotated[str, typer.Option()] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Add a prefix, e.g. 10.1.0.0/16 or 2001:db8::/48."""
    data = PrefixIn.model_validate(
        {"cidr": cidr, "site": site, "vlan": vlan, "status": status, "description": description}
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.add_prefix(db, actor(), data)
    emit(
        out,
        json_out,
        lambda: console.print(f"prefix {out.cidr} added" + (f" under {out.parent}" if out.parent else "")),
    )


@app.command("list")
def list_(
    site: Site = None,
    family: Annotated[int | None, typer.Option(help="4 or 6.")] = None,
    within: Annotated[str | None, typer.Option(help="Only prefixes inside this one.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """List prefixes as a tree with their utilisation."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_prefixes(db, actor(), family=family, site=site, limit=10**9, within=within)
    emit(page.items, json_out, lambda: table(_tree_rows(page.items), COLUMNS, "prefixes"))


@app.command("show")
def show(cidr: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Show one prefix with its parent and utilisation."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.show_prefix(db, actor(), cidr)
    emit(out, json_out, lambda: table(_tree_rows([out]), ["cidr", "parent", *COLUMNS[1:]], "prefix"))


@app.command("update")
def update(
    cidr: str,
    site: Site = None,
    vlan: Vlan = None,
    status: Annotated[str | None, typer.Option()] = None,
    description: Annotated[str | None, typer.Option()] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Change a prefix's site, VLAN, status or description."""
    given = {
        k: v
        for k, v in {"site": site, "vlan": vlan, "status": status, "description": description}.items()
        if v is not None
    }
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.update_prefix(db, actor(), cidr, PrefixPatch.model_validate(given))
    emit(out, json_out, lambda: console.print(f"prefix {out.cidr} updated"))


@app.command("rm")
def rm(cidr: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Remove a prefix (its children and addresses stay)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_prefix(db, actor(), cidr)
    emit({"removed": cidr}, json_out, lambda: console.print(f"prefix {cidr} removed"))
