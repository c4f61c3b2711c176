"""/api/v1/interfaces and /api/v1/devices/{device}/interfaces"""

from __future__ import annotations

from fastapi import APIRouter, status

from netwarden.api.deps import CurrentActor, Db, Limit, Offset
from netwarden.inventory import service
from netwarden.inventory.schemas import InterfaceIn, InterfaceOut, InterfacePatch, Page

router = APIRouter(tags=["interfaces"])


@router.get("/interfaces")
def list_interfaces(
    db: Db, actor: CurrentActor, device: str | None = None, limit: Limit = 1000, offset: Offset = 0
) -> Page[InterfaceOut]:
    return service.list_interfaces(db, actor, device, limit, offset)


@router.post("/devices/{device}/interfaces", status_code=status.HTTP_201_CREATED)
def add_interface(device: str, body: InterfaceIn, db: Db, actor: CurrentActor) -> InterfaceOut:
    return service.add_interface(db, actor, device, body)


@router.patch("/devices/{device}/interfaces/{name:path}")
def update_interface(device: str, name: str, body: InterfacePatch, db: Db, actor: CurrentActor) -> InterfaceOut:
    return service.update_interface(db, actor, device, name, body)


@router.delete("/devices/{device}/interfaces/{name:path}", status_code=status.HTTP_204_NO_CONTENT)
def remove_interface(device: str, name: str, db: Db, actor: CurrentActor) -> None:
    service.remove_interface(db, actor, device, name)
