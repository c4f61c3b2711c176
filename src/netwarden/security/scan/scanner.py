"""The exposure scan itself: who answers, which TCP ports are open, what each service is, and
whether the SNMP agent takes a default community. No store here: known devices and credentials
come in, :class:`HostOut` records go out.

Steps, each bounded in time and in parallelism:

1. live hosts: ICMP echo sweep of the ranges, then a TCP probe of 22/80/443 on the silent
   addresses (as discovery does); inventory devices in the ranges are always scanned;
2. TCP connect scan of the ports on the live hosts (:mod:`.portscan`);
3. one service probe per open port (:mod:`netwarden.security.scan.probe`);
4. SNMP GET of sysDescr with v1 and v2c and the default communities, and with the SNMP
   credentials given (which tell an agent with a private community from no agent);
5. software named from the banners and the inventory (:mod:`netwarden.security.scan.products`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from netwarden.collect import icmp, snmp, tcp
from netwarden.collect._targets import DEFAULT_MAX_ADDRESSES, parse_network, parse_targets
from netwarden.errors import InvalidInput, NetwardenError
from netwarden.security.scan import portscan, products, snmpcheck
from netwarden.security.scan.probe import GrabOptions, grab
from netwarden.security.scan.schemas import FailedOut, HostOut, Product, ServiceOut, SnmpDetails

__all__ = ["DEFAULT_PORTS", "KnownDevice", "ScanOptions", "SnmpCredential", "scan_hosts"]

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]

# Management and commonly exposed service ports: remote access (22, 23, 3389, 5900), web (80, 443,
# 8080, 8443), mail and file transfer (21, 25), NETCONF (830), FRR/Quagga vty telnet ports
# (2601-2608), BGP (179), databases and other services often left open.
DEFAULT_PORTS: tuple[int, ...] = (
    21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 179, 389, 443, 445, 465, 514, 587, 636, 830, 873,
    993, 995, 1433, 1723, 2000, 2049, 2601, 2602, 2603, 2604, 2605, 2606, 2607, 2608, 3306, 3389, 5432,
    5900, 5985, 6379, 8000, 8080, 8291, 8443, 8888, 9090, 9100, 9443,
)  # fmt: skip
SWEEP_PORTS = (22, 80, 443)


@dataclass(frozen=True)
class ScanOptions:
    """What to scan and how hard. Per port the time is bounded by ``(1 + retries) * timeout`` plus,
    when open, the service probe's bounds."""

    ranges: Sequence[str]
    ports: Sequence[int] = DEFAULT_PORTS
    timeout: float = 1.0
    retries: int = 1
    concurrency: int = 1024
    grab_concurrency: int = 32
    grab: GrabOptions = field(default_factory=GrabOptions)
    ping: bool = True
    snmp: bool = True
    snmp_port: int = 161
    snmp_timeout: float = 1.0
    snmp_communities: Sequence[str] = snmpcheck.DEFAULT_COMMUNITIES
    force: bool = False
    max_addresses: int = DEFAULT_MAX_ADDRESSES
    exclude: Sequence[str] = ()  # addresses or ranges never probed, not even pinged

    def __post_init__(self) -> None:
        for spec in self.exclude:
            parse_network(spec)  # raises InvalidInput for a bad one
        if not self.ranges:
            raise InvalidInput("nothing to scan: give at least one address or CIDR, such as 198.18.0.0/24")
        if not 1 <= self.grab_concurrency <= 1024:
            raise InvalidInput(f"grab_concurrency must be 1..1024, not {self.grab_concurrency}")
        if not 1 <= self.snmp_port <= 65535:
            raise InvalidInput(f"invalid SNMP port {self.snmp_port}: ports are 1..65535")
        if not 0 < self.snmp_timeout <= 60:
            raise InvalidInput(f"snmp_timeout must be in (0, 60] seconds, not {self.snmp_timeout}")
        tcp.TcpOptions(timeout=self.timeout, retries=self.retries, concurrency=self.concurrency)  # validates
        tcp.parse_ports(self.ports)


@dataclass(frozen=True)
class KnownDevice:
    """An inventory device, as much of it as the scan uses."""

    name: str
    address: str
    platform: str = ""
    role: str = ""
    vendor: str = ""
    os_version: str = ""


@dataclass(frozen=True)
class SnmpCredential:
    name: str
    auth: snmp.Auth = field(repr=False)


def _key(address: str) -> tuple[int, int]:
    ip = ipaddress.ip_address(address)
    return ip.version, int(ip)


def devices_in(ranges: Sequence[str], devices: Sequence[KnownDevice]) -> list[KnownDevice]:
    """The devices whose management address lies in one of the ranges."""
    networks = [ipaddress.ip_network(r.strip(), strict=False) for r in ranges]
    found = []
    for device in devices:
        try:
            ip = ipaddress.ip_address(device.address)
        except ValueError:
            continue
        if any(ip.version == n.version and ip in n for n in networks):
            found.append(device)
    return found


def _excluder(specs: Sequence[str]) -> Callable[[str], bool]:
    networks = [parse_network(s) for s in specs]

    def excluded(address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip.version == n.version and ip in n for n in networks)

    return excluded


async def _live_hosts(options: ScanOptions, progress: Progress) -> list[str]:
    excluded = _excluder(options.exclude)
    targets = parse_targets(list(options.ranges), max_addresses=options.max_addresses, force=options.force)
    if not options.ping:
        return [a for a in targets if not excluded(a)]
    sweep_targets = list(options.ranges)
    if options.exclude:  # name the addresses one by one, so that the excluded ones get no packet at all
        sweep_targets = [a for a in targets if not excluded(a)]
        if not sweep_targets:
            return []
    swept = await icmp.sweep(
        sweep_targets,
        timeout=options.timeout,
        retries=1,
        max_addresses=max(options.max_addresses, len(sweep_targets)),
        force=True,
        hosts_only=not options.exclude,
        progress=lambda done, total: progress("ping sweep", done, total),
    )
    alive = {r.target for r in swept if r.ok}
    silent = [r.target for r in swept if not r.ok]
    if silent:
        stream = portscan.connect_scan(
            ((a, p) for a in silent for p in SWEEP_PORTS),
            timeout=options.timeout,
            retries=0,
            concurrency=options.concurrency,
            total=len(silent) * len(SWEEP_PORTS),
            progress=lambda done, total: progress("TCP sweep of silent addresses", done, total),
        )
        async with contextlib.aclosing(stream) as results:
            async for result in results:
                if result.state in ("open", "closed"):
                    alive.add(result.address)
    return sorted(alive, key=_key)


async def _open_ports(
    addresses: list[str], options: ScanOptions, progress: Progress
) -> tuple[dict[str, list[int]], set[str]]:
    """Open ports per address, and the addresses that answered on any port (open or reset)."""
    opened: dict[str, list[int]] = {a: [] for a in addresses}
    answered: set[str] = set()
    if not addresses:
        return opened, answered
    ports = sorted(set(options.ports))
    stream = portscan.connect_scan(
        ((a, p) for a in addresses for p in ports),
        timeout=options.timeout,
        retries=options.retries,
        concurrency=options.concurrency,
        total=len(addresses) * len(ports),
        progress=lambda done, total: progress("port scan", done, total),
    )
    async with contextlib.aclosing(stream) as results:
        async for result in results:
            if result.state == "open":
                opened[result.address].append(result.port)
            if result.state in ("open", "closed"):
                answered.add(result.address)
    return opened, answered


async def _snmp(address: str, options: ScanOptions, credentials: Sequence[SnmpCredential]) -> ServiceOut | None:
    checks = [
        snmpcheck.snmp_get(address, community, version, port=options.snmp_port, timeout=options.snmp_timeout)
        for version in ("v1", "v2c")
        for community in options.snmp_communities
    ]
    answers = await asyncio.gather(*checks)
    versions: set[str] = set()
    defaults: list[str] = []
    descr = ""
    for answer in answers:
        if answer is None:
            continue
        versions.add(answer.version)
        if answer.community not in defaults:
            defaults.append(answer.community)
        descr = descr or answer.sys_descr
    answered_by: list[str] = []
    for cred in credentials:

        async def get_descr(session: snmp.Session) -> list[snmp.VarBind]:
            return await session.get([snmpcheck.SYS_DESCR])

        result = await snmp.collect(
            address, cred.auth, get_descr, port=options.snmp_port, timeout=options.snmp_timeout, retries=0
        )
        if result.ok:
            answered_by.append(cred.name)
            versions.add("v3" if isinstance(cred.auth, snmp.V3) else "v2c")
            if not descr and result.value:
                value = result.value[0][1]
                descr = value.decode("utf-8", "replace")[:300] if isinstance(value, bytes) else ""
    if not versions:
        return None
    details = SnmpDetails(
        versions=sorted(versions), default_communities=defaults, credentials=answered_by, sys_descr=descr
    )
    return ServiceOut(port=options.snmp_port, proto="udp", service="snmp", snmp=details)


def _with_product(service: ServiceOut) -> tuple[ServiceOut, Product | None]:
    product = products.identify(service)
    if product is None:
        return service, None
    return service.model_copy(update={"product": product.name, "version": product.version}), product


async def scan_hosts(
    options: ScanOptions,
    devices: Sequence[KnownDevice] = (),
    credentials: Sequence[SnmpCredential] = (),
    progress: Progress | None = None,
) -> tuple[list[HostOut], list[FailedOut]]:
    """Scan the ranges; one :class:`HostOut` per host that answered, failures for silent devices.

    Raises:
        InvalidInput: a bad range, port list or option, before any packet leaves.
    """
    report: Progress = progress or (lambda step, done, total: None)
    parse_targets(list(options.ranges), max_addresses=options.max_addresses, force=options.force)  # validate first
    started = time.perf_counter()
    excluded = _excluder(options.exclude)
    known = {d.address: d for d in devices_in(options.ranges, devices) if not excluded(d.address)}
    live = await _live_hosts(options, report)
    addresses = sorted(set(live) | set(known), key=_key)
    opened, answered = await _open_ports(addresses, options, report)

    gate = asyncio.Semaphore(options.grab_concurrency)
    jobs = [(a, p) for a in addresses for p in opened[a]]
    done = 0

    async def one(address: str, port: int) -> ServiceOut:
        nonlocal done
        async with gate:
            try:
                service = await grab(address, port, options.grab)
            except NetwardenError as exc:
                service = ServiceOut(port=port, service="unknown", detail=str(exc))
        done += 1
        report("service probes", done, len(jobs))
        return service

    grabbed = await asyncio.gather(*(one(a, p) for a, p in jobs))
    by_address: dict[str, list[ServiceOut]] = {a: [] for a in addresses}
    for (address, _port), service in zip(jobs, grabbed, strict=True):
        by_address[address].append(service)

    if options.snmp:
        snmp_gate = asyncio.Semaphore(64)
        snmp_done = 0

        async def snmp_one(address: str) -> ServiceOut | None:
            nonlocal snmp_done
            async with snmp_gate:
                found = await _snmp(address, options, credentials)
            snmp_done += 1
            report("SNMP checks", snmp_done, len(addresses))
            return found

        for address, found in zip(addresses, await asyncio.gather(*(snmp_one(a) for a in addresses)), strict=True):
            if found is not None:
                by_address[address].append(found)
                answered.add(address)

    hosts: list[HostOut] = []
    failed: list[FailedOut] = []
    for address in addresses:
        device = known.get(address)
        services: list[ServiceOut] = []
        found_products: list[Product] = []
        for service in by_address[address]:
            named, product = _with_product(service)
            services.append(named)
            if product is not None:
                found_products.append(product)
        if device is not None:
            os_product = products.inventory_product(device.platform, device.os_version)
            if os_product is not None:
                found_products.append(os_product)
        if address not in answered and address not in live:
            failed.append(FailedOut(target=device.name if device else address, reason="no answer to ping or any port"))
            continue
        hosts.append(
            HostOut(
                address=address,
                device=device.name if device else None,
                platform=device.platform if device else "",
                role=device.role if device else "",
                vendor=device.vendor if device else "",
                os_version=device.os_version if device else "",
                services=sorted(services, key=lambda s: (s.proto, s.port)),
                products=found_products,
            )
        )
    log.info(
        "scan done",
        extra={
            "kv": {
                "hosts": len(hosts),
                "open_ports": sum(len(v) for v in opened.values()),
                "elapsed": round(time.perf_counter() - started, 2),
            }
        },
    )
    return hosts, failed
