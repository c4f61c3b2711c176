"""Tables of the metrics store: series, raw samples, 5-minute and 1-hour rollups.

A series is named once (device, metric, instance) and referred to by its integer id, so a
sample row is three numbers: (series_id, ts, value). Times are integer UNIX seconds. Sample
and rollup tables are keyed by (series_id, ts) and, on SQLite, stored WITHOUT ROWID so the
primary key is the table (one b-tree, half the bytes; decision 0012).

There is no foreign key from samples to series: a foreign-key check per inserted row costs
on the hot write path (PostgreSQL runs a trigger per row), and series rows are only removed
by ``prune`` once no tier holds any of their data.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from netwarden.store.base import Base


class MetricSeries(Base):
    """One time series: a metric of a device, for one instance (interface, peer, probe) or ``""``."""

    __tablename__ = "metric_series"
    __table_args__ = (UniqueConstraint("device", "metric", "instance"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device: Mapped[str] = mapped_column(String(255))
    metric: Mapped[str] = mapped_column(String(128))
    instance: Mapped[str] = mapped_column(String(255), default="")


class MetricSample(Base):
    """One raw sample, kept ``metrics_raw_days``."""

    __tablename__ = "metric_samples"
    __table_args__ = {"sqlite_with_rowid": False}

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    value: Mapped[float] = mapped_column(Float)


class _Rollup:
    """The summary of one series over one bucket starting at ``ts``."""

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    avg: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    last: Mapped[float] = mapped_column(Float)


class MetricRollup5m(_Rollup, Base):
    """5-minute summaries, kept ``metrics_5m_days``."""

    __tablename__ = "metric_rollup_5m"
    __table_args__ = {"sqlite_with_rowid": False}


class MetricRollup1h(_Rollup, Base):
    """1-hour summaries (made from the 5-minute ones), kept ``metrics_1h_days``."""

    __tablename__ = "metric_rollup_1h"
    __table_args__ = {"sqlite_with_rowid": False}


class MetricRollupMark(Base):
    """How far each rollup tier is complete: every bucket starting before ``until`` is rolled up."""

    __tablename__ = "metric_rollup_marks"

    tier: Mapped[str] = mapped_column(String(8), primary_key=True)
    until: Mapped[int] = mapped_column(BigInteger)
