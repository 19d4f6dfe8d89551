"""Sources, facilities, incidents, reports, verification, merges, audit events and releases."""

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
from sqlalchemy.orm import Mapped, mapped_column, relationship

from haven.models.base import Base, utcnow

__all__ = [
    "AuditChainRow",
    "AuditEventRow",
    "CorrectionRow",
    "FacilityRow",
    "ImportRunRow",
    "IncidentAttackTypeRow",
    "IncidentRow",
    "MergeRow",
    "MergeSuggestionRow",
    "ReleaseItemRow",
    "ReleaseRow",
    "ReportRow",
    "SourceRow",
    "VerificationNoteRow",
]


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
