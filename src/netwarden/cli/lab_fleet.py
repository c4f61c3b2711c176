"""``netwarden lab fleet``: simulated SNMP agents on loopback addresses (up, status, down)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from netwarden.cli.common import DataDir, JsonOut, console, emit, progress_bar, table
from netwarden.lab import fleet

app = typer.Typer(
    help="Simulated SNMP fleet for scale tests: snmpsim agents on 127.77.x.y:1161 from recorded devices.",
    no_args_is_help=True,
)


def _summary(data: dict[str, Any]) -> None:
    if not data["devices"]:
        console.print("no simulated fleet is up; start one with 'netwarden lab fleet up --devices N'")
        return
    kinds = ", ".join(f"{count} {kind}" for kind, count in data["kinds"].items())
    first, last = data["targets"][0]["address"], data["targets"][-1]["address"]
    console.print(f"fleet: {data['devices']} devices ({kinds}), {first} .. {last}, UDP port {data['port']}")
    v3 = data["v3"] or {}
    console.print(
        f"SNMPv2c community '{data['community']}'; SNMPv3 user '{v3.get('user')}' "
        f"({v3.get('auth_protocol')}/{v3.get('priv_protocol')}, context '{v3.get('context')}'); "
        f"credentials in {data['credentials_file']}"
        + (f", stored as {', '.join(data['credentials_stored'])}" if data["credentials_stored"] else "")
    )


def _show(data: dict[str, Any]) -> None:
    _summary(data)
    if data["devices"]:
        table(
            [{**p, "alive": "up" if p["alive"] else "DEAD"} for p in data["processes"]],
            ["pid", "endpoints", "alive"],
            title="simulator processes",
        )


@app.command("up")
def up_cmd(
    devices: Annotated[int, typer.Option("--devices", help=f"How many devices (1-{fleet.MAX_DEVICES}).")] = 100,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Seconds to wait for every process (default 30 + 2 each).")
    ] = None,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Start the simulated devices and wait until every simulator process answers SNMP."""
    with progress_bar(not as_json, "fleet up") as report:
        state = fleet.fleet_up(devices, timeout=timeout, data_dir=data_dir, progress=report)
    data = state.public()

    def human() -> None:
        _summary(data)
        console.print(f"{len(data['processes'])} simulator process(es) answering after {data['up_seconds']} s")

    emit(data, as_json, human)


@app.command("status")
def status_cmd(as_json: JsonOut = False) -> None:
    """The simulated devices, their kinds and whether each simulator process is alive."""
    data = fleet.fleet_status().public()
    emit(data, as_json, lambda: _show(data))


@app.command("down")
def down_cmd(as_json: JsonOut = False) -> None:
    """Stop every simulator process and remove the fleet's files (also after a crash); safe to repeat."""
    result = fleet.fleet_down()
    emit(
        result.model_dump(),
        as_json,
        lambda: console.print(f"fleet down: {result.devices} devices, {result.stopped} simulator process(es) stopped"),
    )
