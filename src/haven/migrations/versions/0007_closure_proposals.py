"""Dismissed road-closure proposals (obstruction incidents a coordinator chose not to act on).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "closure_proposal_dismissals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("dismissed_by", sa.String(length=120), nullable=False),
        sa.Column("dismissed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_closure_proposal_dismissals_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closure_proposal_dismissals")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_closure_proposal_dismissals_incident_id")),
    )


def downgrade() -> None:
    op.drop_table("closure_proposal_dismissals")
