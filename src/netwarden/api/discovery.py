"""/api/v1/discover: start a discovery run (operators), follow runs."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, ConfigDict, Field

from netwarden.api.deps import CurrentActor, get_ctx
from netwarden.discover import run as discovery
from netwarden.errors import NotFound

router = APIRouter(prefix="/discover", tags=["discovery"])


class DiscoverRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cidrs: list[str] = Field(min_length=1, max_length=256)
    credentials: list[str] = Field(default_factory=list, max_length=32)
    site: str = Field(default="discovered", max_length=64)
    snmp_port: int = Field(default=161, ge=1, le=65535)
    ssh_port: int = Field(default=22, ge=1, le=65535)
    follow_neighbours: bool = False
    depth: int = Field(default=2, ge=0, le=16)
    allow: list[str] = Field(default_factory=list, max_length=256)
    exclude: list[str] = Field(default_factory=list, max_length=256)
    timeout: float = Field(default=2.0, gt=0, le=60)
    force: bool = False


class Started(BaseModel):
    run_id: int
    status: str = "running"


@router.post("", status_code=status.HTTP_202_ACCEPTED)
async def start(body: DiscoverRequest, request: Request, actor: CurrentActor) -> Started:
    """Validate and start a run in the background; follow it at /api/v1/discover/runs/{id}."""
    ctx = get_ctx(request)
    opts = discovery.Options(**body.model_dump())
    run_id = discovery.start_run(ctx, actor, opts)
    task = asyncio.get_running_loop().create_task(discovery.run_discovery(ctx, actor, opts, run_id=run_id))
    # Keep a reference so the task is not garbage-collected mid-run.
    tasks: set[asyncio.Task[Any]] = request.app.state.__dict__.setdefault("discovery_tasks", set())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return Started(run_id=run_id)


@router.get("/runs")
def runs(request: Request, actor: CurrentActor) -> list[dict[str, Any]]:
    return discovery.list_runs(get_ctx(request), actor)


@router.get("/runs/{run_id}")
def one_run(run_id: int, request: Request, actor: CurrentActor) -> dict[str, Any]:
    for r in discovery.list_runs(get_ctx(request), actor, limit=10**6):
        if r["id"] == run_id:
            return r
    raise NotFound(f"discovery run {run_id} does not exist")
