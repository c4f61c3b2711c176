"""/api/v1/devices"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from netwarden.api.deps import CurrentActor, Db, Limit, Offset
from netwarden.inventory import service
from netwarden.inventory.schemas import DeviceDetail, DeviceFilter, DeviceIn, DeviceOut, DevicePatch, Page

router = APIRouter(prefix="/devices", tags=["devices"])


@router.get("")
def list_devices(
    db: Db,
    actor: CurrentActor,
    filters: Annotated[DeviceFilter, Query()],
    limit: Limit = 1000,
    offset: Offset = 0,
) -> Page[DeviceOut]:
    return service.list_devices(db, actor, filters, limit, offset)


@router.post("", status_code=status.HTTP_201_CREATED)
def add_device(body: DeviceIn, db: Db, actor: CurrentActor) -> DeviceOut:
    return service.add_device(db, actor, body)


@router.get("/{name}")
def show_device(name: str, db: Db, actor: CurrentActor) -> DeviceDetail:
    return service.show_device(db, actor, name)


@router.patch("/{name}")
def update_device(name: str, body: DevicePatch, db: Db, actor: CurrentActor) -> DeviceOut:
    return service.update_device(db, actor, name, body)


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT)
def remove_device(name: str, db: Db, actor: CurrentActor) -> None:
    service.remove_device(db, actor, name)
