"""The shapes that leave the log package: a stored event as the CLI's ``--json`` and the API give it."""

from __future__ import annotations

from pydantic import BaseModel

from netwarden.security.logs.model import LogEvent


class LogEventOut(BaseModel):
    """``logs events --json`` / ``GET /api/v1/logs`` items: the contract's fields first, then the rest."""

    time: str
    host: str
    kind: str
    source_ip: str | None
    user: str | None
    outcome: str | None
    raw: str
    app: str
    source_port: int | None
    dest_ip: str | None
    dest_port: int | None
    proto: str | None
    action: str | None
    parser: str

    @classmethod
    def of(cls, event: LogEvent) -> LogEventOut:
        return cls(**event.public())


class LogEventPage(BaseModel):
    items: list[LogEventOut]
    total: int
