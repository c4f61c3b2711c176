"""/api/v1/credentials: metadata out, secrets in only (never returned)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from netwarden.api.deps import CurrentActor, Db, Limit, Offset, get_ctx
from netwarden.errors import InvalidInput
from netwarden.inventory import service
from netwarden.inventory.schemas import CredentialIn, CredentialOut, Page

router = APIRouter(prefix="/credentials", tags=["credentials"])


@router.get("")
def list_credentials(
    db: Db,
    actor: CurrentActor,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> Page[CredentialOut]:
    return service.list_credentials(db, actor, kind, limit, offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_credential(body: CredentialIn, request: Request, db: Db, actor: CurrentActor) -> CredentialOut:
    return service.add_credential(db, actor, get_ctx(request).vault, body)


@router.put("/{name}")
def put_credential(name: str, body: CredentialIn, request: Request, db: Db, actor: CurrentActor) -> CredentialOut:
    """Create or replace the credential ``name`` (the body's name must match)."""
    if body.name != name:
        raise InvalidInput(f"the body names credential {body.name!r} but the URL names {name!r}")
    return service.upsert_credential(db, actor, get_ctx(request).vault, body)


@router.get("/{name}")
def show_credential(name: str, db: Db, actor: CurrentActor) -> CredentialOut:
    return service.show_credential(db, actor, name)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_credential(name: str, db: Db, actor: CurrentActor) -> None:
    service.remove_credential(db, actor, name)
