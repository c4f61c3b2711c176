"""Configuration backup: pull each device's configuration over SSH, check it, mask it, commit it to git.

What to pull is platform data (the ``config`` section of ``collect/platforms/<platform>.yml``): its
parts (``running``, ``startup``, an nftables rule set...), the command for each, where the text starts
and how a complete copy ends. A copy that is truncated (the session dropped mid-transfer), binary,
empty or rejected by the device fails that device with the reason; its previous good backup stays,
and nothing of it is written. One run makes one commit, authored by who asked, saying why.

Each device's state (last attempt, success, change, revision, run of failures) is kept in
``config_backups``. A change of a device already backed up becomes a ``config_change`` event, and
``config_backup_failures_alert`` failures in a row a ``backup_failed`` event (cleared by the next
success), both through the alert engine and its notifications.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.alerts.events import Event
from netwarden.collect.platforms import ConfigSource, PlatformSpec, get_platform, platforms
from netwarden.collect.ssh import SessionOutput, failed_commands, run_session
from netwarden.configs.gitstore import ConfigRepo, check_file_name, safe_name
from netwarden.configs.masking import mask, rules_for
from netwarden.configs.models import ConfigBackup
from netwarden.context import Context
from netwarden.errors import ConfigError, InvalidInput, NotFound
from netwarden.inventory.models import Device
from netwarden.inventory.schemas import CredentialSecret

log = logging.getLogger(__name__)

EventsTo = Callable[[list[Event]], Awaitable[object]]
_MAX_DIFF_EVIDENCE = 4000


@dataclass(frozen=True)
class BackupTarget:
    name: str
    address: str
    platform: str


@dataclass
class Outcome:
    """One device's result in a run."""

    device: str
    ok: bool
    changed: bool = False
    new: bool = False
    files: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    detail: str = ""
    failures: int = 0
    added: int = 0
    removed: int = 0

    def public(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "ok": self.ok,
            "changed": self.changed,
            "new": self.new,
            "files": self.files,
            "skipped": self.skipped,
            "reason": self.reason or None,
            "detail": self.detail,
            "failures": self.failures,
            "added": self.added,
            "removed": self.removed,
        }


@dataclass
class BackupReport:
    revision: str | None
    outcomes: list[Outcome]
    events: list[Event] = field(default_factory=list)
    push_error: str = ""

    def public(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "push_error": self.push_error or None,
            "backed_up": sum(o.ok for o in self.outcomes),
            "changed": [o.device for o in self.outcomes if o.changed],
            "failed": [{"device": o.device, "reason": o.reason, "detail": o.detail} for o in self.outcomes if not o.ok],
            "devices": [o.public() for o in self.outcomes],
        }


class _Invalid(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------- one device's text


def file_name(device: str, source: ConfigSource) -> str:
    """The repository file of one part of a device's configuration."""
    name = safe_name(device)
    if source.file:
        return check_file_name(source.file.format(device=name))
    return check_file_name(f"{name}.cfg" if source.name == "running" else f"{name}.{source.name}.cfg")


def part_file(device: str, platform: str, part: str) -> str:
    """The repository file of one named part (``running``, ``startup``...) of a device's configuration.

    Raises:
        InvalidInput: the platform has no config backup, or no such part (naming the parts it has).
    """
    spec = get_platform(platform)
    sources = spec.config.sources if spec.config else []
    for source in sources:
        if source.name == part:
            return file_name(device, source)
    if not sources:
        raise InvalidInput(f"platform {platform} has no config backup")
    names = ", ".join(s.name for s in sources)
    raise InvalidInput(f"platform {platform} has no config part {part!r}: use {names}")


def device_files(device: str, platform: str) -> list[str]:
    spec = get_platform(platform)
    return [file_name(device, s) for s in spec.config.sources] if spec.config else []


def extract(source: ConfigSource, raw: str) -> str:
    """The configuration text in a command's output, checked: not binary, not empty, complete.

    Raises:
        _Invalid: with the reason (binary, empty, truncated) and a detail.
    """
    if "\x00" in raw:
        raise _Invalid("binary", f"{source.name}: the output holds NUL bytes (binary, not a configuration)")
    controls = sum(1 for ch in raw[:65536] if ord(ch) < 32 and ch not in "\t\n\r\x0c")
    if controls > 8 and controls * 50 > min(len(raw), 65536):
        raise _Invalid("binary", f"{source.name}: the output is mostly control characters (binary?)")
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if source.start:
        start = re.compile(source.start)
        first = next((i for i, line in enumerate(lines) if start.search(line)), None)
        if first is None:
            raise _Invalid("empty", f"{source.name}: no line matches the start of a configuration")
        lines = lines[first:]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise _Invalid("empty", f"{source.name}: the device printed nothing")
    if source.complete and not re.search(source.complete, lines[-1].strip()):
        raise _Invalid(
            "truncated", f"{source.name}: the copy ends at {lines[-1].strip()[:80]!r}, not a complete configuration"
        )
    return "\n".join(line.rstrip() for line in lines) + "\n"


def texts_from_session(
    target: BackupTarget, spec: PlatformSpec, session: SessionOutput, rules: Sequence[Any]
) -> tuple[dict[str, str], dict[str, str]]:
    """Repository files (name -> masked text) and skipped optional parts (name -> why) from one login.

    Raises:
        _Invalid: when a required part is missing or unusable.
    """
    assert spec.config is not None
    rejected = failed_commands(spec, session.outputs)
    files: dict[str, str] = {}
    skipped: dict[str, str] = {}
    for source in spec.config.sources:
        why = ""
        raw = ""
        if source.exec:
            result = session.execs.get(source.command)
            if result is None:
                why = "not run"
            elif not result.ok:
                said = (result.stderr or result.stdout).strip().splitlines()
                why = f"exit status {result.status}" + (f": {said[0][:200]}" if said else "")
            else:
                raw = result.stdout
        elif source.command in rejected:
            why = rejected[source.command]
        else:
            raw = session.outputs.get(source.command, "")
        try:
            if why:
                raise _Invalid("rejected", f"{source.name}: {why}")
            text = extract(source, raw)
        except _Invalid as exc:
            if source.optional and exc.reason in ("rejected", "empty"):
                skipped[source.name] = exc.detail
                continue
            raise
        files[file_name(target.name, source)] = mask(text, rules)
    return files, skipped


async def pull(
    target: BackupTarget,
    secrets: Sequence[CredentialSecret],
    *,
    extra_mask: Sequence[dict[str, Any]] = (),
    mask_secrets: bool = True,
    timeout: float = 120.0,
    limiter: asyncio.Semaphore | None = None,
) -> Outcome | tuple[dict[str, str], dict[str, str]]:
    """One device's configuration files, or its failed Outcome. Credentials are tried in order."""
    spec = get_platform(target.platform)
    if spec.config is None or spec.ssh is None:
        return Outcome(target.name, False, reason="unsupported", detail=f"platform {spec.name} has no config backup")
    interactive = [s.command for s in spec.config.sources if not s.exec]
    execs = [s.command for s in spec.config.sources if s.exec]
    rules = rules_for(spec.name, extra_mask, mask_secrets)
    last = Outcome(target.name, False, reason="auth_failed", detail="no credential")
    for secret in secrets:
        result = await run_session(
            target.address, secret, spec, interactive, execs, timeout=timeout, retries=1, limiter=limiter
        )
        if result.ok and result.value is not None:
            try:
                return texts_from_session(target, spec, result.value, rules)
            except _Invalid as exc:
                return Outcome(target.name, False, reason=exc.reason, detail=exc.detail)
        last = Outcome(target.name, False, reason=result.reason or "error", detail=result.detail)
        if result.reason != "auth_failed":
            break
    return last


# ---------------------------------------------------------------- a run over the inventory


def targets(db: Session, names: Sequence[str] | None = None) -> tuple[list[BackupTarget], list[Outcome]]:
    """The devices to back up (all with a management address, or the named ones) and those that cannot be."""
    query = select(Device).order_by(Device.name)
    if names:
        query = query.where(Device.name.in_(list(names)))
    rows = list(db.scalars(query))
    if names:
        missing = sorted(set(names) - {d.name for d in rows})
        if missing:
            raise NotFound(f"no device {missing[0]!r} in the inventory")
    out: list[BackupTarget] = []
    skipped: list[Outcome] = []
    for d in rows:
        if not d.mgmt_ip:
            if names:
                skipped.append(Outcome(d.name, False, reason="no_address", detail="the device has no management IP"))
            continue
        spec = platforms().get(d.platform)
        if spec is None or spec.config is None:
            if names:
                detail = f"platform {d.platform} has no config backup description"
                skipped.append(Outcome(d.name, False, reason="unsupported", detail=detail))
            continue
        out.append(BackupTarget(d.name, d.mgmt_ip, d.platform))
    return out, skipped


def secrets_for(ctx: Context, actor: Actor, credentials: Sequence[str] | None) -> list[CredentialSecret]:
    from netwarden.inventory.credentials import reveal_credential

    names = list(credentials or ctx.settings.config_credentials)
    if not names:
        raise ConfigError(
            "no SSH credential for config backups: pass --credential NAME or set config_credentials "
            "(netwarden credential add NAME --kind ssh)"
        )
    with ctx.db() as db:
        secrets = [reveal_credential(db, actor, ctx.vault, name) for name in names]
    bad = [s for s in secrets if s.kind != "ssh"]
    if bad:
        raise ConfigError(f"credential {bad[0].name!r} is {bad[0].kind}, not ssh")
    return secrets


def repo_of(ctx: Context) -> ConfigRepo:
    return ConfigRepo(ctx.data_dir / "configs", remote=ctx.settings.config_git_remote)


async def backup(
    ctx: Context,
    actor: Actor,
    devices: Sequence[str] | None = None,
    *,
    why: str = "on demand",
    credentials: Sequence[str] | None = None,
    events_to: EventsTo | None = None,
    timeout: float = 120.0,
) -> BackupReport:
    """Back up ``devices`` (default: every device with an address and a platform that has a config).

    Raises:
        PermissionDenied: for a viewer.
        ConfigError: when no SSH credential is set.
        NotFound: a named device is not in the inventory.
    """
    require(actor, Role.operator, "back up configurations")
    with ctx.db() as db:
        todo, outcomes = targets(db, devices)
    if not todo:
        return BackupReport(None, outcomes)
    secrets = secrets_for(ctx, actor, credentials)
    s = ctx.settings
    limiter = asyncio.Semaphore(s.config_backup_concurrency)
    pulled = await asyncio.gather(
        *(
            pull(t, secrets, extra_mask=s.config_mask_rules, mask_secrets=s.config_mask_secrets, timeout=timeout,
                 limiter=limiter)
            for t in todo
        )
    )  # fmt: skip
    repo = repo_of(ctx)
    repo.ensure()
    files: dict[str, str] = {}
    by_device: dict[str, Outcome] = {}
    for target, got in zip(todo, pulled, strict=True):
        if isinstance(got, Outcome):
            by_device[target.name] = got
            continue
        texts, skipped = got
        outcome = Outcome(target.name, True, files=sorted(texts), skipped=skipped)
        for name, text in texts.items():
            old = (repo.path / name).read_text(errors="replace") if (repo.path / name).exists() else None
            if old is None:
                outcome.new = True
            elif old != text:
                outcome.changed = True
                a, r = _counts(old, text)
                outcome.added += a
                outcome.removed += r
        files.update(texts)
        by_device[target.name] = outcome
    changed = sorted(o.device for o in by_device.values() if o.ok and (o.changed or o.new))
    message = _message(why, actor, changed, [o for o in by_device.values() if not o.ok])
    revision = repo.commit({k: v for k, v in files.items()}, author=actor.name, message=message) if files else None
    outcomes += [by_device[t.name] for t in todo]
    report = BackupReport(revision, outcomes, push_error=repo.push_error)
    with ctx.db() as db:
        report.events = _record(db, actor, report, repo, ctx.settings.config_backup_failures_alert, why)
        db.commit()
    if report.events:
        await _send(ctx, actor, report.events, events_to)
    return report


def _counts(old: str, new: str) -> tuple[int, int]:
    import difflib

    added = removed = 0
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def _message(why: str, actor: Actor, changed: list[str], failed: list[Outcome]) -> str:
    head = f"Backup: {why.strip() or 'on demand'}"
    lines = [head[:200], "", f"Asked by: {actor.name} ({actor.address})"]
    if changed:
        lines.append(f"Changed: {', '.join(changed)}")
    if failed:
        lines.append(f"Failed: {', '.join(f'{o.device} ({o.reason})' for o in failed)}")
    return "\n".join(lines) + "\n"


def _record(
    db: Session, actor: Actor, report: BackupReport, repo: ConfigRepo, alert_after: int, why: str
) -> list[Event]:
    now = dt.datetime.now(dt.UTC)
    ids = {name: id_ for name, id_ in db.execute(select(Device.name, Device.id))}
    events: list[Event] = []
    for o in report.outcomes:
        device_id = ids.get(o.device)
        if device_id is None:
            continue
        state = db.get(ConfigBackup, device_id)
        if state is None:
            state = ConfigBackup(device_id=device_id, files=[], failures=0, revision="", reason="", last_error="")
            db.add(state)
        state.last_attempt = now
        if o.ok:
            if state.alerted:
                summary = f"configuration backup of {o.device} works again"
                events.append(_event("backup_ok", o.device, "info", summary, ""))
            state.failures = 0
            state.alerted = False
            state.reason = ""
            state.last_error = ""
            state.last_success = now
            state.files = o.files
            if (o.changed or o.new) and report.revision:
                state.revision = report.revision
                state.last_change = now
            if o.changed and report.revision:
                raw = "".join(repo.diff(name, f"{report.revision}~1", report.revision) for name in o.files)
                summary = f"configuration of {o.device} changed: +{o.added} -{o.removed} lines ({report.revision[:10]})"
                events.append(_event("config_change", o.device, "info", summary, raw[:_MAX_DIFF_EVIDENCE]))
        else:
            state.failures = (state.failures or 0) + 1
            state.reason = o.reason[:32]
            state.last_error = o.detail
            o.failures = state.failures
            if state.failures >= alert_after and not state.alerted:
                state.alerted = True
                summary = (
                    f"configuration backup of {o.device} failed {state.failures} times in a row: "
                    f"{o.reason} ({o.detail})"
                )
                events.append(_event("backup_failed", o.device, "warning", summary, o.detail))
    audit.record(
        db,
        actor,
        "config.backup",
        "configs",
        report.revision or "",
        {"why": why, "changed": [o.device for o in report.outcomes if o.changed],
         "failed": [o.device for o in report.outcomes if not o.ok]},
    )  # fmt: skip
    return events


def _event(kind: Any, device: str, severity: Any, summary: str, raw: str) -> Event:
    return Event(source="backup", kind=kind, subject=device, device=device, severity=severity, summary=summary, raw=raw)


async def _send(ctx: Context, actor: Actor, events: list[Event], events_to: EventsTo | None) -> None:
    if events_to is not None:
        await events_to(events)
        return
    from netwarden.alerts.schemas import AlertPolicy
    from netwarden.alerts.service import ingest

    with ctx.db() as db:
        ingest(db, actor, events, policy=AlertPolicy.from_settings(ctx.settings))
        db.commit()


# ---------------------------------------------------------------- reading back


def state_of(db: Session, device: str) -> ConfigBackup | None:
    row = db.scalar(select(Device).where(Device.name == device))
    if row is None:
        raise NotFound(f"no device {device!r} in the inventory")
    return db.get(ConfigBackup, row.id)


def state_rows(db: Session) -> list[dict[str, Any]]:
    """Each device's backup state as plain fields (CLI ``config status`` and ``/api/v1/configs``)."""
    return [
        {
            "device": d.name,
            "platform": d.platform,
            "last_attempt": s.last_attempt if s else None,
            "last_success": s.last_success if s else None,
            "last_change": s.last_change if s else None,
            "revision": s.revision if s else "",
            "files": s.files if s else [],
            "failures": s.failures if s else 0,
            "reason": s.reason if s else "",
            "last_error": s.last_error if s else "",
        }
        for d, s in states(db)
    ]


def states(db: Session) -> list[tuple[Device, ConfigBackup | None]]:
    rows = [(d, s) for d, s in db.execute(select(Device, ConfigBackup).outerjoin(ConfigBackup).order_by(Device.name))]
    return list(rows)
