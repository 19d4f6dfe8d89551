"""Facility status, movements, parties, notifications, alerts and their outbox, facility risk."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from haven.models.base import Base, utcnow

__all__ = [
    "AlertCheckRow",
    "AlertRow",
    "FacilityRiskAlertRow",
    "FacilityStatusRow",
    "MovementRow",
    "NotificationRow",
    "NotificationSiteRow",
    "OutboxRow",
    "PartyRow",
    "PartySiteRow",
]


class FacilityStatusRow(Base):
    """One status report of a facility: functioning, why, and its supplies at that time."""

    __tablename__ = "facility_statuses"
    __table_args__ = (Index("ix_facility_statuses_facility_id_at", "facility_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(24))
    """operational, partially_functioning or not_functioning."""
    reason: Mapped[str] = mapped_column(Text, default="")
    supplies: Mapped[list[Any]] = mapped_column(default=list)
    """Each supply: {"kind", "name", "quantity", "unit", "daily_consumption"}."""
    reporter: Mapped[str] = mapped_column(String(120))
    reporter_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    """A simulated status (demo, training): shown labelled EXERCISE, never as the real one."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MovementRow(Base):
    """An ambulance run, medical evacuation or convoy: its route, time window and vehicles."""

    __tablename__ = "movements"
    __table_args__ = (Index("ix_movements_starts_at_ends_at", "starts_at", "ends_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)
    route: Mapped[list[Any]] = mapped_column()
    """``[[lon, lat], …]``, at least two points (GeoJSON order)."""
    route_type: Mapped[str] = mapped_column(String(12))
    """linestring (the path followed) or waypoints (places passed, joined by straight lines)."""
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    vehicles: Mapped[list[Any]] = mapped_column(default=list)
    """Each vehicle: {"description", "markings", "registration"}."""
    personnel_count: Mapped[int | None] = mapped_column(Integer)
    cargo: Mapped[str] = mapped_column(Text, default="")
    organisation: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartyRow(Base):
    """A party that receives deconfliction notifications and alerts, and the sites it receives."""

    __tablename__ = "parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    """The organisation that manages this party's notifications (``None``: the operator)."""
    contact: Mapped[str | None] = mapped_column(Text)
    """Encrypted envelope of the focal point (name, phone, notes) and the webhook secret."""
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    escalation_email: Mapped[str | None] = mapped_column(String(254))
    max_tlp: Mapped[str] = mapped_column(String(14), default="green")
    """The strictest sharing label whose details alerts may show this party."""
    alerts_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    party_type: Mapped[str] = mapped_column(String(24), default="other", server_default="other")
    """state_forces, non_state_armed_group or other (``haven.commitments.PartyType``)."""


class PartySiteRow(Base):
    """One facility a party should receive notifications and alerts about."""

    __tablename__ = "party_sites"

    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id"), primary_key=True, index=True
    )


class NotificationRow(Base):
    """The exact content sent to one party about static sites or a movement, and its fate."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    series_id: Mapped[int | None] = mapped_column(Integer, index=True)
    """The id of the first version; every update of it shares this."""
    version: Mapped[int] = mapped_column(Integer, default=1)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    """``sites`` (static sites) or ``movement``."""
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("movements.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), index=True)
    """draft, sent, acknowledged, expired, withdrawn or superseded."""
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    valid_from: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    content: Mapped[dict[str, Any]] = mapped_column()
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(120))
    sent_at: Mapped[datetime | None] = mapped_column()
    sent_by: Mapped[str | None] = mapped_column(String(120))
    sent_leaf: Mapped[int | None] = mapped_column(Integer)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    ack_by: Mapped[str | None] = mapped_column(String(200))
    ack_channel: Mapped[str | None] = mapped_column(String(20))
    ack_leaf: Mapped[int | None] = mapped_column(Integer)
    ended_at: Mapped[datetime | None] = mapped_column()
    """When it stopped being live: withdrawn, superseded by a new version, or expired."""
    end_reason: Mapped[str | None] = mapped_column(Text)
    end_leaf: Mapped[int | None] = mapped_column(Integer)
    chase_count: Mapped[int] = mapped_column(Integer, default=0)
    last_chased_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column()


class NotificationSiteRow(Base):
    """One facility named in a notification (for "which parties were told of site S")."""

    __tablename__ = "notification_sites"

    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    facility_id: Mapped[int] = mapped_column(
        ForeignKey("facilities.id"), primary_key=True, index=True
    )


class AlertRow(Base):
    """A new incident close to a facility or an active movement's route."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_incident_id_subject", "incident_id", "subject", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    subject: Mapped[str] = mapped_column(String(40))
    """``facility:<id>`` or ``movement:<id>``: what the incident came close to."""
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    movement_id: Mapped[int | None] = mapped_column(ForeignKey("movements.id"), index=True)
    distance_m: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)


class AlertCheckRow(Base):
    """An incident already looked at for alerts (each is looked at once)."""

    __tablename__ = "alert_checks"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    alerts: Mapped[int] = mapped_column(Integer, default=0)


class OutboxRow(Base):
    """One message to one recipient over one channel, kept until delivered (once per key)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_message_key_recipient_channel",
            "message_key",
            "recipient",
            "channel",
            unique=True,
        ),
        Index("ix_outbox_pending", "delivered_at", "gave_up_at", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(120))
    """What the message is, e.g. ``alert:17`` or ``notification:4:chase:2``."""
    recipient: Mapped[str] = mapped_column(String(80))
    """Who: ``party:<id>``, or ``facility:<id>:focal:<n>`` (a facility's focal point)."""
    party_id: Mapped[int | None] = mapped_column(ForeignKey("parties.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))
    """``webhook`` or ``email``."""
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"), index=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notifications.id"), index=True)
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    gave_up_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)


class FacilityRiskAlertRow(Base):
    """A facility whose risk score reached the alert threshold in one month (raised once)."""

    __tablename__ = "facility_risk_alerts"
    __table_args__ = (
        Index("ix_facility_risk_alerts_facility_id_month", "facility_id", "month", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    month: Mapped[str] = mapped_column(String(7))
    """The month forecast, ``YYYY-MM``."""
    score: Mapped[float] = mapped_column(Float)
    parts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Each part's value, weight and contribution (see ``haven.facility_risk``)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
