"""``netwarden config``: back up configurations into git, show their history and diffs, check compliance."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, print_json, table
from netwarden.context import Context
from netwarden.errors import InvalidInput, NotFound

app = typer.Typer(help="Configurations: backup into git, history, diff, compliance.", no_args_is_help=True)

Part = Annotated[
    str, typer.Option("--part", help="Which part of the configuration: running (default), startup, nftables...")
]


@app.command("backup")
def backup(
    devices: Annotated[list[str] | None, typer.Argument(help="Devices (default: all with an address).")] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", "-c", help="Stored ssh credential, tried in order (default: config_credentials)."),
    ] = None,
    why: Annotated[str, typer.Option("--why", help="Why: goes into the commit message.")] = "on demand",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Pull configurations over SSH and commit them to the config repository (one commit per run).

    Exit status 1 when any device failed (its previous backup is kept).
    """
    from netwarden.configs.backup import backup as run

    ctx = open_ctx(data_dir)
    report = asyncio.run(run(ctx, actor(), devices or None, why=why, credentials=credential))

    def human() -> None:
        changed = [o.device for o in report.outcomes if o.changed]
        new = [o.device for o in report.outcomes if o.new]
        ok = sum(o.ok for o in report.outcomes)
        rev = report.revision[:10] if report.revision else "no new commit"
        console.print(f"backed up {ok} of {len(report.outcomes)} device(s): {rev}")
        if new:
            console.print(f"new: {', '.join(new)}")
        if changed:
            console.print(f"changed: {', '.join(changed)}")
        failed = [o.public() for o in report.outcomes if not o.ok]
        if failed:
            table(failed, ["device", "reason", "detail", "failures"], "failed")

    emit(report.public(), json_out, human)
    if any(not o.ok for o in report.outcomes):
        raise typer.Exit(1)


@app.command("status")
def status(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Each device's backup state: last success, last change, revision, failures in a row."""
    from netwarden.configs.backup import states

    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        rows = [
            {
                "device": d.name,
                "platform": d.platform,
                "last_attempt": s.last_attempt if s else None,
                "last_success": s.last_success if s else None,
                "last_change": s.last_change if s else None,
                "revision": s.revision if s else "",
                "files": s.files if s else [],
                "failures": s.failures if s else 0,
                "reason": s.reason if s else "",
                "last_error": s.last_error if s else "",
            }
            for d, s in states(db)
        ]
    emit(rows, json_out, lambda: table(rows, ["device", "last_success", "last_change", "failures", "reason"]))


def _file(ctx_device: str, platform: str, part: str) -> str:
    from netwarden.collect.platforms import get_platform
    from netwarden.configs.backup import file_name

    spec = get_platform(platform)
    if spec.config is None:
        raise InvalidInput(f"platform {platform} has no config backup")
    for source in spec.config.sources:
        if source.name == part:
            return file_name(ctx_device, source)
    names = ", ".join(s.name for s in spec.config.sources)
    raise InvalidInput(f"platform {platform} has no config part {part!r}: use {names}")


def _device_platform(data_dir: Path | None, device: str) -> tuple[Context, str]:
    from sqlalchemy import select

    from netwarden.inventory.models import Device

    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        platform = db.scalar(select(Device.platform).where(Device.name == device))
    if platform is None:
        raise NotFound(f"no device {device!r} in the inventory")
    return ctx, platform


@app.command("history")
def history(
    device: Annotated[str, typer.Argument(help="Device name.")],
    part: Part = "running",
    limit: Annotated[int, typer.Option(help="At most this many revisions.", min=1)] = 50,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Revisions of a device's configuration, newest first."""
    from netwarden.configs.backup import repo_of

    ctx, platform = _device_platform(data_dir, device)
    revs = repo_of(ctx).history(_file(device, platform, part), limit)
    rows = [{"rev": r.rev, "at": r.at, "author": r.author, "message": r.message} for r in revs]
    emit(rows, json_out, lambda: table(rows, ["rev", "at", "author", "message"]))


@app.command("show")
def show(
    device: Annotated[str, typer.Argument(help="Device name.")],
    rev: Annotated[str, typer.Argument(help="Revision (default: the latest).")] = "HEAD",
    part: Part = "running",
    data_dir: DataDir = None,
) -> None:
    """Print a device's stored configuration (at a revision)."""
    from netwarden.configs.backup import repo_of

    ctx, platform = _device_platform(data_dir, device)
    sys.stdout.write(repo_of(ctx).show(_file(device, platform, part), rev))


@app.command("diff")
def diff(
    device: Annotated[str, typer.Argument(help="Device name.")],
    revs: Annotated[
        list[str] | None, typer.Argument(help="OLD [NEW] revisions (default: the device's last change).")
    ] = None,
    part: Part = "running",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Unified diff of a device's configuration between two revisions (default: its last change)."""
    from netwarden.configs.backup import repo_of

    revs = revs or []
    if len(revs) > 2:
        raise InvalidInput("give at most two revisions: OLD [NEW]")
    ctx, platform = _device_platform(data_dir, device)
    repo = repo_of(ctx)
    name = _file(device, platform, part)
    old = revs[0] if revs else None
    new = revs[1] if len(revs) > 1 else None
    text = repo.diff(name, old, new)
    if json_out:
        added = [ln[1:] for ln in text.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        removed = [ln[1:] for ln in text.splitlines() if ln.startswith("-") and not ln.startswith("---")]
        print_json({"device": device, "file": name, "old": old, "new": new, "diff": text,
                    "added": added, "removed": removed})  # fmt: skip
        return
    sys.stdout.write(text)
