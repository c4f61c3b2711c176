"""``netwarden import`` / ``netwarden export``: placeholder until its module lands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
