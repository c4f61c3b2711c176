"""The scan package's service functions: run a scan against the inventory, list the risk register.

    report = await run_scan(ctx, actor, ScanOptions(ranges=["198.18.0.0/24"]), credentials=["lab-snmp"])
    risks = list_risks(ctx, actor, status="open")

Findings are scored (:mod:`.risk`) and merged into the register (:mod:`.register`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import ValidationError

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.collect import snmp_facts
from netwarden.context import Context
from netwarden.errors import InvalidInput, StoreError
from netwarden.inventory import service as inventory
from netwarden.security.scan import feeds, matching, register, risk, weak
from netwarden.security.scan.register import Coverage
from netwarden.security.scan.scanner import KnownDevice, ScanOptions, SnmpCredential, scan_hosts
from netwarden.security.scan.schemas import LEVELS, FeedOut, FindingOut, HostOut, Level, RiskOut, RiskStatus, ScanReport

__all__ = ["findings_for", "list_risks", "run_scan"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
REGISTER_FILE = Path("risk") / "register.json"


def findings_for(hosts: Sequence[HostOut], vuln_feeds: Sequence[feeds.Feed] = ()) -> list[FindingOut]:
    """Every finding of the scanned hosts (weak settings, then known vulnerabilities), scored, highest first."""
    found: dict[str, FindingOut] = {}
    for host in hosts:
        for draft in [*weak.assess(host), *matching.vulnerability_drafts(host, vuln_feeds)]:
            item = risk.finding(host, draft)
            found.setdefault(item.id, item)
    return sorted(found.values(), key=lambda f: (-f.score, f.target, f.kind, f.port or 0))


# ---------------------------------------------------------------- register storage


def _register_path(ctx: Context) -> Path:
    return ctx.data_dir / REGISTER_FILE


def _load(ctx: Context) -> list[RiskOut]:
    path = _register_path(ctx)
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot read the risk register {path}: {exc.strerror}") from exc
    try:
        return [RiskOut.model_validate(item) for item in json.loads(raw)]
    except (ValueError, TypeError, ValidationError) as exc:
        raise StoreError(
            f"the risk register {path} is damaged ({str(exc).splitlines()[0]}); move it aside and scan again"
        ) from exc


def _save(ctx: Context, entries: Sequence[RiskOut]) -> None:
    path = _register_path(ctx)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([e.model_dump(mode="json") for e in entries], indent=1))
        os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"cannot write the risk register {path}: {exc.strerror}") from exc


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
    findings = findings_for(hosts, loaded)
    if save:
        coverage = Coverage(
            addresses=frozenset(h.address for h in hosts),
            tcp_ports=frozenset(options.ports),
            snmp_checked=options.snmp,
            feeds=frozenset(f.path.name for f in loaded),
        )
        entries = register.merge(_load(ctx), findings, coverage, dt.datetime.now(dt.UTC))
        _save(ctx, entries)
        with ctx.db() as db:
            audit.record(
                db,
                actor,
                "scan.run",
                "scan",
                ",".join(options.ranges)[:200],
                {"hosts": [None, len(hosts)], "findings": [None, len(findings)]},
            )
    log.info("scan saved" if save else "scan done", extra={"kv": {"hosts": len(hosts), "findings": len(findings)}})
    return ScanReport(
        ranges=list(options.ranges),
        ports=sorted(options.ports),
        started=started_at,
        elapsed=round(time.perf_counter() - started, 3),
        hosts=hosts,
        findings=findings,
        failed=failed,
        feeds=[FeedOut(path=str(f.path), format=f.format, entries=len(f.advisories)) for f in loaded],
        saved=save,
    )


def list_risks(
    ctx: Context, actor: Actor, *, status: RiskStatus | None = "open", min_level: Level | None = None
) -> list[RiskOut]:
    """The register, open entries first, highest score first; filtered by status and level."""
    require(actor, Role.viewer, "read the risk register")
    entries = _load(ctx)
    if status is not None:
        entries = [e for e in entries if e.status == status]
    if min_level is not None:
        limit = LEVELS.index(min_level)
        entries = [e for e in entries if LEVELS.index(e.level) <= limit]
    return sorted(entries, key=register.sort_key)
