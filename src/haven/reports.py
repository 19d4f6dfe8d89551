"""Reports: one account of an attack from one source, stored exactly once per client UUID."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from haven import audit, incidents, linkage, policy, privacy, verification
from haven.accounts import Actor, Permission, require
from haven.certainty import ReportGrade
from haven.db import TRANSACTION_CACHE
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facts import EventFacts, LongText, ShortText, no_nul
from haven.models import FacilityRow, IncidentRow, ReportRow, SourceRow, utcnow
from haven.privacy import read_sensitive
from haven.taxonomy import (
    CasualtyGroup,
    CasualtyOutcome,
    Credibility,
    EvidenceKind,
    Reliability,
    Sensitivity,
    SourceType,
    Tlp,
)

__all__ = ["Report", "ReportIn", "ReportReceipt", "SourceIn", "SourceKind", "get", "submit"]


class SourceKind(StrEnum):
    """How an account reached Haven."""

    FORM = "form"
    SMS = "sms"
    API = "api"
    DATASET = "dataset"
    PARTNER = "partner"
    MEDIA = "media"
    SOCIAL_MEDIA = "social_media"
    OTHER = "other"


class SourceIn(BaseModel):
    """Where the account comes from."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, AfterValidator(no_nul)] = Field(
        min_length=1, max_length=200, description="e.g. 'Partner field form'."
    )
    kind: SourceKind
    url: Annotated[str, AfterValidator(no_nul)] | None = Field(default=None, max_length=500)


class ReporterIn(BaseModel):
    """Who gave the account (encrypted at rest; never published)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: ShortText | None = None
    contact: ShortText | None = Field(default=None, description="Phone, e-mail or handle.")
    organisation: ShortText | None = None


class VictimIn(BaseModel):
    """A person harmed (encrypted at rest; never published)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: ShortText | None = None
    group: CasualtyGroup | None = None
    outcome: CasualtyOutcome | None = None
    details: LongText = ""


class ReportSensitive(BaseModel):
    """The encrypted part of a report, shown only with READ_SENSITIVE and a stated purpose."""

    narrative: str
    reporter: ReporterIn | None
    victims: list[VictimIn]
    original: dict[str, Any] | None


SENSITIVE_REPORT_FIELDS = frozenset({"narrative", "reporter", "victims", "original"})
"""Fields of ``ReportIn`` that are stored only encrypted."""


class ReportIn(EventFacts):
    """A report as a client submits it. ``id`` is made by the client: resending is harmless."""

    id: uuid.UUID = Field(description="Client-made UUID; the same UUID twice stores one report.")
    source: SourceIn
    incident_id: uuid.UUID | None = Field(
        default=None, description="An existing incident this account describes, if known."
    )
    sensitivity: Sensitivity = Sensitivity.HIGH
    tlp: Tlp = Tlp.AMBER
    exercise: StrictBool = Field(
        default=False, description="True for exercise (training) data; never mixed with real data."
    )
    reporter: ReporterIn | None = Field(default=None, description="Encrypted at rest.")
    victims: list[VictimIn] = Field(
        default_factory=list, max_length=500, description="Encrypted at rest."
    )
    original: dict[str, Any] | None = Field(
        default=None, description="The source's original record (e.g. an imported row)."
    )
    source_type: SourceType | None = Field(
        default=None, description="How close the source stands to the event (WHO SSA)."
    )
    reliability: Reliability | None = Field(
        default=None, description="Admiralty source reliability, A (reliable) to F."
    )
    credibility: Credibility | None = Field(
        default=None, description="Admiralty information credibility, 1 (confirmed) to 6."
    )
    evidence_kinds: list[EvidenceKind] = Field(
        default_factory=list, max_length=5, description="Evidence that comes with the account."
    )

    @field_validator("evidence_kinds")
    @classmethod
    def _evidence_once(cls, value: list[EvidenceKind]) -> list[EvidenceKind]:
        return list(dict.fromkeys(value))

    @field_validator("original")
    @classmethod
    def _original_is_storable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            text = orjson.dumps(value).decode()
        except TypeError as exc:  # e.g. integers beyond 64 bits
            raise ValueError(f"cannot be stored as JSON: {exc}") from exc
        if "\\u0000" in text:
            raise ValueError("contains a NUL character")
        return value

    def facts(self) -> EventFacts:
        """The account's facts without the envelope."""
        return EventFacts.model_validate(self.model_dump(include=set(EventFacts.model_fields)))

    def grade(self) -> ReportGrade:
        """The report's grade as the certainty rules read it."""
        return ReportGrade(
            source=self.source.name,
            source_type=self.source_type,
            reliability=self.reliability,
            credibility=self.credibility,
            evidence=frozenset(self.evidence_kinds),
            claimed=self.certainty,
            claim_trusted=verification.claim_is_trusted(self.source.kind.value),
        )

    def content_sha256(self) -> str:
        """SHA-256 of the canonical JSON of the whole report (detects a reused UUID)."""
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


class ReportReceipt(BaseModel):
    """What the client gets back: the report, the incident it joined, and whether it is new."""

    report_id: str
    incident_id: str
    created: bool = Field(description="False when this UUID was already stored (a resend).")
    exercise: bool


class Report(BaseModel):
    """A stored report (stored schema; not for public release)."""

    id: str
    incident_id: str
    source: str
    source_kind: SourceKind
    received_at: datetime
    facts: dict[str, Any]
    sensitive: ReportSensitive | None = Field(
        description="Only when asked for with a purpose by a role that may read it (audited)."
    )
    sensitivity: Sensitivity
    tlp: Tlp
    exercise: bool
    source_type: SourceType | None = None
    reliability: Reliability | None = None
    credibility: Credibility | None = None
    evidence_kinds: list[EvidenceKind] = Field(default_factory=list)


def _source_id(session: Session, source: SourceIn, *, organisation_id: int | None) -> int:
    # Cached for the rest of this transaction only (dropped if a savepoint rolls back).
    cache: dict[str, int] = session.info.setdefault(TRANSACTION_CACHE, {})
    key = f"source:{source.name}"
    if key in cache:
        return cache[key]
    found = session.scalar(select(SourceRow.id).where(SourceRow.name == source.name))
    if found is not None:
        cache[key] = found
        return found
    row = SourceRow(
        name=source.name, kind=source.kind.value, organisation_id=organisation_id, url=source.url
    )
    session.add(row)
    session.flush()
    return row.id


def _check_facility(session: Session, report: ReportIn) -> None:
    if report.facility_id is None:
        return
    exercise = session.scalar(
        select(FacilityRow.is_exercise).where(FacilityRow.id == report.facility_id)
    )
    if exercise is None:
        raise InvalidInput("unknown facility", fields={"facility_id": "no such facility"})
    if exercise and not report.exercise:
        raise InvalidInput(
            "a real report cannot name an exercise facility",
            fields={"facility_id": "is an exercise facility"},
        )


def _attach(session: Session, report: ReportIn, *, actor: Actor) -> str:
    """Add the report to the incident it names, keeping exercise and real data apart."""
    incident_id = str(report.incident_id)
    row = session.scalar(
        select(IncidentRow).where(
            IncidentRow.id == incident_id, policy.visible_incidents(session, actor)
        )
    )
    if row is None:
        raise NotFound(f"no incident {incident_id}", fields={"incident_id": "unknown"})
    if row.is_exercise != report.exercise:
        raise InvalidInput(
            "exercise and real records never mix",
            fields={"incident_id": "exercise flag differs from the report's"},
        )
    grades = [*verification.grades_of(session, incident_id), report.grade()]
    verification.refresh_certainty(session, row, actor=actor, grades=grades)
    row.report_count += 1
    row.updated_at = utcnow()
    audit.record(
        session,
        actor,
        action="incident.add_report",
        entity_type="incident",
        entity_id=incident_id,
        detail={"report_id": str(report.id), "certainty": row.certainty},
    )
    return incident_id


def submit(session: Session, report: ReportIn, *, actor: Actor) -> ReportReceipt:
    """Store a report and open (or join) its incident; resending the same report is a no-op.

    The same ``id`` with different content is refused with ``Conflict``: a client
    must make a new UUID for a new account.
    """
    require(actor, Permission.SUBMIT_REPORT)
    report_id = str(report.id)
    digest = report.content_sha256()
    stored = session.execute(
        select(ReportRow.payload_sha256, ReportRow.incident_id, ReportRow.is_exercise).where(
            ReportRow.id == report_id
        )
    ).first()
    if stored is not None:
        if stored.payload_sha256 != digest:
            raise Conflict(
                f"report {report_id} is already stored with other content",
                fields={"id": "reused for a different report; make a new UUID"},
            )
        return ReportReceipt(
            report_id=report_id,
            incident_id=stored.incident_id,
            created=False,
            exercise=stored.is_exercise,
        )
    _check_facility(session, report)
    facts = report.facts()
    if report.incident_id is not None:
        incident_id = _attach(session, report, actor=actor)
    else:
        incident_id = incidents.open_from_facts(
            session,
            facts,
            organisation_id=actor.organisation_id,
            sensitivity=report.sensitivity,
            tlp=report.tlp,
            exercise=report.exercise,
            actor=actor,
            certainty=verification.derive([report.grade()]),
        )
        if facts.location is not None:
            linkage.link_new_incident(
                session,
                incident_id,
                point=facts.location.lonlat(),
                precision=facts.geo_precision,
                exercise=report.exercise,
                named_facility_id=facts.facility_id,
            )
    row: dict[str, Any] = {
        "id": report_id,
        "incident_id": incident_id,
        "source_id": _source_id(session, report.source, organisation_id=actor.organisation_id),
        "organisation_id": actor.organisation_id,
        "submitted_by": actor.user_id,
        "occurred_at": report.occurred_at,
        "country": report.country,
        "payload_sha256": digest,
        "facts": facts.model_dump(mode="json", exclude={"narrative"}),
        "sensitive": privacy.encrypt(
            session,
            report.model_dump(mode="json", include=set(SENSITIVE_REPORT_FIELDS)),
            organisation_id=actor.organisation_id,
            bound_to=f"report:{report_id}",
        ),
        "claimed_certainty": report.certainty.value if report.certainty else None,
        "sensitivity": report.sensitivity.value,
        "tlp": report.tlp.value,
        "is_exercise": report.exercise,
        "source_type": report.source_type.value if report.source_type else None,
        "reliability": report.reliability.value if report.reliability else None,
        "credibility": int(report.credibility) if report.credibility else None,
        "evidence_kinds": [e.value for e in report.evidence_kinds],
    }
    session.execute(insert(ReportRow), [row])  # ORM bulk INSERT: the hot path of ingestion
    audit.record(
        session,
        actor,
        action="report.create",
        entity_type="report",
        entity_id=report_id,
        detail={"incident_id": incident_id, "source": report.source.name},
    )
    return ReportReceipt(
        report_id=report_id, incident_id=incident_id, created=True, exercise=report.exercise
    )


def get(session: Session, report_id: str, *, actor: Actor, purpose: str | None = None) -> Report:
    """One stored report; with a ``purpose``, its encrypted part too (the read is audited)."""
    require(actor, Permission.READ_INCIDENTS)
    found = session.execute(
        select(ReportRow, SourceRow.name, SourceRow.kind)
        .join(SourceRow, SourceRow.id == ReportRow.source_id)
        .where(ReportRow.id == report_id, policy.visible_reports(session, actor))
    ).first()
    if found is None:
        raise NotFound(f"no report {report_id}", fields={"report_id": "unknown"})
    row, source_name, source_kind = found
    sensitive = None
    if purpose is not None:
        sensitive = ReportSensitive.model_validate(
            read_sensitive(
                session,
                row.sensitive,
                bound_to=f"report:{row.id}",
                actor=actor,
                purpose=purpose,
            )
        )
    return Report(
        id=row.id,
        incident_id=row.incident_id,
        source=source_name,
        source_kind=SourceKind(source_kind),
        received_at=row.received_at,
        facts=row.facts,
        sensitive=sensitive,
        sensitivity=Sensitivity(row.sensitivity),
        tlp=Tlp(row.tlp),
        exercise=row.is_exercise,
        source_type=SourceType(row.source_type) if row.source_type else None,
        reliability=Reliability(row.reliability) if row.reliability else None,
        credibility=Credibility(row.credibility) if row.credibility else None,
        evidence_kinds=[EvidenceKind(e) for e in row.evidence_kinds or ()],
    )
