"""Shapes that leave the detection and incident code: detections, incidents, their timelines."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from netwarden.security.detect.model import Severity

IncidentStatus = Literal["open", "investigating", "closed"]
Source = Literal["auth", "firewall", "switch", "device"]


class DetectionOut(BaseModel):
    """The scripting contract's fields (rule, host, source_ip, user, first, last, count, evidence), then detail."""

    rule: str
    host: str
    source_ip: str | None
    user: str | None
    first: dt.datetime
    last: dt.datetime
    count: int
    evidence: list[str] = Field(description="the raw log lines behind it (at most 200; evidence_total counts all)")
    id: int | None = None
    incident_id: int | None = None
    target: str | None = Field(default=None, description="the attacked address or device")
    severity: Severity = "minor"
    summary: str = ""
    users: list[str] = Field(default_factory=list)
    evidence_total: int = 0
    details: dict[str, Any] = Field(default_factory=dict)


class Asset(BaseModel):
    """An inventory device an incident touches."""

    device: str
    site: str | None = None
    address: str | None = None
    role: str | None = None


class TimelineEntry(BaseModel):
    time: dt.datetime
    source: str = Field(description="auth, firewall, switch or device: where the line came from; 'detection' marks")
    host: str
    kind: str
    summary: str
    raw: str = ""
    rule: str | None = Field(default=None, description="for detection marks: the rule that fired")


class HistoryEntry(BaseModel):
    at: dt.datetime
    actor: str
    status: IncidentStatus
    previous: IncidentStatus | None = None
    note: str = ""


class IncidentOut(BaseModel):
    id: int
    title: str
    status: IncidentStatus
    severity: Severity
    vector: str = Field(description="how the attack came: the leading detection rule")
    attacker: str | None = Field(description="the source address the detections share")
    attacker_device: str | None = Field(default=None, description="the inventory device at that address")
    actor: str | None = Field(default=None, description="the user name, for incidents without an address")
    first_seen: dt.datetime
    last_seen: dt.datetime
    targets: list[str] = Field(default_factory=list, description="addresses and devices attacked")
    assets: list[Asset] = Field(default_factory=list)
    sites: list[str] = Field(default_factory=list)
    sources: list[str] = Field(default_factory=list, description="log sources with evidence: auth, firewall...")
    users: list[str] = Field(default_factory=list)
    rules: list[str] = Field(default_factory=list)
    detections: int = 0
    event_count: int = 0
    summary: str = ""


class IncidentDetail(IncidentOut):
    timeline: list[TimelineEntry] = Field(default_factory=list)
    detection_list: list[DetectionOut] = Field(default_factory=list)
    history: list[HistoryEntry] = Field(default_factory=list)
    note: str = ""
    closed_at: dt.datetime | None = None
    closed_by: str | None = None


class IncidentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: IncidentStatus | None = None
    note: str | None = Field(default=None, max_length=4000)


class DetectResult(BaseModel):
    """One detection run over stored (or given) events."""

    events: int = Field(description="log events read")
    truncated: bool = Field(default=False, description="the period held more events than were read")
    detections: list[DetectionOut]
    new: int = 0
    updated: int = 0
    incidents: list[int] = Field(default_factory=list, description="incidents opened or extended")
    sigma: dict[str, Any] | None = None
    failed: dict[str, str] = Field(default_factory=dict)
