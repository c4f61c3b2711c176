"""/api/v1/configs and /api/v1/compliance: backups, history, diffs (viewers read, operators back up and check)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from netwarden.access.schemas import Role
from netwarden.access.service import require
from netwarden.api.deps import CurrentActor, Db, get_ctx
from netwarden.context import Context
from netwarden.errors import NotFound
from netwarden.inventory.models import Device

router = APIRouter(tags=["configs"])
Ctx = Annotated[Context, Depends(get_ctx)]

Part = Annotated[str, Query(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="running (default), startup, nftables...")]
Rev = Annotated[str | None, Query(max_length=100, description="a revision from the history (default: latest)")]


class BackupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[str] = Field(default_factory=list, max_length=10000, description="default: every device")
    why: str = Field(default="on demand (API)", max_length=500)


class CheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    devices: list[str] = Field(default_factory=list, max_length=10000, description="default: every backed-up device")


def _file(db: Db, device: str, part: str) -> str:
    from netwarden.configs.backup import part_file

    platform = db.scalar(select(Device.platform).where(Device.name == device))
    if platform is None:
        raise NotFound(f"no device {device!r} in the inventory")
    return part_file(device, platform, part)


@router.get("/configs")
def list_backups(db: Db, actor: CurrentActor) -> dict[str, Any]:
    """Each device's backup state: last success and change, revision, files, failures in a row."""
    from netwarden.configs.backup import state_rows

    require(actor, Role.viewer, "read config backups")
    items = state_rows(db)
    return {"items": items, "total": len(items)}


@router.post("/configs/backup")
async def run_backup(body: BackupIn, actor: CurrentActor, ctx: Ctx) -> dict[str, Any]:
    """Back up now (operators): one commit for the run; failed devices keep their previous backup."""
    from netwarden.configs.backup import backup

    report = await backup(ctx, actor, body.devices or None, why=body.why)
    return report.public()


@router.get("/configs/{device}/history")
def history(
    db: Db, ctx: Ctx, actor: CurrentActor, device: str, part: Part = "running", limit: int = 100
) -> dict[str, Any]:
    from netwarden.configs.backup import repo_of

    require(actor, Role.viewer, "read config backups")
    name = _file(db, device, part)
    revs = repo_of(ctx).history(name, max(1, min(limit, 1000)))
    items = [{"rev": r.rev, "at": r.at, "author": r.author, "message": r.message} for r in revs]
    return {"device": device, "file": name, "items": items, "total": len(items)}


@router.get("/configs/{device}/text")
def text(db: Db, ctx: Ctx, actor: CurrentActor, device: str, part: Part = "running", rev: Rev = None) -> dict[str, Any]:
    from netwarden.configs.backup import repo_of

    require(actor, Role.viewer, "read config backups")
    name = _file(db, device, part)
    repo = repo_of(ctx)
    full = repo.resolve(rev or "HEAD")
    return {"device": device, "file": name, "rev": full, "text": repo.show(name, full)}


@router.get("/configs/{device}/diff")
def diff(
    db: Db, ctx: Ctx, actor: CurrentActor, device: str, part: Part = "running", old: Rev = None, new: Rev = None
) -> dict[str, Any]:
    """Unified diff between two revisions (default: the device's last change)."""
    from netwarden.configs.backup import repo_of

    require(actor, Role.viewer, "read config backups")
    name = _file(db, device, part)
    repo = repo_of(ctx)
    if old is None:
        revs = repo.history(name, 2)
        if not revs:
            raise NotFound(f"no configuration stored for {device}")
        old, new = (revs[1].rev, revs[0].rev) if len(revs) == 2 else (revs[0].rev, revs[0].rev)
    body = repo.diff(name, old, new or "HEAD")
    return {"device": device, "file": name, "old": repo.resolve(old), "new": repo.resolve(new or "HEAD"), "diff": body}


@router.get("/compliance")
def compliance(db: Db, actor: CurrentActor) -> dict[str, Any]:
    """Each checked device's latest score (passed / applicable rules)."""
    from netwarden.configs.compliance import latest

    items = [d.public(with_results=False) for d in latest(db, actor)]
    return {"items": items, "total": len(items)}


@router.get("/compliance/{device}")
def compliance_device(db: Db, actor: CurrentActor, device: str) -> dict[str, Any]:
    """A device's latest results rule by rule, with evidence and remediation, and its score history."""
    from netwarden.configs.compliance import latest, score_history

    found = latest(db, actor, device)
    out = found[0].public() if found else {"device": device, "checked_at": None, "score": None, "results": []}
    out["history"] = score_history(db, actor, device)
    return out


@router.post("/compliance/check")
def run_check(body: CheckIn, actor: CurrentActor, ctx: Ctx) -> dict[str, Any]:
    """Check the latest backups now (operators) and store the results."""
    from netwarden.configs.compliance import run_check as check

    results = check(ctx, actor, body.devices or None)
    return {"items": [d.public() for d in results], "total": len(results)}
