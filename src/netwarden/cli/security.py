"""``netwarden security detections | rules | incidents | incident | update | report``."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, err_console, open_ctx, print_json, table
from netwarden.errors import InvalidInput
from netwarden.security import correlate, report
from netwarden.security.detect import service
from netwarden.security.detect.engine import BUILTIN, Engine
from netwarden.security.detect.schemas import IncidentPatch

app = typer.Typer(help="Security: detections over the log store, incidents, breach reports.", no_args_is_help=True)

_AGO = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
Since = Annotated[
    str | None,
    typer.Option("--since", help="Start: an ISO time (2026-03-01T10:00Z) or an age (30m, 24h, 7d). Default: all."),
]
Until = Annotated[str | None, typer.Option("--until", help="End (exclusive): an ISO time or an age.")]


def when(text: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """An ISO time (zone-less means UTC) or an age such as ``24h`` as an aware datetime."""
    if text is None:
        return None
    now = now or dt.datetime.now(dt.UTC)
    if m := _AGO.match(text.strip()):
        return now - dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"cannot read time {text!r}: use ISO 8601 (2026-03-01T10:00Z) or an age (30m, 24h, 7d)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _stamp(t: dt.datetime | None) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") if t else ""


@app.command("detections")
def detections(
    since: Since = None,
    until: Until = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule's detections.")] = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Only show: record no detection and open no incident.")
    ] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Run every detection over the stored log events of the period; record them and their incidents.

    Running again over the same events updates the recorded detections instead of adding new ones.
    """
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        result = service.detect(db, actor(), ctx.settings, since=when(since), until=when(until), save=not no_save)
    found = [d for d in result.detections if rule is None or d.rule in (rule, f"sigma:{rule}")]
    sigma = result.sigma or {}
    if sigma.get("unsupported"):
        err_console.print(
            f"[yellow]{sigma['unsupported']} Sigma rule(s) not loaded; 'netwarden security rules' says why[/]"
        )
    for name, why in result.failed.items():
        err_console.print(f"[red]rule {name} failed: {why}[/]")
    if result.truncated:
        err_console.print(f"[yellow]only the newest {result.events} events of the period were read: give --since[/]")

    def human() -> None:
        rows = [
            {**d.model_dump(), "first": _stamp(d.first), "last": _stamp(d.last), "incident": d.incident_id}
            for d in found
        ]
        table(
            rows, ["rule", "host", "source_ip", "user", "first", "last", "count", "incident", "summary"], "detections"
        )
        console.print(
            f"{result.events} events read, {len(found)} detections ({result.new} new, {result.updated} updated),"
            f" incidents: {', '.join(map(str, result.incidents)) or 'none'}"
        )

    emit(found, json_out, human)


@app.command("rules")
def rules(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """The built-in rules with their thresholds and windows, and the Sigma rules loaded or refused (and why)."""
    ctx = open_ctx(data_dir)
    engine = Engine.from_settings(ctx.settings)
    builtin = []
    for name, r in BUILTIN.items():
        cfg = engine.settings(name)
        builtin.append(
            {
                "rule": name,
                "enabled": cfg.enabled,
                "threshold": cfg.threshold,
                "window_seconds": cfg.window_seconds,
                "description": r.description,
            }
        )
    out: dict[str, Any] = {
        "builtin": builtin,
        "correlation_window_seconds": correlate.correlation_window(engine.overrides),
        "sigma": engine.sigma.public() if engine.sigma else {"files": 0, "loaded": 0, "unsupported": 0},
        "unknown_overrides": engine.unknown_overrides,
    }

    def human() -> None:
        table(builtin, ["rule", "enabled", "threshold", "window_seconds", "description"], "built-in rules")
        s = out["sigma"]
        console.print(f"Sigma: {s['files']} file(s), {s['loaded']} rule(s) loaded, {s['unsupported']} not loaded")
        if s.get("problems"):
            table(s["problems"], ["file", "rule", "reason"], "Sigma rules not loaded")
        if engine.unknown_overrides:
            console.print(f"[yellow]detection_overrides name unknown rules: {', '.join(engine.unknown_overrides)}[/]")

    emit(out, json_out, human)


@app.command("incidents")
def incidents(
    status: Annotated[
        str | None, typer.Option("--status", help="open, investigating, closed, active (not closed) or all (default).")
    ] = None,
    since: Since = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 1000,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Security incidents, most recently active first."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        items = correlate.list_incidents(db, actor(), status=status, limit=limit, since=when(since))

    def human() -> None:
        rows = [
            {
                **i.model_dump(),
                "first": _stamp(i.first_seen),
                "last": _stamp(i.last_seen),
                "assets": ", ".join(a.device for a in i.assets),
                "sources": ", ".join(i.sources),
            }
            for i in items
        ]
        table(rows, ["id", "status", "severity", "title", "first", "last", "assets", "sources"], "incidents")

    emit(items, json_out, human)


def _show(detail: Any) -> None:
    d = detail
    console.print(f"[bold]incident {d.id}[/] {d.status} {d.severity}: {d.title}")
    console.print(f"{_stamp(d.first_seen)} .. {_stamp(d.last_seen)}; sources: {', '.join(d.sources) or '-'}")
    console.print(
        f"attacker: {d.attacker or d.actor or '-'}" + (f" ({d.attacker_device})" if d.attacker_device else "")
    )
    table([a.model_dump() for a in d.assets], ["device", "site", "address", "role"], "affected assets")
    table(
        [{**x.model_dump(), "first": _stamp(x.first), "last": _stamp(x.last)} for x in d.detection_list],
        ["id", "rule", "host", "source_ip", "user", "first", "last", "count", "summary"],
        "detections",
    )
    table(
        [{**t.model_dump(), "time": _stamp(t.time)} for t in d.timeline[:100]],
        ["time", "source", "host", "summary"],
        "timeline" + (f" (first 100 of {len(d.timeline)})" if len(d.timeline) > 100 else ""),
    )


@app.command("incident")
def incident(
    incident_id: Annotated[int, typer.Argument(help="The incident's id.")],
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """One incident: its timeline, affected assets, detections and status history."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        detail = correlate.get_incident(db, actor(), incident_id)
    emit(detail, json_out, lambda: _show(detail))


@app.command("update")
def update(
    incident_id: Annotated[int, typer.Argument(help="The incident's id.")],
    status: Annotated[str | None, typer.Option("--status", help="open, investigating or closed.")] = None,
    note: Annotated[str | None, typer.Option("--note", help="A note kept with the incident (and the change).")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Change an incident's status or note (audited)."""
    if status is None and note is None:
        raise InvalidInput("nothing to change: give --status and/or --note")
    patch = IncidentPatch.model_validate({"status": status, "note": note})
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        detail = correlate.update_incident(db, actor(), incident_id, patch)
    emit(detail, json_out, lambda: console.print(f"incident {detail.id} is {detail.status}"))


@app.command("report")
def report_(
    incident_id: Annotated[int, typer.Argument(help="The incident's id.")],
    fmt: Annotated[str, typer.Option("--format", help="md, html or pdf.")] = "md",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here (default: stdout; pdf needs -o).")
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """A breach report: what happened, when, scope, vector, evidence and recommended actions."""
    if fmt == "pdf" and output is None:
        raise InvalidInput("a PDF report needs -o FILE")
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        detail = correlate.get_incident(db, actor(), incident_id)
    data = report.render(detail, fmt)
    if output is None:
        sys.stdout.write(data.decode())
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise InvalidInput(f"cannot write {output}: {exc.strerror}") from None
    if json_out:
        print_json({"incident": incident_id, "format": fmt, "path": str(output), "bytes": len(data)})
    else:
        console.print(f"wrote {output} ({len(data)} bytes)")
