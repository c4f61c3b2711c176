"""/api/v1/topology: the graph, its exports, single points of failure, L3 paths."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from netwarden.api.deps import CurrentActor, Db
from netwarden.discover import topology
from netwarden.discover.schemas import PathResult, SpofReport, Topology

router = APIRouter(prefix="/topology", tags=["topology"])


@router.get("", response_model=None)
def get_topology(
    db: Db, actor: CurrentActor, fmt: Annotated[Literal["json", "graphml", "svg"], Query(alias="format")] = "json"
) -> Topology | Response:
    """Nodes and links; ``?format=graphml`` or ``svg`` for those renderings."""
    topo = topology.topology(db, actor)
    if fmt == "graphml":
        return Response(topology.to_graphml(topo), media_type="application/graphml+xml")
    if fmt == "svg":
        return Response(topology.to_svg(topo), media_type="image/svg+xml")
    return topo


@router.get("/spof")
def get_spof(db: Db, actor: CurrentActor) -> SpofReport:
    return topology.spof(db, actor)


@router.get("/path")
def get_path(
    db: Db,
    actor: CurrentActor,
    src: Annotated[str, Query(max_length=128, description="source device")],
    dst: Annotated[str, Query(max_length=128, description="destination device or IP address")],
) -> PathResult:
    return topology.compute_path(db, actor, src, dst)
