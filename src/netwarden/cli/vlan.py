"""``netwarden vlan``: placeholder until its module lands."""

from __future__ import annotations

import typer

app = typer.Typer(help="vlan (in progress).", no_args_is_help=True)
