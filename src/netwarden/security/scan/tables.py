"""Tables of exposure scans: the risk register and the record of each scan (see netwarden.security.scan)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from netwarden.store.base import Base, UTCDateTime, utcnow


class RiskFinding(Base):
    """One entry of the risk register: a finding, kept under its stable id across scans.

    ``status`` is open while scans keep seeing it and resolved once a scan that looked at the same
    host, port and feed no longer does (``resolved_at``); seen again, it reopens.
    """

    __tablename__ = "risk_findings"
    __table_args__ = (Index("ix_risk_findings_status_score", "status", "score"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(String(255), index=True)
    device: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(64), index=True)
    port: Mapped[int | None] = mapped_column(Integer)
    proto: Mapped[str | None] = mapped_column(String(8))
    severity: Mapped[float] = mapped_column(Float)
    exposure: Mapped[float] = mapped_column(Float)
    score: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))
    cve: Mapped[str | None] = mapped_column(String(32), index=True)
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)
    remediation: Mapped[str] = mapped_column(Text, default="")
    references: Mapped[list[str]] = mapped_column("refs", JSON, default=list)
    source: Mapped[str] = mapped_column(String(255), default="scan")
    status: Mapped[str] = mapped_column(String(16), default="open")
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class RiskScan(Base):
    """One scan as run: what it covered, who ran it, and the hosts and services it saw."""

    __tablename__ = "risk_scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    elapsed: Mapped[float] = mapped_column(Float, default=0.0)
    actor: Mapped[str] = mapped_column(String(128), default="")
    ranges: Mapped[list[str]] = mapped_column(JSON, default=list)
    ports: Mapped[str] = mapped_column(Text, default="")  # "22,80,8000-8010": compact for 65,535 ports
    feeds: Mapped[list[str]] = mapped_column(JSON, default=list)
    host_count: Mapped[int] = mapped_column(Integer, default=0)
    finding_count: Mapped[int] = mapped_column(Integer, default=0)
    hosts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
