"""/api/v1/links (a link is named by either end: /links/{device}/{port})"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from netwarden.api.deps import CurrentActor, Db, Limit, Offset
from netwarden.inventory import service
from netwarden.inventory.schemas import LinkIn, LinkOut, Page

router = APIRouter(prefix="/links", tags=["links"])


@router.get("")
def list_links(
    db: Db,
    actor: CurrentActor,
    device: Annotated[str | None, Query(max_length=128)] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> Page[LinkOut]:
    return service.list_links(db, actor, device, limit, offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_link(body: LinkIn, db: Db, actor: CurrentActor) -> LinkOut:
    return service.add_link(db, actor, body)


@router.get("/{device}/{port:path}")
def show_link(device: str, port: str, db: Db, actor: CurrentActor) -> LinkOut:
    return service.show_link(db, actor, device, port)


@router.delete("/{device}/{port:path}", status_code=status.HTTP_204_NO_CONTENT)
def remove_link(device: str, port: str, db: Db, actor: CurrentActor) -> None:
    service.remove_link(db, actor, device, port)
