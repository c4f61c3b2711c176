"""``netwarden pcap analyze | capture``: packet captures, read and recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from netwarden.cli.common import DataDir, JsonOut, console, emit, err_console, progress_bar, table
from netwarden.config import DEFAULT_DATA_DIR
from netwarden.security.pcap import capture as cap
from netwarden.security.pcap.analyze import analyze as run_analysis
from netwarden.security.pcap.schemas import PcapReport

app = typer.Typer(help="Packet captures: analyze a pcap/pcapng file, or capture on an interface.", no_args_is_help=True)


@app.command("analyze")
def analyze_cmd(
    file: Annotated[Path, typer.Argument(help="pcap or pcapng file (gzip-compressed is fine).")],
    top: Annotated[int, typer.Option("--top", min=1, max=10000, help="Top talkers, worst flows, DNS names.")] = 10,
    flows: Annotated[int, typer.Option("--flows", min=0, help="Flows to list in the table (JSON has all).")] = 20,
    as_json: JsonOut = False,
) -> None:
    """Flows (5-tuple, bytes, packets, Zeek conn_state), protocol mix, top talkers, TCP health, DNS, RTP, SNMP."""
    with progress_bar(not as_json, f"reading {file.name}") as report:
        result = run_analysis(file, top=top, progress=lambda done, total: report("reading", done, total))
    emit(result, as_json, lambda: _show(result, flows))


def _show(r: PcapReport, limit: int) -> None:
    console.print(
        f"[bold]{escape(r.file)}[/bold]: {r.packets} packets, {r.bytes} bytes, {len(r.flows)} flows, "
        f"{r.duration:.3f} s ({r.read.format}{', gzip' if r.read.compressed else ''})"
    )
    if not r.read.complete:
        console.print(f"[yellow]incomplete: {escape(r.read.error or '')}[/yellow]")
    if r.read.malformed_packets:
        console.print(f"[yellow]{r.read.malformed_packets} packets with malformed headers[/yellow]")
    table(r.protocols, ["name", "packets", "bytes", "flows"], title="protocols")
    table(r.top_talkers, ["address", "bytes", "sent", "received", "packets", "flows"], title="top talkers")
    biggest = sorted(r.flows, key=lambda f: -f.bytes)[:limit]
    table(
        biggest,
        ["proto", "src", "sport", "dst", "dport", "packets", "bytes", "duration", "state", "service"],
        title=f"flows (top {len(biggest)} of {len(r.flows)} by bytes)",
    )
    t = r.tcp
    if t.flows:
        rtt = f", handshake RTT median {t.rtt_ms.median} ms (p95 {t.rtt_ms.p95})" if t.rtt_ms else ""
        console.print(
            f"TCP: {t.flows} flows {t.states}, {t.retransmissions} retransmissions, {t.resets} resets, "
            f"{t.zero_windows} zero windows{rtt}"
        )
    if r.dns.queries:
        console.print(f"DNS: {r.dns.queries} queries, outcomes {r.dns.outcomes}")
        table(r.dns.failures[:limit], ["client", "server", "query", "qtype", "status"], title="DNS failures")
    if r.rtp:
        table(r.rtp, ["src", "sport", "dst", "dport", "codec", "packets", "loss_pct", "jitter_ms", "mos"], title="RTP")
    if r.snmp.pdus:
        console.print(f"SNMP: {r.snmp.pdus} PDUs {r.snmp.kinds}")
        if r.snmp.default_community_agents:
            agents = ", ".join(r.snmp.default_community_agents)
            console.print(f"[yellow]default SNMP community in use by: {agents}[/yellow]")


@app.command("capture")
def capture_cmd(
    interface: Annotated[str, typer.Argument(help="Interface to capture on (e.g. eth0, any).")],
    netns: Annotated[str | None, typer.Option("--netns", help="Network namespace to capture in.")] = None,
    bpf: Annotated[str | None, typer.Option("--filter", help="BPF capture filter, e.g. 'tcp port 443'.")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Stop after this many packets.")] = None,
    seconds: Annotated[float, typer.Option("--seconds", help="Stop after this long.")] = cap.DEFAULT_SECONDS,
    max_mb: Annotated[float, typer.Option("--max-mb", help="Stop at this many MB in total.")] = cap.DEFAULT_MAX_MB,
    ring: Annotated[int | None, typer.Option("--ring", help="Ring buffer: keep the newest N files.")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: data dir's pcaps/).")
    ] = None,
    analyze_after: Annotated[bool, typer.Option("--analyze", help="Analyze the capture when it is done.")] = False,
    data_dir: DataDir = None,
    as_json: JsonOut = False,
) -> None:
    """Capture packets with dumpcap (or tcpdump), bounded by time and size."""
    directory = (data_dir or DEFAULT_DATA_DIR) / "pcaps"
    if not as_json:
        err_console.print(f"capturing on {interface} for at most {seconds:g} s / {max_mb:g} MB ...")
    result = cap.capture(
        interface, directory, netns=netns, bpf=bpf, count=count, seconds=seconds, max_mb=max_mb, ring=ring,
        output=output,
    )  # fmt: skip
    report = run_analysis(Path(result.files[-1])) if analyze_after and result.files else None
    payload = {"capture": result.__dict__, "analysis": report} if analyze_after else result.__dict__

    def human() -> None:
        console.print(
            f"{result.tool}: {result.packets} packets, {result.bytes} bytes in {result.seconds} s "
            f"(stopped by {result.stopped_by})"
        )
        for f in result.files:
            console.print(f"  {escape(f)}")
        if report is not None:
            _show(report, 20)

    emit(payload, as_json, human)
