"""Tables of configuration management: each device's backup state, and compliance results with history."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from netwarden.store.base import Base, UTCDateTime


class ConfigBackup(Base):
    """The backup state of one device: last attempt and success, the revision, the run of failures.

    The configuration text itself lives in the git repository (``netwarden.configs.gitstore``);
    ``revision`` is the last commit that changed one of the device's ``files``.
    """

    __tablename__ = "config_backups"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True)
    last_attempt: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_success: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_change: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revision: Mapped[str] = mapped_column(String(64), default="")
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(32), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)


class ComplianceResult(Base):
    """One rule's verdict on one device in one compliance run (``checked_at`` groups a run)."""

    __tablename__ = "compliance_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    revision: Mapped[str] = mapped_column(String(64), default="")
    policy: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(128))
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)
    remediation: Mapped[str] = mapped_column(Text, default="")
