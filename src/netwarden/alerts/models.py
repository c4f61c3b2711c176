"""Tables of the alert engine: alerts, the events that moved them, maintenance windows."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from netwarden.store.base import Base, UTCDateTime, utcnow

ACTIVE_STATES = ("open", "acknowledged")


class Alert(Base):
    """One problem: a condition on a subject, from its first event until it clears.

    ``key`` (subject, kind family, metric) deduplicates: at most one alert per key is active (not
    resolved), enforced by a partial unique index so that two workers ingesting the same event
    cannot both open one. ``parent_id`` folds an alert under the root alert that explains it (the
    device or link whose failure cut it off); folded alerts are hidden from the default list.
    """

    __tablename__ = "alerts"
    __table_args__ = (
        Index(
            "uq_alerts_active_key",
            "key",
            unique=True,
            sqlite_where=text("state != 'resolved'"),
            postgresql_where=text("state != 'resolved'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(512), index=True)
    subject: Mapped[str] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    metric: Mapped[str] = mapped_column(String(128), default="")
    state: Mapped[str] = mapped_column(String(16), default="open", index=True)
    severity: Mapped[str] = mapped_column(String(16), default="major")
    base_severity: Mapped[str] = mapped_column(String(16), default="major")
    source: Mapped[str] = mapped_column(String(16), default="poll")
    summary: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float)
    root_cause: Mapped[str | None] = mapped_column(String(255))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    impact: Mapped[list[str]] = mapped_column(JSON, default=list)
    impact_sites: Mapped[list[str]] = mapped_column(JSON, default=list)
    # For a link alert: which ends reported it ("r1:eth1", or the link itself when a link_down said so).
    ends: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The condition holds now (false while a flapping alert sits in its "cleared" phase).
    raised: Mapped[bool] = mapped_column(Boolean, default=True)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    suppressed_reason: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_change: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    escalated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped by every change, so the console's live stream can ask "what changed since T".
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)


class AlertEvent(Base):
    """An event as received, kept when it changed something (opened, cleared, updated, was stale...).

    Repeats of an active condition only raise the alert's count and last_seen, so a trap flood
    costs one row, not one per trap.
    """

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"), index=True)
    key: Mapped[str] = mapped_column(String(512))
    # open, clear (these two count towards flapping), update, stale, suppressed, unknown
    transition: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text, default="")
    metric: Mapped[str] = mapped_column(String(128), default="")
    value: Mapped[float | None] = mapped_column(Float)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    raw: Mapped[str] = mapped_column(Text, default="")
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str] = mapped_column(Text, default="")


class MaintenanceWindow(Base):
    """While ``starts_at <= t < ends_at``, alerts whose device, site or subject matches are silenced."""

    __tablename__ = "maintenance_windows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # device, site, subject
    pattern: Mapped[str] = mapped_column(String(255))  # shell-style glob (fnmatch), case-sensitive
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
