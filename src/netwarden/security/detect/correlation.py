"""Correlation, pure: detections and the log events around them grouped into incident drafts.

Detections join when they share an attacker and follow each other within the correlation window
(``detection_overrides`` table ``{rule = "correlation", window_seconds = N}``, default 30 min):
the attacker is the source address, else the user name (a local privilege escalation), else the
logging host. The attacker's other lines about the same targets in the incident's span, give or
take the window, join the timeline, whichever source logged them: a port scan seen by the firewall
gains the server's sshd lines about the same address; a brute force seen by sshd gains the
firewall's lines. Affected assets are the inventory devices at the attacked addresses (with their
sites); the attacker's own device is named when the inventory knows its address.

Storing drafts as incidents is :mod:`netwarden.security.correlate`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from netwarden.security.detect.model import SEVERITIES, Detection, RuleOverride, Severity
from netwarden.security.detect.schemas import Asset, TimelineEntry
from netwarden.security.logs.model import LogEvent

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_TIMELINE",
    "VECTORS",
    "Assets",
    "Draft",
    "capped",
    "correlate",
    "correlation_window",
    "label_of",
    "source_of",
    "timeline_order",
    "vector_of",
]

DEFAULT_WINDOW = 1800.0  # seconds
MAX_TIMELINE = 1000  # entries kept per incident: the first and last halves, with a mark for the gap
AUTH_KINDS = frozenset({"auth-failure", "auth-success", "auth-invalid-user", "sudo", "session-open", "session-close"})
AUTH_APPS = frozenset({"sshd", "sshd-session", "dropbear", "sudo", "su", "login", "passwd", "systemd-logind", "vsftpd"})
WEB_APPS = frozenset({"nginx", "apache", "apache2", "httpd", "haproxy", "lighttpd"})
# The leading rule names the incident's vector; earlier in this list leads.
VECTORS = {
    "login-after-failures": "Account compromise after failed logins",
    "privilege-escalation": "Privilege escalation",
    "brute-force": "Brute force",
    "password-spraying": "Password spraying",
    "port-scan": "Port scan",
    "port-sweep": "Address sweep",
    "config-change-outside-window": "Config change outside a change window",
    "new-device": "Unknown device",
    "denied-spike": "Denied-traffic spike",
}


# ---------------------------------------------------------------- the inventory, as correlation sees it


@dataclass
class Assets:
    """Devices by address and by name (from the inventory, or built by hand in tests)."""

    by_address: dict[str, Asset] = field(default_factory=dict)
    by_name: dict[str, Asset] = field(default_factory=dict)
    addresses: dict[str, dict[str, None]] = field(default_factory=dict)  # device -> its addresses, in order

    def add(self, device: str, site: str | None, role: str | None, addresses: Iterable[str]) -> None:
        """A device and its addresses, the one to name first (data plane before management) first."""
        self.by_name.setdefault(device, Asset(device=device, site=site, role=role))
        own = self.addresses.setdefault(device, {})
        for address in addresses:
            bare = address.split("/")[0]
            if bare and bare not in self.by_address:
                self.by_address[bare] = Asset(device=device, site=site, role=role, address=bare)
            if bare:
                own[bare] = None

    def resolve(self, target: str) -> Asset | None:
        """The device at an address, or named so."""
        return self.by_address.get(target) or self.by_name.get(target)

    def role_of(self, host: str) -> str | None:
        asset = self.by_name.get(host)
        return asset.role if asset else None

    def aliases(self, target: str) -> set[str]:
        """Every name and address the target is known by: itself, its device's name and addresses."""
        asset = self.resolve(target)
        if asset is None:
            return {target}
        return {target, asset.device, *self.addresses.get(asset.device, {})}


def source_of(event: LogEvent, assets: Assets | None = None) -> str:
    """Which kind of log an event came from: firewall, auth, web, switch or device."""
    if event.kind.startswith("firewall-") or event.parser.split(".")[0] in ("nftables", "iptables", "netfilter"):
        return "firewall"
    app = event.app.lower()
    if event.kind in AUTH_KINDS or app in AUTH_APPS:
        return "auth"
    if app in WEB_APPS:
        return "web"
    if assets is not None and assets.role_of(event.host) == "switch":
        return "switch"
    return "device"


def correlation_window(overrides: Mapping[str, RuleOverride]) -> float:
    o = overrides.get("correlation")
    return o.window_seconds if o is not None and o.window_seconds else DEFAULT_WINDOW


# ---------------------------------------------------------------- correlation (pure)


def _key(d: Detection) -> tuple[str, str]:
    if d.source_ip:
        return ("ip", d.source_ip)
    if d.user:
        return ("user", d.user)
    return ("host", d.host)


@dataclass
class Draft:
    """An incident as correlation builds it, before it is stored."""

    key: tuple[str, str]
    detections: list[Detection]
    events: list[LogEvent]  # every event in the story, detections' and the others', in time order
    assets: list[Asset]
    targets: list[str]
    attacker_device: str | None
    sources: list[str]
    timeline: list[TimelineEntry]

    @property
    def attacker(self) -> str | None:
        return self.key[1] if self.key[0] == "ip" else None

    @property
    def actor(self) -> str | None:
        return self.key[1] if self.key[0] == "user" else None

    @property
    def first(self) -> dt.datetime:
        return min([d.first for d in self.detections] + [e.time for e in self.events[:1]])

    @property
    def last(self) -> dt.datetime:
        return max([d.last for d in self.detections] + [e.time for e in self.events[-1:]])

    @property
    def rules(self) -> list[str]:
        return sorted({d.rule for d in self.detections})

    @property
    def users(self) -> list[str]:
        return sorted({u for d in self.detections for u in [*d.users, *([d.user] if d.user else [])]})

    @property
    def severity(self) -> Severity:
        return max((d.severity for d in self.detections), key=SEVERITIES.index)

    @property
    def vector(self) -> str:
        return vector_of(self.rules)

    @property
    def sites(self) -> list[str]:
        return sorted({a.site for a in self.assets if a.site})

    def title(self) -> str:
        who = self.attacker_device or self.attacker or self.actor or self.key[1]
        what = ", ".join([a.device for a in self.assets][:3] or self.targets[:3])
        return f"{label_of(self.vector)} from {who}" + (f" against {what}" if what else "")

    def summary(self) -> str:
        parts = [d.summary for d in sorted(self.detections, key=lambda d: d.first)][:5]
        return "; ".join(parts)


def vector_of(rules: Iterable[str]) -> str:
    present = set(rules)
    return next((r for r in VECTORS if r in present), min(present) if present else "")


def label_of(vector: str) -> str:
    if vector.startswith("sigma:"):
        return f"Sigma rule '{vector[6:]}'"
    return VECTORS.get(vector, vector)


def correlate(
    detections: Sequence[Detection],
    events: Sequence[LogEvent],
    assets: Assets | None = None,
    window: float = DEFAULT_WINDOW,
) -> list[Draft]:
    """Detections grouped by attacker and time, each group with the events around it, as drafts."""
    assets = assets or Assets()
    gap = dt.timedelta(seconds=window)
    by_source: dict[str, list[LogEvent]] = defaultdict(list)
    by_user: dict[str, list[LogEvent]] = defaultdict(list)
    for e in sorted(events, key=lambda e: e.time):
        if e.source_ip:
            by_source[e.source_ip].append(e)
        if e.user:
            by_user[e.user].append(e)
    groups: dict[tuple[str, str], list[Detection]] = defaultdict(list)
    for d in sorted(detections, key=lambda d: d.first):
        groups[_key(d)].append(d)
    drafts = []
    for key, group in groups.items():
        clusters: list[list[Detection]] = []
        for d in group:
            if clusters and d.first <= max(x.last for x in clusters[-1]) + gap:
                clusters[-1].append(d)
            else:
                clusters.append([d])
        for cluster in clusters:
            first = min(d.first for d in cluster) - gap
            last = max(d.last for d in cluster) + gap
            targets = _targets(cluster, key)
            if key[0] == "ip":
                # The attacker's other lines about the same targets, from any source (its traffic to
                # hosts it did not attack is not this incident's story). A target the inventory does
                # not know has no other names to match by: then every line of the attacker comes along.
                known = all(assets.resolve(t) is not None for t in targets)
                focus = {alias for t in targets for alias in assets.aliases(t)} if known else set()
                related = [
                    e
                    for e in by_source.get(key[1], [])
                    if first <= e.time <= last and (not focus or e.host in focus or e.dest_ip in focus)
                ]
            elif key[0] == "user":
                related = [e for e in by_user.get(key[1], []) if first <= e.time <= last]
            else:
                related = []
            drafts.append(_draft(key, cluster, related, targets, assets))
    drafts.sort(key=lambda d: d.first)
    return drafts


def _targets(cluster: Sequence[Detection], key: tuple[str, str]) -> list[str]:
    """What the detections say was attacked (addresses or device names)."""
    targets: list[str] = []
    for d in cluster:
        if d.rule == "new-device":
            continue  # its target is the device itself, a MAC
        if d.target:
            targets.append(d.target)
        targets += [str(h) for h in d.details.get("hosts", [])]
    attacker = key[1] if key[0] == "ip" else None
    return sorted({t for t in targets if t and t != attacker})


def _draft(
    key: tuple[str, str], cluster: list[Detection], related: list[LogEvent], targets: list[str], assets: Assets
) -> Draft:
    seen: set[tuple[dt.datetime, str, str]] = set()
    events: list[LogEvent] = []
    for e in [*(e for d in cluster for e in d.events), *related]:
        k = (e.time, e.host, e.raw)
        if k not in seen:
            seen.add(k)
            events.append(e)
    events.sort(key=lambda e: e.time)
    attacker = key[1] if key[0] == "ip" else None
    hit = {e.dest_ip for e in events if e.dest_ip}
    found: dict[str, Asset] = {}
    for t in targets:
        a = assets.resolve(t)
        if a is not None and a.device not in found:
            if a.address is None:  # named, not addressed: the address the attacker reached, else its first
                own = list(assets.addresses.get(a.device, {}))
                a = a.model_copy(update={"address": next((x for x in own if x in hit), own[0] if own else None)})
            found[a.device] = a
    attacker_asset = assets.resolve(attacker) if attacker else None
    if attacker_asset is not None:
        found.pop(attacker_asset.device, None)  # a host attacking itself is no victim
    sources = sorted({source_of(e, assets) for e in events})
    return Draft(
        key=key,
        detections=cluster,
        events=events,
        assets=sorted(found.values(), key=lambda a: a.device),
        targets=targets,
        attacker_device=attacker_asset.device if attacker_asset else None,
        sources=sources,
        timeline=_timeline(cluster, events, assets),
    )


def _timeline(cluster: Sequence[Detection], events: Sequence[LogEvent], assets: Assets) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            time=e.time,
            source=source_of(e, assets),
            host=e.host,
            kind=e.kind,
            summary=(e.message or e.raw)[:300],
            raw=e.raw,
        )
        for e in events
    ]
    marks = [
        TimelineEntry(time=d.first, source="detection", host=d.host, kind="detection", summary=d.summary, rule=d.rule)
        for d in cluster
    ]
    return capped(sorted([*entries, *marks], key=timeline_order))


def timeline_order(t: TimelineEntry) -> tuple[dt.datetime, int]:
    return (t.time, 1 if t.source == "detection" else 0)


def capped(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    if len(entries) <= MAX_TIMELINE:
        return entries
    half = MAX_TIMELINE // 2
    head, tail = entries[:half], entries[-half:]
    omitted = len(entries) - 2 * half
    gap = TimelineEntry(
        time=head[-1].time, source="detection", host="", kind="omitted", summary=f"{omitted} more lines omitted"
    )
    return [*head, gap, *tail]
