"""Metrics over HTTP.

``/metrics``: netwarden's own counters in Prometheus exposition format (no auth, like any exporter).
``/api/v1/metrics``: the metrics store's series, and at ``/api/v1/metrics/prometheus`` the latest
value of each series in Prometheus text format (viewer token).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from pydantic import BaseModel
from sqlalchemy import func, select

from netwarden.api.deps import CurrentActor, Db, get_ctx
from netwarden.context import Context
from netwarden.monitor import metrics as store
from netwarden.monitor.models import MetricSeries

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "netwarden_http_requests_total", "HTTP requests served", ["method", "route", "status"], registry=REGISTRY
)
LATENCY = Histogram("netwarden_http_request_seconds", "HTTP request latency", ["route"], registry=REGISTRY)
INVENTORY = Gauge("netwarden_inventory_objects", "Objects in the inventory", ["kind"], registry=REGISTRY)
BUILD = Gauge("netwarden_build_info", "netwarden version", ["version"], registry=REGISTRY)
STORE_SERIES = Gauge("netwarden_metrics_series", "Series in the metrics store", registry=REGISTRY)
ROLLUP_LAG = Gauge(
    "netwarden_metrics_rollup_lag_seconds",
    "How far behind now each rollup tier is complete (grows when maintenance stops)",
    ["tier"],
    registry=REGISTRY,
)


class _WriteCollector(Collector):
    """The metrics store's write totals of this process: points written, late, refused by reason."""

    def collect(self) -> Iterator[CounterMetricFamily]:
        written, late, refused = store.TOTALS.snapshot()
        yield CounterMetricFamily("netwarden_metrics_points_written", "Points stored", value=written)
        yield CounterMetricFamily(
            "netwarden_metrics_points_late", "Points stored after their 5-minute bucket was rolled up", value=late
        )
        family = CounterMetricFamily(
            "netwarden_metrics_points_refused", "Points refused (clock skew, absurd values...)", labels=["reason"]
        )
        for reason, n in sorted(refused.items()):
            family.add_metric([reason], n)
        yield family


REGISTRY.register(_WriteCollector())


class _SyslogCollector(Collector):
    """The syslog receivers of this process (the one ``serve`` runs): frames in, parsed, dropped and lost by
    reason, and what is pending or open now (decision 0029)."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        from netwarden.security.syslog import totals

        now = totals()
        s = now.stats
        received = CounterMetricFamily(
            "netwarden_syslog_received", "Syslog frames received, by transport", labels=["transport"]
        )
        for transport in ("udp", "tcp", "tls"):
            received.add_metric([transport], s.by_transport.get(transport, 0))
        yield received
        yield CounterMetricFamily("netwarden_syslog_parsed", "Syslog frames parsed into messages", value=s.parsed)
        yield _by_reason("netwarden_syslog_dropped", "Syslog frames dropped before parsing or by it", s.dropped)
        yield CounterMetricFamily(
            "netwarden_syslog_delivered", "Syslog messages handed to the sink (log store, events)", value=s.delivered
        )
        yield _by_reason("netwarden_syslog_lost", "Parsed syslog messages the sink never took", s.lost)
        yield _by_reason(
            "netwarden_syslog_anomalies", "Parsed syslog messages repaired (invalid UTF-8, no timestamp)", s.anomalies
        )
        yield CounterMetricFamily(
            "netwarden_syslog_backpressure_pauses",
            "Times a TCP/TLS syslog connection stopped being read because the sink was behind",
            value=s.backpressure_pauses,
        )
        yield CounterMetricFamily("netwarden_syslog_connections", "TCP/TLS syslog connections", value=s.connections)
        yield CounterMetricFamily(
            "netwarden_syslog_connections_refused", "Syslog connections over the limit", value=s.connections_refused
        )
        yield CounterMetricFamily(
            "netwarden_syslog_tls_handshakes_failed", "Failed syslog TLS handshakes", value=s.tls_handshakes_failed
        )
        yield GaugeMetricFamily("netwarden_syslog_pending", "Syslog messages waiting for the sink", value=now.pending)
        yield GaugeMetricFamily(
            "netwarden_syslog_connections_open", "Syslog TCP/TLS connections open", value=now.connections_open
        )
        yield GaugeMetricFamily("netwarden_syslog_listening", "Syslog receivers listening", value=now.listening)


def _by_reason(name: str, documentation: str, counts: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=["reason"])
    for reason, n in sorted(counts.items()):
        family.add_metric([reason], n)
    return family


REGISTRY.register(_SyslogCollector())


def _template(request: Request) -> str:
    """The URL path with parameter values put back as {names}, so labels stay few."""
    path = request.url.path
    for name, value in request.path_params.items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


def install(app: FastAPI, ctx: Context) -> None:
    from netwarden import __version__

    BUILD.labels(__version__).set(1)

    @app.middleware("http")
    async def _count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        response = await call_next(request)
        path = _template(request) if request.scope.get("route") is not None else "unmatched"
        REQUESTS.labels(request.method, path, str(response.status_code)).inc()
        LATENCY.labels(path).observe(time.perf_counter() - start)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        from netwarden.inventory.models import Device, Interface, Prefix, Site

        with ctx.db() as db:
            for kind, model in (
                ("site", Site),
                ("device", Device),
                ("interface", Interface),
                ("prefix", Prefix),
            ):
                INVENTORY.labels(kind).set(db.scalar(select(func.count()).select_from(model)) or 0)
            STORE_SERIES.set(db.scalar(select(func.count()).select_from(MetricSeries)) or 0)
            now = time.time()
            for tier in ("5m", "1h"):
                mark = store.rollup_mark(db, tier)
                ROLLUP_LAG.labels(tier).set(now - mark if mark else float("nan"))
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


router = APIRouter(prefix="/metrics", tags=["metrics"])


class SeriesPage(BaseModel):
    items: list[store.Series]
    total: int


@router.get("")
def get_series(
    request: Request,
    db: Db,
    actor: CurrentActor,
    device: Annotated[str, Query(min_length=1, max_length=255)],
    metric: Annotated[str, Query(min_length=1, max_length=128)],
    instance: Annotated[str | None, Query(max_length=255, description="one instance; all when absent")] = None,
    start: Annotated[str | None, Query(max_length=40, description="UNIX seconds or ISO 8601; default end-1h")] = None,
    end: Annotated[str | None, Query(max_length=40, description="UNIX seconds or ISO 8601; default now")] = None,
    step: Annotated[str | None, Query(max_length=12, description="seconds or 5m, 1h...; default ~1,000 points")] = None,
) -> SeriesPage:
    """Series of a device's metric: raw, 5-minute or 1-hour data chosen by step."""
    items = store.read_series(
        db,
        actor,
        device,
        metric,
        instance,
        store.parse_time(start) if start else None,
        store.parse_time(end) if end else None,
        store.parse_duration(step) if step else None,
        store.MetricsPolicy.from_settings(get_ctx(request).settings),
    )
    return SeriesPage(items=items, total=len(items))


@router.get("/prometheus", response_class=Response)
def get_prometheus(
    db: Db,
    actor: CurrentActor,
    device: Annotated[str | None, Query(max_length=255, description="one device; all when absent")] = None,
    max_age: Annotated[int, Query(ge=1, le=7 * 86400, description="skip series silent for longer (s)")] = 900,
) -> Response:
    """Latest value of each series as ``netwarden_<metric>{device="..",item=".."} value`` (item: the instance)."""
    return Response(store.exposition(db, actor, device, max_age), media_type="text/plain; version=0.0.4")
