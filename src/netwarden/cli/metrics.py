"""``netwarden metrics query | latest | maintain``: read the metrics store, roll it up and prune it."""

from __future__ import annotations

import datetime as dt
import time
from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, table
from netwarden.monitor import metrics
from netwarden.monitor.metrics_rollup import maintain as maintain_store

app = typer.Typer(
    help="Time series of device metrics: query, latest values, rollup and retention.", no_args_is_help=True
)


def _when(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


@app.command("query")
def query(
    device: Annotated[str, typer.Argument(help="Device name.")],
    metric: Annotated[str, typer.Argument(help="Metric name, e.g. if_in_bps.")],
    instance: Annotated[
        str | None, typer.Option("--instance", help="One instance (interface...); all if absent.")
    ] = None,
    since: Annotated[str, typer.Option("--since", help="How far back: 30m, 1h, 7d...")] = "1h",
    step: Annotated[
        str | None, typer.Option("--step", help="Bucket width: 60, 5m, 1h...; default ~1,000 points.")
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """A metric's series over the last --since, bucketed by --step (min, max, avg, count, last)."""
    back = metrics.parse_duration(since)
    step_s = metrics.parse_duration(step) if step else None
    ctx = open_ctx(data_dir)
    now = time.time()
    with ctx.db() as db:
        series = metrics.read_series(
            db,
            actor(),
            device,
            metric,
            instance,
            now - back,
            now,
            step_s,
            metrics.MetricsPolicy.from_settings(ctx.settings),
        )

    def human() -> None:
        if not series:
            console.print(f"no {metric} series for {device}")
        for s in series:
            rows = [{"time": _when(p.ts), **p.model_dump(exclude={"ts"})} for p in s.points]
            title = f"{s.device} {s.metric} {s.instance or '-'} (step {s.step}s, {s.resolution})"
            table(rows, ["time", "avg", "min", "max", "last", "count"], title)

    emit(series, json_out, human)


@app.command("latest")
def latest(
    device: Annotated[str, typer.Argument(help="Device name.")],
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric.")] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """The newest value of each series of a device."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        values = metrics.read_latest(db, actor(), device, metric)

    def human() -> None:
        table(
            [{**v.model_dump(exclude={"ts"}), "time": _when(v.ts)} for v in values],
            ["metric", "instance", "value", "time"],
            f"latest values of {device}",
        )

    emit(values, json_out, human)


@app.command("maintain")
def maintain(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Roll raw samples up into 5-minute and 1-hour summaries now, then apply retention."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        rolled, pruned = maintain_store(db, policy=metrics.MetricsPolicy.from_settings(ctx.settings))
    out = {"rollup": rolled.model_dump(), "prune": pruned.model_dump()}
    emit(out, json_out, lambda: console.print(out))
