"""Request dependencies: the context, a database session, the calling actor, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from netwarden.access import service as access
from netwarden.access.schemas import Actor
from netwarden.context import Context
from netwarden.errors import AuthenticationFailed


def get_ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def get_db(request: Request) -> Iterator[Session]:
    with get_ctx(request).db() as session:
        yield session


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def get_actor(request: Request, db: Annotated[Session, Depends(get_db)]) -> Actor:
    """The actor behind ``Authorization: Bearer <token>`` (or a console session cookie)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return access.authenticate(db, header[7:].strip(), address=client_address(request))
    web_actor = getattr(request.state, "web_actor", None)
    if isinstance(web_actor, Actor):
        return web_actor
    raise AuthenticationFailed("missing credentials: send 'Authorization: Bearer <token>'")


Db = Annotated[Session, Depends(get_db)]
CurrentActor = Annotated[Actor, Depends(get_actor)]
Limit = Annotated[int, Query(ge=1, le=10000, description="Page size.")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Rows to skip.")]
