"""Verification: incident certainty from its reports' grades, and the review workflow.

Service functions take a session and never commit; each step is an audit event.

States::

    received ──► in_review ──► verified ──► published ──► withdrawn
                    ▲     └──► rejected
                    └───────────┘ (reopen)

Certainty is derived by ``haven.certainty.derive`` (the WHO SSA rules) each
time a report joins; a verifier approves it, or overrides it with a written
rationale (then new reports no longer change it until someone approves the
derived level again). Every change to a *published* incident is a public
correction (``haven.corrections``), naming a role, never a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit, custody_incidents, policy
from haven.accounts import Actor, Permission, require
from haven.certainty import RULES, CertaintyDecision, ReportGrade, derive
from haven.corrections import record_correction
from haven.errors import Conflict, InvalidInput, NotFound
from haven.models import (
    AuditEventRow,
    IncidentRow,
    ReportRow,
    SourceRow,
    VerificationNoteRow,
    utcnow,
)
from haven.taxonomy import (
    Certainty,
    Credibility,
    EvidenceKind,
    IncidentState,
    Reliability,
    SourceType,
)

__all__ = [
    "RULES",
    "TRANSITIONS",
    "CertaintyDecision",
    "HistoryEntry",
    "QueueItem",
    "ReportGrade",
    "VerificationStatus",
    "approve_certainty",
    "claim_is_trusted",
    "comment",
    "derive",
    "grade_report",
    "grades_of",
    "history",
    "override_certainty",
    "queue",
    "refresh_certainty",
    "transition",
]

S = IncidentState
TRANSITIONS: dict[IncidentState, frozenset[IncidentState]] = {
    S.RECEIVED: frozenset({S.IN_REVIEW}),
    S.IN_REVIEW: frozenset({S.VERIFIED, S.REJECTED}),
    S.VERIFIED: frozenset({S.PUBLISHED}),
    S.REJECTED: frozenset({S.IN_REVIEW}),
    S.PUBLISHED: frozenset({S.WITHDRAWN}),
    S.WITHDRAWN: frozenset(),
}
"""The allowed moves; any other is refused with ``Conflict``."""

NOTE_REQUIRED = frozenset({S.REJECTED, S.WITHDRAWN})
"""Moves that need a note saying why (a withdrawal's note is its public correction reason)."""

MIN_RATIONALE = 10
"""The shortest rationale an override accepts, in characters."""

UNTRUSTED_CLAIM_KINDS = frozenset({"media", "social_media", "other"})
"""Source kinds whose own certainty label is not taken as a grading."""


def claim_is_trusted(source_kind: str) -> bool:
    """Whether a report's own certainty counts as a grading (not media, social media, other)."""
    return source_kind not in UNTRUSTED_CLAIM_KINDS


def grades_of(session: Session, incident_id: str) -> list[ReportGrade]:
    """The grades of every report of an incident, as ``derive`` reads them."""
    rows = session.execute(
        select(
            SourceRow.name,
            SourceRow.kind,
            ReportRow.source_type,
            ReportRow.reliability,
            ReportRow.credibility,
            ReportRow.evidence_kinds,
            ReportRow.claimed_certainty,
        )
        .join(SourceRow, SourceRow.id == ReportRow.source_id)
        .where(ReportRow.incident_id == incident_id)
        .order_by(ReportRow.received_at, ReportRow.id)
    )
    return [
        ReportGrade(
            source=name,
            source_type=SourceType(source_type) if source_type else None,
            reliability=Reliability(reliability) if reliability else None,
            credibility=Credibility(credibility) if credibility else None,
            evidence=frozenset(EvidenceKind(e) for e in evidence or ()),
            claimed=Certainty(claimed) if claimed else None,
            claim_trusted=claim_is_trusted(kind),
        )
        for name, kind, source_type, reliability, credibility, evidence, claimed in rows
    ]


def refresh_certainty(
    session: Session,
    row: IncidentRow,
    *,
    actor: Actor,
    grades: Sequence[ReportGrade] | None = None,
) -> CertaintyDecision:
    """Derive the incident's certainty from its reports (or ``grades``) and store it.

    An overridden certainty stays as the verifier set it. A change to a
    published incident is logged as a correction.
    """
    decision = derive(grades if grades is not None else grades_of(session, row.id))
    if row.certainty_overridden:
        return decision
    old = row.certainty
    row.certainty = decision.certainty.value
    row.certainty_reason = decision.reason
    if old is not None and old != row.certainty:
        record_correction(
            session,
            row,
            field="certainty",
            old=old,
            new=row.certainty,
            reason=f"a new report changed the derived certainty ({decision.rule})",
            actor=actor,
        )
    return decision


def _incident(session: Session, incident_id: str, *, actor: Actor) -> IncidentRow:
    row = session.scalar(
        select(IncidentRow)
        .where(IncidentRow.id == incident_id, policy.visible_incidents(session, actor))
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"no incident {incident_id}", fields={"incident_id": "unknown"})
    return row


def _note(
    session: Session,
    row: IncidentRow,
    *,
    kind: str,
    text: str,
    actor: Actor,
    from_state: str | None = None,
    to_state: str | None = None,
) -> int:
    note = VerificationNoteRow(
        incident_id=row.id,
        actor_user_id=actor.user_id,
        actor=actor.label,
        kind=kind,
        from_state=from_state,
        to_state=to_state,
        text=text,
    )
    session.add(note)
    session.flush()
    row.updated_at = utcnow()
    return note.id


class VerificationStatus(BaseModel):
    """Where an incident stands after a verification step: its state and certainty, and why."""

    incident_id: str
    state: IncidentState
    certainty: Certainty
    certainty_reason: str
    certainty_overridden: bool


def _status(row: IncidentRow) -> VerificationStatus:
    return VerificationStatus(
        incident_id=row.id,
        state=IncidentState(row.state),
        certainty=Certainty(row.certainty),
        certainty_reason=row.certainty_reason,
        certainty_overridden=row.certainty_overridden,
    )


def _writable(row: IncidentRow) -> None:
    if row.state == IncidentState.WITHDRAWN:
        raise Conflict(
            f"incident {row.id} is withdrawn; it can no longer change",
            fields={"state": "withdrawn"},
        )


def transition(
    session: Session, incident_id: str, *, to_state: IncidentState, note: str, actor: Actor
) -> VerificationStatus:
    """Move an incident to ``to_state``; ``Conflict`` names both states if the move is not allowed.

    Rejecting and withdrawing need a ``note`` saying why; a withdrawal's note is
    the public correction's reason.
    """
    require(actor, Permission.VERIFY)
    row = _incident(session, incident_id, actor=actor)
    from_state = IncidentState(row.state)
    if to_state not in TRANSITIONS[from_state]:
        allowed = ", ".join(sorted(TRANSITIONS[from_state])) or "none"
        raise Conflict(
            f"cannot move incident from {from_state} to {to_state}",
            fields={"to_state": f"from {from_state} only to: {allowed}"},
        )
    note = note.strip()
    if to_state in NOTE_REQUIRED and not note:
        raise InvalidInput(
            f"moving to {to_state} needs a note saying why", fields={"note": "is required"}
        )
    record_correction(
        session,
        row,
        field="state",
        old=from_state.value,
        new=to_state.value,
        reason=note or f"moved to {to_state}",
        actor=actor,
    )
    custody_incidents.acting(session, actor)
    row.state = to_state.value
    note_id = _note(
        session,
        row,
        kind="state",
        text=note,
        actor=actor,
        from_state=from_state.value,
        to_state=to_state.value,
    )
    audit.record(
        session,
        actor,
        action="incident.state",
        entity_type="incident",
        entity_id=row.id,
        detail={"from": from_state.value, "to": to_state.value, "note_id": note_id},
    )
    return _status(row)


def override_certainty(
    session: Session,
    incident_id: str,
    *,
    certainty: Certainty,
    rationale: str,
    actor: Actor,
) -> VerificationStatus:
    """Set the certainty by hand, with a written rationale of at least ``MIN_RATIONALE`` characters.

    The reason shown with the certainty names the override and who made it;
    new reports no longer change it until ``approve_certainty``.
    """
    require(actor, Permission.VERIFY)
    rationale = rationale.strip()
    if len(rationale) < MIN_RATIONALE:
        raise InvalidInput(
            "an override needs a written rationale",
            fields={"rationale": f"needs at least {MIN_RATIONALE} characters"},
        )
    row = _incident(session, incident_id, actor=actor)
    _writable(row)
    old = row.certainty
    derived = derive(grades_of(session, row.id))
    reason = (
        f"{certainty.value}: set by {actor.role.value} {actor.label} "
        f"(rules gave {derived.certainty.value}): {rationale}"
    )
    record_correction(
        session, row, field="certainty", old=old, new=certainty.value, reason=rationale, actor=actor
    )
    row.certainty = certainty.value
    row.certainty_reason = reason
    row.certainty_overridden = True
    note_id = _note(session, row, kind="override", text=rationale, actor=actor)
    audit.record(
        session,
        actor,
        action="incident.certainty_override",
        entity_type="incident",
        entity_id=row.id,
        detail={"from": old, "to": certainty.value, "derived": derived.rule, "note_id": note_id},
    )
    return _status(row)


def approve_certainty(
    session: Session, incident_id: str, *, actor: Actor, note: str = ""
) -> VerificationStatus:
    """Accept the certainty the rules derive (ending any override); the approval is recorded."""
    require(actor, Permission.VERIFY)
    row = _incident(session, incident_id, actor=actor)
    _writable(row)
    old = row.certainty
    derived = derive(grades_of(session, row.id))
    reason = f"{derived.reason}; approved by {actor.role.value} {actor.label}"
    if old != derived.certainty.value:
        record_correction(
            session,
            row,
            field="certainty",
            old=old,
            new=derived.certainty.value,
            reason=note.strip() or f"the derived certainty was approved ({derived.rule})",
            actor=actor,
        )
    row.certainty = derived.certainty.value
    row.certainty_reason = reason
    row.certainty_overridden = False
    note_id = _note(session, row, kind="approve", text=note.strip(), actor=actor)
    audit.record(
        session,
        actor,
        action="incident.certainty_approve",
        entity_type="incident",
        entity_id=row.id,
        detail={
            "from": old,
            "to": derived.certainty.value,
            "rule": derived.rule,
            "note_id": note_id,
        },
    )
    return _status(row)


def grade_report(
    session: Session,
    report_id: str,
    *,
    source_type: SourceType | None,
    reliability: Reliability | None,
    credibility: Credibility | None,
    evidence_kinds: Sequence[EvidenceKind] = (),
    actor: Actor,
) -> VerificationStatus:
    """Grade (or re-grade) a stored report and re-derive its incident's certainty.

    The grade replaces the report's previous one (``None`` means not graded).
    Unlike adding a report, re-grading may lower the certainty: a source found
    unreliable counts for less. An overridden certainty stays as set.
    """
    require(actor, Permission.VERIFY)
    report = session.scalar(
        select(ReportRow)
        .where(ReportRow.id == report_id, policy.visible_reports(session, actor))
        .with_for_update()
    )
    if report is None:
        raise NotFound(f"no report {report_id}", fields={"report_id": "unknown"})
    row = _incident(session, report.incident_id, actor=actor)
    _writable(row)
    before = {
        "source_type": report.source_type,
        "reliability": report.reliability,
        "credibility": report.credibility,
        "evidence_kinds": list(report.evidence_kinds or ()),
    }
    report.source_type = source_type.value if source_type else None
    report.reliability = reliability.value if reliability else None
    report.credibility = int(credibility) if credibility else None
    report.evidence_kinds = [e.value for e in dict.fromkeys(evidence_kinds)]
    session.flush()
    refresh_certainty(session, row, actor=actor)
    row.updated_at = utcnow()
    audit.record(
        session,
        actor,
        action="incident.grade_report",
        entity_type="incident",
        entity_id=row.id,
        detail={
            "report_id": report.id,
            "before": before,
            "after": {
                "source_type": report.source_type,
                "reliability": report.reliability,
                "credibility": report.credibility,
                "evidence_kinds": report.evidence_kinds,
            },
            "certainty": row.certainty,
        },
    )
    return _status(row)


def comment(session: Session, incident_id: str, *, text: str, actor: Actor) -> int:
    """Add a verifier's comment to the incident's history; returns its id."""
    require(actor, Permission.VERIFY)
    text = text.strip()
    if not text or len(text) > 5000:
        raise InvalidInput("bad comment", fields={"text": "1-5000 characters"})
    row = _incident(session, incident_id, actor=actor)
    note_id = _note(session, row, kind="comment", text=text, actor=actor)
    audit.record(
        session,
        actor,
        action="incident.comment",
        entity_type="incident",
        entity_id=row.id,
        detail={"note_id": note_id},
    )
    return note_id


class HistoryEntry(BaseModel):
    """One step of an incident's history: an audit event, with its note's text if it has one."""

    id: int = Field(description="The audit event's id (the history is in this order).")
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]
    note: str | None = None


def history(session: Session, incident_id: str, *, actor: Actor) -> list[HistoryEntry]:
    """Everything that happened to an incident, oldest first: audit events with their notes."""
    require(actor, Permission.READ_INCIDENTS)
    visible = session.scalar(
        select(IncidentRow.id).where(
            IncidentRow.id == incident_id, policy.visible_incidents(session, actor)
        )
    )
    if visible is None:
        raise NotFound(f"no incident {incident_id}", fields={"incident_id": "unknown"})
    notes: dict[int, str] = {
        note_id: text
        for note_id, text in session.execute(
            select(VerificationNoteRow.id, VerificationNoteRow.text).where(
                VerificationNoteRow.incident_id == incident_id
            )
        )
    }
    events = session.execute(
        select(
            AuditEventRow.id,
            AuditEventRow.at,
            AuditEventRow.actor,
            AuditEventRow.action,
            AuditEventRow.detail,
        )
        .where(AuditEventRow.entity_type == "incident", AuditEventRow.entity_id == incident_id)
        .order_by(AuditEventRow.id)
    )
    entries = []
    for event_id, at, who, action, detail in events:
        note_id = (detail or {}).get("note_id")
        entries.append(
            HistoryEntry(
                id=event_id,
                at=at,
                actor=who,
                action=action,
                detail=dict(detail or {}),
                note=notes.get(note_id) if isinstance(note_id, int) else None,
            )
        )
    return entries


class QueueItem(BaseModel):
    """An incident waiting for verification, with its certainty and why."""

    id: str
    state: IncidentState
    created_at: datetime
    occurred_at: datetime
    country: str
    certainty: Certainty
    certainty_reason: str
    certainty_overridden: bool
    report_count: int
    exercise: bool


def queue(session: Session, *, actor: Actor, limit: int = 100) -> list[QueueItem]:
    """Incidents received or in review that ``actor`` may see, oldest first."""
    require(actor, Permission.VERIFY)
    rows = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.state.in_([S.RECEIVED.value, S.IN_REVIEW.value]),
            IncidentRow.merged_into.is_(None),
            policy.visible_incidents(session, actor),
        )
        .order_by(IncidentRow.created_at, IncidentRow.id)
        .limit(limit)
    )
    return [
        QueueItem(
            id=row.id,
            state=IncidentState(row.state),
            created_at=row.created_at,
            occurred_at=row.occurred_at,
            country=row.country,
            certainty=Certainty(row.certainty),
            certainty_reason=row.certainty_reason,
            certainty_overridden=row.certainty_overridden,
            report_count=row.report_count,
            exercise=row.is_exercise,
        )
        for row in rows
    ]
