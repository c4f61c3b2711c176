"""Shapes that leave the alerts package: alerts, ingest results, maintenance windows, the engine's policy."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from netwarden.alerts.events import Severity
from netwarden.config import Settings

AlertState = Literal["open", "acknowledged", "resolved"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "minor", "major", "critical")  # low to high
MaintenanceScope = Literal["device", "site", "subject"]


class AlertOut(BaseModel):
    """The scripting contract's fields (id, state, severity, device, summary, root_cause, impact) plus detail."""

    id: int
    state: AlertState
    severity: Severity
    device: str = Field(description="the node, or the link as 'A--B', the alert is about")
    summary: str
    root_cause: str | None = Field(description="the device or link ('A--B') whose failure explains this alert")
    impact: list[str] = Field(description="devices cut off or degraded by it (root alerts only)")
    impact_sites: list[str] = Field(default_factory=list, description="sites of the devices in impact")
    subject: str
    kind: str
    metric: str = ""
    value: float | None = None
    source: str = ""
    count: int = Field(description="events merged into this alert")
    parent_id: int | None = Field(default=None, description="the root alert this one is folded under")
    flapping: bool = False
    suppressed: bool = False
    suppressed_reason: str = ""
    first_seen: dt.datetime
    last_seen: dt.datetime
    acknowledged_at: dt.datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None
    escalated_at: dt.datetime | None = None
    note: str = ""


class AlertEventOut(BaseModel):
    id: int
    alert_id: int | None
    transition: str
    source: str
    kind: str
    subject: str
    device: str
    severity: str
    summary: str
    metric: str
    value: float | None
    at: dt.datetime
    received_at: dt.datetime
    raw: str
    suppressed: bool
    note: str


class AlertDetail(AlertOut):
    children: list[AlertOut] = Field(default_factory=list, description="alerts folded under this one")
    events: list[AlertEventOut] = Field(default_factory=list, description="recorded events, newest first")


class IngestResult(BaseModel):
    received: int
    opened: list[int] = Field(default_factory=list, description="alerts opened by this batch")
    resolved: list[int] = Field(default_factory=list, description="alerts resolved by this batch")
    updated: int = Field(default=0, description="events merged into an alert already open")
    folded: list[int] = Field(default_factory=list, description="alerts folded under a root alert by this batch")
    suppressed: int = Field(default=0, description="events that fell in a maintenance window")
    stale: int = Field(default=0, description="events older than the state they would change")
    ignored: int = Field(default=0, description="clearing events with nothing to clear")
    recorded: int = Field(default=0, description="events kept as evidence only (other traps): no alert")
    notify: list[int] = Field(
        default_factory=list, description="alerts a notifier should announce: opened, root, not suppressed"
    )


class AckResult(BaseModel):
    alert: AlertOut
    changed: bool


class EscalationResult(BaseModel):
    escalated: list[int] = Field(default_factory=list)
    settled: list[int] = Field(default_factory=list, description="flapping alerts that became stable")
    unsuppressed: list[int] = Field(default_factory=list, description="alerts whose maintenance window ended")


class MaintenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    scope: MaintenanceScope = "device"
    pattern: str = Field(min_length=1, max_length=255, description="glob (fnmatch) over device, site or subject names")
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str = Field(default="", max_length=2000)

    @model_validator(mode="after")
    def _order(self) -> MaintenanceIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("maintenance times need a time zone, e.g. 2026-11-23T22:00:00Z")
        if self.ends_at <= self.starts_at:
            raise ValueError("maintenance window ends before it starts")
        return self


class MaintenanceOut(BaseModel):
    id: int
    scope: MaintenanceScope
    pattern: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    reason: str
    created_by: str
    created_at: dt.datetime
    active: bool = False


class AlertPolicy(BaseModel):
    """The engine's tunables; ``from_settings`` reads them from netwarden's settings."""

    poller_location: str = Field(
        default="mgmt", description="'mgmt' (flat management network) or the device the poller sits behind"
    )
    core_devices: list[str] = Field(default_factory=list, description="devices taken as the rest of the network")
    flap_changes: int = Field(
        default=4, ge=1, description="more opens+clears than this within flap_minutes is flapping"
    )
    flap_minutes: float = Field(default=10, gt=0)
    escalate_minutes: float = Field(default=30, ge=0, description="0 turns escalation off")
    max_skew_seconds: float = Field(default=300, ge=0, description="event times further ahead are taken as now")

    @classmethod
    def from_settings(cls, s: Settings) -> AlertPolicy:
        return cls(
            poller_location=s.alerts_poller_location,
            core_devices=list(s.alerts_core_devices),
            flap_changes=s.alerts_flap_changes,
            flap_minutes=s.alerts_flap_minutes,
            escalate_minutes=s.alerts_escalate_minutes,
        )
