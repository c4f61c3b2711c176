"""``netwarden scan CIDR... [--ports LIST] [--json]`` and ``netwarden risk list [--json]``."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any, cast, get_args

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, open_ctx, step_progress, table
from netwarden.collect.tcp import parse_ports
from netwarden.errors import InvalidInput
from netwarden.security.scan import service
from netwarden.security.scan.probe import GrabOptions
from netwarden.security.scan.scanner import DEFAULT_PORTS, ScanOptions
from netwarden.security.scan.schemas import LEVELS, RiskStatus, ScanReport

risk_app = typer.Typer(help="The risk register: findings of exposure scans, scored.", no_args_is_help=True)

FINDING_COLUMNS = ["level", "score", "target", "port", "kind", "title"]
RISK_COLUMNS = ["id", "status", "level", "score", "target", "port", "kind", "title"]


def _service_line(s: Any) -> str:
    label = f"{s.port}/{s.proto} {s.service}"
    what = " ".join(x for x in (s.product, s.version) if x) or s.banner
    if s.http is not None:
        what = " ".join(x for x in (what if s.product else s.http.server, f"[{s.http.status}]", s.http.title) if x)
    if s.snmp is not None:
        what = ", ".join(s.snmp.versions) + (
            f"; default: {', '.join(s.snmp.default_communities)}" if s.snmp.default_communities else ""
        )
    return f"{label}  {what}".rstrip()


def _human(report: ScanReport) -> None:
    for host in report.hosts:
        name = f"{host.address} ({host.device})" if host.device else host.address
        console.print(f"[bold]{name}[/bold]" + (f"  {host.platform} {host.os_version}".rstrip() if host.device else ""))
        for s in host.services:
            console.print(f"  {_service_line(s)}", markup=False, highlight=False)
        if not host.services:
            console.print("  [dim]no open port among those scanned[/dim]")
    rows = [f.model_dump() | {"port": f"{f.port}/{f.proto}" if f.port else ""} for f in report.findings]
    table(rows, FINDING_COLUMNS, "findings")
    if report.failed:
        table(report.failed, ["target", "reason"], "no answer")
    for feed in report.feeds:
        console.print(f"[dim]feed {feed.path}: {feed.entries} entries ({feed.format})[/dim]")
    if report.cleared:
        console.print(
            f"[dim]{len(report.cleared)} feed match(es) cleared: the distribution's tracker says the package "
            "has the fix (see --json 'cleared')[/dim]"
        )
    console.print(
        f"{len(report.hosts)} host(s), {sum(len(h.services) for h in report.hosts)} service(s), "
        f"{len(report.findings)} finding(s) in {report.elapsed:.1f} s"
        + ("; risk register updated" if report.saved else "")
    )


def scan(
    cidrs: Annotated[list[str], typer.Argument(help="Addresses or CIDR ranges to scan, e.g. 198.18.0.0/24.")],
    ports: Annotated[
        str | None,
        typer.Option(
            "--ports", "-p", help="TCP ports, e.g. 22,80,8000-8010 (default: scan_ports, else a built-in list)."
        ),
    ] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", "-c", help="SNMP credential to check the agent with (repeatable)."),
    ] = None,
    feed: Annotated[
        list[Path] | None,
        typer.Option(
            "--feed",
            help="NVD CVE 2.0 JSON feed or Debian security tracker JSON, besides the vuln_feeds setting (repeatable).",
        ),
    ] = None,
    snmp: Annotated[bool, typer.Option("--snmp/--no-snmp", help="Check SNMP v1/v2c default communities.")] = True,
    snmp_port: Annotated[int, typer.Option("--snmp-port", min=1, max=65535)] = 161,
    ping: Annotated[
        bool, typer.Option("--ping/--no-ping", help="Find live hosts first (--no-ping scans every address).")
    ] = True,
    exclude: Annotated[
        list[str] | None, typer.Option("--exclude", help="Addresses or ranges never to probe (repeatable).")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds per connection attempt.", min=0.05, max=60)] = 1.0,
    concurrency: Annotated[int, typer.Option(help="Connection attempts in flight.", min=1, max=10000)] = 256,
    save: Annotated[bool, typer.Option("--save/--no-save", help="Merge the findings into the risk register.")] = True,
    force: Annotated[bool, typer.Option("--force", help="Scan more than 65,536 addresses.")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Open ports, service banners and weak settings of the hosts and inventory devices in the ranges."""
    ctx = open_ctx(data_dir)
    if ports is not None:
        port_list = parse_ports(ports)
    elif ctx.settings.scan_ports:
        port_list = parse_ports(ctx.settings.scan_ports)
    else:
        port_list = list(DEFAULT_PORTS)
    options = ScanOptions(
        ranges=cidrs,
        ports=port_list,
        timeout=timeout,
        concurrency=concurrency,
        grab=GrabOptions(connect_timeout=max(timeout, 1.0)),
        ping=ping,
        snmp=snmp,
        snmp_port=snmp_port,
        force=force,
        exclude=exclude or [],
    )
    with step_progress(json_out, "scanning") as progress:
        report = asyncio.run(
            service.run_scan(
                ctx, actor(), options, credentials=credential or [], feed_paths=feed or [], save=save, progress=progress
            )
        )
    emit(report, json_out, lambda: _human(report))


@risk_app.command("list")
def risk_list(
    status: Annotated[str, typer.Option("--status", help="open (default), resolved or all.")] = "open",
    level: Annotated[
        str | None, typer.Option("--level", help="This level and above: critical, high, medium, low, info.")
    ] = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """The risk register, highest score first: what to fix, where, and how."""
    statuses = get_args(RiskStatus)
    if status != "all" and status not in statuses:
        raise InvalidInput(f"invalid --status {status!r}: one of {', '.join(statuses)} or all")
    if level is not None and level not in LEVELS:
        raise InvalidInput(f"invalid --level {level!r}: one of {', '.join(LEVELS)}")
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        entries = service.list_risks(
            db,
            actor(),
            status=None if status == "all" else cast(RiskStatus, status),
            min_level=level,
        )

    def human() -> None:
        rows = [e.model_dump() | {"id": e.id[:8], "port": f"{e.port}/{e.proto}" if e.port else ""} for e in entries]
        table(rows, RISK_COLUMNS, "risks")

    emit(entries, json_out, human)


@risk_app.command("show")
def risk_show(
    risk_id: Annotated[str, typer.Argument(help="The entry's id (or its first characters).")],
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """One risk: where, why (evidence), how bad (severity x exposure) and how to fix it."""
    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        entry = service.show_risk(db, actor(), risk_id)

    def human() -> None:
        where = f"{entry.target} ({entry.address})" + (f" {entry.port}/{entry.proto}" if entry.port else "")
        console.print(f"[bold]{entry.title}[/bold]", highlight=False)
        console.print(
            f"{entry.status} {entry.level}: score {entry.score} = severity {entry.severity} x exposure "
            f"{entry.exposure}   {where}",
            highlight=False,
        )
        console.print(
            f"kind {entry.kind}" + (f", {entry.cve}" if entry.cve else "") + f", source {entry.source}; "
            f"first seen {entry.first_seen:%Y-%m-%d %H:%M}, last seen {entry.last_seen:%Y-%m-%d %H:%M}"
        )
        for line in entry.evidence:
            console.print(f"  - {line}", markup=False, highlight=False)
        console.print(f"remediation: {entry.remediation}", markup=False, highlight=False)
        for ref in entry.references:
            console.print(f"  {ref}", markup=False, highlight=False)

    emit(entry, json_out, human)


def register(app: typer.Typer) -> None:
    app.command("scan")(scan)
    app.add_typer(risk_app, name="risk")
