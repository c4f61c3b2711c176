"""/api/v1/prefixes, /api/v1/ip-addresses and /api/v1/prefixes/{cidr}/next-ip"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from netwarden.api.deps import CurrentActor, Db, Limit, Offset
from netwarden.inventory import service
from netwarden.inventory.schemas import IPAddressIn, IPAddressOut, NextIP, Page, PrefixIn, PrefixOut, PrefixPatch

router = APIRouter(tags=["ipam"])
Text = Annotated[str | None, Query(max_length=128)]


@router.get("/prefixes")
def list_prefixes(
    db: Db,
    actor: CurrentActor,
    family: Annotated[Literal["4", "6"] | None, Query(description="4 or 6")] = None,
    site: Text = None,
    q: Text = None,
    within: Text = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> Page[PrefixOut]:
    return service.list_prefixes(db, actor, int(family) if family else None, site, q, limit, offset, within=within)


@router.post("/prefixes", status_code=status.HTTP_201_CREATED)
def add_prefix(body: PrefixIn, db: Db, actor: CurrentActor) -> PrefixOut:
    return service.add_prefix(db, actor, body)


# A CIDR holds a slash, so routes take it as a path: /prefixes/10.0.0.0/24 and /prefixes/10.0.0.0/24/next-ip.
@router.get("/prefixes/{cidr:path}/next-ip")
def next_ip(cidr: str, db: Db, actor: CurrentActor) -> NextIP:
    return service.next_free_ip(db, actor, cidr)


@router.get("/prefixes/{cidr:path}")
def show_prefix(cidr: str, db: Db, actor: CurrentActor) -> PrefixOut:
    return service.show_prefix(db, actor, cidr)


@router.patch("/prefixes/{cidr:path}")
def update_prefix(cidr: str, body: PrefixPatch, db: Db, actor: CurrentActor) -> PrefixOut:
    return service.update_prefix(db, actor, cidr, body)


@router.delete("/prefixes/{cidr:path}", status_code=status.HTTP_204_NO_CONTENT)
def remove_prefix(cidr: str, db: Db, actor: CurrentActor) -> None:
    service.remove_prefix(db, actor, cidr)


@router.get("/ip-addresses")
def list_ip_addresses(
    db: Db,
    actor: CurrentActor,
    prefix: Text = None,
    device: Text = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> Page[IPAddressOut]:
    return service.list_ip_addresses(db, actor, prefix, device, limit, offset)


@router.post("/ip-addresses", status_code=status.HTTP_201_CREATED)
def add_ip_address(body: IPAddressIn, db: Db, actor: CurrentActor) -> IPAddressOut:
    return service.add_ip_address(db, actor, body)


@router.delete("/ip-addresses/{address:path}", status_code=status.HTTP_204_NO_CONTENT)
def remove_ip_address(address: str, db: Db, actor: CurrentActor) -> None:
    service.remove_ip_address(db, actor, address)
