"""Case event kinds and their statuses, the inputs, and the canonical record custody covers.

``EVENT_STATUSES`` says which statuses each kind of event takes; ``REMEDY_STATUSES``
and ``INVESTIGATION_KINDS`` define what counts as a remedy obtained and an
investigation opened (``haven.cases.case_coverage``). ``event_record`` is the
exact record whose SHA-256 an event's custody leaf carries: it holds no personal
data (those are encrypted apart, see ``haven.cases``). ``CaseAmendIn`` and
``IncidentsRemovalIn`` are corrections of a case, each with a written reason; the
``case_amended`` and ``incident_removed`` events they record keep what was there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from haven import custody
from haven.facts import IsoDateTime, RowId, no_nul
from haven.models import CaseEventRow

__all__ = [
    "EVENT_STATUSES",
    "INVESTIGATION_KINDS",
    "REFERRAL_KINDS",
    "REMEDY_KINDS",
    "REMEDY_STATUSES",
    "SYSTEM_KINDS",
    "CaseAmendIn",
    "CaseEventIn",
    "CaseEventKind",
    "CaseOutcome",
    "CaseStatus",
    "IncidentIds",
    "IncidentsRemovalIn",
    "Reason",
    "Summary",
    "Title",
    "as_utc",
    "event_record",
    "iso",
    "record_bytes",
]

Text = Annotated[str, AfterValidator(no_nul)]
Title = Annotated[
    str,
    Field(min_length=3, max_length=200, description="No names of victims."),
    AfterValidator(no_nul),
]
"""A case's title, as ``CaseIn`` and ``CaseAmendIn`` take it."""
Summary = Annotated[str, Field(max_length=5000), AfterValidator(no_nul)]
"""A case's summary: what it is about, no personal data."""
Reason = Annotated[
    str,
    Field(min_length=3, max_length=500, description="Why the case is corrected (kept)."),
    AfterValidator(no_nul),
]
"""The written reason for a correction, 3 to 500 characters."""
IncidentIds = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=64)]], Field(min_length=1, max_length=500)
]
"""The incidents a case names: 1 to 500 ids."""


class CaseStatus(StrEnum):
    """Whether a case is still being followed."""

    OPEN = "open"
    CLOSED = "closed"


class CaseOutcome(StrEnum):
    """How a closed case ended."""

    REMEDY_PROVIDED = "remedy_provided"
    SANCTIONS_IMPOSED = "sanctions_imposed"
    NO_VIOLATION_FOUND = "no_violation_found"
    INCONCLUSIVE = "inconclusive"
    NOT_PURSUED = "not_pursued"


class CaseEventKind(StrEnum):
    """What happened in a case."""

    REFERRAL_NATIONAL = "referral_national_authority"
    REFERRAL_UN = "referral_un_mechanism"
    REFERRAL_COURT = "referral_court"
    INVESTIGATION_OPENED = "investigation_opened"
    INVESTIGATION_UPDATE = "investigation_update"
    INVESTIGATION_OUTCOME = "investigation_outcome"
    SANCTION = "sanction"
    REPARATION_CLAIM = "reparation_claim"
    COMPENSATION_CLAIM = "compensation_claim"
    SUPPORT_PSYCHOSOCIAL = "support_psychosocial"
    SUPPORT_MATERIAL = "support_material"
    NOTE = "note"
    CASE_OPENED = "case_opened"
    CASE_CLOSED = "case_closed"
    CASE_REOPENED = "case_reopened"
    INCIDENT_ADDED = "incident_added"
    CASE_AMENDED = "case_amended"
    INCIDENT_REMOVED = "incident_removed"


_K = CaseEventKind
_REFERRAL = frozenset({"sent", "acknowledged", "accepted", "declined"})
_CLAIM = frozenset({"filed", "granted", "refused", "paid"})
_SUPPORT = frozenset({"referred", "provided", "declined"})

EVENT_STATUSES: dict[CaseEventKind, frozenset[str]] = {
    _K.REFERRAL_NATIONAL: _REFERRAL,
    _K.REFERRAL_UN: _REFERRAL,
    _K.REFERRAL_COURT: _REFERRAL,
    _K.INVESTIGATION_OPENED: frozenset({"opened"}),
    _K.INVESTIGATION_UPDATE: frozenset({"ongoing", "suspended", "closed"}),
    _K.INVESTIGATION_OUTCOME: frozenset({"violation_found", "no_violation_found", "inconclusive"}),
    _K.SANCTION: frozenset({"announced", "imposed", "overturned"}),
    _K.REPARATION_CLAIM: _CLAIM,
    _K.COMPENSATION_CLAIM: _CLAIM,
    _K.SUPPORT_PSYCHOSOCIAL: _SUPPORT,
    _K.SUPPORT_MATERIAL: _SUPPORT,
}
"""The statuses each kind takes (one is required); kinds not named here take none."""

SYSTEM_KINDS = frozenset(
    {
        _K.CASE_OPENED,
        _K.CASE_CLOSED,
        _K.CASE_REOPENED,
        _K.INCIDENT_ADDED,
        _K.CASE_AMENDED,
        _K.INCIDENT_REMOVED,
    }
)
"""Kinds recorded by ``open_case``, ``set_status``, ``add_incidents``, ``amend_case`` and
``remove_incidents``, not by hand."""
REFERRAL_KINDS = frozenset({_K.REFERRAL_NATIONAL, _K.REFERRAL_UN, _K.REFERRAL_COURT})
INVESTIGATION_KINDS = frozenset(
    {_K.INVESTIGATION_OPENED, _K.INVESTIGATION_UPDATE, _K.INVESTIGATION_OUTCOME}
)
"""Any of these means an investigation was opened."""
REMEDY_STATUSES: dict[CaseEventKind, frozenset[str]] = {
    _K.SANCTION: frozenset({"imposed"}),
    _K.REPARATION_CLAIM: frozenset({"granted", "paid"}),
    _K.COMPENSATION_CLAIM: frozenset({"granted", "paid"}),
    _K.SUPPORT_PSYCHOSOCIAL: frozenset({"provided"}),
    _K.SUPPORT_MATERIAL: frozenset({"provided"}),
}
"""An event of one of these kinds with one of these statuses is a remedy obtained."""
REMEDY_KINDS = frozenset(REMEDY_STATUSES)

_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,79}$"


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` in UTC (a naive one is read as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with microseconds (the form records hash)."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


class CaseEventIn(BaseModel):
    """One step of a case as a verifier records it; no personal data outside ``personal``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CaseEventKind
    at: IsoDateTime | None = Field(default=None, description="When it happened (default: now).")
    status: str | None = Field(
        default=None, max_length=24, validate_default=True, description="See EVENT_STATUSES."
    )
    authority: Text | None = Field(
        default=None, max_length=300, description="The institution: ministry, UN body, court."
    )
    reference: Text | None = Field(default=None, max_length=200, description="Docket, file no.")
    summary: Text = Field(default="", max_length=5000, description="No names of victims.")
    beneficiary_ref: str | None = Field(
        default=None, pattern=_REF_PATTERN, description="e.g. 'family-2'; never a name."
    )
    personal: Text | None = Field(
        default=None, max_length=5000, description="Personal details; stored encrypted only."
    )
    due_at: IsoDateTime | None = Field(default=None, description="Deadline or follow-up date.")
    resolves: RowId | None = Field(default=None, description="An earlier event this one meets.")

    @field_validator("kind")
    @classmethod
    def _by_hand(cls, kind: CaseEventKind) -> CaseEventKind:
        if kind in SYSTEM_KINDS:
            raise ValueError(f"{kind.value} is recorded by Haven, not by hand")
        return kind

    @field_validator("status")
    @classmethod
    def _status_fits_kind(cls, status: str | None, info: ValidationInfo) -> str | None:
        kind = info.data.get("kind")
        if kind is None:  # the kind itself was wrong; that error names it
            return status
        allowed = EVENT_STATUSES.get(kind, frozenset())
        if allowed and status not in allowed:
            raise ValueError(f"status must be one of {', '.join(sorted(allowed))}")
        if not allowed and status is not None:
            raise ValueError(f"a {kind.value} event has no status")
        return status

    @field_validator("at", "due_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return as_utc(value)


class CaseAmendIn(BaseModel):
    """A correction of a case's title and/or summary, with the reason for it.

    A field left out (``None``) stays as it is; the previous value is kept in the
    ``case_amended`` event.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title | None = Field(default=None, description="The new title (no names of victims).")
    summary: Summary | None = Field(
        default=None, description="The new summary, whole (no personal data)."
    )
    reason: Reason


class IncidentsRemovalIn(BaseModel):
    """Incidents linked to a case by mistake, to take out of it, with the reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    incident_ids: IncidentIds
    reason: Reason

    @field_validator("incident_ids")
    @classmethod
    def _once(cls, incident_ids: list[str]) -> list[str]:
        return list(dict.fromkeys(incident_ids))


def event_record(
    case_id: int,
    *,
    kind: str,
    at: datetime,
    fields: dict[str, Any],
    recorded_by: str,
    recorded_at: datetime,
) -> dict[str, Any]:
    """The canonical record of an event, what its custody leaf's ``content_sha256`` covers.

    ``fields`` holds status, authority, reference, summary, beneficiary_ref,
    has_personal, detail, due_at and resolves. It holds no personal data.
    """
    return {
        "case_id": case_id,
        "kind": kind,
        "at": iso(at),
        "status": fields.get("status"),
        "authority": fields.get("authority"),
        "reference": fields.get("reference"),
        "summary": fields.get("summary") or "",
        "beneficiary_ref": fields.get("beneficiary_ref"),
        "has_personal": bool(fields.get("has_personal")),
        "detail": fields.get("detail") or {},
        "due_at": iso(fields.get("due_at")),
        "resolves": fields.get("resolves"),
        "recorded_by": recorded_by,
        "recorded_at": iso(recorded_at),
    }


def record_bytes(row: CaseEventRow) -> bytes:
    """The canonical record of a stored event, as bytes (its SHA-256 is ``content_sha256``)."""
    record = event_record(
        row.case_id,
        kind=row.kind,
        at=row.at,
        fields={
            "status": row.status,
            "authority": row.authority,
            "reference": row.reference,
            "summary": row.summary,
            "beneficiary_ref": row.beneficiary_ref,
            "has_personal": row.sensitive is not None,
            "detail": row.detail,
            "due_at": row.due_at,
            "resolves": row.resolves_event_id,
        },
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
    return custody.canonical(record).encode("utf-8")
