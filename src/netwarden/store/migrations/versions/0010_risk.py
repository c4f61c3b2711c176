"""risk: the exposure scans' risk register and scan records

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from netwarden.store.base import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "risk_findings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("device", sa.String(length=128), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=True),
        sa.Column("proto", sa.String(length=8), nullable=True),
        sa.Column("severity", sa.Float(), nullable=False),
        sa.Column("exposure", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("cve", sa.String(length=32), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("remediation", sa.Text(), nullable=False),
        sa.Column("refs", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_findings")),
    )
    with op.batch_alter_table("risk_findings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_findings_address"), ["address"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_findings_cve"), ["cve"], unique=False)
        batch_op.create_index(batch_op.f("ix_risk_findings_target"), ["target"], unique=False)
        batch_op.create_index("ix_risk_findings_status_score", ["status", "score"], unique=False)

    op.create_table(
        "risk_scans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("elapsed", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("ranges", sa.JSON(), nullable=False),
        sa.Column("ports", sa.Text(), nullable=False),
        sa.Column("feeds", sa.JSON(), nullable=False),
        sa.Column("host_count", sa.Integer(), nullable=False),
        sa.Column("finding_count", sa.Integer(), nullable=False),
        sa.Column("hosts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_scans")),
    )
    with op.batch_alter_table("risk_scans", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_scans_started_at"), ["started_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("risk_scans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_scans_started_at"))
    op.drop_table("risk_scans")
    with op.batch_alter_table("risk_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_risk_findings_status_score")
        batch_op.drop_index(batch_op.f("ix_risk_findings_target"))
        batch_op.drop_index(batch_op.f("ix_risk_findings_cve"))
        batch_op.drop_index(batch_op.f("ix_risk_findings_address"))
    op.drop_table("risk_findings")
