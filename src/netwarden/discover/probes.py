"""The seam between discovery and the collect transports (ICMP, TCP, SNMP, SSH).

Discovery calls only these functions; each returns per-target results and never raises for a
target's failure. Keeping the adaptation here lets the transports evolve without touching the
pipeline, and gives tests one place to see what discovery asks of the network.
"""

from __future__ import annotations

from collections.abc import Callable

from netwarden.collect.records import DeviceFacts, DeviceSnapshot, TargetResult
from netwarden.inventory.schemas import CredentialSecret

Progress = Callable[[str, int, int], None]
# Ports that say "something is there" when ICMP is filtered, and what they suggest.
PROBE_PORTS = (22, 23, 80, 443, 161, 830, 8080)


async def sweep(targets: list[str], timeout: float, concurrency: int, progress: Progress | None) -> list[str]:
    """Addresses that answer ICMP echo, or accept TCP on a common port when ICMP is filtered."""
    from netwarden.collect import icmp, tcp

    results = await icmp.ping_many(targets, timeout=timeout, count=1, concurrency=max(concurrency, 256))
    alive = [r.target for r in results if r.ok]
    silent = [r.target for r in results if not r.ok]
    if progress:
        progress("sweeping", len(targets), len(targets))
    if silent:
        probed = await tcp.probe_many(silent, ports=(22, 443, 80), timeout=min(timeout, 1.0), concurrency=concurrency)
        alive.extend(t for t, states in probed.items() if any(s == "open" for s in states.values()))
    return sorted(set(alive), key=_order)


def _order(ip: str) -> tuple[int, ...]:
    import ipaddress

    addr = ipaddress.ip_address(ip)
    return (addr.version, int(addr))


async def snmp_snapshot(
    target: str, cred: CredentialSecret, port: int, timeout: float, retries: int
) -> TargetResult[DeviceSnapshot]:
    from netwarden.collect import snmp_facts
    from netwarden.collect.platforms import classify

    auth = snmp_facts.SnmpAuth.from_secret(cred)
    return await snmp_facts.collect_snmp(target, auth, port=port, timeout=timeout, retries=retries, classify=classify)


async def ssh_snapshot(
    target: str, cred: CredentialSecret, platform: str | None, port: int, timeout: float
) -> TargetResult[DeviceSnapshot]:
    from netwarden.collect import ssh

    return await ssh.collect_ssh(target, cred, platform, port=port, timeout=timeout)


async def open_ports(target: str, timeout: float) -> list[int]:
    from netwarden.collect import tcp

    probed = await tcp.probe_many([target], ports=PROBE_PORTS, timeout=timeout, concurrency=len(PROBE_PORTS))
    return sorted(p for p, state in probed.get(target, {}).items() if state == "open")


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
    if fill:
        update["facts"] = facts.model_copy(update=fill)
    update["warnings"] = [*base.warnings, *extra.warnings]
    return base.model_copy(update=update)
