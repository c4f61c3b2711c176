"""logs: the log event store

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("utc_offset", sa.SmallInteger(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("app", sa.String(length=64), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("source_port", sa.Integer(), nullable=True),
        sa.Column("dest_ip", sa.String(length=64), nullable=True),
        sa.Column("dest_port", sa.Integer(), nullable=True),
        sa.Column("proto", sa.String(length=16), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=True),
        sa.Column("outcome", sa.String(length=8), nullable=True),
        sa.Column("parser", sa.String(length=32), nullable=False),
        sa.Column("msg_at", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_events")),
    )
    with op.batch_alter_table("log_events", schema=None) as batch_op:
        batch_op.create_index("ix_log_events_ts", ["ts"], unique=False)
        batch_op.create_index("ix_log_events_kind_ts", ["kind", "ts"], unique=False)
        batch_op.create_index("ix_log_events_host_ts", ["host", "ts"], unique=False)
        batch_op.create_index("ix_log_events_source_ip_ts", ["source_ip", "ts"], unique=False)
        batch_op.create_index("ix_log_events_username_ts", ["username", "ts"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("log_events", schema=None) as batch_op:
        batch_op.drop_index("ix_log_events_username_ts")
        batch_op.drop_index("ix_log_events_source_ip_ts")
        batch_op.drop_index("ix_log_events_host_ts")
        batch_op.drop_index("ix_log_events_kind_ts")
        batch_op.drop_index("ix_log_events_ts")
    op.drop_table("log_events")
