"""``netwarden discover CIDR... [--credential NAME]...``"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, step_progress, table
from netwarden.discover.run import DEFAULT_MAX_ADDRESSES, Options, run_discovery


def discover(
    cidrs: Annotated[list[str], typer.Argument(help="Addresses or CIDR ranges to sweep, e.g. 198.18.0.0/24.")],
    credential: Annotated[
        list[str] | None, typer.Option("--credential", "-c", help="Credential to try (repeatable): SNMP, then SSH.")
    ] = None,
    site: Annotated[str, typer.Option(help="Site for devices found for the first time.")] = "discovered",
    snmp_port: Annotated[int, typer.Option("--snmp-port", help="SNMP port (simulated fleets use 1161).")] = 161,
    ssh_port: Annotated[int, typer.Option("--ssh-port")] = 22,
    follow_neighbours: Annotated[
        bool, typer.Option("--follow-neighbours", help="Crawl LLDP/CDP neighbours' management addresses.")
    ] = False,
    depth: Annotated[int, typer.Option(help="How many neighbour hops to crawl.", min=0, max=16)] = 2,
    allow: Annotated[
        list[str] | None, typer.Option("--allow", help="Ranges the crawl may enter (default: the given ranges).")
    ] = None,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Addresses or ranges never to probe (repeatable).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per probe.", min=0.05, max=60)] = 2.0,
    force: Annotated[bool, typer.Option("--force", help=f"Sweep more than {DEFAULT_MAX_ADDRESSES} addresses.")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Find devices in address ranges, identify them, collect their facts and update the inventory."""
    opts = Options(
        cidrs=cidrs,
        credentials=credential or [],
        site=site,
        snmp_port=snmp_port,
        ssh_port=ssh_port,
        follow_neighbours=follow_neighbours,
        depth=depth,
        allow=allow or [],
        exclude=exclude or [],
        timeout=timeout,
        force=force,
    )
    ctx = open_ctx(data_dir)
    with step_progress(json_out, "sweeping") as progress:
        summary = asyncio.run(run_discovery(ctx, actor(), opts, progress))

    def human() -> None:
        console.print(
            f"found {summary.found} device(s): {summary.new} new, {summary.changed} changed, "
            f"{summary.unchanged} unchanged; {len(summary.failed)} failed"
            + (f"; {len(summary.missing)} missing" if summary.missing else "")
            + f" ({summary.elapsed:.1f} s)"
        )
        if summary.failed:
            table(summary.failed, ["target", "reason"], "failed")
        if summary.missing:
            console.print("missing (marked, not deleted): " + ", ".join(summary.missing))

    emit(summary, json_out, human)


def register(app: typer.Typer) -> None:
    app.command("discover")(discover)
