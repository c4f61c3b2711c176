"""Graphs from the metrics store: the chart data (/graphs/data) and the interface page (/interface).

A graph is a *panel*: a title, a unit and a few lines, each one statistic (avg, min, max, last) of one
metric. The panels are data (``DEVICE_PANELS``, ``INTERFACE_PANELS``); ``static/graphs.js`` draws
them with the vendored uPlot (decision 0019). ``/graphs/data`` answers with the columns uPlot draws
as they are: one time axis and one value list per line, aligned on the query's step, with ``null``
where a bucket has no sample, so a polling gap shows as a gap and never as a straight line across it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from netwarden.access.schemas import Actor
from netwarden.errors import InvalidInput, NotFound
from netwarden.inventory import service as inventory
from netwarden.inventory.schemas import InterfaceOut
from netwarden.monitor import metrics
from netwarden.web.common import PageRoute, get_ctx, page_actor, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PageActor = Annotated[Actor, Depends(page_actor)]
Stat = Literal["avg", "min", "max", "last"]
Unit = Literal["bps", "pct", "ms", "ps", "state"]
RangeName = Literal["1h", "6h", "24h", "7d", "30d"]
RANGES: dict[str, int] = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}


@dataclass(frozen=True)
class Line:
    metric: str
    label: str
    stat: Stat = "avg"


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    unit: Unit
    lines: tuple[Line, ...]


# Reachability and link state take the bucket's minimum: one failed poll in a bucket shows as down.
DEVICE_PANELS: tuple[Panel, ...] = (
    Panel("rtt", "Latency (ICMP)", "ms", (Line("rtt_ms", "average"), Line("rtt_ms", "worst", "max"))),
    Panel("loss", "Packet loss", "pct", (Line("loss_pct", "loss"), Line("loss_pct", "worst", "max"))),
    Panel("up", "Reachability", "state", (Line("up", "reachable", "min"),)),
    Panel("health", "CPU and memory", "pct", (Line("cpu_pct", "CPU"), Line("mem_used_pct", "memory"))),
)
INTERFACE_PANELS: tuple[Panel, ...] = (
    Panel("traffic", "Traffic", "bps", (Line("if_in_bps", "in"), Line("if_out_bps", "out"))),
    Panel("util", "Utilisation", "pct", (Line("if_util_pct", "average"), Line("if_util_pct", "peak", "max"))),
    Panel(
        "errors",
        "Errors and discards",
        "ps",
        (
            Line("if_in_errors_ps", "in errors"),
            Line("if_out_errors_ps", "out errors"),
            Line("if_in_discards_ps", "in discards"),
            Line("if_out_discards_ps", "out discards"),
        ),
    ),
    Panel("oper", "Link state", "state", (Line("if_oper_up", "up", "min"),)),
)
PANELS: dict[str, Panel] = {p.key: p for p in (*DEVICE_PANELS, *INTERFACE_PANELS)}
INTERFACE_KEYS = frozenset(p.key for p in INTERFACE_PANELS)


class ChartLine(BaseModel):
    label: str
    metric: str
    stat: Stat
    values: list[float | None] = Field(description="one per time in ChartData.x; null where no sample")


class ChartData(BaseModel):
    """One panel's data, in the column form uPlot draws."""

    device: str
    interface: str
    panel: str
    title: str
    unit: Unit
    range: str
    start: int
    end: int
    step: int = Field(description="seconds between two times of x")
    resolution: str = Field(description="the finest store tier the values came from: raw, 5m or 1h")
    x: list[int] = Field(description="bucket start times, UNIX seconds")
    lines: list[ChartLine]
    samples: int = Field(description="buckets holding a value, over all lines")


def _value(point: metrics.SeriesPoint, stat: Stat) -> float:
    value: float = getattr(point, stat)
    return value


def chart(
    request: Request, actor: Actor, device: str, panel: Panel, interface: str, range_name: str, now: float | None = None
) -> ChartData:
    """Read each line's metric once and align every line on the same buckets."""
    span = RANGES[range_name]
    end = int(time.time() if now is None else now)
    start = end - span
    policy = metrics.MetricsPolicy.from_settings(get_ctx(request).settings)
    read: dict[str, metrics.Series | None] = {}
    step = metrics.auto_step(span)
    resolution = "raw"
    with get_ctx(request).db() as db:
        for line in panel.lines:
            if line.metric in read:
                continue
            found = metrics.read_series(db, actor, device, line.metric, interface, start, end, None, policy)
            read[line.metric] = found[0] if found else None
            if found:
                step, resolution = found[0].step, found[0].resolution
    first = start // step * step
    x = list(range(first, end + 1, step))
    index = {ts: i for i, ts in enumerate(x)}
    lines: list[ChartLine] = []
    samples = 0
    for line in panel.lines:
        values: list[float | None] = [None] * len(x)
        series = read.get(line.metric)
        for point in series.points if series is not None else []:
            i = index.get(point.ts)
            value = _value(point, line.stat)
            if i is not None and math.isfinite(value):
                values[i] = value
                samples += 1
        lines.append(ChartLine(label=line.label, metric=line.metric, stat=line.stat, values=values))
    return ChartData(
        device=device,
        interface=interface,
        panel=panel.key,
        title=panel.title,
        unit=panel.unit,
        range=range_name,
        start=start,
        end=end,
        step=step,
        resolution=resolution,
        x=x,
        lines=lines,
        samples=samples,
    )


@router.get("/graphs/data")
def graph_data(
    request: Request,
    actor: PageActor,
    device: Annotated[str, Query(min_length=1, max_length=255)],
    panel: Annotated[str, Query(min_length=1, max_length=32)],
    interface: Annotated[str, Query(max_length=255)] = "",
    range: Annotated[RangeName, Query()] = "6h",
) -> ChartData:
    """One panel's series for the device (or one of its interfaces) over the range (any logged-in user)."""
    chosen = PANELS.get(panel)
    if chosen is None:
        raise InvalidInput(f"unknown graph {panel!r}: use one of {', '.join(PANELS)}")
    if (chosen.key in INTERFACE_KEYS) != bool(interface):
        need = "needs an interface" if chosen.key in INTERFACE_KEYS else "is about the device: leave interface out"
        raise InvalidInput(f"graph {panel!r} {need}")
    return chart(request, actor, device, chosen, interface, range)


def latest_by_interface(request: Request, actor: Actor, device: str) -> dict[str, dict[str, float]]:
    """The newest value of each interface metric of ``device``: {interface: {metric: value}}."""
    out: dict[str, dict[str, float]] = {}
    with get_ctx(request).db() as db:
        values = metrics.read_latest(db, actor, device)
    for v in values:
        if v.instance and v.metric.startswith("if_"):
            out.setdefault(v.instance, {})[v.metric] = v.value
    return out


def _find_interface(request: Request, actor: Actor, device: str, name: str) -> tuple[InterfaceOut | None, bool]:
    """The inventory's record of the interface (None when only the poller knows it) and whether it has data."""
    with get_ctx(request).db() as db:
        detail = inventory.show_device(db, actor, device)  # NotFound for an unknown device
        polled = any(v.instance == name for v in metrics.read_latest(db, actor, device))
    found = next((i for i in detail.interfaces if i.name == name), None)
    if found is None and not polled:
        raise NotFound(f"interface {name!r} does not exist on device {device!r} and has no metrics")
    return found, polled


@router.get("/interface")
def interface_page(
    request: Request,
    actor: PageActor,
    device: Annotated[str, Query(min_length=1, max_length=255)],
    name: Annotated[str, Query(min_length=1, max_length=255)],
) -> Response:
    """One interface: its facts, its latest readings and its graphs."""
    iface, _ = _find_interface(request, actor, device, name)
    latest = latest_by_interface(request, actor, device).get(name, {})
    return render(
        request,
        "interface.html",
        device=device,
        name=name,
        iface=iface,
        latest=latest,
        panels=INTERFACE_PANELS,
        ranges=list(RANGES),
        active="devices",
        title=f"{device} {name}",
    )
