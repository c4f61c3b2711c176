"""The risk register: every finding ever made, open until a later scan no longer sees it.

:func:`merge` is the pure rule. A finding seen again keeps its id and first-seen time and gets
the new evidence and score; a new one is added open; an open entry is resolved only when the
later scan looked at the same thing and did not see it (its host answered, its port was in the
port list or SNMP was checked, and, for a vulnerability, its feed was loaded). Hosts that did not
answer resolve nothing: silence is not a fix.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from netwarden.security.scan.schemas import FindingOut, RiskOut

__all__ = ["Coverage", "merge", "sort_key"]


@dataclass(frozen=True)
class Coverage:
    """What one scan looked at, so that only what it looked at can be resolved."""

    addresses: frozenset[str]
    tcp_ports: frozenset[int]
    snmp_checked: bool
    feeds: frozenset[str] = field(default_factory=frozenset)

    def covers(self, entry: RiskOut) -> bool:
        if entry.address not in self.addresses:
            return False
        if entry.source != "scan" and entry.source not in self.feeds:
            return False
        if entry.port is None:
            return True
        if entry.proto == "udp":
            return self.snmp_checked
        return entry.port in self.tcp_ports


def sort_key(entry: RiskOut) -> tuple[int, float, str, str]:
    """Open before resolved, highest score first, then by target and kind."""
    return (0 if entry.status == "open" else 1, -entry.score, entry.target, entry.kind)


def merge(
    existing: Sequence[RiskOut], findings: Iterable[FindingOut], coverage: Coverage, now: dt.datetime
) -> list[RiskOut]:
    """The register after a scan."""
    by_id = {entry.id: entry for entry in existing}
    seen: set[str] = set()
    for found in findings:
        seen.add(found.id)
        before = by_id.get(found.id)
        data = found.model_dump()
        if before is None:
            by_id[found.id] = RiskOut(**data, status="open", first_seen=now, last_seen=now)
        else:
            by_id[found.id] = RiskOut(**data, status="open", first_seen=before.first_seen, last_seen=now)
    for entry_id, entry in list(by_id.items()):
        if entry_id in seen or entry.status != "open" or not coverage.covers(entry):
            continue
        by_id[entry_id] = entry.model_copy(update={"status": "resolved", "resolved_at": now})
    return sorted(by_id.values(), key=sort_key)
