"""Compliance runs over the stored configurations, with their results kept as history.

A run reads each device's latest backed-up configuration from the config repository, parses it per
its platform (``netwarden.configs.tree``), checks it against the policies (the shipped pack and the
``config_policies`` files, ``netwarden.configs.policy``) with the device's inventory facts, and stores
one row per device and rule (``compliance_results``), all rows of a run sharing ``checked_at``. The
score of a device is passed / applicable rules of its latest run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.configs.gitstore import ConfigRepo
from netwarden.configs.models import ComplianceResult, ConfigBackup
from netwarden.context import Context
from netwarden.errors import NotFound
from netwarden.inventory.models import Device

if TYPE_CHECKING:
    from netwarden.configs.policy import Policy
    from netwarden.configs.render import DeviceFacts

log = logging.getLogger(__name__)


@dataclass
class RuleOut:
    policy: str
    rule: str
    severity: str
    status: str
    message: str
    evidence: list[Any]
    remediation: str

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class DeviceCompliance:
    device: str
    checked_at: dt.datetime | None
    revision: str
    passed: int = 0
    failed: int = 0
    results: list[RuleOut] = field(default_factory=list)

    def results_by(self, rule: str) -> RuleOut:
        """The result of one rule (the first, when several parts were checked against it)."""
        for r in self.results:
            if r.rule == rule:
                return r
        raise NotFound(f"no result for rule {rule!r} on {self.device}")

    @property
    def applicable(self) -> int:
        return self.passed + self.failed

    @property
    def score(self) -> float | None:
        return round(100.0 * self.passed / self.applicable, 1) if self.applicable else None

    def public(self, with_results: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device": self.device,
            "checked_at": self.checked_at,
            "revision": self.revision,
            "score": self.score,
            "passed": self.passed,
            "failed": self.failed,
            "applicable": self.applicable,
        }
        if with_results:
            out["results"] = [r.public() for r in self.results]
        return out


def _summarise(device: str, rows: Sequence[ComplianceResult]) -> DeviceCompliance:
    out = DeviceCompliance(device, rows[0].checked_at if rows else None, rows[0].revision if rows else "")
    for r in rows:
        out.results.append(
            RuleOut(r.policy, r.rule, r.severity, r.status, r.message, list(r.evidence or []), r.remediation)
        )
        if r.status == "pass":
            out.passed += 1
        elif r.status == "fail":
            out.failed += 1
    return out


def latest(db: Session, actor: Actor, device: str | None = None) -> list[DeviceCompliance]:
    """Each device's latest run (devices never checked are left out), by device name."""
    require(actor, Role.viewer, "read compliance results")
    last = (
        select(ComplianceResult.device_id, func.max(ComplianceResult.checked_at).label("at"))
        .group_by(ComplianceResult.device_id)
        .subquery()
    )
    query = (
        select(Device.name, ComplianceResult)
        .join(ComplianceResult, ComplianceResult.device_id == Device.id)
        .join(last, (last.c.device_id == ComplianceResult.device_id) & (last.c.at == ComplianceResult.checked_at))
        .order_by(Device.name, ComplianceResult.id)
    )
    if device is not None:
        if db.scalar(select(Device.id).where(Device.name == device)) is None:
            raise NotFound(f"no device {device!r} in the inventory")
        query = query.where(Device.name == device)
    grouped: dict[str, list[ComplianceResult]] = {}
    for name, row in db.execute(query):
        grouped.setdefault(name, []).append(row)
    return [_summarise(name, rows) for name, rows in grouped.items()]


def score_history(db: Session, actor: Actor, device: str, limit: int = 100) -> list[dict[str, Any]]:
    """The device's runs, newest first: when, revision, passed, failed, score."""
    require(actor, Role.viewer, "read compliance results")
    device_id = db.scalar(select(Device.id).where(Device.name == device))
    if device_id is None:
        raise NotFound(f"no device {device!r} in the inventory")
    rows = db.execute(
        select(ComplianceResult.checked_at, ComplianceResult.revision, ComplianceResult.status, func.count())
        .where(ComplianceResult.device_id == device_id)
        .group_by(ComplianceResult.checked_at, ComplianceResult.revision, ComplianceResult.status)
        .order_by(ComplianceResult.checked_at.desc())
    ).all()
    runs: dict[dt.datetime, dict[str, Any]] = {}
    for at, rev, status, n in rows:
        run = runs.setdefault(at, {"checked_at": at, "revision": rev, "passed": 0, "failed": 0})
        if status in ("pass", "fail"):
            run["passed" if status == "pass" else "failed"] += n
    out = list(runs.values())[:limit]
    for run in out:
        applicable = run["passed"] + run["failed"]
        run["score"] = round(100.0 * run["passed"] / applicable, 1) if applicable else None
    return out


# ---------------------------------------------------------------- running a check


def policy_files(ctx: Context, extra: Sequence[Path] = ()) -> list[Path]:
    """The policy files a run uses: the shipped pack (unless turned off), the configured ones, then ``extra``."""
    from netwarden.configs.policy import DEFAULT_POLICY

    files = [DEFAULT_POLICY] if ctx.settings.config_default_policies else []
    return files + list(ctx.settings.config_policies) + list(extra)


def run_check(
    ctx: Context,
    actor: Actor,
    devices: Sequence[str] | None = None,
    *,
    policies: Sequence[Path] | None = None,
    store: bool = True,
) -> list[DeviceCompliance]:
    """Check the latest stored configuration of ``devices`` (default: every backed-up device).

    ``policies`` replaces the policy files (default: :func:`policy_files`). Results are stored unless
    ``store`` is false. A device with no backup yet is skipped (named devices: NotFound).
    """
    from netwarden.configs import policy as pol
    from netwarden.configs.backup import repo_of

    require(actor, Role.operator if store else Role.viewer, "run a compliance check")
    loaded = pol.load_policies(list(policies) if policies is not None else policy_files(ctx))
    repo = repo_of(ctx)
    now = dt.datetime.now(dt.UTC)
    out: list[DeviceCompliance] = []
    with ctx.db() as db:
        query = select(Device, ConfigBackup).join(ConfigBackup, ConfigBackup.device_id == Device.id)
        if devices:
            query = query.where(Device.name.in_(list(devices)))
        rows = [(d, s) for d, s in db.execute(query.order_by(Device.name))]
        if devices:
            missing = sorted(set(devices) - {d.name for d, _ in rows})
            if missing:
                raise NotFound(f"no backup of {missing[0]!r} yet: run 'netwarden config backup {missing[0]}' first")
        for device, state in rows:
            results = check_device(repo, device, state, loaded)
            summary = DeviceCompliance(device.name, now, state.revision)
            for r in results:
                summary.results.append(r)
                summary.passed += r.status == "pass"
                summary.failed += r.status == "fail"
                if store:
                    db.add(
                        ComplianceResult(
                            device_id=device.id, checked_at=now, revision=state.revision, policy=r.policy[:128],
                            rule=r.rule[:128], severity=r.severity, status=r.status, message=r.message,
                            evidence=r.evidence, remediation=r.remediation,
                        )
                    )  # fmt: skip
            out.append(summary)
        if store:
            audit.record(
                db, actor, "config.check", "compliance", ",".join(d.device for d in out)[:255],
                {"devices": len(out), "failed": sum(d.failed for d in out)},
            )  # fmt: skip
            db.commit()
    return out


def check_device(repo: ConfigRepo, device: Device, state: ConfigBackup, loaded: Sequence[Policy]) -> list[RuleOut]:
    """One device's verdicts: each stored part is parsed in its own syntax and checked."""
    from netwarden.collect.platforms import get_platform
    from netwarden.configs import policy as pol
    from netwarden.configs import tree
    from netwarden.configs.backup import file_name

    spec = get_platform(device.platform)
    facts = device_facts(device)
    results: list[RuleOut] = []
    for source in spec.config.sources if spec.config else []:
        name = file_name(device.name, source)
        if name not in (state.files or []) or source.name == "startup":
            continue  # the startup config is what the device boots with: not what it runs, not scored twice
        parsed = tree.parse(repo.show(name), source.syntax or device.platform)
        for r in pol.check(parsed, facts, loaded):
            evidence = [{"file": name, "line": e.line, "text": e.text} for e in r.evidence]
            results.append(RuleOut(r.policy, r.rule, r.severity, r.status, r.message, evidence, r.remediation))
    return results


def device_facts(device: Device) -> DeviceFacts:
    """What templates and policies know about a device, from the inventory."""
    from netwarden.configs.render import DeviceFacts, InterfaceFacts

    return DeviceFacts(
        name=device.name,
        platform=device.platform,
        site=device.site.name if device.site else "",
        role=device.role or "",
        mgmt_ip=device.mgmt_ip,
        vendor=device.vendor,
        model=device.model,
        serial=device.serial,
        os_version=device.os_version,
        tags=list(device.tags or []),
        interfaces=[
            InterfaceFacts(
                name=i.name,
                description=i.description or "",
                addresses=[f"{a.address}/{a.prefix_length}" for a in i.addresses],
                admin_status=i.admin_status,
                kind=i.kind,
            )
            for i in device.interfaces
        ],
    )


def check_after_backup(ctx: Context, actor: Actor, report: Any) -> list[DeviceCompliance]:
    """After a backup run: check the devices whose configuration is new or changed."""
    devices = [o.device for o in report.outcomes if o.ok and (o.changed or o.new)]
    if not devices:
        return []
    return run_check(ctx, actor, devices)
