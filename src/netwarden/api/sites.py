"""/api/v1/sites"""

from __future__ import annotations

from fastapi import APIRouter, status

from netwarden.api.deps import CurrentActor, Db, Limit, Offset
from netwarden.inventory import service
from netwarden.inventory.schemas import Page, SiteIn, SiteOut, SitePatch

router = APIRouter(prefix="/sites", tags=["sites"])


@router.get("")
def list_sites(db: Db, actor: CurrentActor, limit: Limit = 1000, offset: Offset = 0) -> Page[SiteOut]:
    return service.list_sites(db, actor, limit, offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_site(body: SiteIn, db: Db, actor: CurrentActor) -> SiteOut:
    return service.add_site(db, actor, body)


@router.get("/{name}")
def show_site(name: str, db: Db, actor: CurrentActor) -> SiteOut:
    return service.show_site(db, actor, name)


@router.patch("/{name}")
def update_site(name: str, body: SitePatch, db: Db, actor: CurrentActor) -> SiteOut:
    return service.update_site(db, actor, name, body)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_site(name: str, db: Db, actor: CurrentActor) -> None:
    service.remove_site(db, actor, name)
