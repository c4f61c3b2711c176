"""``netwarden poll [DEVICE]...``: one polling round now (ping, SNMP), stored and alerted like the scheduled ones."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.monitor.service import CHECKS, Check, Monitor


def poll(
    devices: Annotated[list[str] | None, typer.Argument(help="Devices to poll (default: every device).")] = None,
    check: Annotated[
        list[str] | None, typer.Option("--check", help="ping, snmp and/or service (repeatable; default all).")
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Poll devices once now: availability over ICMP, interfaces and health over SNMP."""
    from netwarden.errors import InvalidInput

    checks = check or list(CHECKS)
    bad = [c for c in checks if c not in CHECKS]
    if bad:
        raise InvalidInput(f"unknown check {', '.join(bad)}: use ping, snmp or service")
    ctx = open_ctx(data_dir)
    monitor = Monitor(ctx, actor())
    wanted: list[Check] = [c for c in CHECKS if c in checks]
    summary = asyncio.run(monitor.run_round(wanted, devices or []))

    def human() -> None:
        console.print(
            f"polled {len(summary.polled)} of {summary.devices} device(s): {summary.points} point(s), "
            f"{len(summary.events)} event(s), {len(summary.failed)} failed ({summary.elapsed} s)"
        )
        if summary.events:
            table([e.model_dump() for e in summary.events], ["kind", "subject", "severity", "summary"], "events")
        if summary.failed:
            table(summary.failed, ["device", "reason"], "failed")

    emit(summary, json_out, human)


def register(app: typer.Typer) -> None:
    app.command("poll")(poll)
