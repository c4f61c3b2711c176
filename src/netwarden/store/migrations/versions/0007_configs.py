"""configs: per-device backup state and compliance results

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 14:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from netwarden.store.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "config_backups",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("last_attempt", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_change", UTCDateTime(timezone=True), nullable=True),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_config_backups_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_config_backups")),
    )
    op.create_table(
        "compliance_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("checked_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=128), nullable=False),
        sa.Column("rule", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("remediation", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["device_id"], ["devices.id"], name=op.f("fk_compliance_results_device_id_devices"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compliance_results")),
    )
    with op.batch_alter_table("compliance_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_compliance_results_device_id"), ["device_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_compliance_results_checked_at"), ["checked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("compliance_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_compliance_results_checked_at"))
        batch_op.drop_index(batch_op.f("ix_compliance_results_device_id"))
    op.drop_table("compliance_results")
    op.drop_table("config_backups")
