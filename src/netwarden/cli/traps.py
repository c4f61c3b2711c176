"""``netwarden traps listen``: receive SNMP traps and informs in the foreground, print them, optionally alert.

Each trap becomes events as ``netwarden serve`` makes them (same receiver, same mapping); with a
store, senders are named after the inventory's devices and stored snmp-v3 credentials open v3
traps. ``--json`` prints one event per line (JSON Lines); the ready line and the final counters
go to stderr, so stdout stays machine-readable.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer

from netwarden.alerts.events import Event
from netwarden.cli.common import DataDir, JsonOut, Stop, actor, console, err_console, until_stopped
from netwarden.config import load_settings
from netwarden.context import MARKER, Context
from netwarden.monitor.traps import (
    EventSink,
    TrapReceiver,
    TrapStats,
    alert_sink,
    inventory_lookup,
    users_from_credentials,
)

app = typer.Typer(help="SNMP traps: listen for v1/v2c/v3 traps and informs.", no_args_is_help=True)


@app.callback()
def _group() -> None:
    """SNMP traps: listen for v1/v2c/v3 traps and informs."""  # keeps 'listen' a subcommand


@app.command("listen")
def listen(
    port: Annotated[
        int | None, typer.Option(help="UDP port (default: setting traps_port, 162, which needs root; 0 picks one).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: setting traps_host).")] = None,
    community: Annotated[
        list[str] | None,
        typer.Option("--community", help="Accepted v1/v2c community (repeatable; default: traps_communities)."),
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(
            "--credential",
            "-c",
            help="Stored snmp-v3 credential whose user may send (repeatable; default: traps_credentials).",
        ),
    ] = None,
    ingest: Annotated[bool, typer.Option("--ingest", help="Also hand the events to the alert engine.")] = False,
    count: Annotated[int | None, typer.Option(help="Stop after this many events.", min=1)] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop after this many seconds.", min=0)] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Listen for traps until Ctrl-C (or --count/--seconds) and print each event they make."""
    settings = load_settings(data_dir=data_dir)
    names = settings.traps_credentials if credential is None else credential
    has_store = (settings.data_dir / MARKER).exists()
    ctx = Context.open(data_dir=data_dir) if has_store or ingest or names else None
    users = users_from_credentials(ctx, actor(), names) if ctx is not None else []
    lookup = inventory_lookup(ctx) if ctx is not None else None
    forward = alert_sink(ctx, actor()) if ctx is not None and ingest else None
    stop = Stop(count)
    receiver = TrapReceiver(
        _printer(json_out, forward, stop),
        communities=settings.traps_communities if community is None else community,
        users=users,
        lookup=lookup,
        flush_interval=0.2,
    )
    stats = asyncio.run(
        _run(receiver, host or settings.traps_host, settings.traps_port if port is None else port, stop, seconds)
    )
    if json_out:
        sys.stderr.write(json.dumps({"stats": stats.as_dict()}) + "\n")
    else:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats.dropped.items())) or "none"
        err_console.print(
            f"received {stats.received}, decoded {stats.decoded}, events {stats.events}; dropped: {dropped}",
            markup=False,
            highlight=False,
        )


def _printer(json_out: bool, forward: EventSink | None, stop: Stop) -> EventSink:
    async def sink(events: list[Event]) -> None:
        if stop.left is not None:
            events = events[: stop.left]
            stop.left -= len(events)
        for event in events:
            if json_out:
                sys.stdout.write(event.model_dump_json() + "\n")
            else:
                console.print(
                    f"{event.at:%H:%M:%S} {event.kind:<15} {event.severity:<8} {event.subject}  {event.summary}",
                    markup=False,
                    highlight=False,
                    soft_wrap=True,
                )
        sys.stdout.flush()
        if forward is not None and events:
            got = forward(events)
            if asyncio.iscoroutine(got):
                await got
        if stop.left == 0:
            stop.event.set()

    return sink


async def _run(receiver: TrapReceiver, host: str, port: int, stop: Stop, seconds: float | None) -> TrapStats:
    await receiver.start(host, port)
    bound_host, bound_port = receiver.address
    err_console.print(f"listening for SNMP traps on udp {bound_host}:{bound_port}", markup=False, highlight=False)
    sys.stderr.flush()
    try:
        await until_stopped(stop, seconds)
    finally:
        await receiver.close()
    return receiver.stats()
