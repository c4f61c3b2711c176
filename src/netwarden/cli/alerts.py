"""``netwarden alerts list | show | ack | resolve | events`` and ``netwarden maintenance add | list | rm``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from netwarden.alerts import service
from netwarden.alerts.schemas import MaintenanceIn
from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.errors import InvalidInput

app = typer.Typer(help="Alerts: list, show, acknowledge, resolve; the events behind them.", no_args_is_help=True)
maintenance_app = typer.Typer(help="Maintenance windows that silence alerts.", no_args_is_help=True)

LIST_COLUMNS = ["id", "state", "severity", "device", "summary", "impact", "first_seen"]


def _row(a: Any) -> dict[str, Any]:
    d: dict[str, Any] = a.model_dump()
    d["impact"] = ", ".join(a.impact) if a.impact else ""
    d["first_seen"] = a.first_seen.strftime("%Y-%m-%d %H:%M:%S")
    return d


@app.command("list")
def list_(
    state: Annotated[
        str | None, typer.Option("--state", help="open, acknowledged, resolved, active (default) or all.")
    ] = None,
    severity: Annotated[str | None, typer.Option("--severity", help="This severity and above.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="Glob over device or link ('r1--r2').")] = None,
    all_: Annotated[
        bool, typer.Option("--all", help="Every state, and alerts folded under a root or silenced.")
    ] = False,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 1000,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Active root alerts, newest first: one per problem, with the devices it cuts off as impact."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        alerts = service.list_alerts(
            db,
            actor(),
            state="all" if all_ and state is None else state,
            severity=severity,
            device=device,
            include_folded=all_,
            limit=limit,
        )
    emit(alerts, json_out, lambda: table([_row(a) for a in alerts], LIST_COLUMNS, "alerts"))


@app.command("show")
def show(alert_id: Annotated[int, typer.Argument()], data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """One alert, the alerts folded under it and its events."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        detail = service.get_alert(db, actor(), alert_id)

    def human() -> None:
        console.print(f"[bold]alert {detail.id}[/] {detail.state} {detail.severity} {detail.device}: {detail.summary}")
        if detail.impact:
            console.print(f"impact: {', '.join(detail.impact)} (sites {', '.join(detail.impact_sites)})")
        if detail.children:
            table([_row(c) for c in detail.children], LIST_COLUMNS, "explained by this alert")
        table([e.model_dump() for e in detail.events], ["at", "transition", "source", "kind", "summary"], "events")

    emit(detail, json_out, human)


@app.command("ack")
def ack(
    alert_id: Annotated[int, typer.Argument()],
    note: Annotated[str, typer.Option("--note", help="Why, or who is on it.")] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Acknowledge an alert: escalation stops; reboot and trap alerts resolve."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        result = service.acknowledge(db, actor(), alert_id, note)
    emit(result, json_out, lambda: console.print(f"alert {alert_id}: {result.alert.state}"))


@app.command("resolve")
def resolve(
    alert_id: Annotated[int, typer.Argument()],
    note: Annotated[str, typer.Option("--note")] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Close an alert by hand (when its clearing event will never come)."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        alert = service.resolve(db, actor(), alert_id, note)
    emit(alert, json_out, lambda: console.print(f"alert {alert_id}: resolved"))


@app.command("events")
def events(
    device: Annotated[str | None, typer.Option("--device")] = None,
    kind: Annotated[str | None, typer.Option("--kind")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 200,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Events the alert engine recorded (polls, traps, syslog), newest first."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        rows = service.list_events(db, actor(), device=device, kind=kind, limit=limit)
    emit(rows, json_out, lambda: table(rows, ["at", "source", "kind", "subject", "transition", "summary"], "events"))


def _when(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"cannot read time {text!r}: use ISO 8601, e.g. 2026-11-23T22:00:00Z") from None
    return value if value.tzinfo else value.astimezone(dt.UTC)


@maintenance_app.command("add")
def maintenance_add(
    pattern: Annotated[str, typer.Argument(help="Glob over device, site or subject names.")],
    scope: Annotated[str, typer.Option("--scope", help="device, site or subject.")] = "device",
    start: Annotated[str | None, typer.Option("--start", help="ISO 8601; default now.")] = None,
    end: Annotated[str | None, typer.Option("--end", help="ISO 8601.")] = None,
    minutes: Annotated[float | None, typer.Option("--minutes", help="Length instead of --end.")] = None,
    reason: Annotated[str, typer.Option("--reason")] = "",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Silence alerts of matching devices, sites or subjects for a while."""
    starts = _when(start) if start else dt.datetime.now(dt.UTC)
    if end is None and minutes is None:
        raise InvalidInput("a maintenance window needs --end or --minutes")
    ends = _when(end) if end else starts + dt.timedelta(minutes=minutes or 0)
    data = MaintenanceIn.model_validate(
        {"scope": scope, "pattern": pattern, "starts_at": starts, "ends_at": ends, "reason": reason}
    )
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        window = service.add_window(db, actor(), data)
    emit(window, json_out, lambda: console.print(f"maintenance window {window.id} until {window.ends_at}"))


@maintenance_app.command("list")
def maintenance_list(
    past: Annotated[bool, typer.Option("--past", help="Include ended windows.")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        rows = service.list_windows(db, actor(), past)
    emit(rows, json_out, lambda: table(rows, ["id", "scope", "pattern", "starts_at", "ends_at", "active", "reason"]))


@maintenance_app.command("rm")
def maintenance_rm(
    window_id: Annotated[int, typer.Argument()], data_dir: DataDir = None, json_out: JsonOut = False
) -> None:
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        service.delete_window(db, actor(), window_id)
    emit({"removed": window_id}, json_out, lambda: console.print(f"maintenance window {window_id} removed"))
