"""Custody log (leaves, stored subtrees, state, signed heads) and the evidence store.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custody_leaves",
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("act", sa.String(length=40), nullable=False),
        sa.Column("entity_type", sa.String(length=40), nullable=False),
        sa.Column("entity_id", sa.String(length=100), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=True),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("leaf_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("idx", name=op.f("pk_custody_leaves")),
    )
    with op.batch_alter_table("custody_leaves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_custody_leaves_act"), ["act"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_custody_leaves_content_sha256"), ["content_sha256"], unique=False
        )
        batch_op.create_index(
            "ix_custody_leaves_entity", ["entity_type", "entity_id", "idx"], unique=False
        )
    op.create_table(
        "custody_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_custody_nodes")),
    )
    op.create_table(
        "custody_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("frontier", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_state")),
    )
    op.create_table(
        "custody_tree_heads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("log_id", sa.String(length=80), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_custody_tree_heads")),
    )
    with op.batch_alter_table("custody_tree_heads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_custody_tree_heads_tree_size"), ["tree_size"], unique=False
        )
    op.create_table(
        "evidence",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("uploader", sa.String(length=120), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exif_taken_at", sa.String(length=40), nullable=True),
        sa.Column("has_exif_gps", sa.Boolean(), nullable=False),
        sa.Column("source_url", sa.String(length=2000), nullable=True),
        sa.Column("sensitive", sa.Text(), nullable=True),
        sa.Column("derived_from", sa.String(length=36), nullable=True),
        sa.Column("derivation", sa.String(length=20), nullable=True),
        sa.Column("derivation_params", sa.JSON(), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["derived_from"], ["evidence.id"], name=op.f("fk_evidence_derived_from_evidence")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_evidence_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["reports.id"], name=op.f("fk_evidence_report_id_reports")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["users.id"], name=op.f("fk_evidence_uploaded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
    )
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_evidence_sha256"), ["sha256"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_evidence_derived_from"), ["derived_from"], unique=False
        )
        batch_op.create_index(
            "ix_evidence_incident_id_received_at", ["incident_id", "received_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("evidence")
    with op.batch_alter_table("custody_tree_heads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_custody_tree_heads_tree_size"))

    op.drop_table("custody_tree_heads")
    op.drop_table("custody_state")
    op.drop_table("custody_nodes")
    with op.batch_alter_table("custody_leaves", schema=None) as batch_op:
        batch_op.drop_index("ix_custody_leaves_entity")
        batch_op.drop_index(batch_op.f("ix_custody_leaves_content_sha256"))
        batch_op.drop_index(batch_op.f("ix_custody_leaves_act"))

    op.drop_table("custody_leaves")
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_index("ix_movements_starts_at_ends_at")
        batch_op.drop_index(batch_op.f("ix_movements_status"))
