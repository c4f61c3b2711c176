"""Events: what polls, traps and syslog report, before the alert engine turns them into alerts.

Every source (a poll round, the SNMP trap receiver, the syslog receiver) produces :class:`Event`
records; :func:`netwarden.alerts.service.ingest` is the one door into the alert engine.

``subject`` is what the event is about: a device name (``r5``), a link (``r5--r6``, the two device
names in sorted order, see :func:`link_subject`), or a device-scoped thing
(``r1:eth2`` for an interface, ``r1:bgp:10.0.0.2`` for a peer, ``r1:ospf:10.0.0.2``, ``r1:wg:wg0:PEERKEY``
for a tunnel, ``srv1:http:https://srv1/`` for a service check, ``wlc1:ap:AP-NAME`` for an access point).
``backup_failed``/``backup_ok`` come from the configuration backups (a run of failed backups).
``reboot`` and ``config_change`` are one-off events: they open an alert that resolves itself when
acknowledged or after a day. ``trap`` (a trap with no meaning to the engine) is kept as evidence
in the event log only. ``kind`` says what happened;
``*_down``/``*_up`` pairs open and clear the same condition, and so do ``threshold``/``threshold_clear``
for one metric.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["poll", "trap", "syslog", "probe", "manual", "backup"]
Severity = Literal["critical", "major", "minor", "warning", "info"]
EventKind = Literal[
    "device_down",
    "device_up",
    "link_down",
    "link_up",
    "interface_down",
    "interface_up",
    "neighbor_down",
    "neighbor_up",
    "threshold",
    "threshold_clear",
    "service_down",
    "service_up",
    "tunnel_down",
    "tunnel_up",
    "ap_down",
    "ap_up",
    "baseline",
    "baseline_clear",
    "capacity",
    "capacity_clear",
    "reboot",
    "config_change",
    "backup_failed",
    "backup_ok",
    "trap",
]
CLEARS: dict[str, str] = {
    "device_up": "device_down",
    "link_up": "link_down",
    "interface_up": "interface_down",
    "neighbor_up": "neighbor_down",
    "threshold_clear": "threshold",
    "service_up": "service_down",
    "tunnel_up": "tunnel_down",
    "ap_up": "ap_down",
    "baseline_clear": "baseline",
    "capacity_clear": "capacity",
    "backup_ok": "backup_failed",
}


def link_subject(a: str, b: str) -> str:
    """The subject naming the link between devices ``a`` and ``b`` (``A--B``, names sorted)."""
    first, second = sorted((a, b))
    return f"{first}--{second}"


class Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: Source
    kind: EventKind
    subject: str = Field(description="device, 'A--B' link, or 'device:thing'")
    device: str = Field(description="the device that reported it or that it is about")
    severity: Severity = "major"
    summary: str = ""
    metric: str = Field(default="", description="for threshold events: the metric and instance, e.g. if_in_pct:eth1")
    value: float | None = None
    at: dt.datetime = Field(default_factory=lambda: dt.datetime.now(dt.UTC))
    raw: str = Field(default="", description="the trap or log line it came from, for evidence")
