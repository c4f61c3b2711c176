"""/api/v1/vlans (a VLAN is named by its ID and, for site VLANs, ?site=NAME)"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from netwarden.api.deps import CurrentActor, Db, Limit, Offset
from netwarden.inventory import service
from netwarden.inventory.schemas import Page, VlanIn, VlanOut, VlanPatch

router = APIRouter(prefix="/vlans", tags=["vlans"])
Site = Annotated[str | None, Query(max_length=128, description="the VLAN's site; omit for a global VLAN")]
Vid = Annotated[int, Path(ge=1, le=4094)]


@router.get("")
def list_vlans(
    db: Db, actor: CurrentActor, site: Site = None, limit: Limit = 1000, offset: Offset = 0
) -> Page[VlanOut]:
    return service.list_vlans(db, actor, site, limit, offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_vlan(body: VlanIn, db: Db, actor: CurrentActor) -> VlanOut:
    return service.add_vlan(db, actor, body)


@router.get("/{vid}")
def show_vlan(vid: Vid, db: Db, actor: CurrentActor, site: Site = None) -> VlanOut:
    return service.show_vlan(db, actor, vid, site)


@router.patch("/{vid}")
def update_vlan(vid: Vid, body: VlanPatch, db: Db, actor: CurrentActor, site: Site = None) -> VlanOut:
    return service.update_vlan(db, actor, vid, site, body)


@router.delete("/{vid}", status_code=status.HTTP_204_NO_CONTENT)
def remove_vlan(vid: Vid, db: Db, actor: CurrentActor, site: Site = None) -> None:
    service.remove_vlan(db, actor, vid, site)
