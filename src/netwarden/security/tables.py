"""Tables of detections and security incidents (see netwarden.security.correlate)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from netwarden.store.base import Base, UTCDateTime, utcnow

INCIDENT_STATES = ("open", "investigating", "closed")


class SecurityIncident(Base):
    """Detections and the log events around them joined into one story: who, against what, when.

    ``attacker`` is the source address the detections share (``actor`` the user name when they share
    no address: a local privilege escalation); ``assets`` are the inventory devices hit, each
    ``{"device", "site", "address", "role"}``. ``timeline`` is the ordered list of what happened,
    rebuilt when a detection joins; ``history`` the status changes (also in the audit log).
    """

    __tablename__ = "security_incidents"
    __table_args__ = (Index("ix_security_incidents_status_last", "status", "last_seen"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="open")
    severity: Mapped[str] = mapped_column(String(16), default="minor")
    vector: Mapped[str] = mapped_column(String(64), default="")
    attacker: Mapped[str | None] = mapped_column(String(64), index=True)
    attacker_device: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str | None] = mapped_column(String(255))
    summary: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    rules: Mapped[list[str]] = mapped_column(JSON, default=list)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    users: Mapped[list[str]] = mapped_column(JSON, default=list)
    targets: Mapped[list[str]] = mapped_column(JSON, default=list)
    assets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    sites: Mapped[list[str]] = mapped_column(JSON, default=list)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    timeline: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SecurityDetection(Base):
    """One detection as recorded: a later run over overlapping events updates it instead of adding one."""

    __tablename__ = "security_detections"
    __table_args__ = (Index("ix_security_detections_rule_host", "rule", "host"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("security_incidents.id", ondelete="SET NULL"), index=True
    )
    rule: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    source_ip: Mapped[str | None] = mapped_column(String(64), index=True)
    username: Mapped[str | None] = mapped_column(String(255))
    target: Mapped[str | None] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(16), default="minor")
    summary: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=1)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    evidence_total: Mapped[int] = mapped_column(Integer, default=0)
    users: Mapped[list[str]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
