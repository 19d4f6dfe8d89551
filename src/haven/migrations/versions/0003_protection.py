"""Facility status, movements, parties, notifications, alerts, the outbox and facility risk.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facility_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("supplies", sa.JSON(), nullable=False),
        sa.Column("reporter", sa.String(length=120), nullable=False),
        sa.Column("reporter_user_id", sa.Integer(), nullable=True),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_facility_statuses_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["reporter_user_id"],
            ["users.id"],
            name=op.f("fk_facility_statuses_reporter_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility_statuses")),
    )
    with op.batch_alter_table("facility_statuses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_facility_statuses_facility_id_at", ["facility_id", "at"], unique=False
        )

    op.create_table(
        "movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("route_type", sa.String(length=12), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("vehicles", sa.JSON(), nullable=False),
        sa.Column("personnel_count", sa.Integer(), nullable=True),
        sa.Column("cargo", sa.Text(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=True),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_movements_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_movements")),
    )
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_movements_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_movements_starts_at_ends_at", ["starts_at", "ends_at"], unique=False
        )
    op.create_table(
        "parties",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("contact", sa.Text(), nullable=True),
        sa.Column("webhook_url", sa.String(length=500), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("escalation_email", sa.String(length=254), nullable=True),
        sa.Column("max_tlp", sa.String(length=14), nullable=False),
        sa.Column("alerts_enabled", sa.Boolean(), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_parties_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parties")),
        sa.UniqueConstraint("name", name=op.f("uq_parties_name")),
    )
    op.create_index(
        op.f("ix_parties_organisation_id"), "parties", ["organisation_id"], unique=False
    )
    op.create_table(
        "party_sites",
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_party_sites_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=op.f("fk_party_sites_party_id_parties")
        ),
        sa.PrimaryKeyConstraint("party_id", "facility_id", name=op.f("pk_party_sites")),
    )
    op.create_index(
        op.f("ix_party_sites_facility_id"), "party_sites", ["facility_id"], unique=False
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("series_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("party_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("movement_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sa.String(length=120), nullable=True),
        sa.Column("sent_leaf", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack_by", sa.String(length=200), nullable=True),
        sa.Column("ack_channel", sa.String(length=20), nullable=True),
        sa.Column("ack_leaf", sa.Integer(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("end_leaf", sa.Integer(), nullable=True),
        sa.Column("chase_count", sa.Integer(), nullable=False),
        sa.Column("last_chased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["movement_id"], ["movements.id"], name=op.f("fk_notifications_movement_id_movements")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_notifications_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=op.f("fk_notifications_party_id_parties")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["notifications.id"],
            name=op.f("fk_notifications_supersedes_id_notifications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
    )
    op.create_index(
        op.f("ix_notifications_expires_at"), "notifications", ["expires_at"], unique=False
    )
    op.create_index(
        op.f("ix_notifications_movement_id"), "notifications", ["movement_id"], unique=False
    )
    op.create_index(
        op.f("ix_notifications_organisation_id"), "notifications", ["organisation_id"], unique=False
    )
    op.create_index(op.f("ix_notifications_party_id"), "notifications", ["party_id"], unique=False)
    op.create_index(
        op.f("ix_notifications_series_id"), "notifications", ["series_id"], unique=False
    )
    op.create_index(op.f("ix_notifications_state"), "notifications", ["state"], unique=False)
    op.create_table(
        "notification_sites",
        sa.Column("notification_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_notification_sites_facility_id_facilities"),
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_sites_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint(
            "notification_id", "facility_id", name=op.f("pk_notification_sites")
        ),
    )
    op.create_index(
        op.f("ix_notification_sites_facility_id"),
        "notification_sites",
        ["facility_id"],
        unique=False,
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("subject", sa.String(length=40), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=True),
        sa.Column("movement_id", sa.Integer(), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("radius_m", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"], ["facilities.id"], name=op.f("fk_alerts_facility_id_facilities")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_alerts_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["movement_id"], ["movements.id"], name=op.f("fk_alerts_movement_id_movements")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(op.f("ix_alerts_created_at"), "alerts", ["created_at"], unique=False)
    op.create_index(op.f("ix_alerts_facility_id"), "alerts", ["facility_id"], unique=False)
    op.create_index(
        "ix_alerts_incident_id_subject", "alerts", ["incident_id", "subject"], unique=True
    )
    op.create_index(op.f("ix_alerts_movement_id"), "alerts", ["movement_id"], unique=False)
    op.create_table(
        "alert_checks",
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_alert_checks_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_alert_checks")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(length=120), nullable=False),
        sa.Column("recipient", sa.String(length=80), nullable=False),
        sa.Column("party_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("notification_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("gave_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_outbox_alert_id_alerts")
        ),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_outbox_notification_id_notifications"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"], ["parties.id"], name=op.f("fk_outbox_party_id_parties")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )
    op.create_index(op.f("ix_outbox_alert_id"), "outbox", ["alert_id"], unique=False)
    op.create_index(
        "ix_outbox_message_key_recipient_channel",
        "outbox",
        ["message_key", "recipient", "channel"],
        unique=True,
    )
    op.create_index(op.f("ix_outbox_notification_id"), "outbox", ["notification_id"], unique=False)
    op.create_index(op.f("ix_outbox_party_id"), "outbox", ["party_id"], unique=False)
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["delivered_at", "gave_up_at", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "facility_risk_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_exercise", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_facility_risk_alerts_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facility_risk_alerts")),
    )
    op.create_index(
        "ix_facility_risk_alerts_facility_id_month",
        "facility_risk_alerts",
        ["facility_id", "month"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("facility_risk_alerts")
    op.drop_index(op.f("ix_outbox_alert_id"), table_name="outbox")
    op.drop_index("ix_outbox_message_key_recipient_channel", table_name="outbox")
    op.drop_index(op.f("ix_outbox_notification_id"), table_name="outbox")
    op.drop_index(op.f("ix_outbox_party_id"), table_name="outbox")
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("alert_checks")
    op.drop_index(op.f("ix_alerts_created_at"), table_name="alerts")
    op.drop_index(op.f("ix_alerts_facility_id"), table_name="alerts")
    op.drop_index("ix_alerts_incident_id_subject", table_name="alerts")
    op.drop_index(op.f("ix_alerts_movement_id"), table_name="alerts")
    op.drop_table("alerts")
    op.drop_index(op.f("ix_notification_sites_facility_id"), table_name="notification_sites")
    op.drop_table("notification_sites")
    op.drop_index(op.f("ix_notifications_expires_at"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_movement_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_organisation_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_party_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_series_id"), table_name="notifications")
    op.drop_index(op.f("ix_notifications_state"), table_name="notifications")
    op.drop_table("notifications")
    op.drop_index(op.f("ix_party_sites_facility_id"), table_name="party_sites")
    op.drop_table("party_sites")
    op.drop_index(op.f("ix_parties_organisation_id"), table_name="parties")
    op.drop_table("parties")
    with op.batch_alter_table("evidence", schema=None) as batch_op:
        batch_op.drop_index("ix_evidence_incident_id_received_at")
        batch_op.drop_index(batch_op.f("ix_evidence_derived_from"))
        batch_op.drop_index(batch_op.f("ix_evidence_sha256"))
    op.drop_table("movements")
    with op.batch_alter_table("facility_statuses", schema=None) as batch_op:
        batch_op.drop_index("ix_facility_statuses_facility_id_at")

    op.drop_table("facility_statuses")
    with op.batch_alter_table("verification_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_notes_incident_id"))
