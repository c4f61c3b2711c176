"""``netwarden acl analyze | query | compare``: exact ACL and firewall filter analysis of config files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from netwarden.cli.common import JsonOut, console, emit, err_console
from netwarden.configs.acl import analyze as analysis
from netwarden.configs.acl.model import (
    CT_STATES,
    Acl,
    Packet,
    ParsedFilters,
    Rule,
    address_int,
    protocol_number,
)
from netwarden.configs.acl.registry import parse
from netwarden.errors import InvalidInput

app = typer.Typer(
    help="Exact ACL and firewall analysis: unreachable/redundant/conflicting rules, packet queries, equivalence.",
    no_args_is_help=True,
)

File = Annotated[Path, typer.Argument(help="Configuration or filter file (a full device config is fine).")]


Platform = Annotated[
    str,
    typer.Option(
        "--platform",
        "-p",
        help="Platform of the file: cisco_ios, cisco_xr, cisco_nxos, cisco_asa, arista_eos, juniper_junos, "
        "nftables, iptables, capirca (as their parsers are installed).",
    ),
]


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from None
    if b"\x00" in data:
        raise InvalidInput(f"{path} is a binary file, not a text configuration")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("latin-1")
        except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
            raise InvalidInput(f"{path} is not a text file") from None


def _load(path: Path, platform: str) -> ParsedFilters:
    return parse(_read(path), platform, source=str(path))


def _pick(parsed: ParsedFilters, name: str | None, path: Path) -> Acl:
    if name is not None:
        return parsed.acl(name)
    if len(parsed.acls) == 1:
        return parsed.acls[0]
    names = ", ".join(a.name for a in parsed.acls) or "none"
    raise InvalidInput(f"name the ACL with --acl: {path} holds {len(parsed.acls)} ACLs ({names})")


def _rule_ref(rule: Rule | None) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {"acl": rule.acl, "index": rule.index, "line": rule.line, "text": rule.text}


def _unparsed(parsed: ParsedFilters) -> list[dict[str, Any]]:
    return [{"line": u.line, "text": u.text, "reason": u.reason} for u in parsed.unparsed]


def _warn_unparsed(parsed: ParsedFilters) -> None:
    for u in parsed.unparsed:
        err_console.print(f"[yellow]not analysed[/yellow] line {u.line}: {escape(u.text)} ({escape(u.reason)})")


_STYLE = {"ok": "dim", "unreachable": "bold red", "redundant": "yellow", "conflict": "magenta"}


@app.command("analyze")
def analyze_cmd(
    file: File,
    platform: Platform,
    acl_name: Annotated[str | None, typer.Option("--acl", help="Only this ACL (default: every ACL).")] = None,
    json_out: JsonOut = False,
) -> None:
    """Status of every rule: unreachable (every packet it matches is taken by earlier rules, named in
    shadowed_by, one of them with the other action), redundant (taken by earlier rules with the same
    action), conflict (partly overlaps an earlier rule with the other action) or ok. Extensions:
    different_action, overlaps, generalizes (earlier exceptions inside the rule), removable and
    covered_by_later (a reachable rule whose removal changes no verdict). Lines inside ACLs that could not
    be modelled are listed as unparsed."""
    parsed = _load(file, platform)
    acls = [parsed.acl(acl_name)] if acl_name is not None else list(parsed.acls)
    results = [(acl, analysis.analyze(acl)) for acl in acls]
    rows = [
        {
            "acl": f.rule.acl,
            "index": f.rule.index,
            "line": f.rule.line,
            "text": f.rule.text,
            "status": f.status,
            "shadowed_by": list(f.shadowed_by),
            "different_action": f.different_action,
            "overlaps": list(f.overlaps),
            "generalizes": list(f.generalizes),
            "removable": f.removable,
            "covered_by_later": list(f.covered_by_later),
        }
        for _, findings in results
        for f in findings
    ]
    payload = {"rules": rows, "unparsed": _unparsed(parsed)}

    def human() -> None:
        if not results:
            console.print(f"no ACLs found in {escape(str(file))}")
        for acl, findings in results:
            t = Table(title=f"{acl.name} ({acl.platform}, default {acl.default_action})", header_style="bold")
            for col in ("#", "line", "status", "detail", "rule"):
                t.add_column(col)
            for f in findings:
                t.add_row(
                    str(f.rule.index),
                    str(f.rule.line),
                    f"[{_STYLE[f.status]}]{f.status}[/]",
                    _detail(f),
                    escape(f.rule.text),
                )
            console.print(t)
            counts = {s: sum(1 for f in findings if f.status == s) for s in _STYLE}
            console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no rules")
        _warn_unparsed(parsed)

    emit(payload, json_out, human)


def _detail(f: analysis.Finding) -> str:
    if f.status in ("unreachable", "redundant"):
        if not f.shadowed_by:
            return "matches no packet"
        other = ", other action" if f.different_action else ", same action"
        return f"shadowed by {', '.join(map(str, f.shadowed_by))}{other}"
    if f.status == "conflict":
        return f"partly overlaps {', '.join(map(str, f.overlaps))} (other action)"
    if f.removable:
        later = ", ".join(map(str, f.covered_by_later))
        return f"removable: same verdict from {later}" if later else "removable: same verdict from the default"
    return ""


def _packet(
    src: str,
    dst: str,
    proto: str,
    sport: int,
    dport: int,
    icmp_type: int,
    icmp_code: int,
    established: bool,
    state: str | None,
) -> Packet:
    address_int(src)
    address_int(dst)
    number = protocol_number(proto)
    if number < 0:
        raise InvalidInput(f"--proto {proto} names no single protocol: use tcp, udp, icmp or a number 0-255")
    for name, value, top in (
        ("--sport", sport, 65535),
        ("--dport", dport, 65535),
        ("--icmp-type", icmp_type, 255),
        ("--icmp-code", icmp_code, 255),
    ):
        if not 0 <= value <= top:
            raise InvalidInput(f"{name} {value} is out of range 0-{top}")
    if state is not None and state not in CT_STATES:
        raise InvalidInput(f"--state {state}: use one of {', '.join(CT_STATES)}")
    return Packet(
        src=src,
        dst=dst,
        proto=number,
        sport=sport,
        dport=dport,
        icmp_type=icmp_type,
        icmp_code=icmp_code,
        tcp_established=established or state == "established",
        ct_state=state or ("established" if established else "new"),
    )


def _packet_json(p: Packet) -> dict[str, Any]:
    return {
        "src": p.src,
        "dst": p.dst,
        "proto": p.proto,
        "sport": p.sport,
        "dport": p.dport,
        "icmp_type": p.icmp_type,
        "icmp_code": p.icmp_code,
        "tcp_established": p.tcp_established,
        "ct_state": p.ct_state,
    }


def _packet_text(p: Packet) -> str:
    text = f"proto {p.proto} {p.src}"
    if p.proto in (6, 17, 132):
        text = f"proto {p.proto} {p.src}:{p.sport} -> {p.dst}:{p.dport}"
    else:
        text += f" -> {p.dst}"
    if p.proto in (1, 58):
        text += f" type {p.icmp_type} code {p.icmp_code}"
    if p.tcp_established:
        text += " (ACK/RST set)"
    return text + f" state {p.ct_state}"


@app.command("query")
def query_cmd(
    file: File,
    platform: Platform,
    src: Annotated[str, typer.Option("--src", help="Source address (IPv4 or IPv6).")],
    dst: Annotated[str, typer.Option("--dst", help="Destination address.")],
    proto: Annotated[str, typer.Option("--proto", help="tcp, udp, icmp, another name or a number 0-255.")],
    acl_name: Annotated[
        str | None, typer.Option("--acl", help="ACL name (may be left out when the file holds one ACL).")
    ] = None,
    sport: Annotated[int, typer.Option("--sport", help="Source port.")] = 0,
    dport: Annotated[int, typer.Option("--dport", help="Destination port.")] = 0,
    icmp_type: Annotated[int, typer.Option("--icmp-type", help="ICMP type.")] = 0,
    icmp_code: Annotated[int, typer.Option("--icmp-code", help="ICMP code.")] = 0,
    established: Annotated[
        bool, typer.Option("--established", help="TCP with ACK or RST set (a reply of an open connection).")
    ] = False,
    state: Annotated[
        str | None, typer.Option("--state", help="Connection-tracking state: new, established, related, invalid.")
    ] = None,
    json_out: JsonOut = False,
) -> None:
    """What happens to one packet: the first rule that matches it, or the ACL's default action."""
    parsed = _load(file, platform)
    acl = _pick(parsed, acl_name, file)
    packet = _packet(src, dst, proto, sport, dport, icmp_type, icmp_code, established, state)
    rule = analysis.query(acl, packet)
    action = acl.default_action if rule is None else rule.action
    payload = {"action": action, "rule": _rule_ref(rule)}

    def human() -> None:
        style = "green" if action == "permit" else "red"
        console.print(f"[{style}]{action}[/] {escape(_packet_text(packet))} by {escape(acl.name)}")
        if rule is None:
            console.print("no rule matches: the default action applies")
        else:
            console.print(f"rule {rule.index} (line {rule.line}): {escape(rule.text)}")
        _warn_unparsed(parsed)

    emit(payload, json_out, human)


@app.command("compare")
def compare_cmd(
    file_a: Annotated[Path, typer.Argument(help="First file.")],
    file_b: Annotated[Path, typer.Argument(help="Second file.")],
    platform: Platform,
    platform_b: Annotated[
        str | None, typer.Option("--platform-b", help="Platform of the second file (default: --platform).")
    ] = None,
    acl_name: Annotated[str | None, typer.Option("--acl", help="ACL in the first file.")] = None,
    acl_b: Annotated[str | None, typer.Option("--acl-b", help="ACL in the second file (default: --acl).")] = None,
    json_out: JsonOut = False,
) -> None:
    """Whether two ACLs permit exactly the same packets (exact, over every header field).

    Exit status 0 when they are equivalent; 1 when they are not, printing a packet they treat
    differently with both verdicts (and 1 with an error line when an input is bad).
    """
    parsed_a = _load(file_a, platform)
    parsed_b = _load(file_b, platform_b or platform)
    a = _pick(parsed_a, acl_name, file_a)
    b = _pick(parsed_b, acl_b if acl_b is not None else acl_name, file_b)
    witness = analysis.compare(a, b)
    payload: dict[str, Any] = {
        "equivalent": witness is None,
        "a": {"file": str(file_a), "acl": a.name, "platform": a.platform},
        "b": {"file": str(file_b), "acl": b.name, "platform": b.platform},
        "witness": None,
        "unparsed": {"a": _unparsed(parsed_a), "b": _unparsed(parsed_b)},
    }
    if witness is not None:
        rule_a, rule_b = analysis.query(a, witness), analysis.query(b, witness)
        payload["witness"] = {
            "packet": _packet_json(witness),
            "a": {"action": a.default_action if rule_a is None else rule_a.action, "rule": _rule_ref(rule_a)},
            "b": {"action": b.default_action if rule_b is None else rule_b.action, "rule": _rule_ref(rule_b)},
        }

    def human() -> None:
        if witness is None:
            console.print(f"[green]equivalent[/]: {escape(a.name)} and {escape(b.name)} permit the same packets")
        else:
            console.print(f"[red]not equivalent[/]: {escape(_packet_text(witness))}")
            for side, acl in (("a", a), ("b", b)):
                verdict = payload["witness"][side]
                rule = verdict["rule"]
                where = f"rule {rule['index']} (line {rule['line']}): {rule['text']}" if rule else "default action"
                console.print(f"  {escape(acl.name)}: {verdict['action']} by {escape(where)}")
        _warn_unparsed(parsed_a)
        _warn_unparsed(parsed_b)

    emit(payload, json_out, human)
    if witness is not None:
        raise typer.Exit(1)
