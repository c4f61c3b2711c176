"""``netwarden lab``: a real network in Linux network namespaces (up, status, fault, heal, down)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from netwarden.cli import lab_fleet
from netwarden.cli.common import DataDir, JsonOut, console, emit, print_json, progress_bar, table
from netwarden.errors import InvalidInput
from netwarden.lab import faults, netns, runner
from netwarden.lab.state import LabState, locked, require_state
from netwarden.lab.topology import load_topology

app = typer.Typer(help="A real virtual network in Linux network namespaces.", no_args_is_help=True)
app.add_typer(lab_fleet.app, name="fleet")
fault_app = typer.Typer(help="Break the lab on purpose; 'netwarden lab heal' undoes every fault.", no_args_is_help=True)
app.add_typer(fault_app, name="fault")

Prefix = Annotated[
    str,
    typer.Option("--prefix", envvar="NETWARDEN_LAB_PREFIX", help="Lab name prefix (namespaces are PREFIX-NODE)."),
]


def _parse_syslog(value: str | None) -> tuple[ipaddress.IPv4Address, int] | None:
    if not value:
        return None
    host, _, port = value.rpartition(":")
    try:
        return ipaddress.IPv4Address(host or value), int(port) if host else 514
    except ValueError as exc:
        raise InvalidInput(f"--syslog wants HOST:PORT (e.g. 198.18.0.1:5514), not {value!r}") from exc


def _show(data: dict[str, Any]) -> None:
    state = "converged" if data["converged"] else "NOT converged"
    console.print(f"lab [bold]{data['prefix']}[/bold]: {state}, management {data['mgmt_cidr']}")
    rows = []
    for node in data["nodes"]:
        daemons = node.get("daemons", {})
        down = [d for d, s in daemons.items() if s != "up"]
        health = "ok" if not down else "down: " + ", ".join(down)
        rows.append({**node, "daemons": health})
    table(rows, ["name", "kind", "site", "mgmt_ip", "address", "namespace", "daemons"], title="nodes")
    table(
        [{**lk, "up": "up" if lk.get("up", True) else "DOWN"} for lk in data["links"]],
        ["a", "a_port", "b", "b_port", "subnet", "up"],
        title="links",
    )
    for fault in data.get("faults", []):
        console.print(f"fault: {fault['kind']} {' '.join(fault['args'])} (since {fault['at']})")


@app.command("up")
def up_cmd(
    topology: Annotated[Path | None, typer.Argument(help="Topology YAML (default: the packaged default lab).")] = None,
    prefix: Prefix = runner.DEFAULT_PREFIX,
    mgmt_cidr: Annotated[str | None, typer.Option("--mgmt-cidr", help="Management subnet (host bridge .1).")] = None,
    syslog: Annotated[str | None, typer.Option("--syslog", help="Syslog collector HOST:PORT.")] = None,
    traffic: Annotated[bool, typer.Option("--traffic/--no-traffic", help="Hosts make light traffic.")] = True,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for convergence.")] = 120,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Build the lab and wait until routing has converged."""
    netns.require_root()
    topo = load_topology(topology)
    mgmt = None
    if mgmt_cidr:
        try:
            mgmt = ipaddress.IPv4Network(mgmt_cidr)
        except ValueError as exc:
            raise InvalidInput(f"--mgmt-cidr {mgmt_cidr!r} is not an IPv4 network") from exc
    with progress_bar(not as_json, "lab up") as report:
        state = runner.up(
            topo,
            prefix=prefix,
            mgmt_cidr=mgmt,
            syslog_target=_parse_syslog(syslog),
            traffic=traffic,
            timeout=timeout,
            data_dir=data_dir,
            progress=report,
        )
    data = runner.describe(state, live=False)
    data["daemons_started"] = len(state.processes)

    def human() -> None:
        console.print(
            f"lab [bold]{prefix}[/bold] up: {len(data['nodes'])} nodes, {len(data['links'])} links, "
            f"converged in {state.converge_seconds} s"
        )
        console.print(f"credentials: {state.credentials_file} (ssh user {state.ssh_user})")
        console.print(f"syslog to {data['syslog']}; 'netwarden lab status' for details")

    emit(data, as_json, human)


@app.command("status")
def status_cmd(prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Nodes, links, daemon health, convergence and active faults."""
    data = runner.status(prefix)
    emit(data, as_json, lambda: _show(data))


@app.command("down")
def down_cmd(prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Remove everything the lab made (also after a crash); safe to repeat."""
    result = runner.down(prefix)
    emit(
        result,
        as_json,
        lambda: console.print(
            f"lab {prefix} removed: {result['removed']['namespaces']} namespaces, "
            f"{result['removed']['processes']} processes, {result['removed']['links']} host links"
        ),
    )


@app.command("heal")
def heal_cmd(prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Undo every fault and restore the baseline."""
    result = _with_state(prefix, faults.heal)
    emit(
        result,
        as_json,
        lambda: console.print(f"healed {len(result['healed'])} fault(s); converged in {result['converge_seconds']} s"),
    )


def _with_state(prefix: str, action: Callable[[LabState], Any]) -> Any:
    netns.require_root()
    with locked(prefix):
        state = require_state(prefix)
        return action(state)


def _fault(prefix: str, as_json: bool, action: Callable[[LabState], Any], message: str) -> None:
    result = _with_state(prefix, action)
    data: dict[str, Any] = result.model_dump() if hasattr(result, "model_dump") else {"ok": True}
    if as_json:
        print_json(data)
        return
    console.print(message)
    detail: dict[str, Any] = data.get("detail") or {}
    if detail.get("mechanism"):
        console.print(f"impairment through {detail['mechanism']}")
    if "open" in detail:
        console.print(f"open ports: {', '.join(map(str, detail['open'])) or 'none'}")


@fault_app.command("link-down")
def link_down(a: str, b: str, prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Take the link(s) between A and B down (A or B may be NODE:IFACE)."""
    _fault(prefix, as_json, lambda s: faults.link_down(s, a, b), f"link {a} -- {b} is down")


@fault_app.command("link-up")
def link_up(a: str, b: str, prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Bring the link(s) between A and B back up."""
    _fault(prefix, as_json, lambda s: faults.link_up(s, a, b), f"link {a} -- {b} is up")


@fault_app.command("node-down")
def node_down(node: str, prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Stop every daemon of NODE and take all its interfaces down."""
    _fault(prefix, as_json, lambda s: faults.node_down(s, node), f"node {node} is down")


@fault_app.command("node-up")
def node_up(node: str, prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Bring NODE's interfaces and daemons back."""
    _fault(prefix, as_json, lambda s: faults.node_up(s, node), f"node {node} is up")


@fault_app.command("netem")
def netem(
    a: str,
    b: str,
    loss: Annotated[float, typer.Option("--loss", help="Packet loss, percent, each direction.")] = 0.0,
    delay: Annotated[float, typer.Option("--delay", help="Added delay, ms, each direction.")] = 0.0,
    jitter: Annotated[float, typer.Option("--jitter", help="Delay variation, +/- ms.")] = 0.0,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the impairment instead.")] = False,
    prefix: Prefix = runner.DEFAULT_PREFIX,
    as_json: JsonOut = False,
) -> None:
    """Loss, delay and jitter on the link between A and B (netem, or nftables and a relay without it)."""
    if clear:
        _fault(prefix, as_json, lambda s: faults.clear_netem(s, a, b), f"link {a} -- {b} is clean")
        return
    _fault(
        prefix,
        as_json,
        lambda s: faults.netem(s, a, b, loss, delay, jitter),
        f"link {a} -- {b}: loss {loss}%, delay {delay} ms, jitter {jitter} ms",
    )


@fault_app.command("daemon-stop")
def daemon_stop(node: str, daemon: str, prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Stop one daemon (zebra, ospfd, bgpd, staticd, snmpd, lldpd, sshd, nginx, dnsmasq) on NODE."""
    _fault(prefix, as_json, lambda s: faults.daemon_stop(s, node, daemon), f"{daemon} on {node} is stopped")


@fault_app.command("daemon-start")
def daemon_start(node: str, daemon: str, prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Start a stopped daemon again."""
    _fault(prefix, as_json, lambda s: faults.daemon_start(s, node, daemon), f"{daemon} on {node} is running")


@fault_app.command("config-change")
def config_change(node: str, prefix: Prefix = runner.DEFAULT_PREFIX, as_json: JsonOut = False) -> None:
    """Change a router's running config (interface description and a prefix-list)."""
    _fault(prefix, as_json, lambda s: faults.config_change(s, node), f"running config of {node} changed")


@fault_app.command("cpu-hog")
def cpu_hog(
    node: str,
    seconds: Annotated[int, typer.Option("--seconds", help="How long the busy loop runs (1-3600).")] = 60,
    prefix: Prefix = runner.DEFAULT_PREFIX,
    as_json: JsonOut = False,
) -> None:
    """Keep one CPU busy inside NODE for a bounded time."""
    _fault(prefix, as_json, lambda s: faults.cpu_hog(s, node, seconds), f"{node} is busy for {seconds} s")


@fault_app.command("ssh-bruteforce")
def ssh_bruteforce(
    host: str,
    target: str,
    attempts: Annotated[int, typer.Option("--attempts", help="Failed logins to make (1-500).")] = 20,
    prefix: Prefix = runner.DEFAULT_PREFIX,
    as_json: JsonOut = False,
) -> None:
    """A bounded burst of failed SSH logins from HOST to TARGET."""
    _fault(
        prefix,
        as_json,
        lambda s: faults.ssh_bruteforce(s, host, target, attempts),
        f"{attempts} failed SSH logins from {host} to {target}",
    )


@fault_app.command("port-scan")
def port_scan(
    host: str,
    target: str,
    ports: Annotated[str, typer.Option("--ports", help="Port range LOW-HIGH.")] = "1-1024",
    prefix: Prefix = runner.DEFAULT_PREFIX,
    as_json: JsonOut = False,
) -> None:
    """A bounded TCP connect scan from HOST to TARGET."""
    _fault(prefix, as_json, lambda s: faults.port_scan(s, host, target, ports), f"{host} scanned {target} {ports}")
