"""``netwarden init`` and ``netwarden serve``."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from netwarden.access import service as access
from netwarden.cli.common import DataDir, JsonOut, console, emit
from netwarden.context import Context


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("serve")(serve)


def init(
    data_dir: DataDir = None,
    admin: Annotated[str, typer.Option(help="Name of the first admin user.")] = "admin",
    json_out: JsonOut = False,
) -> None:
    """Create the store and print the admin API token (shown once)."""
    ctx = Context.create(data_dir=data_dir)
    with ctx.db() as db:
        created = access.bootstrap_admin(db, admin)
    out = {
        "data_dir": str(ctx.data_dir.resolve()),
        "admin_token": created.token if created else None,
        "admin": created.name if created else None,
        "created": created is not None,
    }

    def human() -> None:
        console.print(f"store ready in [bold]{out['data_dir']}[/bold]")
        if created:
            console.print(f"admin user [bold]{created.name}[/bold]; API token (shown once, keep it safe):")
            console.print(created.token, highlight=False, soft_wrap=True)
        else:
            console.print("the store already has users; no new token was made")

    emit(out, json_out, human)


def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8080).")] = None,
    json_out: JsonOut = False,
) -> None:
    """Run the API and the web console (with --json: one JSON line with the URLs, then serve)."""
    import uvicorn

    from netwarden.api.app import create_app

    ctx = Context.open(data_dir=data_dir, host=host, port=port)
    application = create_app(ctx)
    base = f"http://{ctx.settings.host}:{ctx.settings.port}"
    if json_out:
        sys.stdout.write(json.dumps({"url": f"{base}/", "api": f"{base}/api/v1", "docs": f"{base}/api/docs"}) + "\n")
        sys.stdout.flush()
    else:
        console.print(f"netwarden console on {base}/  (API docs at /api/docs)")
    uvicorn.run(application, host=ctx.settings.host, port=ctx.settings.port, log_level="warning")
