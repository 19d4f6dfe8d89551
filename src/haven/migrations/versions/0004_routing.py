"""Road closures, no-go areas and road-network imports (routing).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "road_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file", sa.String(length=200), nullable=False),
        sa.Column("node_count", sa.Integer(), nullable=False),
        sa.Column("edge_count", sa.Integer(), nullable=False),
        sa.Column("way_count", sa.Integer(), nullable=False),
        sa.Column("bounds", sa.JSON(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_imports")),
    )
    with op.batch_alter_table("road_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_road_imports_sha256"), ["sha256"], unique=False)

    op.create_table(
        "road_closures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("radius_m", sa.Float(), nullable=False),
        sa.Column("delay_s", sa.Float(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=120), nullable=True),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_road_closures_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_road_closures")),
    )
    with op.batch_alter_table("road_closures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_road_closures_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            "ix_road_closures_valid_from_valid_until", ["valid_from", "valid_until"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("road_closures", schema=None) as batch_op:
        batch_op.drop_index("ix_road_closures_valid_from_valid_until")
        batch_op.drop_index(batch_op.f("ix_road_closures_incident_id"))
    op.drop_table("road_closures")
    with op.batch_alter_table("road_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_road_imports_sha256"))
    op.drop_table("road_imports")
