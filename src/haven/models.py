"""The stored schema: SQLAlchemy tables shared by SQLite and PostgreSQL (migrations mirror it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

__all__ = [
    "ApiTokenRow",
    "AuditEventRow",
    "Base",
    "FacilityRow",
    "IncidentAttackTypeRow",
    "IncidentRow",
    "OrganisationRow",
    "ReportRow",
    "SourceRow",
    "UTCDateTime",
    "UserRow",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC and always read back timezone-aware.

    SQLite has no time zones; PostgreSQL keeps ``timestamptz``. Naive values
    are refused so that no local time slips in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with Haven's constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class OrganisationRow(Base):
    """An organisation whose members report, verify or analyse."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    country: Mapped[str | None] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserRow(Base):
    """A person who signs in; one role, one organisation."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    """An API token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class SourceRow(Base):
    """Where accounts come from: a partner's form, an SMS gateway, a published dataset."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FacilityRow(Base):
    """A place of care (hospital, clinic, …) known to Haven, with where it is."""

    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(400), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_local: Mapped[str | None] = mapped_column(String(300))
    facility_type: Mapped[str | None] = mapped_column(String(80))
    classification: Mapped[str | None] = mapped_column(String(120))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    geo_precision: Mapped[int] = mapped_column(Integer)
    h3_r4: Mapped[str | None] = mapped_column(String(16), index=True)
    h3_r6: Mapped[str | None] = mapped_column(String(16), index=True)
    h3_r8: Mapped[str | None] = mapped_column(String(16), index=True)
    country: Mapped[str] = mapped_column(String(3), index=True)
    admin1: Mapped[str | None] = mapped_column(String(200))
    beds: Mapped[int | None] = mapped_column(Integer)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id"))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IncidentRow(Base):
    """A consolidated event (the WHO SSA "attack report") described by one or more reports."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_occurred_at_id", "occurred_at", "id"),
        Index("ix_incidents_lat_lon", "lat", "lon"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    occurred_at: Mapped[datetime] = mapped_column()
    date_precision: Mapped[str] = mapped_column(String(10))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[int | None] = mapped_column(Integer)
    h3_r4: Mapped[str | None] = mapped_column(String(16), index=True)
    h3_r6: Mapped[str | None] = mapped_column(String(16), index=True)
    h3_r8: Mapped[str | None] = mapped_column(String(16), index=True)
    country: Mapped[str] = mapped_column(String(3), index=True)
    admin1: Mapped[str | None] = mapped_column(String(200))
    admin2: Mapped[str | None] = mapped_column(String(200))
    location_name: Mapped[str | None] = mapped_column(String(300))
    resources: Mapped[list[Any]] = mapped_column(default=list)
    facility_type: Mapped[str | None] = mapped_column(String(80))
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facilities.id"), index=True)
    casualties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    killed_total: Mapped[int] = mapped_column(Integer, default=0)
    injured_total: Mapped[int] = mapped_column(Integer, default=0)
    perpetrator_category: Mapped[str | None] = mapped_column(String(80), index=True)
    perpetrator_name: Mapped[str | None] = mapped_column(String(300))
    weapons: Mapped[list[Any]] = mapped_column(default=list)
    narrative: Mapped[str] = mapped_column(Text, default="")
    context_flags: Mapped[list[Any]] = mapped_column(default=list)
    warning_given: Mapped[bool | None] = mapped_column(Boolean)
    emblem_displayed: Mapped[bool | None] = mapped_column(Boolean)
    military_use_alleged: Mapped[bool | None] = mapped_column(Boolean)
    conduct: Mapped[list[Any]] = mapped_column(default=list)
    certainty: Mapped[str] = mapped_column(String(12), index=True)
    sensitivity: Mapped[str] = mapped_column(String(10))
    tlp: Mapped[str] = mapped_column(String(14))
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    report_count: Mapped[int] = mapped_column(Integer, default=1)
    attack_type_rows: Mapped[list[IncidentAttackTypeRow]] = relationship(
        cascade="all, delete-orphan", lazy="raise"
    )


class IncidentAttackTypeRow(Base):
    """One WHO SSA attack type of an incident (an incident may have several)."""

    __tablename__ = "incident_attack_types"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    attack_type: Mapped[str] = mapped_column(String(120), primary_key=True, index=True)


class ReportRow(Base):
    """One account from one source; its id is the client's UUID, which makes posting idempotent."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    occurred_at: Mapped[datetime] = mapped_column()
    country: Mapped[str] = mapped_column(String(3))
    payload_sha256: Mapped[str] = mapped_column(String(64))
    facts: Mapped[dict[str, Any]] = mapped_column()
    original: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    claimed_certainty: Mapped[str | None] = mapped_column(String(12))
    sensitivity: Mapped[str] = mapped_column(String(10))
    tlp: Mapped[str] = mapped_column(String(14))
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEventRow(Base):
    """One change (or sensitive read) to any record: who, when, what."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
