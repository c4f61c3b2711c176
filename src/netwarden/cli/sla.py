"""``netwarden sla probe SRC DST -c CRED``: latency, jitter, loss and MOS between two points."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx
from netwarden.monitor import sla

app = typer.Typer(
    help="SLA probes: latency, jitter, loss and a VoIP MOS estimate between two points.", no_args_is_help=True
)


@app.command("probe")
def probe(
    source: Annotated[str, typer.Argument(help="Device the probe runs on (over SSH).")],
    destination: Annotated[str, typer.Argument(help="IP address, or a device (its first data-plane address).")],
    credential: Annotated[str, typer.Option("--credential", "-c", help="SSH credential for the source device.")],
    count: Annotated[int, typer.Option(help="Echo requests.", min=1, max=1000)] = 20,
    codec: Annotated[str, typer.Option(help="g711, g711-plc or g729a (for the MOS).")] = "g711",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Probe the path from SOURCE to DESTINATION; the figures are stored as sla_* metrics."""
    ctx = open_ctx(data_dir)
    result = asyncio.run(sla.probe(ctx, actor(), source, destination, credential, count=count, codec=codec))  # type: ignore[arg-type]

    def human() -> None:
        rtt = f"{result.rtt_avg_ms} ms" if result.rtt_avg_ms is not None else "-"
        jitter = f"{result.jitter_ms} ms" if result.jitter_ms is not None else "-"
        console.print(
            f"{source} -> {destination}: {result.received}/{result.sent} replies, loss {result.loss_pct} %, "
            f"rtt {rtt}, jitter {jitter}; R {result.r_factor}, MOS {result.mos} ({result.codec})"
        )

    emit(result, json_out, human)
