"""/api/v1/users and tokens"""

from __future__ import annotations

from fastapi import APIRouter, status

from netwarden.access import service as access
from netwarden.access.schemas import TokenOut, UserCreated, UserIn
from netwarden.api.deps import CurrentActor, Db

router = APIRouter(prefix="/users", tags=["users"])


@router.get("")
def list_users(db: Db, actor: CurrentActor) -> dict[str, object]:
    users = access.list_users(db, actor)
    return {"items": users, "total": len(users)}


@router.post("", status_code=status.HTTP_201_CREATED)
def add_user(body: UserIn, db: Db, actor: CurrentActor) -> UserCreated:
    return access.create_user(db, actor, body)


@router.post("/{name}/tokens", status_code=status.HTTP_201_CREATED)
def new_token(name: str, db: Db, actor: CurrentActor, ttl_days: int | None = None) -> UserCreated:
    return access.new_token(db, actor, name, ttl_days)


@router.post("/{name}/revoke")
def revoke(name: str, db: Db, actor: CurrentActor, key: str | None = None) -> list[TokenOut]:
    return access.revoke(db, actor, name, key)


@router.get("/me")
def me(actor: CurrentActor) -> dict[str, str]:
    return {"name": actor.name, "role": actor.role.value}
