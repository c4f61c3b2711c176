"""``netwarden credential``: placeholder until its module lands."""

from __future__ import annotations

import typer

app = typer.Typer(help="credential (in progress).", no_args_is_help=True)
