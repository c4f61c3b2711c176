"""interfaces.speed in bits per second needs 64 bits (10 Gb/s and up overflow a 32-bit integer)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # SQLite's INTEGER already holds 64 bits; only PostgreSQL needs the column widened.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("interfaces", "speed", type_=sa.BigInteger(), existing_nullable=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column("interfaces", "speed", type_=sa.Integer(), existing_nullable=True)
