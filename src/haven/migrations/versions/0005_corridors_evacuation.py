"""Humanitarian corridors with status history and evacuation plans.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "corridors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("waypoints", sa.JSON(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("buffer_m", sa.Float(), nullable=False),
        sa.Column("incident_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("status_automatic", sa.Boolean(), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lon", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("length_m", sa.Float(), nullable=False),
        sa.Column("travel_time_s", sa.Float(), nullable=False),
        sa.Column("network_sha256", sa.String(length=64), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corridors")),
        sa.UniqueConstraint("name", name=op.f("uq_corridors_name")),
    )
    with op.batch_alter_table("corridors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_corridors_status"), ["status"], unique=False)

    op.create_table(
        "corridor_status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corridor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(length=12), nullable=True),
        sa.Column("to_status", sa.String(length=12), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("cause_type", sa.String(length=12), nullable=False),
        sa.Column("cause_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["corridor_id"],
            ["corridors.id"],
            name=op.f("fk_corridor_status_changes_corridor_id_corridors"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_corridor_status_changes_actor_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corridor_status_changes")),
    )
    with op.batch_alter_table("corridor_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_corridor_status_changes_corridor_id_at", ["corridor_id", "at"], unique=False
        )

    op.create_table(
        "corridor_observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("corridor_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("travel_time_s", sa.Float(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.Column("risk", sa.Float(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.ForeignKeyConstraint(
            ["corridor_id"],
            ["corridors.id"],
            name=op.f("fk_corridor_observations_corridor_id_corridors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corridor_observations")),
    )
    with op.batch_alter_table("corridor_observations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_corridor_observations_corridor_id_at", ["corridor_id", "at"], unique=False
        )

    op.create_table(
        "evacuation_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=12), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.Column("patients", sa.Integer(), nullable=False),
        sa.Column("placed", sa.Integer(), nullable=False),
        sa.Column("unplaced", sa.Integer(), nullable=False),
        sa.Column("network_sha256", sa.String(length=64), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_evacuation_plans_actor_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evacuation_plans")),
    )
    with op.batch_alter_table("evacuation_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evacuation_plans_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_evacuation_plans_is_exercise"), ["is_exercise"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("evacuation_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evacuation_plans_is_exercise"))
        batch_op.drop_index(batch_op.f("ix_evacuation_plans_created_at"))
    op.drop_table("evacuation_plans")
    with op.batch_alter_table("corridor_observations", schema=None) as batch_op:
        batch_op.drop_index("ix_corridor_observations_corridor_id_at")
    op.drop_table("corridor_observations")
    with op.batch_alter_table("corridor_status_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_corridor_status_changes_corridor_id_at")
    op.drop_table("corridor_status_changes")
    with op.batch_alter_table("corridors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_corridors_status"))
    op.drop_table("corridors")
