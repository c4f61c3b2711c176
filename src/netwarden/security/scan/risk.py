"""Scoring: each finding's risk is its severity times its exposure, with a stable id.

``severity`` (0-10) is the CVSS base score of a vulnerability, or the rating a weak-setting rule
gives the weakness itself. ``exposure`` (0-1) says how reachable it is from where the scan ran:

=================================================================  ========
the weakness was seen on a service answering the scan              1.0
a vulnerability in software a service named, attack vector network  1.0
... attack vector adjacent / local / physical                      0.8 / 0.4 / 0.2
a vulnerability in the OS version the inventory records
(no service seen that runs the vulnerable part)                    0.6 x the vector's factor
=================================================================  ========

``score = severity x exposure``, rounded to one decimal, rated like CVSS: critical >= 9,
high >= 7, medium >= 4, low > 0, info 0.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from netwarden.security.scan.schemas import FindingOut, HostOut, Level

__all__ = ["ATTACK_VECTOR_FACTOR", "INVENTORY_ONLY", "Draft", "finding", "finding_id", "level_of"]

ATTACK_VECTOR_FACTOR = {"NETWORK": 1.0, "ADJACENT_NETWORK": 0.8, "ADJACENT": 0.8, "LOCAL": 0.4, "PHYSICAL": 0.2}
INVENTORY_ONLY = 0.6


@dataclass(frozen=True)
class Draft:
    """A finding before it is tied to its target and scored."""

    kind: str
    title: str
    severity: float
    exposure: float = 1.0
    port: int | None = None
    proto: Literal["tcp", "udp"] | None = None
    evidence: tuple[str, ...] = ()
    remediation: str = ""
    references: tuple[str, ...] = ()
    cve: str | None = None
    source: str = "scan"
    key: str = ""  # what tells two findings of one kind on one port apart (the CVE, when there is one)


def level_of(score: float) -> Level:
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    if score > 0:
        return "low"
    return "info"


def finding_id(target: str, kind: str, port: int | None, key: str) -> str:
    """The same problem on the same target keeps its id from scan to scan."""
    digest = hashlib.sha256(f"{target}|{kind}|{port or ''}|{key}".encode()).hexdigest()
    return digest[:16]


def finding(host: HostOut, draft: Draft) -> FindingOut:
    """Tie a draft to its host and score it."""
    target = host.device or host.address
    severity = round(min(max(draft.severity, 0.0), 10.0), 1)
    exposure = round(min(max(draft.exposure, 0.0), 1.0), 2)
    score = round(severity * exposure, 1)
    return FindingOut(
        id=finding_id(target, draft.kind, draft.port, draft.key or draft.cve or ""),
        kind=draft.kind,
        title=draft.title,
        target=target,
        device=host.device,
        address=host.address,
        port=draft.port,
        proto=draft.proto,
        severity=severity,
        exposure=exposure,
        score=score,
        level=level_of(score),
        cve=draft.cve,
        evidence=list(draft.evidence),
        remediation=draft.remediation,
        references=list(draft.references),
        source=draft.source,
    )
