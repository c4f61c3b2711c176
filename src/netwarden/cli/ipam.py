"""``netwarden ipam next-ip PREFIX`` and ``netwarden ipam ip add|list|rm``."""

from __future__ import annotations

from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.inventory import service
from netwarden.inventory.schemas import IPAddressIn

app = typer.Typer(help="IP address management: free addresses, recorded addresses.", no_args_is_help=True)
ip_app = typer.Typer(help="Recorded IP addresses.", no_args_is_help=True)
app.add_typer(ip_app, name="ip")


@app.command("next-ip")
def next_ip(
    prefix: str,
    assign: Annotated[bool, typer.Option("--assign", help="Record the address at once (status reserved).")] = False,
    description: Annotated[str, typer.Option(help="With --assign: what it is for.")] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """The lowest free address of a prefix (not recorded and not inside a child prefix)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.next_free_ip(db, actor(), prefix)
        if assign:
            service.add_ip_address(
                db,
                actor(),
                IPAddressIn(address=out.address, prefix=out.prefix, status="reserved", description=description),
            )
    emit(out, json_out, lambda: console.print(out.address + (" (reserved)" if assign else "")))


@ip_app.command("add")
def ip_add(
    address: Annotated[str, typer.Argument(help="Address with its length, e.g. 10.0.0.5/24.")],
    device: Annotated[str | None, typer.Option(help="Device holding the address.")] = None,
    interface: Annotated[str | None, typer.Option(help="Interface holding the address.")] = None,
    prefix: Annotated[str | None, typer.Option(help="Refuse unless the address lies in this prefix.")] = None,
    status: Annotated[str, typer.Option(help="active, reserved, deprecated, dhcp.")] = "active",
    dns_name: Annotated[str, typer.Option("--dns-name")] = "",
    description: Annotated[str, typer.Option()] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Record an IP address, optionally on a device's interface."""
    data = IPAddressIn.model_validate(
        {
            "address": address,
            "device": device,
            "interface": interface,
            "prefix": prefix,
            "status": status,
            "dns_name": dns_name,
            "description": description,
        }
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        out = service.add_ip_address(db, actor(), data)
    emit(out, json_out, lambda: console.print(f"address {out.address} recorded"))


@ip_app.command("list")
def ip_list(
    prefix: Annotated[str | None, typer.Option(help="Only addresses inside this prefix.")] = None,
    device: Annotated[str | None, typer.Option(help="Only addresses on this device.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """List recorded addresses in numeric order."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        page = service.list_ip_addresses(db, actor(), prefix, device, limit=10**9)
    cols = ["address", "prefix", "device", "interface", "status", "dns_name", "description"]
    emit(page.items, json_out, lambda: table(page.items, cols, "IP addresses"))


@ip_app.command("rm")
def ip_rm(address: str, data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Forget a recorded address."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.remove_ip_address(db, actor(), address)
    emit({"removed": address}, json_out, lambda: console.print(f"address {address} removed"))
