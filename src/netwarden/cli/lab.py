"""``netwarden lab``: placeholder until its module lands."""

from __future__ import annotations

import typer

from netwarden.cli import lab_fleet

app = typer.Typer(help="A real virtual network in Linux network namespaces (in progress).", no_args_is_help=True)
app.add_typer(lab_fleet.app, name="fleet")
