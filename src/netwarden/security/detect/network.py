"""Built-in rules over firewall and device logs: port scans and sweeps, denied-traffic spikes, config
changes outside a change window, new or unknown devices.

Scans are read from firewall events (``firewall-deny`` and ``firewall-accept``): a firewall logs
the packets it was told to log, so a scan shows only as far as its rules log it.

New devices: a MAC address in a DHCP server's lease lines (ISC dhcpd, dnsmasq, Kea, udhcpd), an
ARP watcher's "new station"/"flip flop" lines, a switch's port-security, MAC-move or duplicate-
address messages, or a parser's ``fields["mac"]``, that the inventory does not know. A network
that logs none of these shows no new devices: that is the limit of what logs allow.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from netwarden.security.detect.bursts import bursts, group_by, listed, span_seconds
from netwarden.security.detect.context import DetectContext, normalise_mac
from netwarden.security.detect.model import Detection, RuleSettings
from netwarden.security.logs.model import LogEvent

__all__ = ["config_change_outside_window", "denied_spike", "new_device", "port_scan", "port_sweep"]

FIREWALL_KINDS = frozenset({"firewall-deny", "firewall-accept"})
BASELINE_BUCKETS = 60  # windows before the current one that make the baseline rate


def _firewall(events: Sequence[LogEvent]) -> list[LogEvent]:
    return [e for e in events if e.kind in FIREWALL_KINDS and e.source_ip and e.dest_ip]


def _ports(run: Sequence[LogEvent]) -> list[int]:
    return sorted({e.dest_port for e in run if e.dest_port is not None})


def _ranges(ports: list[int], most: int = 8) -> str:
    """'1-20, 22, 25-30' for a sorted list."""
    parts: list[str] = []
    i = 0
    while i < len(ports):
        j = i
        while j + 1 < len(ports) and ports[j + 1] == ports[j] + 1:
            j += 1
        parts.append(str(ports[i]) if i == j else f"{ports[i]}-{ports[j]}")
        i = j + 1
    return ", ".join(parts[:most]) + (", ..." if len(parts) > most else "")


def port_scan(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """One source probing ``threshold`` distinct ports of one target within ``window_seconds``."""
    out = []
    groups = group_by(_firewall(events), lambda e: (e.host, e.source_ip, e.dest_ip))
    for (host, src, dst), group in groups.items():
        for run in bursts(group, cfg.threshold, cfg.window, distinct=lambda e: (e.proto, e.dest_port)):
            ports = _ports(run)
            denied = sum(1 for e in run if e.kind == "firewall-deny")
            out.append(
                Detection(
                    rule="port-scan",
                    host=host,
                    source_ip=src,
                    target=dst,
                    first=run[0].time,
                    last=run[-1].time,
                    count=len(run),
                    events=run,
                    severity="minor",
                    summary=f"port scan: {src} probed {len(ports)} ports of {dst} ({_ranges(ports)})"
                    f" in {span_seconds(run):.0f} s, seen by {host}",
                    details={"ports": len(ports), "port_ranges": _ranges(ports, 50), "denied": denied},
                )
            )
    return out


def port_sweep(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """One source reaching for ``threshold`` distinct addresses within ``window_seconds``."""
    out = []
    for (host, src), group in group_by(_firewall(events), lambda e: (e.host, e.source_ip)).items():
        for run in bursts(group, cfg.threshold, cfg.window, distinct=lambda e: e.dest_ip):
            targets = sorted({e.dest_ip for e in run if e.dest_ip})
            ports = _ports(run)
            out.append(
                Detection(
                    rule="port-sweep",
                    host=host,
                    source_ip=src,
                    first=run[0].time,
                    last=run[-1].time,
                    count=len(run),
                    events=run,
                    severity="minor",
                    summary=f"address sweep: {src} reached for {len(targets)} addresses ({listed(targets, 4)})"
                    f" on ports {_ranges(ports) or 'any'}, seen by {host}",
                    details={"targets": targets[:500], "distinct_targets": len(targets), "ports": ports[:100]},
                )
            )
    return out


def denied_spike(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """A firewall's denies per window reaching ``threshold`` and ``factor`` times its baseline.

    Windows are aligned to the clock. The baseline is the mean count of the ``BASELINE_BUCKETS``
    windows before (those after the start of observation, ``ctx.since`` or the first event); a
    window with no whole window of observation before it has no baseline and is not judged.
    """
    out: list[Detection] = []
    step = cfg.window_seconds
    if not events:
        return out
    start = ctx.since or events[0].time
    start_bucket = int(start.timestamp() // step)
    if start.timestamp() % step:
        start_bucket += 1  # the first whole window
    for host, group in group_by((e for e in events if e.kind == "firewall-deny"), lambda e: e.host).items():
        buckets: dict[int, list[LogEvent]] = {}
        for e in group:
            buckets.setdefault(int(e.time.timestamp() // step), []).append(e)
        firing: list[tuple[int, float]] = []
        for b in sorted(buckets):
            lo = max(start_bucket, b - BASELINE_BUCKETS)
            if b <= lo:
                continue
            baseline = sum(len(buckets.get(i, ())) for i in range(lo, b)) / (b - lo)
            count = len(buckets[b])
            if count >= cfg.threshold and count > cfg.factor * baseline:
                firing.append((b, baseline))
        runs: list[list[tuple[int, float]]] = []
        for b, baseline in firing:
            if runs and b == runs[-1][-1][0] + 1:
                runs[-1].append((b, baseline))
            else:
                runs.append([(b, baseline)])
        for run in runs:
            hits = [e for b, _ in run for e in buckets[b]]
            sources = Counter(e.source_ip for e in hits if e.source_ip)
            top, top_count = sources.most_common(1)[0] if sources else (None, 0)
            baseline = run[0][1]
            per_window = len(hits) / len(run)
            out.append(
                Detection(
                    rule="denied-spike",
                    host=host,
                    source_ip=top if top_count * 2 > len(hits) else None,
                    first=hits[0].time,
                    last=hits[-1].time,
                    count=len(hits),
                    events=hits,
                    severity="warning",
                    summary=f"denied traffic on {host}: {per_window:.0f} per {step:.0f} s against a baseline of"
                    f" {baseline:.1f}" + (f"; {top} sent {top_count}" if top else ""),
                    details={
                        "baseline_per_window": round(baseline, 2),
                        "per_window": round(per_window, 2),
                        "window_seconds": step,
                        "top_sources": [[ip, n] for ip, n in sources.most_common(5)],
                    },
                )
            )
    return out


def config_change_outside_window(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """``config-change`` events on a device that no maintenance window covers at that time."""
    outside = [e for e in events if e.kind == "config-change" and ctx.change_window(e.host, e.time) is None]
    out = []
    for host, group in group_by(outside, lambda e: e.host).items():
        for run in bursts(group, cfg.threshold, cfg.window):
            users = sorted({e.user for e in run if e.user})
            out.append(
                Detection(
                    rule="config-change-outside-window",
                    host=host,
                    source_ip=next((e.source_ip for e in run if e.source_ip), None),
                    user=users[0] if len(users) == 1 else None,
                    target=host,
                    first=run[0].time,
                    last=run[-1].time,
                    count=len(run),
                    events=run,
                    severity="minor",
                    users=users,
                    summary=f"{len(run)} config change(s) on {host}"
                    + (f" by {listed(users)}" if users else "")
                    + " outside any change window",
                    details={"windows_known": len(ctx.windows)},
                )
            )
    return out


_MAC = r"(?:[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4})"
_IP = r"(?:\d{1,3}(?:\.\d{1,3}){3})"
_MAC_LINES = (
    # ISC dhcpd "DHCPACK on 10.0.0.5 to aa:bb:cc:dd:ee:ff (laptop) via eth0";
    # dnsmasq "DHCPACK(eth0) 10.0.0.5 aa:bb:cc:dd:ee:ff laptop"
    re.compile(
        rf"DHCP(?:ACK|REQUEST|OFFER|DISCOVER|INFORM)\S*(?: on| for)? (?:(?P<ip>{_IP}) )?(?:to |from )?(?P<mac>{_MAC})"
    ),
    # Kea "DHCP4_LEASE_ALLOC [hwtype=1 aa:bb:..], cid=..., tid=...: lease 10.0.0.5 has been allocated"
    re.compile(rf"DHCP4_LEASE_ALLOC \[hwtype=\d+ (?P<mac>{_MAC})\].*?lease (?P<ip>{_IP})"),
    # arpwatch "new station 10.0.0.5 aa:bb:cc:dd:ee:ff eth0", "flip flop 10.0.0.5 aa:.. (bb:..)",
    # "changed ethernet address 10.0.0.5 aa:.. (bb:..)"
    re.compile(rf"(?:new station|flip flop|changed ethernet address|new activity) (?P<ip>{_IP}) (?P<mac>{_MAC})"),
    # Cisco "%PORT_SECURITY-2-PSECURE_VIOLATION: ... caused by MAC address 0000.0c12.3456 on port Gi0/1."
    re.compile(rf"%PORT_SECURITY-\d-PSECURE_VIOLATION:.*?MAC address (?P<mac>{_MAC})"),
    # Cisco "%SW_MATM-4-MACFLAP_NOTIF: Host 0000.0c12.3456 in vlan 1 is flapping between port Gi0/1 and port Gi0/2"
    re.compile(rf"%SW_MATM-\d-MACFLAP_NOTIF: Host (?P<mac>{_MAC})"),
    # Cisco "%IP-4-DUPADDR: Duplicate address 10.0.0.5 on Vlan1, sourced by 0000.0c12.3456"
    re.compile(rf"%IP-\d-DUPADDR: Duplicate address (?P<ip>{_IP}) on \S+ sourced by (?P<mac>{_MAC})"),
)


def sighting(event: LogEvent) -> tuple[str, str | None] | None:
    """(MAC, address or None) that a log line shows on the network, or None."""
    mac = event.fields.get("mac")
    if isinstance(mac, str) and normalise_mac(mac):
        ip = event.fields.get("ip") or event.source_ip
        return normalise_mac(mac), str(ip) if ip else None
    text = event.message or event.raw
    if "DHCP" not in text and "%" not in text and "station" not in text and "flip flop" not in text:
        return None  # a substring test before any regex: most lines are neither
    for pattern in _MAC_LINES:
        if m := pattern.search(text):
            groups = m.groupdict()
            return normalise_mac(groups["mac"]), groups.get("ip")
    return None


def new_device(events: Sequence[LogEvent], cfg: RuleSettings, ctx: DetectContext) -> list[Detection]:
    """A MAC address the inventory does not know, seen in DHCP, ARP-watch or switch security logs."""
    known = ctx.known_macs or set()
    seen: dict[str, list[tuple[LogEvent, str | None]]] = {}
    for e in events:
        s = sighting(e)
        if s is not None and s[0] and s[0] not in known:
            seen.setdefault(s[0], []).append((e, s[1]))
    out = []
    for mac, sightings in seen.items():
        if len(sightings) < cfg.threshold:
            continue
        run = [e for e, _ in sightings]
        ips = sorted({ip for _, ip in sightings if ip})
        hosts = sorted({e.host for e in run})
        out.append(
            Detection(
                rule="new-device",
                host=hosts[0] if len(hosts) == 1 else ",".join(hosts),
                source_ip=ips[-1] if ips else None,
                target=mac,
                first=run[0].time,
                last=run[-1].time,
                count=len(run),
                events=run,
                severity="warning",
                summary=f"unknown device {mac}"
                + (f" at {listed(ips, 3)}" if ips else "")
                + f", seen by {listed(hosts, 3)}"
                + ("" if ctx.known_macs is not None else " (no inventory read)"),
                details={"mac": mac, "addresses": ips, "inventory_checked": ctx.known_macs is not None},
            )
        )
    return out
