"""Party commitments, attributions (reported perpetrators), investigation and remedy cases."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from haven.models.base import Base, utcnow

__all__ = [
    "AttributionRow",
    "CaseEventRow",
    "CaseIncidentRow",
    "CaseRow",
    "PartyCommitmentRow",
]


class PartyCommitmentRow(Base):
    """A commitment a party made: a declaration, an agreement, deconfliction participation."""

    __tablename__ = "party_commitments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    """declaration, agreement, deconfliction_participation or other."""
    title: Mapped[str] = mapped_column(String(300))
    made_on: Mapped[date | None] = mapped_column(Date)
    source_url: Mapped[str | None] = mapped_column(String(500))
    reference: Mapped[str | None] = mapped_column(String(300))
    """Where it is published: a UN document symbol, a treaty reference, a press release."""
    text: Mapped[str] = mapped_column(Text, default="")
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttributionRow(Base):
    """A reported perpetrator of an incident: which party a source names, and on what basis."""

    __tablename__ = "attributions"
    __table_args__ = (
        Index("ix_attributions_incident_id_party_id", "incident_id", "party_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    party_id: Mapped[int] = mapped_column(ForeignKey("parties.id"), index=True)
    source: Mapped[str] = mapped_column(String(300))
    """Who reports the perpetrator: a report, a dataset, a named publication."""
    basis: Mapped[str] = mapped_column(Text)
    """What the attribution rests on (markings seen, claim of responsibility, …)."""
    certainty: Mapped[str] = mapped_column(String(12))
    """The source's own confidence; it is shown capped at the incident's certainty."""
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseRow(Base):
    """An investigation and remedy case about one incident or a group of incidents."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), index=True)
    """open or closed."""
    outcome: Mapped[str | None] = mapped_column(String(24))
    """Set when closed: remedy_provided, sanctions_imposed, no_violation_found, … ."""
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"), index=True)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_by: Mapped[str] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseIncidentRow(Base):
    """One incident a case is about."""

    __tablename__ = "case_incidents"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    incident_id: Mapped[str] = mapped_column(
        ForeignKey("incidents.id"), primary_key=True, index=True
    )


class CaseEventRow(Base):
    """One step of a case (referral, investigation, sanction, claim, support…), custody-logged."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_done_at_due_at", "done_at", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column()
    """When it happened (UTC), as the recorder states it."""
    status: Mapped[str | None] = mapped_column(String(24))
    authority: Mapped[str | None] = mapped_column(String(300))
    """The institution concerned (a ministry, a UN mechanism, a court): never a private person."""
    reference: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    beneficiary_ref: Mapped[str | None] = mapped_column(String(80))
    """A reference to the victim or family concerned (e.g. ``family-2``), never a name."""
    sensitive: Mapped[str | None] = mapped_column(Text)
    """Encrypted envelope (``haven.privacy``, bound to ``case_event:<id>``) of personal details."""
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    """Facts of the kind: the incidents opened or added, the outcome of a closing."""
    due_at: Mapped[datetime | None] = mapped_column()
    """A deadline or follow-up date; ``haven cases due`` lists those not done."""
    done_at: Mapped[datetime | None] = mapped_column()
    resolves_event_id: Mapped[int | None] = mapped_column(ForeignKey("case_events.id"))
    """The earlier event whose deadline this one meets."""
    content_sha256: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the event's canonical record (what its custody leaf covers)."""
    custody_leaf: Mapped[int] = mapped_column(Integer)
    recorded_by: Mapped[str] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
