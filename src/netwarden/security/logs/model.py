"""The normalised log event every parser produces and every detection reads.

``kind`` names what happened in one vocabulary across sources (the scripting contract's
``logs events --kind``): ``auth-failure``, ``auth-success``, ``auth-invalid-user``, ``sudo``,
``session-open``, ``session-close``, ``firewall-deny``, ``firewall-accept``, ``config-change``,
``interface-down``, ``interface-up``, ``neighbor-down``, ``neighbor-up``, ``device`` (other device
messages), ``other`` (the generic fallback). ``outcome`` is ``success``, ``failure`` or None.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["success", "failure"]
KINDS = (
    "auth-failure",
    "auth-success",
    "auth-invalid-user",
    "sudo",
    "session-open",
    "session-close",
    "firewall-deny",
    "firewall-accept",
    "config-change",
    "interface-down",
    "interface-up",
    "neighbor-down",
    "neighbor-up",
    "device",
    "other",
)


@dataclass(frozen=True)
class LogEvent:
    time: dt.datetime  # timezone-aware (UTC when the line had no zone and the receiver's clock decided)
    host: str  # the device or host that logged it (inventory name when known)
    kind: str  # one of KINDS
    raw: str  # the line as received
    app: str = ""  # sshd, sudo, kernel, bgpd, %LINK-3-UPDOWN's facility...
    message: str = ""  # the text after the header
    source_ip: str | None = None
    source_port: int | None = None
    dest_ip: str | None = None
    dest_port: int | None = None
    proto: str | None = None  # tcp, udp, icmp...
    user: str | None = None
    action: str | None = None  # login, deny, accept, sudo, commit...
    outcome: Outcome | None = None
    parser: str = ""  # which parser read it (linux.sshd, cisco, nftables, generic...)
    fields: dict[str, Any] = field(default_factory=dict)  # anything else the parser found

    def public(self) -> dict[str, Any]:
        """The scripting contract's shape (``logs events --json``), plus the other fields."""
        return {
            "time": self.time.isoformat(),
            "host": self.host,
            "kind": self.kind,
            "source_ip": self.source_ip,
            "user": self.user,
            "outcome": self.outcome,
            "raw": self.raw,
            "app": self.app,
            "source_port": self.source_port,
            "dest_ip": self.dest_ip,
            "dest_port": self.dest_port,
            "proto": self.proto,
            "action": self.action,
            "parser": self.parser,
        }
