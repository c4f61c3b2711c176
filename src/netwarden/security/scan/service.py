"""The scan package's service functions: run a scan against the inventory, list the risk register.

    report = await run_scan(ctx, actor, ScanOptions(ranges=["198.18.0.0/24"]), credentials=["lab-snmp"])
    risks = list_risks(ctx, actor, status="open")

Findings are scored (:mod:`.risk`) and merged into the register (:mod:`.register`).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.collect import snmp_facts
from netwarden.context import Context
from netwarden.errors import InvalidInput, NotFound
from netwarden.inventory import service as inventory
from netwarden.security.scan import feeds, matching, register, risk, weak
from netwarden.security.scan.register import Coverage
from netwarden.security.scan.scanner import KnownDevice, ScanOptions, SnmpCredential, scan_hosts
from netwarden.security.scan.schemas import (
    LEVELS,
    ClearedOut,
    FeedOut,
    FindingOut,
    HostOut,
    Level,
    RiskOut,
    RiskStatus,
    ScanReport,
)
from netwarden.security.scan.tables import RiskFinding, RiskScan

__all__ = ["findings_for", "list_risks", "run_scan", "show_risk"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


def findings_for(
    hosts: Sequence[HostOut], vuln_feeds: Sequence[feeds.Feed] = ()
) -> tuple[list[FindingOut], list[ClearedOut]]:
    """Every finding of the scanned hosts (weak settings, then known vulnerabilities), scored, highest
    first; and the feed matches a distribution tracker cleared."""
    found: dict[str, FindingOut] = {}
    cleared: list[ClearedOut] = []
    for host in hosts:
        vulns, host_cleared = matching.vulnerability_drafts(host, vuln_feeds)
        cleared.extend(host_cleared)
        for draft in [*weak.assess(host), *vulns]:
            item = risk.finding(host, draft)
            found.setdefault(item.id, item)
    return sorted(found.values(), key=lambda f: (-f.score, f.target, f.kind, f.port or 0)), cleared


# ---------------------------------------------------------------- register storage

_COLUMNS = tuple(RiskOut.model_fields)


def _out(row: RiskFinding) -> RiskOut:
    return RiskOut.model_validate({name: getattr(row, name) for name in _COLUMNS})


def _chunks(items: Sequence[str], size: int = 500) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _store(db: Session, findings: Sequence[FindingOut], coverage: Coverage, now: dt.datetime) -> tuple[int, int]:
    """Merge a scan's findings into the register; (entries added, entries resolved)."""
    rows: dict[str, RiskFinding] = {
        r.id: r for r in db.scalars(select(RiskFinding).where(RiskFinding.status == "open"))
    }
    for chunk in _chunks([f.id for f in findings if f.id not in rows]):
        rows.update({r.id: r for r in db.scalars(select(RiskFinding).where(RiskFinding.id.in_(chunk)))})
    merged = register.merge([_out(r) for r in rows.values()], findings, coverage, now)
    added = resolved = 0
    for entry in merged:
        values = entry.model_dump()
        row = rows.get(entry.id)
        if row is None:
            db.add(RiskFinding(**values))
            added += 1
            continue
        if row.status == "open" and entry.status == "resolved":
            resolved += 1
        for name, value in values.items():
            if name != "id" and getattr(row, name) != value:
                setattr(row, name, value)
    return added, resolved


# ---------------------------------------------------------------- scan


def _inventory(ctx: Context, actor: Actor, names: Sequence[str]) -> tuple[list[KnownDevice], list[SnmpCredential]]:
    with ctx.db() as db:
        devices = [
            KnownDevice(
                name=d.name,
                address=d.mgmt_ip,
                platform=d.platform,
                role=d.role,
                vendor=d.vendor,
                os_version=d.os_version,
            )
            for d in inventory.list_devices(db, actor, limit=1_000_000).items
            if d.mgmt_ip
        ]
        credentials: list[SnmpCredential] = []
        for name in names:
            secret = inventory.reveal_credential(db, actor, ctx.vault, name)
            if secret.kind not in ("snmp-v2c", "snmp-v3"):
                raise InvalidInput(f"credential {name!r} is {secret.kind}: a scan uses SNMP credentials only")
            credentials.append(SnmpCredential(name, snmp_facts.auth_from_secret(secret)))
    return devices, credentials


async def run_scan(
    ctx: Context,
    actor: Actor,
    options: ScanOptions,
    *,
    credentials: Sequence[str] = (),
    feed_paths: Sequence[Path] = (),
    save: bool = True,
    progress: Progress | None = None,
) -> ScanReport:
    """Scan the ranges, assess what answered and (with ``save``) merge the findings into the register.

    Vulnerability feeds are the ``vuln_feeds`` setting plus ``feed_paths``; they are read before
    the scan starts, so a bad feed fails at once.

    Raises:
        PermissionDenied: the actor is not an operator.
        InvalidInput: a bad range, port list or option, a credential that is not SNMP, or a feed
            that is missing or not an NVD CVE 2.0 document.
        NotFound: a named credential does not exist.
    """
    require(actor, Role.operator, "run exposure scans")
    started_at = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    loaded = feeds.load_feeds([*ctx.settings.vuln_feeds, *feed_paths])
    devices, snmp_credentials = _inventory(ctx, actor, credentials)
    hosts, failed = await scan_hosts(options, devices, snmp_credentials, progress)
    findings, cleared = findings_for(hosts, loaded)
    report = ScanReport(
        ranges=list(options.ranges),
        ports=sorted(options.ports),
        started=started_at,
        elapsed=round(time.perf_counter() - started, 3),
        hosts=hosts,
        findings=findings,
        failed=failed,
        feeds=[FeedOut(path=str(f.path), format=f.format, entries=len(f.advisories) or len(f.debian)) for f in loaded],
        cleared=cleared,
        saved=save,
    )
    if save:
        coverage = Coverage(
            addresses=frozenset(h.address for h in hosts),
            tcp_ports=frozenset(options.ports),
            snmp_checked=options.snmp,
            feeds=frozenset(f.path.name for f in loaded),
        )
        with ctx.db() as db:
            added, resolved = _store(db, findings, coverage, dt.datetime.now(dt.UTC))
            db.add(
                RiskScan(
                    started_at=started_at,
                    elapsed=report.elapsed,
                    actor=actor.name,
                    ranges=list(options.ranges),
                    ports=_port_spec(options.ports),
                    feeds=[f.path.name for f in loaded],
                    host_count=len(hosts),
                    finding_count=len(findings),
                    hosts=[h.model_dump(mode="json") for h in hosts],
                )
            )
            audit.record(
                db,
                actor,
                "scan.run",
                "scan",
                ",".join(options.ranges)[:200],
                {"findings": [None, len(findings)], "added": [None, added], "resolved": [None, resolved]},
            )
    log.info("scan saved" if save else "scan done", extra={"kv": {"hosts": len(hosts), "findings": len(findings)}})
    return report


def _port_spec(ports: Sequence[int]) -> str:
    """``22,80,8000-8010``: runs of consecutive ports folded."""
    runs: list[str] = []
    ordered = sorted(set(ports))
    i = 0
    while i < len(ordered):  # each pass consumes one run
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ",".join(runs)


def list_risks(
    db: Session, actor: Actor, *, status: RiskStatus | None = "open", min_level: Level | None = None
) -> list[RiskOut]:
    """The register, open entries first, highest score first; filtered by status and level."""
    require(actor, Role.viewer, "read the risk register")
    query = select(RiskFinding)
    if status is not None:
        query = query.where(RiskFinding.status == status)
    if min_level is not None:
        query = query.where(RiskFinding.level.in_(LEVELS[: LEVELS.index(min_level) + 1]))
    return sorted((_out(r) for r in db.scalars(query)), key=register.sort_key)


def show_risk(db: Session, actor: Actor, risk_id: str) -> RiskOut:
    """One register entry by its id (or a unique prefix of it, as git takes commit ids)."""
    require(actor, Role.viewer, "read the risk register")
    if len(risk_id) < 4:
        raise InvalidInput(f"risk id {risk_id!r} is too short: give at least 4 characters")
    rows = list(
        db.scalars(select(RiskFinding).where(RiskFinding.id.startswith(risk_id.lower(), autoescape=True)).limit(2))
    )
    if not rows:
        raise NotFound(f"no risk {risk_id!r}; see 'netwarden risk list --status all'")
    if len(rows) > 1:
        raise InvalidInput(f"risk id {risk_id!r} is ambiguous; give more characters")
    return _out(rows[0])
