"""The stored schema: SQLAlchemy tables shared by SQLite and PostgreSQL (migrations mirror it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
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
    "AlertCheckRow",
    "AlertRow",
    "ApiTokenRow",
    "AuditChainRow",
    "AuditEventRow",
    "Base",
    "CorrectionRow",
    "DataKeyRow",
    "EvidenceRow",
    "FacilityRow",
    "FacilityStatusRow",
    "ImportRunRow",
    "IncidentAttackTypeRow",
    "IncidentRow",
    "LoginAttemptRow",
    "MergeRow",
    "MergeSuggestionRow",
    "MovementRow",
    "NotificationRow",
    "NotificationSiteRow",
    "OrganisationRow",
    "OutboxRow",
    "PartyRow",
    "PartySiteRow",
    "ReleaseItemRow",
    "ReleaseRow",
    "ReportRow",
    "ShareRuleRow",
    "SourceRow",
    "UTCDateTime",
    "UserRow",
    "VerificationNoteRow",
    "WebSessionRow",
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
    countries: Mapped[list[Any]] = mapped_column(default=list)
    """Need-to-know: ISO3 codes this user may see; empty means every country."""
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()


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
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    """Permissions this token is limited to; empty means everything its user's role allows."""
    expires_at: Mapped[datetime | None] = mapped_column()


class LoginAttemptRow(Base):
    """One password login attempt, for throttling by address and lockout by account."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_address_at", "address", "at"),
        Index("ix_login_attempts_username_at", "username", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(80))
    address: Mapped[str] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)


class WebSessionRow(Base):
    """A browser session; the cookie value is never stored, only its SHA-256."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class ShareRuleRow(Base):
    """What one organisation shares with another (or with all): up to a TLP and sensitivity."""

    __tablename__ = "share_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    to_organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id"), index=True
    )
    max_tlp: Mapped[str] = mapped_column(String(14))
    max_sensitivity: Mapped[str] = mapped_column(String(10))
    countries: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DataKeyRow(Base):
    """An organisation's data key, wrapped (encrypted) by a master key kept outside the database."""

    __tablename__ = "data_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    wrapped_key: Mapped[str] = mapped_column(String(200))
    master_key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column()


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
    is_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    """A sensitive site keeps only coarse lon/lat in clear; the exact point is in ``sensitive``."""
    sensitive: Mapped[str | None] = mapped_column(Text)
    """Encrypted envelope: focal points (name, phone, e-mail) and a sensitive site's exact point."""
    kind: Mapped[str] = mapped_column(String(20), default="other", index=True)
    """hospital, clinic, first_aid_post, … (``haven.facilities.FacilityKind``)."""
    operator: Mapped[str | None] = mapped_column(String(200))
    services: Mapped[list[Any]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    """Changes with every edit: the linkage index is rebuilt when the newest one changes."""


class IncidentRow(Base):
    """A consolidated event (the WHO SSA "attack report") described by one or more reports."""

    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_occurred_at_id", "occurred_at", "id"),
        Index("ix_incidents_lat_lon", "lat", "lon"),
        Index("ix_incidents_country_occurred_at", "country", "occurred_at"),
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
    facility_distance_m: Mapped[float | None] = mapped_column(Float)
    """Metres from the incident's point to ``facility_id`` (set by ``haven.linkage``)."""
    casualties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    killed_total: Mapped[int] = mapped_column(Integer, default=0)
    injured_total: Mapped[int] = mapped_column(Integer, default=0)
    perpetrator_category: Mapped[str | None] = mapped_column(String(80), index=True)
    perpetrator_name: Mapped[str | None] = mapped_column(String(300))
    weapons: Mapped[list[Any]] = mapped_column(default=list)
    sensitive: Mapped[str | None] = mapped_column(Text)
    """Encrypted envelope of the narrative (see privacy.py)."""
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
    state: Mapped[str] = mapped_column(String(12), default="received", index=True)
    """Verification state: received, in_review, verified, rejected, published, withdrawn."""
    certainty_reason: Mapped[str] = mapped_column(Text, default="")
    """Why the incident has its certainty (the WHO SSA rule that applied, or the override)."""
    certainty_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    merged_into: Mapped[str | None] = mapped_column(String(36), index=True)
    """Set when this incident was merged into another; its reports moved there."""
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
    """The account's non-sensitive facts."""
    sensitive: Mapped[str | None] = mapped_column(Text)
    """Encrypted envelope of narrative, reporter identity and contact, victims, original row."""
    claimed_certainty: Mapped[str | None] = mapped_column(String(12))
    sensitivity: Mapped[str] = mapped_column(String(10))
    tlp: Mapped[str] = mapped_column(String(14))
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    source_type: Mapped[str | None] = mapped_column(String(24))
    """eyewitness, partner_self_report, secondary, media, social_media or anonymous."""
    reliability: Mapped[str | None] = mapped_column(String(1))
    """Admiralty source reliability, A (reliable) to F (cannot be judged)."""
    credibility: Mapped[int | None] = mapped_column(Integer)
    """Admiralty information credibility, 1 (confirmed) to 6 (cannot be judged)."""
    evidence_kinds: Mapped[list[Any]] = mapped_column(default=list)
    """Kinds of evidence that came with the account: photo, video, audio, satellite, document."""
    import_run_id: Mapped[int | None] = mapped_column(ForeignKey("import_runs.id"), index=True)
    row_number: Mapped[int | None] = mapped_column(Integer)
    """The row of the imported file this report came from (1 = first data row)."""


class ImportRunRow(Base):
    """One import of a file: what it was, who ran it, and what came of each row."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    format: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    rejects: Mapped[list[Any]] = mapped_column(default=list)
    """Each rejected row: {"row": n, "column": name, "reason": text}."""


class VerificationNoteRow(Base):
    """One step of an incident's verification history: a comment, a state change, an override."""

    __tablename__ = "verification_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(12))
    to_state: Mapped[str | None] = mapped_column(String(12))
    text: Mapped[str] = mapped_column(Text, default="")


class CorrectionRow(Base):
    """A public correction: one change to a published incident, with its reason."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    field: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)


class MergeRow(Base):
    """Two incidents found to be one event: the reports moved and how to undo it."""

    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kept_incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    merged_incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[float | None] = mapped_column(Float)
    moved_report_ids: Mapped[list[Any]] = mapped_column(default=list)
    undone_at: Mapped[datetime | None] = mapped_column()
    undone_by: Mapped[str | None] = mapped_column(String(120))


class MergeSuggestionRow(Base):
    """A possible duplicate in the grey zone, waiting for a verifier."""

    __tablename__ = "merge_suggestions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    score: Mapped[float] = mapped_column(Float)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column()


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
    purpose: Mapped[str | None] = mapped_column(String(300))
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class AuditChainRow(Base):
    """The head of the audit hash chain; its row lock orders audit writers on PostgreSQL."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class ReleaseRow(Base):
    """A versioned public release: its policy, who made and approved it, and its state."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    title: Mapped[str] = mapped_column(String(200))
    policy: Mapped[dict[str, Any]] = mapped_column()
    status: Mapped[str] = mapped_column(String(12), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None] = mapped_column()
    published_at: Mapped[datetime | None] = mapped_column()
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    withdraw_reason: Mapped[str | None] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    content_sha256: Mapped[str | None] = mapped_column(String(64))
    epsilon: Mapped[float | None] = mapped_column(Float)


class ReleaseItemRow(Base):
    """One published record (a coarsened incident or an aggregate cell) of a release."""

    __tablename__ = "release_items"

    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column()


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


class EvidenceRow(Base):
    """One evidence file (an original or a derived copy): its SHA-256, capture metadata, lineage.

    The bytes live in the content-addressed store (``haven.evidence.blob_path``);
    precise EXIF GPS, camera and device notes are in the ``sensitive`` envelope.
    """

    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_incident_id_received_at", "incident_id", "received_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(127))
    filename: Mapped[str] = mapped_column(String(255))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    report_id: Mapped[str | None] = mapped_column(ForeignKey("reports.id"))
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploader: Mapped[str] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    captured_at: Mapped[datetime | None] = mapped_column()
    exif_taken_at: Mapped[str | None] = mapped_column(String(40))
    """EXIF DateTimeOriginal as ISO 8601; without an offset it is the camera's local time."""
    has_exif_gps: Mapped[bool] = mapped_column(Boolean, default=False)
    source_url: Mapped[str | None] = mapped_column(String(2000))
    sensitive: Mapped[str | None] = mapped_column(Text)
    """Encrypted envelope: EXIF GPS (lon/lat), camera make/model/serial, device notes."""
    derived_from: Mapped[str | None] = mapped_column(ForeignKey("evidence.id"), index=True)
    derivation: Mapped[str | None] = mapped_column(String(20))
    derivation_params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)


class CustodyLeafRow(Base):
    """One custody act: a leaf of the append-only RFC 9162 Merkle tree (see custody.py)."""

    __tablename__ = "custody_leaves"
    __table_args__ = (Index("ix_custody_leaves_entity", "entity_type", "entity_id", "idx"),)

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    """0-based position in the tree."""
    at: Mapped[datetime] = mapped_column()
    act: Mapped[str] = mapped_column(String(40), index=True)
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(100))
    content_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    entry: Mapped[str] = mapped_column(Text)
    """The exact canonical JSON the leaf hash covers."""
    leaf_hash: Mapped[str] = mapped_column(String(64))


class CustodyNodeRow(Base):
    """The hash of one perfect subtree (level >= 1) of the custody tree."""

    __tablename__ = "custody_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class CustodyStateRow(Base):
    """The custody tree's size and right edge (one row, locked by every append)."""

    __tablename__ = "custody_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger)
    frontier: Mapped[list[Any]] = mapped_column()


class CustodyTreeHeadRow(Base):
    """A signed tree head: the root of the first ``tree_size`` leaves, signed by the instance."""

    __tablename__ = "custody_tree_heads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    log_id: Mapped[str] = mapped_column(String(80))
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    """Milliseconds since 1970-01-01 UTC, as signed."""
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(100))


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
