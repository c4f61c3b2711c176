"""log events: the source IP and user indexes hold only rows that have one

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_INDEXES = (("ix_log_events_source_ip_ts", "source_ip"), ("ix_log_events_username_ts", "username"))


def upgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="log_events")
        condition = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            name, "log_events", [column, "ts"], unique=False, sqlite_where=condition, postgresql_where=condition
        )


def downgrade() -> None:
    for name, column in _INDEXES:
        op.drop_index(name, table_name="log_events")
        op.create_index(name, "log_events", [column, "ts"], unique=False)
