"""Shapes that leave the access package."""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Role(enum.StrEnum):
    """viewer reads; operator also acts (ack, backup, poll); admin also changes inventory, users, policy."""

    viewer = "viewer"
    operator = "operator"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "operator": 1, "admin": 2}[self.value]


@dataclass(frozen=True)
class Actor:
    """Who is calling, with what role, from where: passed to every service function."""

    name: str
    role: Role
    address: str = "local"

    def can(self, needed: Role) -> bool:
        return self.role.rank >= needed.rank


# The local command line has the data dir in hand, so it acts as admin.
def cli_actor() -> Actor:
    import getpass

    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = "unknown"
    return Actor(name=f"cli:{who}", role=Role.admin, address="local")


SYSTEM = Actor(name="system", role=Role.admin, address="local")


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    role: Role
    token_ttl_days: int | None = Field(default=None, ge=1, le=3650)


class UserOut(BaseModel):
    name: str
    role: Role
    disabled: bool
    created_at: dt.datetime
    tokens: int = 0


class UserCreated(BaseModel):
    """Returned once, at creation: the only time the token is shown."""

    name: str
    role: Role
    token: str
    expires_at: dt.datetime | None = None


class TokenOut(BaseModel):
    key: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    last_used_at: dt.datetime | None


class AuditOut(BaseModel):
    id: int
    time: dt.datetime
    actor: str
    role: str
    address: str
    action: str
    object_type: str
    object: str
    changes: dict[str, Any]
    note: str
