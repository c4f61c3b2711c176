"""security: detections and security incidents

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from netwarden.store.base import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("vector", sa.String(length=64), nullable=False),
        sa.Column("attacker", sa.String(length=64), nullable=True),
        sa.Column("attacker_device", sa.String(length=255), nullable=True),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("first_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("timeline", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("closed_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_incidents")),
    )
    with op.batch_alter_table("security_incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_incidents_attacker"), ["attacker"], unique=False)
        batch_op.create_index("ix_security_incidents_status_last", ["status", "last_seen"], unique=False)

    op.create_table(
        "security_detections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("rule", sa.String(length=255), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("source_ip", sa.String(length=64), nullable=True),
        sa.Column("username", sa.String(length=255), nullable=True),
        sa.Column("target", sa.String(length=255), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("first_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen", UTCDateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("evidence_total", sa.Integer(), nullable=False),
        sa.Column("users", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["security_incidents.id"],
            name=op.f("fk_security_detections_incident_id_security_incidents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_detections")),
    )
    with op.batch_alter_table("security_detections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_detections_first_seen"), ["first_seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_detections_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index("ix_security_detections_rule_host", ["rule", "host"], unique=False)
        batch_op.create_index(batch_op.f("ix_security_detections_source_ip"), ["source_ip"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("security_detections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_detections_source_ip"))
        batch_op.drop_index("ix_security_detections_rule_host")
        batch_op.drop_index(batch_op.f("ix_security_detections_incident_id"))
        batch_op.drop_index(batch_op.f("ix_security_detections_first_seen"))
    op.drop_table("security_detections")
    with op.batch_alter_table("security_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_security_incidents_status_last")
        batch_op.drop_index(batch_op.f("ix_security_incidents_attacker"))
    op.drop_table("security_incidents")
