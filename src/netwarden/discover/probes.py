"""The seam between discovery and the collect transports (ICMP, TCP, SNMP, SSH).

Discovery calls only these functions; each returns per-target results and never raises for a
target's failure. Keeping the adaptation here lets the transports evolve without touching the
pipeline, and gives tests one place to see what discovery asks of the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from netwarden.collect.records import DeviceFacts, DeviceSnapshot, TargetResult
from netwarden.inventory.schemas import CredentialSecret

Progress = Callable[[str, int, int], None]
# Ports that say "something is there" when ICMP is filtered.
SWEEP_PORTS = (22, 80, 443)
# Ports reported for a responder nothing could log into.
PROBE_PORTS = (22, 23, 53, 80, 443, 830, 8080)


async def sweep(targets: list[str], timeout: float, concurrency: int, progress: Progress | None) -> list[str]:
    """Addresses that answer ICMP echo, or accept TCP on a common port when ICMP is filtered."""
    from netwarden.collect import icmp, tcp

    def step(name: str) -> Callable[[int, int], None] | None:
        return (lambda done, total: progress(name, done, total)) if progress else None

    results = await icmp.sweep(
        targets,
        timeout=timeout,
        retries=1,
        concurrency=max(concurrency, 256),
        force=True,
        hosts_only=False,  # the caller already chose the addresses
        progress=step("sweeping"),
    )
    alive = {r.target for r in results if r.ok}
    silent = [r.target for r in results if not r.ok]
    if silent:
        probed = await tcp.probe(
            silent,
            SWEEP_PORTS,
            timeout=min(timeout, 1.0),
            retries=0,
            concurrency=concurrency,
            force=True,
            hosts_only=False,
        )
        alive.update(r.value.address for r in probed if r.value is not None and r.value.state == "open")
    return sorted(alive, key=_order)


def _order(ip: str) -> tuple[int, ...]:
    import ipaddress

    addr = ipaddress.ip_address(ip)
    return (addr.version, int(addr))


async def snmp_snapshot(
    target: str, cred: CredentialSecret, port: int, timeout: float, retries: int
) -> TargetResult[DeviceSnapshot]:
    from netwarden.collect import snmp_facts

    auth = snmp_facts.auth_from_secret(cred)
    return await snmp_facts.collect_snmp(target, auth, port=port, timeout=timeout, retries=retries, classify=classify)


async def ssh_snapshot(
    target: str, cred: CredentialSecret, platform: str | None, port: int, timeout: float
) -> TargetResult[DeviceSnapshot]:
    """Log in, name the platform (when SNMP did not), and collect with its command table."""
    from netwarden.collect import ssh

    if not platform or platform == "generic":
        who = await ssh.identify_ssh(target, cred, port=port, timeout=timeout, connect_timeout=min(timeout, 10.0))
        if not who.ok or who.value is None:
            return TargetResult.failure(target, who.reason or "error", who.detail, who.elapsed, who.attempts)
        if who.value.platform is None:
            return TargetResult.failure(
                target, "unsupported", f"SSH login worked but the platform is unknown ({who.value.banner})"
            )
        platform = who.value.platform
    return await ssh.collect_ssh(target, cred, platform, port=port, timeout=timeout, connect_timeout=min(timeout, 10.0))


async def open_ports(target: str, timeout: float) -> list[int]:
    from netwarden.collect import tcp

    probed = await tcp.probe([target], PROBE_PORTS, timeout=timeout, retries=0, concurrency=len(PROBE_PORTS))
    return sorted(r.value.port for r in probed if r.value is not None and r.value.state == "open")


def classify(facts: DeviceFacts) -> DeviceFacts:
    """Name the platform and vendor from sysObjectID and sysDescr (the platform files say how)."""
    from netwarden.collect.platforms import get_platform, identify

    name = identify(sys_object_id=facts.sys_object_id, sys_descr=facts.sys_descr)
    if name is None:
        return facts
    spec = get_platform(name)
    update = {"platform": name, "vendor": facts.vendor or spec.vendor}
    if not facts.os_version:
        for pattern in spec.recognise.descr_version:
            found = re.search(pattern, facts.sys_descr)
            if found and found.groupdict().get("version"):
                update["os_version"] = found.group("version")
                break
    return facts.model_copy(update=update)


def bare_snapshot(target: str, ports: list[int]) -> DeviceSnapshot:
    """A responder nothing could log into: recorded by address, with what its open ports suggest."""
    platform = "linux" if 22 in ports else "generic"
    return DeviceSnapshot(
        target=target,
        facts=DeviceFacts(hostname=f"host-{target.replace(':', '-')}", platform=platform),
        via=["tcp"],
        warnings=[f"open ports: {', '.join(map(str, ports))}; no credential identified it"],
    )


def merge(base: DeviceSnapshot, extra: DeviceSnapshot) -> DeviceSnapshot:
    """SNMP's snapshot completed by SSH's: SSH fills what SNMP left empty (routes, routing, ARP...)."""
    update: dict[str, object] = {"via": sorted(set(base.via) | set(extra.via))}
    for kind in ("neighbours", "routing", "routes", "arp", "mac_table"):
        if not getattr(base, kind) and getattr(extra, kind):
            update[kind] = getattr(extra, kind)
    facts = base.facts
    fill = {k: getattr(extra.facts, k) for k in ("vendor", "model", "serial", "os_version") if not getattr(facts, k)}
    # sysDescr often names only the release ("8.4"); the CLI's own "show version" is more precise ("8.4.4").
    if facts.os_version and extra.facts.os_version.startswith(facts.os_version):
        fill["os_version"] = extra.facts.os_version
    if fill:
        update["facts"] = facts.model_copy(update=fill)
    update["warnings"] = [*base.warnings, *extra.warnings]
    return base.model_copy(update=update)
