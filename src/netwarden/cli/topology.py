"""``netwarden topology show | export | spof | path``."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.discover import topology
from netwarden.discover.trace import traceroute_from
from netwarden.errors import InvalidInput

app = typer.Typer(help="The network graph: map, single points of failure, paths.", no_args_is_help=True)


@app.command("show")
def show(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Devices and their links (physical from LLDP/CDP/manual, L3 from shared subnets)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        topo = topology.topology(db, actor())

    def human() -> None:
        table(topo.nodes, ["name", "site", "role", "platform", "status", "mgmt_ip"], "devices")
        table(topo.links, ["a", "a_port", "b", "b_port", "kind", "source", "subnet"], "links")

    emit(topo, json_out, human)


@app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="json, graphml or svg.")] = "json",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Export the topology as JSON ({"nodes", "links"}), GraphML or SVG (Graphviz)."""
    if json_out:
        fmt = "json"
    if fmt not in ("json", "graphml", "svg"):
        raise InvalidInput(f"unknown format {fmt!r}; use json, graphml or svg")
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        topo = topology.topology(db, actor())
    if fmt == "json":
        text = topo.model_dump_json(indent=2) + "\n"
    elif fmt == "graphml":
        text = topology.to_graphml(topo)
    else:
        text = topology.to_svg(topo)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


@app.command("spof")
def spof(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Single points of failure: devices and links whose loss cuts something off, and what."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        report = topology.spof(db, actor())

    def human() -> None:
        rows = [c.model_dump() for c in [*report.devices, *report.links]]
        table(rows, ["kind", "name", "cut_off", "sites"], "single points of failure")

    emit(report, json_out, human)


@app.command("path")
def path(
    src: Annotated[str, typer.Argument(help="Source device.")],
    dst: Annotated[str, typer.Argument(help="Destination device or IP address.")],
    trace: Annotated[
        list[str] | None,
        typer.Option("--hop", help="A hop traceroute saw (repeat in order; '*' for none), to compare with."),
    ] = None,
    traceroute: Annotated[
        bool, typer.Option("--traceroute", help="Run traceroute on SRC over SSH (needs --credential) and compare.")
    ] = False,
    credential: Annotated[
        str | None, typer.Option("--credential", "-c", help="SSH credential for --traceroute.")
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """The L3 path computed from the collected routing tables (optionally compared with a real traceroute)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        result = topology.compute_path(db, actor(), src, dst)
    if traceroute:
        if credential is None:
            raise InvalidInput("--traceroute needs --credential NAME (an ssh credential for the source device)")
        trace = [h or "*" for h in asyncio.run(traceroute_from(ctx, actor(), src, result.destination_ip, credential))]
    if trace:
        with ctx.db() as db:
            result = topology.compare_with_traceroute(db, result, [None if h == "*" else h for h in trace])

    def human() -> None:
        table(
            result.hops, ["device", "address", "interface", "route"], f"path {src} -> {dst} ({result.destination_ip})"
        )
        if not result.complete:
            console.print(f"[yellow]incomplete:[/yellow] {result.reason}")
        if result.traceroute is not None:
            console.print(
                "traceroute agrees" if result.matches else "differs from traceroute: " + "; ".join(result.differences)
            )

    emit(result, json_out, human)
