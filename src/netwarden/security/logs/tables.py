"""Tables of the log store: one row per :class:`~netwarden.security.logs.model.LogEvent`.

Times are integer microseconds since the epoch (UTC) in ``ts``, with the offset the source wrote in
``utc_offset`` (minutes east of UTC; 0 also when the line had no zone and UTC was assumed, which
the parser notes in ``fields["zone"] = "assumed"``), so an event reads back with the offset it was
logged with. Integers keep the time index
small and the hot insert path free of datetime formatting (decision 0026).

Search: every field filter has an index that ends in ``ts``, so "newest N for this host" is one index
range (source IP and user: rows that have one). Full-text search is a case-insensitive substring scan of
``raw`` inside the rows the field and time filters leave (decision 0026 has the figures and the alternatives measured).

``message`` is NULL when it is the tail of ``raw`` from ``msg_at`` (nearly always), so the text is
not stored twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from netwarden.store.base import Base

# A 64-bit key on PostgreSQL; on SQLite INTEGER PRIMARY KEY is already 64-bit and the rowid itself.
_ID = BigInteger().with_variant(Integer(), "sqlite")


def _present(column: str) -> dict[str, Any]:
    condition = text(f"{column} IS NOT NULL")
    return {"sqlite_where": condition, "postgresql_where": condition}


class LogEventRow(Base):
    """One stored log event (kept ``logs_retention_days``)."""

    __tablename__ = "log_events"
    __table_args__ = (
        Index("ix_log_events_ts", "ts"),
        Index("ix_log_events_kind_ts", "kind", "ts"),
        Index("ix_log_events_host_ts", "host", "ts"),
        # Partial: most network lines name no address or user, and searches only ever ask for a value
        # (source_ip = X), so rows without one stay out of these indexes (about a fifth less insert work
        # on a mixed stream, decision 0031).
        Index("ix_log_events_source_ip_ts", "source_ip", "ts", **_present("source_ip")),
        Index("ix_log_events_username_ts", "username", "ts", **_present("username")),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger)  # microseconds since the epoch, UTC
    utc_offset: Mapped[int] = mapped_column(SmallInteger)  # minutes east of UTC the source logged in
    host: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32))
    app: Mapped[str] = mapped_column(String(64))
    source_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dest_ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    dest_port: Mapped[int | None] = mapped_column(Integer, nullable=True)
    proto: Mapped[str | None] = mapped_column(String(16), nullable=True)
    username: Mapped[str | None] = mapped_column(String(255), nullable=True)
    action: Mapped[str | None] = mapped_column(String(32), nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(8), nullable=True)
    parser: Mapped[str] = mapped_column(String(32))
    msg_at: Mapped[int] = mapped_column(Integer)  # where the message starts in raw, when message is NULL
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    raw: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
