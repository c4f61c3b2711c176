"""Tables of discovery: what was last observed on each device, and the record of each run."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netwarden.store.base import Base, UTCDateTime, utcnow


class Observation(Base):
    """The latest collected state of one kind (routes, routing, arp, mac, neighbours) for one device.

    Only the latest is kept: history of numbers belongs to monitoring's metrics, history of
    changes to the audit log.
    """

    __tablename__ = "observations"
    __table_args__ = (UniqueConstraint("device_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    collected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DiscoveryRun(Base):
    __tablename__ = "discovery_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed, cancelled
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
