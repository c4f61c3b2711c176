"""The web console: placeholder until the console module lands."""

from __future__ import annotations

from fastapi import FastAPI

from netwarden.context import Context


def install(app: FastAPI, ctx: Context) -> None:
    return None
