"""``netwarden config``: back up configurations into git, show their history and diffs, check compliance."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from netwarden.cli.common import DataDir, JsonOut, actor, console, emit, err_console, open_ctx, print_json, table
from netwarden.context import Context

if TYPE_CHECKING:
    from netwarden.configs.compliance import DeviceCompliance
from netwarden.errors import InvalidInput, NotFound

app = typer.Typer(help="Configurations: backup into git, history, diff, compliance.", no_args_is_help=True)

Part = Annotated[
    str, typer.Option("--part", help="Which part of the configuration: running (default), startup, nftables...")
]


@app.command("backup")
def backup(
    devices: Annotated[list[str] | None, typer.Argument(help="Devices (default: all with an address).")] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option("--credential", "-c", help="Stored ssh credential, tried in order (default: config_credentials)."),
    ] = None,
    why: Annotated[str, typer.Option("--why", help="Why: goes into the commit message.")] = "on demand",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Pull configurations over SSH and commit them to the config repository (one commit per run).

    Exit status 1 when any device failed (its previous backup is kept).
    """
    from netwarden.configs.backup import backup as run

    ctx = open_ctx(data_dir)
    report = asyncio.run(run(ctx, actor(), devices or None, why=why, credentials=credential))

    def human() -> None:
        changed = [o.device for o in report.outcomes if o.changed]
        new = [o.device for o in report.outcomes if o.new]
        ok = sum(o.ok for o in report.outcomes)
        rev = report.revision[:10] if report.revision else "no new commit"
        console.print(f"backed up {ok} of {len(report.outcomes)} device(s): {rev}")
        if report.push_error:
            err_console.print(f"warning: {report.push_error} (the commit is kept; the next push sends it)")
        if new:
            console.print(f"new: {', '.join(new)}")
        if changed:
            console.print(f"changed: {', '.join(changed)}")
        failed = [o.public() for o in report.outcomes if not o.ok]
        if failed:
            table(failed, ["device", "reason", "detail", "failures"], "failed")

    emit(report.public(), json_out, human)
    if any(not o.ok for o in report.outcomes):
        raise typer.Exit(1)


@app.command("status")
def status(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Each device's backup state: last success, last change, revision, failures in a row."""
    from netwarden.configs.backup import state_rows

    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        rows = state_rows(db)
    emit(rows, json_out, lambda: table(rows, ["device", "last_success", "last_change", "failures", "reason"]))


def _file(device: str, platform: str, part: str) -> str:
    from netwarden.configs.backup import part_file

    return part_file(device, platform, part)


def _device_platform(data_dir: Path | None, device: str) -> tuple[Context, str]:
    from sqlalchemy import select

    from netwarden.inventory.models import Device

    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        platform = db.scalar(select(Device.platform).where(Device.name == device))
    if platform is None:
        raise NotFound(f"no device {device!r} in the inventory")
    return ctx, platform


@app.command("history")
def history(
    device: Annotated[str, typer.Argument(help="Device name.")],
    part: Part = "running",
    limit: Annotated[int, typer.Option(help="At most this many revisions.", min=1)] = 50,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Revisions of a device's configuration, newest first."""
    from netwarden.configs.backup import repo_of

    ctx, platform = _device_platform(data_dir, device)
    revs = repo_of(ctx).history(_file(device, platform, part), limit)
    rows = [{"rev": r.rev, "at": r.at, "author": r.author, "message": r.message} for r in revs]
    emit(rows, json_out, lambda: table(rows, ["rev", "at", "author", "message"]))


@app.command("show")
def show(
    device: Annotated[str, typer.Argument(help="Device name.")],
    rev: Annotated[str, typer.Argument(help="Revision (default: the latest).")] = "HEAD",
    part: Part = "running",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Print a device's stored configuration (at a revision). JSON: {"device", "file", "rev", "text"}."""
    from netwarden.configs.backup import repo_of

    ctx, platform = _device_platform(data_dir, device)
    repo = repo_of(ctx)
    name = _file(device, platform, part)
    full = repo.resolve(rev)
    text = repo.show(name, full)
    emit({"device": device, "file": name, "rev": full, "text": text}, json_out, lambda: _write(text))


@app.command("diff")
def diff(
    device: Annotated[str, typer.Argument(help="Device name.")],
    revs: Annotated[
        list[str] | None, typer.Argument(help="OLD [NEW] revisions (default: the device's last change).")
    ] = None,
    part: Part = "running",
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Unified diff of a device's configuration between two revisions (default: its last change)."""
    from netwarden.configs.backup import repo_of

    revs = revs or []
    if len(revs) > 2:
        raise InvalidInput("give at most two revisions: OLD [NEW]")
    ctx, platform = _device_platform(data_dir, device)
    repo = repo_of(ctx)
    name = _file(device, platform, part)
    old = revs[0] if revs else None
    new = revs[1] if len(revs) > 1 else None
    text = repo.diff(name, old, new)
    if json_out:
        added = [ln[1:] for ln in text.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
        removed = [ln[1:] for ln in text.splitlines() if ln.startswith("-") and not ln.startswith("---")]
        print_json({"device": device, "file": name, "old": old, "new": new, "diff": text,
                    "added": added, "removed": removed})  # fmt: skip
        return
    sys.stdout.write(text)


@app.command("check")
def check(
    devices: Annotated[list[str] | None, typer.Argument(help="Devices (default: every backed-up device).")] = None,
    policy: Annotated[
        list[Path] | None,
        typer.Option("--policy", "-p", help="Policy file or directory (repeatable); replaces the configured set."),
    ] = None,
    default_pack: Annotated[
        bool, typer.Option("--default-pack/--no-default-pack", help="With --policy: also the shipped pack.")
    ] = False,
    file: Annotated[
        Path | None, typer.Option("--file", help="Check this config file instead of stored backups (not stored).")
    ] = None,
    platform: Annotated[str | None, typer.Option("--platform", help="With --file: its platform/syntax.")] = None,
    store: Annotated[bool, typer.Option("--store/--no-store", help="Keep the results (stored backups).")] = True,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Check configurations against compliance policies (default: the shipped pack + config_policies).

    Exit status 1 when any rule fails. JSON: a list of {"device", "score", "passed", "failed",
    "applicable", "results": [{"policy", "rule", "severity", "status", "message", "evidence", "remediation"}]}.
    """
    from netwarden.configs import compliance
    from netwarden.configs.policy import DEFAULT_POLICY

    policies: list[Path] | None = None
    if policy:
        policies = ([DEFAULT_POLICY] if default_pack else []) + list(policy)
    if file is not None:
        summaries = [_check_file(file, platform, policies)]
    else:
        ctx = open_ctx(data_dir)
        summaries = compliance.run_check(ctx, actor(), devices or None, policies=policies, store=store)

    def human() -> None:
        rows = [s.public(with_results=False) for s in summaries]
        table(rows, ["device", "score", "passed", "failed", "applicable"], "compliance")
        failed = [
            {"device": s.device, "rule": f"{r.policy}/{r.rule}", "severity": r.severity, "message": r.message}
            for s in summaries
            for r in s.results
            if r.status == "fail"
        ]
        if failed:
            table(failed, ["device", "rule", "severity", "message"], "failed rules")

    emit([s.public() for s in summaries], json_out, human)
    if any(s.failed for s in summaries):
        raise typer.Exit(1)


def _check_file(path: Path, platform: str | None, policies: list[Path] | None) -> DeviceCompliance:
    import datetime as dt

    from netwarden.configs import policy as pol
    from netwarden.configs.compliance import DeviceCompliance, RuleOut
    from netwarden.configs.render import DeviceFacts

    if not platform:
        raise InvalidInput("--file needs --platform (cisco_ios, arista_eos, juniper_junos, frr, nftables...)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    loaded = pol.load_policies(policies) if policies is not None else pol.default_policies()
    from netwarden.configs.tree import parse

    tree = parse(data, platform)
    facts = DeviceFacts(name=path.stem or "device", platform=platform)
    out = DeviceCompliance(facts.name, dt.datetime.now(dt.UTC), "")
    for r in pol.check(tree, facts, loaded):
        evidence: list[object] = [{"file": path.name, "line": e.line, "text": e.text} for e in r.evidence]
        out.results.append(RuleOut(r.policy, r.rule, r.severity, r.status, r.message, evidence, r.remediation))
        out.passed += r.status == "pass"
        out.failed += r.status == "fail"
    return out


@app.command("render")
def render(
    device: Annotated[str, typer.Argument(help="Device name.")],
    template_dir: Annotated[
        list[Path] | None, typer.Option("--template-dir", help="Template directory searched first (repeatable).")
    ] = None,
    diff_running: Annotated[
        bool, typer.Option("--diff", help="Show the diff from the intended to the stored running config.")
    ] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Render a device's intended configuration from the inventory (<platform>/<role>.j2 templates).

    With --diff, exit status 1 when the running configuration differs from the intended one.
    """
    from sqlalchemy import select

    from netwarden.configs.backup import repo_of
    from netwarden.configs.compliance import device_facts
    from netwarden.configs.render import diff as config_diff
    from netwarden.configs.render import render_config
    from netwarden.inventory.models import Device

    ctx = open_ctx(data_dir)
    with ctx.db() as db:
        row = db.scalar(select(Device).where(Device.name == device))
        if row is None:
            raise NotFound(f"no device {device!r} in the inventory")
        facts = device_facts(row)
    dirs = list(template_dir or []) + ([ctx.settings.config_templates_dir] if ctx.settings.config_templates_dir else [])
    rendered = render_config(facts, dirs)
    if not diff_running:
        emit({"device": device, "template": rendered.template, "text": rendered.text}, json_out,
             lambda: _write(rendered.text))  # fmt: skip
        return
    running = repo_of(ctx).show(_file(device, facts.platform, "running"))
    text = config_diff(rendered.text, running, facts.platform)
    emit({"device": device, "template": rendered.template, "diff": text, "same": not text}, json_out,
         lambda: _write(text or "the running configuration matches the intended one\n"))  # fmt: skip
    if text:
        raise typer.Exit(1)


def _write(text: str) -> None:
    sys.stdout.write(text)
