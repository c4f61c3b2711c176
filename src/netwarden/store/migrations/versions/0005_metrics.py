"""metrics: series, raw samples, 5-minute and 1-hour rollups, rollup marks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _rollup(name: str) -> None:
    op.create_table(
        name,
        sa.Column("series_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("min", sa.Float(), nullable=False),
        sa.Column("max", sa.Float(), nullable=False),
        sa.Column("avg", sa.Float(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("last", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "ts", name=op.f(f"pk_{name}")),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    op.create_table(
        "metric_series",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(length=255), nullable=False),
        sa.Column("metric", sa.String(length=128), nullable=False),
        sa.Column("instance", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metric_series")),
        sa.UniqueConstraint("device", "metric", "instance", name=op.f("uq_metric_series_device_metric_instance")),
    )
    op.create_table(
        "metric_samples",
        sa.Column("series_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "ts", name=op.f("pk_metric_samples")),
        sqlite_with_rowid=False,
    )
    _rollup("metric_rollup_5m")
    _rollup("metric_rollup_1h")
    op.create_table(
        "metric_rollup_marks",
        sa.Column("tier", sa.String(length=8), nullable=False),
        sa.Column("until", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tier", name=op.f("pk_metric_rollup_marks")),
    )


def downgrade() -> None:
    op.drop_table("metric_rollup_marks")
    op.drop_table("metric_rollup_1h")
    op.drop_table("metric_rollup_5m")
    op.drop_table("metric_samples")
    op.drop_table("metric_series")
