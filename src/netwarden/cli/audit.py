"""``netwarden audit``: the audit log (admins)."""

from __future__ import annotations

from typing import Annotated

import typer

from netwarden.access import audit as audit_log
from netwarden.cli.common import DataDir, JsonOut, actor, emit, open_ctx, table


def register(app: typer.Typer) -> None:
    app.command("audit")(audit)


def audit(
    object_type: Annotated[str | None, typer.Option("--type", help="device, site, user, ...")] = None,
    obj: Annotated[str | None, typer.Option("--object", help="Object name.")] = None,
    who: Annotated[str | None, typer.Option("--actor")] = None,
    action: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 100,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Show the audit log, newest first."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        rows, _total = audit_log.list_entries(
            db, actor(), object_type=object_type, obj=obj, who=who, action=action, limit=limit
        )
    emit(
        rows,
        json_out,
        lambda: table(rows, ["id", "time", "actor", "address", "action", "object", "changes"], "audit"),
    )
