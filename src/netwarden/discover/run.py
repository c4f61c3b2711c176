"""Discovery: sweep -> identify -> collect -> inventory upsert -> neighbour crawl.

The steps talk to the network only through :mod:`netwarden.discover.probes`, the seam that
adapts the collect transports (ICMP, TCP, SNMP, SSH). Every target ends with a result: found
(and new, changed or unchanged) or failed with a reason; one hanging device never stalls the
others, because every probe has its own timeout and the crawl is bounded in depth and size.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from netwarden.access import audit
from netwarden.access.schemas import Actor, Role
from netwarden.access.service import require
from netwarden.collect.records import DeviceSnapshot, TargetResult
from netwarden.context import Context
from netwarden.discover import probes, sync
from netwarden.discover.models import DiscoveryRun
from netwarden.discover.schemas import DiscoverySummary, Failure
from netwarden.errors import InvalidInput
from netwarden.inventory.models import Device
from netwarden.inventory.schemas import CredentialSecret
from netwarden.store.base import utcnow

Progress = Callable[[str, int, int], None]
DEFAULT_MAX_ADDRESSES = 4096


@dataclass
class Options:
    cidrs: list[str]
    credentials: list[str] = field(default_factory=list)
    site: str = "discovered"
    snmp_port: int = 161
    ssh_port: int = 22
    follow_neighbours: bool = False
    depth: int = 2
    allow: list[str] = field(default_factory=list)  # crawl only into these ranges (default: cidrs)
    exclude: list[str] = field(default_factory=list)  # never probe these addresses/ranges
    force: bool = False
    max_addresses: int = DEFAULT_MAX_ADDRESSES
    timeout: float = 2.0
    retries: int = 1
    concurrency: int = 128


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ranges(cidrs: Iterable[str], max_addresses: int, force: bool) -> list[Network]:
    """Validated networks; too large a total is refused unless forced (a typo of /8 for /24 happens)."""
    nets: list[Network] = []
    for text in cidrs:
        try:
            nets.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise InvalidInput(f"{text!r} is not an address or CIDR range (expected e.g. 10.0.0.0/24)") from None
    if not nets:
        raise InvalidInput("give at least one address or CIDR range to discover")
    total = sum(n.num_addresses for n in nets)
    if total > max_addresses and not force:
        raise InvalidInput(
            f"the ranges hold {total} addresses, more than the maximum of {max_addresses}; "
            "check them, then add --force to sweep anyway"
        )
    return nets


def _hosts(nets: list[Network]) -> list[str]:
    out: list[str] = []
    for net in nets:
        hosts = list(net.hosts()) if net.num_addresses > 2 else list(net)
        out.extend(str(h) for h in hosts)
    return list(dict.fromkeys(out))


def _load_credentials(ctx: Context, actor: Actor, names: list[str]) -> list[CredentialSecret]:
    from netwarden.inventory.credentials import reveal_credential

    with ctx.db() as db:
        return [reveal_credential(db, actor, ctx.vault, n) for n in names]


async def _guarded(
    target: str, probe: Coroutine[Any, Any, TargetResult[DeviceSnapshot]]
) -> TargetResult[DeviceSnapshot]:
    """One protocol's failure, even a bug, is that protocol's failure: the next one still gets its turn."""
    try:
        return await probe
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        return TargetResult.failure(target, "error", f"{type(exc).__name__}: {exc}")


async def _identify_and_collect(
    target: str, creds: list[CredentialSecret], opts: Options
) -> TargetResult[DeviceSnapshot]:
    """SNMP first, SSH next, open ports last; the first that identifies the device collects it."""
    reasons: list[str] = []
    snmp_creds = [c for c in creds if c.kind.startswith("snmp")]
    ssh_creds = [c for c in creds if c.kind == "ssh"]
    snapshot: DeviceSnapshot | None = None
    for cred in snmp_creds:
        got = await _guarded(target, probes.snmp_snapshot(target, cred, opts.snmp_port, opts.timeout, opts.retries))
        if got.ok and got.value is not None:
            snapshot = got.value
            break
        reasons.append(f"snmp {cred.name}: {got.reason}" + (f" ({got.detail})" if got.detail else ""))
    for cred in ssh_creds:
        platform = snapshot.facts.platform if snapshot else None
        got = await _guarded(target, probes.ssh_snapshot(target, cred, platform, opts.ssh_port, opts.timeout * 5))
        if got.ok and got.value is not None:
            snapshot = probes.merge(snapshot, got.value) if snapshot else got.value
            break
        reasons.append(f"ssh {cred.name}: {got.reason}" + (f" ({got.detail})" if got.detail else ""))
    if snapshot is not None:
        return TargetResult.success(target, snapshot)
    ports = await probes.open_ports(target, opts.timeout)
    if ports:
        return TargetResult.success(target, probes.bare_snapshot(target, ports))
    return TargetResult.failure(target, "unsupported", "; ".join(reasons) or "no credential answered")


async def _collect_all(
    targets: list[str], creds: list[CredentialSecret], opts: Options, progress: Progress | None
) -> list[TargetResult[DeviceSnapshot]]:
    sem = asyncio.Semaphore(max(1, min(opts.concurrency, 64)))
    done = 0

    async def one(t: str) -> TargetResult[DeviceSnapshot]:
        nonlocal done
        async with sem:
            try:
                res = await _identify_and_collect(t, creds, opts)
            except Exception as exc:  # a bug in one probe must not sink the whole run
                res = TargetResult.failure(t, "error", f"{type(exc).__name__}: {exc}")
        done += 1
        if progress:
            progress("identifying", done, len(targets))
        return res

    return list(await asyncio.gather(*(one(t) for t in targets)))


def _in_allow(ip: str, allow: list[Network]) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(addr.version == n.version and addr in n for n in allow)


def start_run(ctx: Context, actor: Actor, opts: Options) -> int:
    """Check the request and record a run (status running); returns its id."""
    require(actor, Role.operator, "run discovery")
    parse_ranges(opts.cidrs, opts.max_addresses, opts.force)
    _load_credentials(ctx, actor, opts.credentials)  # unknown credential names fail here, before any traffic
    with ctx.db() as db:
        params = {"cidrs": opts.cidrs, "credentials": opts.credentials, "site": opts.site}
        run = DiscoveryRun(actor=actor.name, params=params)
        db.add(run)
        db.flush()
        audit.record(db, actor, "discovery.start", "discovery", str(run.id), {k: [None, v] for k, v in params.items()})
        return run.id


async def run_discovery(
    ctx: Context, actor: Actor, opts: Options, progress: Progress | None = None, run_id: int | None = None
) -> DiscoverySummary:
    """Sweep the ranges, identify and collect every responder, write the inventory, crawl neighbours."""
    require(actor, Role.operator, "run discovery")
    if run_id is None:
        run_id = start_run(ctx, actor, opts)
    try:
        return await _run(ctx, actor, opts, progress, run_id)
    except BaseException as exc:
        _finish(ctx, run_id, "cancelled" if isinstance(exc, asyncio.CancelledError) else "failed", {"error": str(exc)})
        raise


def _finish(ctx: Context, run_id: int, status: str, summary: dict[str, object]) -> None:
    with ctx.db() as db:
        row = db.get(DiscoveryRun, run_id)
        if row is not None:
            row.status = status
            row.finished_at = utcnow()
            row.summary = summary


async def _run(ctx: Context, actor: Actor, opts: Options, progress: Progress | None, run_id: int) -> DiscoverySummary:
    started = time.perf_counter()
    nets = parse_ranges(opts.cidrs, opts.max_addresses, opts.force)
    allow = parse_ranges(opts.allow, 2**128, True) if opts.allow else nets
    creds = _load_credentials(ctx, actor, opts.credentials)

    skip = parse_ranges(opts.exclude, 2**128, True) if opts.exclude else []
    targets = [t for t in _hosts(nets) if not _in_allow(t, skip)]
    alive = await probes.sweep(targets, opts.timeout, opts.concurrency, progress) if targets else []
    summary = DiscoverySummary(found=0, new=0, changed=0, failed=[], run_id=run_id)
    failed = summary.failed  # pydantic copied the list given to it: append to the model's own
    visited: set[str] = set()
    found_ips: set[str] = set()
    frontier = alive
    depth = 0
    while frontier:
        visited.update(frontier)
        results = await _collect_all(frontier, creds, opts, progress)
        next_frontier: list[str] = []
        with ctx.db() as db:
            for res in results:
                if not res.ok or res.value is None:
                    reason = f"{res.reason}: {res.detail}" if res.detail else str(res.reason)
                    failed.append(Failure(target=res.target, reason=reason))
                    continue
                out = sync.upsert_snapshot(db, actor, res.value, site=opts.site)
                found_ips.add(res.target)
                summary.found += 1
                summary.devices.append(out.device)
                if out.outcome == "new":
                    summary.new += 1
                elif out.outcome == "changed":
                    summary.changed += 1
                else:
                    summary.unchanged += 1
                if opts.follow_neighbours and depth < opts.depth:
                    for n in res.value.neighbours:
                        ip = n.remote_mgmt_ip
                        if ip and ip not in visited and _in_allow(ip, allow) and not _in_allow(ip, skip):
                            next_frontier.append(ip)
            sync.links_from_neighbours(db, actor)
        if next_frontier:
            summary.neighbours_followed += len(set(next_frontier))
        frontier = sorted(set(next_frontier))
        depth += 1

    with ctx.db() as db:
        summary.missing = [m for m in _missing(db, nets, found_ips) if not _excluded(db, m, skip)]
        sync.mark_missing(db, actor, summary.missing)
    summary.elapsed = round(time.perf_counter() - started, 3)
    summary.devices.sort()
    failed.sort(key=lambda f: _ip_key(f.target))
    _finish(ctx, run_id, "done", summary.model_dump(mode="json"))
    return summary


def list_runs(ctx: Context, actor: Actor, limit: int = 50) -> list[dict[str, object]]:
    """Recent discovery runs, newest first."""
    require(actor, Role.viewer, "read discovery runs")
    with ctx.db() as db:
        rows = db.scalars(select(DiscoveryRun).order_by(DiscoveryRun.id.desc()).limit(limit)).all()
        return [
            {
                "id": r.id,
                "status": r.status,
                "actor": r.actor,
                "started_at": r.started_at.isoformat(),
                "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                "params": r.params,
                "summary": r.summary,
            }
            for r in rows
        ]


def _ip_key(text: str) -> tuple[int, int, str]:
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return (9, 0, text)
    return (ip.version, int(ip), "")


def _excluded(db: Session, name: str, skip: list[Network]) -> bool:
    ip = db.scalar(select(Device.mgmt_ip).where(Device.name == name))
    return bool(skip) and ip is not None and _in_allow(ip, skip)


def _missing(db: Session, nets: list[Network], found: set[str]) -> list[str]:
    missing = []
    for name, ip in db.execute(select(Device.name, Device.mgmt_ip).where(Device.mgmt_ip.is_not(None))):
        if ip is None:
            continue
        addr = ipaddress.ip_address(ip)
        if ip not in found and any(addr.version == n.version and addr in n for n in nets):
            missing.append(name)
    return sorted(missing)
