"""``netwarden lab fleet``: placeholder until its module lands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Simulated SNMP fleet for scale tests (in progress).", no_args_is_help=True)
