"""/map: the interactive topology map, and the JSON it draws (/map/data, /map/spof).

The page is a shell; ``static/map.js`` fetches ``/map/data`` and draws it with the
vendored Cytoscape.js. Above ``GROUP_ABOVE`` devices the map starts with one node
per site (device count, worst status) and inter-site links folded into one edge
per site pair; a click on a site shows its devices. The single points of failure
come from ``/map/spof`` only when the user asks for them: on a large network the
analysis costs far more than drawing the graph. Alert colours come from ``/map/alerts``, fetched with
the graph and again whenever the alert stream reports a change (``static/live.js``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from netwarden.access.schemas import Actor
from netwarden.discover import topology
from netwarden.discover.schemas import TopoLink, TopoNode
from netwarden.inventory.schemas import DeviceStatus
from netwarden.web.alerts import SEVERITY_ORDER, MapAlerts, map_alerts
from netwarden.web.common import PageRoute, get_ctx, page_actor, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
# Above this many devices the map opens grouped by site: Cytoscape draws 1,000 nodes, but a person
# cannot read them, and a force layout of that size takes seconds.
GROUP_ABOVE = 150
# Worst first: a site's colour is that of its worst device. Lifecycle states (planned,
# decommissioning) rank below active so that one planned box does not paint a working site blue.
STATUS_RANK: tuple[str, ...] = ("offline", "missing", "active", "decommissioning", "planned")
STATUSES: tuple[str, ...] = get_args(DeviceStatus)
Grouping = Literal["auto", "sites", "devices"]


class MapNode(BaseModel):
    """A device on the map."""

    name: str
    site: str
    role: str
    platform: str
    status: str
    mgmt_ip: str | None


class MapEdge(BaseModel):
    """One link between two devices; ``id`` is built from its ends, so /map/spof can name the same edge."""

    id: str
    a: str
    a_port: str
    b: str
    b_port: str
    kind: str = Field(description="physical or l3")
    subnet: str | None = None
    tunnel: bool = False


class MapSite(BaseModel):
    """A site's summary, drawn as one node while the site is collapsed."""

    name: str
    count: int
    worst: str
    statuses: dict[str, int]


class MapData(BaseModel):
    nodes: list[MapNode]
    edges: list[MapEdge]
    sites: list[MapSite]
    grouped: bool = Field(description="true when the map opens with one node per site")
    group_above: int
    statuses: list[str] = Field(description="device statuses, worst first (the legend's order)")


class MapCut(BaseModel):
    """A device or link whose loss cuts devices off, with what it cuts off."""

    name: str
    edges: list[str] = Field(default_factory=list, description="the MapEdge ids of a link")
    cut_off: list[str]
    sites: list[str]


class MapSpof(BaseModel):
    devices: list[MapCut]
    links: list[MapCut]


def _rank(status: str) -> int:
    return STATUS_RANK.index(status) if status in STATUS_RANK else len(STATUS_RANK)


def site_summaries(nodes: list[TopoNode]) -> list[MapSite]:
    """Device count, count per status and worst status of each site, by site name."""
    by_site: dict[str, Counter[str]] = defaultdict(Counter)
    for n in nodes:
        by_site[n.site][n.status] += 1
    return [
        MapSite(
            name=site, count=sum(counts.values()), worst=min(counts, key=_rank), statuses=dict(sorted(counts.items()))
        )
        for site, counts in sorted(by_site.items())
    ]


def _label(link: TopoLink) -> str:
    """The name ``topology.spof`` gives a link."""
    return f"{link.a}:{link.a_port}--{link.b}:{link.b_port}"


def _edge_id(link: TopoLink) -> str:
    # Two L3 edges may join the same two ports (secondary addresses): the subnet tells them apart.
    return f"{link.kind}:{_label(link)}" + (f"@{link.subnet}" if link.subnet else "")


def map_edges(links: list[TopoLink]) -> list[MapEdge]:
    """The links as map edges, one per id (self-loops left out: they join nothing)."""
    edges: dict[str, MapEdge] = {}
    for lk in links:
        if lk.a == lk.b:
            continue
        edge_id = _edge_id(lk)
        edges.setdefault(
            edge_id,
            MapEdge(
                id=edge_id,
                a=lk.a,
                a_port=lk.a_port,
                b=lk.b,
                b_port=lk.b_port,
                kind=lk.kind,
                subnet=lk.subnet,
                tunnel=lk.tunnel,
            ),
        )
    return list(edges.values())


def map_data(request: Request, actor: Actor, grouping: Grouping = "auto") -> MapData:
    with get_ctx(request).db() as db:
        topo = topology.topology(db, actor)
    nodes = [MapNode(**n.model_dump()) for n in topo.nodes]
    edges = map_edges(topo.links)
    grouped = grouping == "sites" or (grouping == "auto" and len(nodes) > GROUP_ABOVE)
    order = sorted({*STATUSES, *(n.status for n in nodes)}, key=lambda s: (_rank(s), s))
    return MapData(
        nodes=nodes,
        edges=edges,
        sites=site_summaries(topo.nodes),
        grouped=grouped,
        group_above=GROUP_ABOVE,
        statuses=order,
    )


@router.get("/map")
def map_page(
    request: Request,
    actor: PageActor,
    group: Annotated[Grouping, Query()] = "auto",
    focus: Annotated[str, Query(max_length=128)] = "",
) -> Response:
    """The map's page; the graph itself arrives from /map/data."""
    return render(
        request,
        "map.html",
        group=group,
        focus=focus,
        statuses=[*STATUS_RANK, *(s for s in STATUSES if s not in STATUS_RANK)],
        severities=SEVERITY_ORDER,
        group_above=GROUP_ABOVE,
        active="map",
        title="Map",
    )


@router.get("/map/data")
def map_data_route(request: Request, actor: PageActor, group: Annotated[Grouping, Query()] = "auto") -> MapData:
    """Devices, links and site summaries for the map (any logged-in user)."""
    return map_data(request, actor, group)


@router.get("/map/alerts")
def map_alerts_route(request: Request, actor: PageActor) -> MapAlerts:
    """Alert marks for the map's colours: fetched with the map and again whenever an alert changes."""
    return map_alerts(request, actor)


@router.get("/map/spof")
def map_spof(request: Request, actor: PageActor) -> MapSpof:
    """Articulation points and bridges, with links named by their /map/data edge ids."""
    with get_ctx(request).db() as db:
        report = topology.spof(db, actor)
        topo = topology.topology(db, actor)
    ids: dict[str, list[str]] = defaultdict(list)
    for lk in topo.links:
        ids[_label(lk)].append(_edge_id(lk))
    return MapSpof(
        devices=[MapCut(name=c.name, cut_off=c.cut_off, sites=c.sites) for c in report.devices],
        links=[MapCut(name=c.name, edges=ids.get(c.name, []), cut_off=c.cut_off, sites=c.sites) for c in report.links],
    )
