"""``netwarden logs ingest | events | syslog | detect``: log files and syslog into the log store, and searching it.

``netwarden syslog`` is ``logs syslog`` and ``logs detect`` is ``security detections`` (the names DESIGN.md
and the issue use).

``ingest --json`` prints ``{"received","parsed","unparsed"}`` (plus ``stored`` and ``files``);
``events --json`` prints ``[{"time","host","kind","source_ip","user","outcome","raw",...}]`` (the
scripting contract). ``syslog`` runs the receiver in the foreground, storing every message; it prints
each event (one JSON object per line with ``--json``) and its counters on stderr when it stops.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from netwarden.cli import security
from netwarden.cli.common import (
    DataDir,
    JsonOut,
    Stop,
    actor,
    console,
    emit,
    err_console,
    open_ctx,
    progress_bar,
    until_stopped,
)
from netwarden.security.logs import service
from netwarden.security.logs.model import KINDS, LogEvent
from netwarden.security.syslog import SyslogReceiver, SyslogStats

app = typer.Typer(help="Logs: ingest files, search the stored events, receive syslog.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    """``netwarden syslog``: the foreground receiver under its short name."""
    root.command("syslog", help="Receive syslog in the foreground and store it (same as 'netwarden logs syslog').")(
        syslog
    )


@app.command("ingest")
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Log files, plain or gzip.")],
    host: Annotated[str | None, typer.Option(help="The host these logs are from (default: each line's).")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Parse log files and store their events (nothing is stored when a file is binary or unreadable)."""
    ctx = open_ctx(data_dir)
    with progress_bar(not json_out and sys.stdout.isatty(), "reading") as report:

        def progress(name: str, done: int, total: int) -> None:
            report(f"reading {name}", done, max(total, 1))

        with ctx.db() as db:
            result = service.ingest_files(db, actor(), files, host=host, progress=progress)
    emit(
        result,
        json_out,
        lambda: console.print(
            f"{result.received} lines from {result.files} file(s): {result.parsed} parsed, "
            f"{result.unparsed} kept unparsed (kind other); {result.stored} stored",
            markup=False,
            highlight=False,
        ),
    )


@app.command("events")
def events(
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help=f"Event kind, repeatable: {', '.join(KINDS)}.")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Only events of this host.")] = None,
    source_ip: Annotated[str | None, typer.Option("--source-ip", help="Only events from this address.")] = None,
    user: Annotated[str | None, typer.Option(help="Only events about this user.")] = None,
    since: Annotated[str | None, typer.Option(help="How far back: 30m, 1h, 7d, or an ISO time.")] = None,
    search: Annotated[str | None, typer.Option(help='Words (or "a phrase") the line must contain, any case.')] = None,
    limit: Annotated[int, typer.Option(help="At most this many (the newest).", min=1, max=100_000)] = 100,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Stored log events, oldest first among the newest ``--limit``."""
    flt = service.EventFilter(
        kinds=kind or None,
        host=host,
        source_ip=source_ip,
        user=user,
        since=service.parse_since(since) if since else None,
        search=search,
        limit=limit,
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        found = service.list_events(db, actor(), flt)
    emit([e.public() for e in found], json_out, lambda: _print_events(found))


def _print_events(found: list[LogEvent]) -> None:
    if not found:
        console.print("[dim]no log events[/dim]")
        return
    for e in found:
        who = " ".join(p for p in (e.user and f"user={e.user}", e.source_ip and f"from={e.source_ip}") if p)
        console.print(
            f"{e.time:%Y-%m-%d %H:%M:%S%z} {e.host or '-'} {e.kind:<17} {who}  {e.message or e.raw}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


@app.command("syslog")
def syslog(
    port: Annotated[
        int | None, typer.Option(help="UDP and TCP port (default: setting syslog_port, 514, which needs root).")
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default: setting syslog_host).")] = None,
    count: Annotated[int | None, typer.Option(help="Stop after this many events are stored.", min=1)] = None,
    seconds: Annotated[float | None, typer.Option(help="Stop after this many seconds.", min=0)] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the events, only store them.")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Receive syslog (UDP and TCP) in the foreground until Ctrl-C; parse and store every message."""
    ctx = open_ctx(data_dir)
    s = ctx.settings
    stop = Stop(count)
    receiver = SyslogReceiver(service.store_sink(ctx, on_stored=_printer(json_out, quiet, stop)), flush_interval=0.2)
    stats = asyncio.run(_run(receiver, host or s.syslog_host, s.syslog_port if port is None else port, stop, seconds))
    if json_out:
        sys.stderr.write(json.dumps({"stats": stats.as_dict()}) + "\n")
    else:
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(stats.dropped.items())) or "none"
        lost = ", ".join(f"{k} {v}" for k, v in sorted(stats.lost.items())) or "none"
        err_console.print(
            f"received {stats.received}, parsed {stats.parsed}, stored {stats.delivered}; dropped: {dropped};"
            f" lost: {lost}",
            markup=False,
            highlight=False,
        )


def _printer(json_out: bool, quiet: bool, stop: Stop) -> Callable[[list[LogEvent]], None]:
    def show(events: list[LogEvent]) -> None:
        for e in events:
            if quiet:
                continue
            if json_out:
                sys.stdout.write(json.dumps(e.public()) + "\n")
            else:
                _print_events([e])
        sys.stdout.flush()
        if stop.left is not None:
            stop.left -= len(events)
            if stop.left <= 0:
                stop.event.set()

    return show


async def _run(receiver: SyslogReceiver, host: str, port: int, stop: Stop, seconds: float | None) -> SyslogStats:
    await receiver.start(host, port)
    udp, tcp = receiver.udp_address, receiver.tcp_address
    where = f"udp {udp[0]}:{udp[1]} and tcp {tcp[0]}:{tcp[1]}" if udp and tcp else "nothing"
    sys.stderr.write(f"listening for syslog on {where}\n")  # one unwrapped line: scripts wait for it
    sys.stderr.flush()
    try:
        await until_stopped(stop, seconds)
    finally:
        await receiver.close()
    return receiver.stats()


app.command("detect", help="Run the detections over the stored events (same as 'netwarden security detections').")(
    security.detections
)
