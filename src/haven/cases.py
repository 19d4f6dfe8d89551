"""Investigation and remedy cases: referrals, investigations, sanctions, claims, support, deadlines.

A case is about one incident or a group of incidents. Everything that happens to
it is a *case event* (``CaseEventKind``): a referral to a national authority, a UN
mechanism or a court; an investigation opened, its status and outcome; a
sanction; a reparation or compensation claim; a referral of victims or families
to psychosocial or material support; a note. Opening, closing and reopening a
case, and adding incidents to it, are events too, so the events are the case's
whole history. So are corrections: ``amend_case`` changes the title or summary
(``case_amended``) and ``remove_incidents`` takes out an incident linked by mistake
(``incident_removed``), each with a written reason and the previous values in the
event, so nothing that was there is lost. The current summary is the opening one as
amended since.

Each event is a leaf of the custody log (``case.opened`` / ``case.updated``,
entity ``case/<id>``) whose ``content_sha256`` covers the event's canonical
record (``event_record``), written in the same transaction as the event and its
audit event. The record holds no personal data: victims and families are named
only by a reference (``beneficiary_ref``, e.g. ``family-2``); any personal detail
goes into ``personal``, stored only encrypted (``haven.privacy``, bound to
``case_event:<id>``) and opened by ``open_personal`` with a purpose (audited).

An event may carry a deadline (``due_at``); a later event that ``resolves`` it
marks it done. ``due`` lists deadlines not yet met, overdue ones flagged
(``haven cases due``). ``case_coverage`` tells the indicators which incidents
have a referral, an opened investigation or a remedy (docs/accountability.md).
Cases are sensitive: every function needs the ``verify`` permission.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from haven import audit, custody, policy, privacy
from haven.accounts import Actor, Permission, require
from haven.case_events import (
    EVENT_STATUSES,
    INVESTIGATION_KINDS,
    REFERRAL_KINDS,
    REMEDY_KINDS,
    REMEDY_STATUSES,
    SYSTEM_KINDS,
    CaseAmendIn,
    CaseEventIn,
    CaseEventKind,
    CaseOutcome,
    CaseStatus,
    IncidentIds,
    IncidentsRemovalIn,
    Summary,
    Title,
    as_utc,
    event_record,
    record_bytes,
)
from haven.custody import Act
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facts import CLOCK_SKEW
from haven.models import CaseEventRow, CaseIncidentRow, CaseRow, IncidentRow, utcnow

__all__ = [
    "EVENT_STATUSES",
    "INVESTIGATION_KINDS",
    "REFERRAL_KINDS",
    "REMEDY_KINDS",
    "REMEDY_STATUSES",
    "SYSTEM_KINDS",
    "Case",
    "CaseAmendIn",
    "CaseCoverage",
    "CaseEvent",
    "CaseEventIn",
    "CaseEventKind",
    "CaseIn",
    "CaseOutcome",
    "CaseStatus",
    "CaseSummary",
    "DueItem",
    "IncidentsRemovalIn",
    "PersonalDetail",
    "add_event",
    "add_incidents",
    "amend_case",
    "case_coverage",
    "case_row",
    "event_record",
    "get",
    "incident_ids_of",
    "list_cases",
    "open_case",
    "open_personal",
    "record_bytes",
    "remove_incidents",
    "set_status",
    "visible_cases",
]

_PURPOSE = "3 to 300 characters, e.g. 'arrange psychosocial follow-up'"


class CaseIn(BaseModel):
    """A new case about one or more incidents."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: Title
    incident_ids: IncidentIds
    summary: Summary = ""

    @model_validator(mode="after")
    def _once(self) -> Self:
        self.incident_ids = list(dict.fromkeys(self.incident_ids))
        return self


class CaseEvent(BaseModel):
    """A stored case event (personal details stay encrypted: ``has_personal`` says if any)."""

    id: int
    kind: CaseEventKind
    at: datetime
    status: str | None
    authority: str | None
    reference: str | None
    summary: str
    beneficiary_ref: str | None
    has_personal: bool
    detail: dict[str, Any]
    due_at: datetime | None
    done_at: datetime | None
    overdue: bool
    resolves: int | None
    content_sha256: str
    custody_leaf: int
    recorded_by: str
    recorded_at: datetime


class Case(BaseModel):
    """A case with its incidents and its whole history, oldest first."""

    id: int
    title: str
    summary: str = Field(description="The opening summary as amended since.")
    status: CaseStatus
    outcome: CaseOutcome | None
    exercise: bool
    incident_ids: list[str]
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    updated_at: datetime
    events: list[CaseEvent]


class CaseSummary(BaseModel):
    """One line of the case list."""

    id: int
    title: str
    status: CaseStatus
    outcome: CaseOutcome | None
    exercise: bool
    incidents: int
    opened_at: datetime
    next_due_at: datetime | None


class DueItem(BaseModel):
    """A deadline not yet met."""

    case_id: int
    case_title: str
    event_id: int
    kind: CaseEventKind
    status: str | None
    due_at: datetime
    overdue: bool
    exercise: bool


class PersonalDetail(BaseModel):
    """An event's personal details, opened for a stated purpose (audited)."""

    event_id: int
    personal: str | None


@dataclass(frozen=True, slots=True)
class CaseCoverage:
    """What the cases covering one incident have reached (no personal data)."""

    incident_id: str
    case_ids: list[int]
    opened_at: datetime
    has_referral: bool
    has_investigation: bool
    investigation_at: datetime | None
    has_remedy: bool
    remedy_at: datetime | None
    open: bool


# --- reading ---------------------------------------------------------------------------------


def visible_cases(actor: Actor) -> ColumnElement[bool]:
    """The condition on ``CaseRow`` that selects the cases of ``actor``'s organisation."""
    if policy.sees_everything(actor):
        return true()
    if actor.organisation_id is None:
        return CaseRow.organisation_id.is_(None)
    return CaseRow.organisation_id == actor.organisation_id


def case_row(session: Session, case_id: int, *, actor: Actor) -> CaseRow:
    """The case ``actor`` may see; ``NotFound`` naming ``case_id`` otherwise."""
    require(actor, Permission.VERIFY)
    row = session.scalar(select(CaseRow).where(CaseRow.id == case_id, visible_cases(actor)))
    if row is None:
        raise NotFound(f"no case {case_id}", fields={"case_id": f"no case {case_id}"})
    return row


def incident_ids_of(session: Session, case_id: int) -> list[str]:
    """The incidents a case is about, sorted."""
    return list(
        session.scalars(
            select(CaseIncidentRow.incident_id)
            .where(CaseIncidentRow.case_id == case_id)
            .order_by(CaseIncidentRow.incident_id)
        )
    )


def _event_model(row: CaseEventRow, *, now: datetime) -> CaseEvent:
    return CaseEvent(
        id=row.id,
        kind=CaseEventKind(row.kind),
        at=row.at,
        status=row.status,
        authority=row.authority,
        reference=row.reference,
        summary=row.summary,
        beneficiary_ref=row.beneficiary_ref,
        has_personal=row.sensitive is not None,
        detail=row.detail,
        due_at=row.due_at,
        done_at=row.done_at,
        overdue=row.due_at is not None and row.done_at is None and row.due_at < now,
        resolves=row.resolves_event_id,
        content_sha256=row.content_sha256,
        custody_leaf=row.custody_leaf,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )


def _summary_of(events: Iterable[CaseEventRow]) -> str:
    """The case's summary: the opening one, as the ``case_amended`` events changed it."""
    summary = ""
    for event in events:
        if event.kind == CaseEventKind.CASE_OPENED.value:
            summary = event.summary
        elif event.kind == CaseEventKind.CASE_AMENDED.value and "summary" in event.detail.get(
            "after", {}
        ):
            summary = str(event.detail["after"]["summary"])
    return summary


def _model(session: Session, row: CaseRow, *, now: datetime | None = None) -> Case:
    now = now or utcnow()
    events = session.scalars(
        select(CaseEventRow).where(CaseEventRow.case_id == row.id).order_by(CaseEventRow.id)
    ).all()
    return Case(
        id=row.id,
        title=row.title,
        summary=_summary_of(events),
        status=CaseStatus(row.status),
        outcome=CaseOutcome(row.outcome) if row.outcome else None,
        exercise=row.is_exercise,
        incident_ids=incident_ids_of(session, row.id),
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        closed_at=row.closed_at,
        updated_at=row.updated_at,
        events=[_event_model(e, now=now) for e in events],
    )


def get(session: Session, case_id: int, *, actor: Actor) -> Case:
    """One case with its incidents and history."""
    return _model(session, case_row(session, case_id, actor=actor))


def list_cases(
    session: Session, *, actor: Actor, status: CaseStatus | None = None
) -> list[CaseSummary]:
    """The cases ``actor`` may see, newest first."""
    require(actor, Permission.VERIFY)
    query = select(CaseRow).where(visible_cases(actor)).order_by(CaseRow.id.desc())
    if status is not None:
        query = query.where(CaseRow.status == status.value)
    found = []
    for row in session.scalars(query):
        next_due = session.scalar(
            select(CaseEventRow.due_at)
            .where(
                CaseEventRow.case_id == row.id,
                CaseEventRow.due_at.is_not(None),
                CaseEventRow.done_at.is_(None),
            )
            .order_by(CaseEventRow.due_at)
            .limit(1)
        )
        found.append(
            CaseSummary(
                id=row.id,
                title=row.title,
                status=CaseStatus(row.status),
                outcome=CaseOutcome(row.outcome) if row.outcome else None,
                exercise=row.is_exercise,
                incidents=len(incident_ids_of(session, row.id)),
                opened_at=row.opened_at,
                next_due_at=next_due,
            )
        )
    return found


def due(
    session: Session,
    *,
    actor: Actor,
    within: timedelta = timedelta(days=7),
    now: datetime | None = None,
) -> list[DueItem]:
    """Deadlines not yet met on open cases, due before ``now + within``, soonest first;
    those already past are ``overdue``."""
    require(actor, Permission.VERIFY)
    if within < timedelta(0):
        raise InvalidInput("within cannot be negative", fields={"within": "0 days or more"})
    now = now or utcnow()
    rows = session.execute(
        select(CaseEventRow, CaseRow.title, CaseRow.is_exercise)
        .join(CaseRow, CaseRow.id == CaseEventRow.case_id)
        .where(
            visible_cases(actor),
            CaseRow.status == CaseStatus.OPEN.value,
            CaseEventRow.done_at.is_(None),
            CaseEventRow.due_at.is_not(None),
            CaseEventRow.due_at <= now + within,
        )
        .order_by(CaseEventRow.due_at, CaseEventRow.id)
    ).all()
    items = []
    for event, title, exercise in rows:
        assert event.due_at is not None  # the query asks for it
        items.append(
            DueItem(
                case_id=event.case_id,
                case_title=title,
                event_id=event.id,
                kind=CaseEventKind(event.kind),
                status=event.status,
                due_at=event.due_at,
                overdue=event.due_at < now,
                exercise=exercise,
            )
        )
    return items


# --- writing ---------------------------------------------------------------------------------


def _append(
    session: Session,
    case: CaseRow,
    *,
    kind: CaseEventKind,
    fields: dict[str, Any],
    actor: Actor,
    at: datetime | None = None,
    personal: str | None = None,
) -> CaseEventRow:
    """Record one event: its custody leaf (covering its canonical record), its row, its
    encrypted personal details, and the audit event, all in the caller's transaction."""
    now = utcnow()
    at = at or now
    fields = {**fields, "has_personal": personal is not None}
    record = event_record(
        case.id, kind=kind.value, at=at, fields=fields, recorded_by=actor.label, recorded_at=now
    )
    digest = hashlib.sha256(custody.canonical(record).encode("utf-8")).hexdigest()
    leaf = custody.append(
        session,
        actor,
        act=Act.CASE_OPENED if kind is CaseEventKind.CASE_OPENED else Act.CASE_UPDATED,
        entity_type="case",
        entity_id=case.id,
        content_sha256=digest,
        detail={"event": kind.value, "status": fields.get("status")},
    )
    row = CaseEventRow(
        case_id=case.id,
        kind=kind.value,
        at=at,
        status=fields.get("status"),
        authority=fields.get("authority"),
        reference=fields.get("reference"),
        summary=fields.get("summary") or "",
        beneficiary_ref=fields.get("beneficiary_ref"),
        detail=fields.get("detail") or {},
        due_at=fields.get("due_at"),
        resolves_event_id=fields.get("resolves"),
        content_sha256=digest,
        custody_leaf=leaf.index,
        recorded_by=actor.label,
        recorded_at=now,
    )
    session.add(row)
    session.flush()
    if personal is not None:
        row.sensitive = privacy.encrypt(
            session,
            {"personal": personal},
            organisation_id=case.organisation_id,
            bound_to=f"case_event:{row.id}",
        )
    case.updated_at = now
    audit.record(
        session,
        actor,
        action=f"case.{kind.value}",
        entity_type="case",
        entity_id=case.id,
        detail={"event_id": row.id, "status": row.status, "leaf": leaf.index},
    )
    return row


def _incidents(
    session: Session, incident_ids: list[str], *, actor: Actor, field: str
) -> list[IncidentRow]:
    rows = []
    for index, incident_id in enumerate(incident_ids):
        try:
            rows.append(policy.visible_incident(session, incident_id, actor=actor))
        except NotFound as exc:
            raise NotFound(
                f"no incident {incident_id}", fields={f"{field}[{index}]": "unknown"}
            ) from exc
    return rows


def _one_kind_of_data(rows: list[IncidentRow], *, exercise: bool | None, field: str) -> bool:
    kinds = {row.is_exercise for row in rows} | ({exercise} if exercise is not None else set())
    if len(kinds) > 1:
        raise InvalidInput(
            "a case cannot mix exercise and real incidents",
            fields={field: "all exercise or all real"},
        )
    return kinds.pop()


def open_case(session: Session, data: CaseIn, *, actor: Actor) -> Case:
    """Open a case about incidents ``actor`` may see (``NotFound`` names the first unknown)."""
    require(actor, Permission.VERIFY)
    rows = _incidents(session, data.incident_ids, actor=actor, field="incident_ids")
    exercise = _one_kind_of_data(rows, exercise=None, field="incident_ids")
    now = utcnow()
    case = CaseRow(
        title=data.title,
        status=CaseStatus.OPEN.value,
        organisation_id=actor.organisation_id,
        is_exercise=exercise,
        opened_at=now,
        opened_by=actor.label,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    session.add_all(CaseIncidentRow(case_id=case.id, incident_id=r.id) for r in rows)
    detail = {"title": data.title, "incident_ids": [r.id for r in rows], "exercise": exercise}
    _append(
        session,
        case,
        kind=CaseEventKind.CASE_OPENED,
        fields={"summary": data.summary, "detail": detail},
        actor=actor,
        at=now,
    )
    return _model(session, case)


def _open(case: CaseRow) -> None:
    if case.status != CaseStatus.OPEN.value:
        raise Conflict(f"case {case.id} is closed; reopen it first", fields={"status": "closed"})


def add_event(session: Session, case_id: int, *, data: CaseEventIn, actor: Actor) -> CaseEvent:
    """Record one step of an open case; ``resolves`` marks an earlier deadline met."""
    case = case_row(session, case_id, actor=actor)
    _open(case)
    now = utcnow()
    if data.at is not None and data.at > now + CLOCK_SKEW:
        raise InvalidInput("the event cannot be in the future", fields={"at": "not after now"})
    at = data.at or now
    resolved = None
    if data.resolves is not None:
        resolved = session.get(CaseEventRow, data.resolves)
        if resolved is None or resolved.case_id != case.id:
            raise NotFound(
                f"case {case.id} has no event {data.resolves}",
                fields={"resolves": f"no event {data.resolves} in this case"},
            )
        if resolved.due_at is None or resolved.done_at is not None:
            raise Conflict(
                f"event {resolved.id} has no open deadline",
                fields={"resolves": "no open deadline"},
            )
    fields = data.model_dump(exclude={"kind", "at", "personal"})
    row = _append(
        session, case, kind=data.kind, fields=fields, actor=actor, at=at, personal=data.personal
    )
    if resolved is not None:
        resolved.done_at = at
    return _event_model(row, now=now)


def add_incidents(session: Session, case_id: int, *, incident_ids: list[str], actor: Actor) -> Case:
    """Add incidents to an open case (ones already in it are refused by name)."""
    case = case_row(session, case_id, actor=actor)
    _open(case)
    incident_ids = list(dict.fromkeys(incident_ids))
    if not incident_ids:
        raise InvalidInput("name at least one incident", fields={"incident_ids": "empty"})
    present = set(incident_ids_of(session, case.id))
    for index, incident_id in enumerate(incident_ids):
        if incident_id in present:
            raise Conflict(
                f"incident {incident_id} is already in case {case.id}",
                fields={f"incident_ids[{index}]": "already in the case"},
            )
    rows = _incidents(session, incident_ids, actor=actor, field="incident_ids")
    _one_kind_of_data(rows, exercise=case.is_exercise, field="incident_ids")
    session.add_all(CaseIncidentRow(case_id=case.id, incident_id=r.id) for r in rows)
    _append(
        session,
        case,
        kind=CaseEventKind.INCIDENT_ADDED,
        fields={"detail": {"incident_ids": [r.id for r in rows]}},
        actor=actor,
    )
    return _model(session, case)


def amend_case(session: Session, case_id: int, *, data: CaseAmendIn, actor: Actor) -> Case:
    """Correct an open case's title and/or summary, with a reason; the ``case_amended`` event
    keeps the values before and after. ``InvalidInput`` naming the fields when nothing
    changes."""
    case = case_row(session, case_id, actor=actor)
    _open(case)
    opening_and_amendments = session.scalars(
        select(CaseEventRow)
        .where(
            CaseEventRow.case_id == case.id,
            CaseEventRow.kind.in_(
                [CaseEventKind.CASE_OPENED.value, CaseEventKind.CASE_AMENDED.value]
            ),
        )
        .order_by(CaseEventRow.id)
    )
    current = {"title": case.title, "summary": _summary_of(opening_and_amendments)}
    wanted = {"title": data.title, "summary": data.summary}
    given = {name: value for name, value in wanted.items() if value is not None}
    if not given:
        raise InvalidInput(
            "give a new title or summary",
            fields={"title": "give a new title or summary", "summary": "or a new summary"},
        )
    changed = {name: value for name, value in given.items() if value != current[name]}
    if not changed:
        raise InvalidInput(
            f"nothing to amend: the {' and '.join(given)} {'is' if len(given) == 1 else 'are'}"
            " already as given",
            fields={name: f"same as the current {name}" for name in given},
        )
    detail = {
        "reason": data.reason,
        "before": {name: current[name] for name in changed},
        "after": changed,
    }
    _append(session, case, kind=CaseEventKind.CASE_AMENDED, fields={"detail": detail}, actor=actor)
    if "title" in changed:
        case.title = changed["title"]
    return _model(session, case)


def remove_incidents(
    session: Session, case_id: int, *, data: IncidentsRemovalIn, actor: Actor
) -> Case:
    """Take incidents linked by mistake out of an open case, with a reason (``incident_removed``
    keeps which); the case keeps at least one incident. ``case_coverage`` no longer counts
    them for this case."""
    case = case_row(session, case_id, actor=actor)
    _open(case)
    present = set(incident_ids_of(session, case.id))
    for index, incident_id in enumerate(data.incident_ids):
        if incident_id not in present:
            raise InvalidInput(
                f"incident {incident_id} is not in case {case.id}",
                fields={f"incident_ids[{index}]": "not in the case"},
            )
    if present <= set(data.incident_ids):
        raise InvalidInput(
            f"case {case.id} would be left without an incident",
            fields={"incident_ids": "a case keeps at least one incident"},
        )
    for incident_id in data.incident_ids:
        link = session.get(CaseIncidentRow, (case.id, incident_id))
        assert link is not None  # checked above
        session.delete(link)
    _append(
        session,
        case,
        kind=CaseEventKind.INCIDENT_REMOVED,
        fields={"detail": {"incident_ids": data.incident_ids, "reason": data.reason}},
        actor=actor,
    )
    session.flush()
    return _model(session, case)


def set_status(
    session: Session,
    case_id: int,
    *,
    status: CaseStatus,
    outcome: CaseOutcome | None = None,
    note: str = "",
    actor: Actor,
) -> Case:
    """Close a case with its outcome, or reopen a closed one."""
    case = case_row(session, case_id, actor=actor)
    if status.value == case.status:
        raise Conflict(f"case {case.id} is already {case.status}", fields={"status": case.status})
    if status is CaseStatus.CLOSED and outcome is None:
        raise InvalidInput("say how the case ended", fields={"outcome": "required to close"})
    if status is CaseStatus.OPEN and outcome is not None:
        raise InvalidInput("a reopened case has no outcome", fields={"outcome": "leave it out"})
    now = utcnow()
    closing = status is CaseStatus.CLOSED
    _append(
        session,
        case,
        kind=CaseEventKind.CASE_CLOSED if closing else CaseEventKind.CASE_REOPENED,
        fields={"summary": note, "detail": {"outcome": outcome.value if outcome else None}},
        actor=actor,
        at=now,
    )
    case.status = status.value
    case.outcome = outcome.value if outcome else None
    case.closed_at = now if closing else None
    return _model(session, case)


def open_personal(
    session: Session, case_id: int, *, event_id: int, actor: Actor, purpose: str
) -> PersonalDetail:
    """Open an event's personal details for a stated purpose (``read_sensitive``; audited).

    Run it in a write transaction: the audit event and the disclosure stand or fall together.
    """
    require(actor, Permission.VERIFY)
    require(actor, Permission.READ_SENSITIVE)
    if not 3 <= len(purpose.strip()) <= 300:
        raise InvalidInput("say why you need the personal details", fields={"purpose": _PURPOSE})
    case = case_row(session, case_id, actor=actor)
    row = session.get(CaseEventRow, event_id)
    if row is None or row.case_id != case.id:
        raise NotFound(
            f"case {case.id} has no event {event_id}", fields={"event_id": f"no event {event_id}"}
        )
    opened = privacy.read_sensitive(
        session, row.sensitive, bound_to=f"case_event:{row.id}", actor=actor, purpose=purpose
    )
    personal = opened.get("personal")
    return PersonalDetail(event_id=row.id, personal=str(personal) if personal else None)


# --- coverage, for the indicators ------------------------------------------------------------


@dataclass
class _Reach:
    opened_at: datetime
    open: bool
    referral: bool = False
    investigation_at: datetime | None = None
    remedy_at: datetime | None = None


def _earliest(current: datetime | None, candidate: datetime) -> datetime:
    return candidate if current is None or candidate < current else current


def _reach_of_cases(
    session: Session, case_ids: set[int], *, as_of: datetime | None
) -> dict[int, _Reach]:
    cases = session.scalars(select(CaseRow).where(CaseRow.id.in_(sorted(case_ids)))).all()
    reach = {
        c.id: _Reach(
            opened_at=c.opened_at,
            open=c.closed_at is None or (as_of is not None and c.closed_at > as_of),
        )
        for c in cases
    }
    events = select(CaseEventRow.case_id, CaseEventRow.kind, CaseEventRow.status, CaseEventRow.at)
    events = events.where(CaseEventRow.case_id.in_(sorted(case_ids)))
    if as_of is not None:
        events = events.where(CaseEventRow.at <= as_of)
    for case_id, kind_text, status, at in session.execute(events):
        kind, found = CaseEventKind(kind_text), reach[case_id]
        if kind in REFERRAL_KINDS:
            found.referral = True
        if kind in INVESTIGATION_KINDS:
            found.investigation_at = _earliest(found.investigation_at, at)
        if status in REMEDY_STATUSES.get(kind, frozenset()):
            found.remedy_at = _earliest(found.remedy_at, at)
    return reach


def case_coverage(
    session: Session,
    incident_ids: Iterable[str],
    *,
    as_of: datetime | None = None,
    include_exercise: bool = False,
) -> dict[str, CaseCoverage]:
    """For each incident that a case covers: its cases, and whether they reached a referral,
    an opened investigation, a remedy (``REMEDY_STATUSES``), and when.

    Incidents without a case are absent. With ``as_of``, only cases opened and events
    dated at or before it count (a report stays reproducible). A case on an incident
    later merged into another counts for the one it was merged into. No actor: the
    result holds no personal data and no case detail, only flags and dates.
    """
    wanted = set(incident_ids)
    as_of = as_utc(as_of)
    links = select(
        CaseIncidentRow.case_id, CaseIncidentRow.incident_id, IncidentRow.merged_into
    ).join(IncidentRow, IncidentRow.id == CaseIncidentRow.incident_id)
    links = links.join(CaseRow, CaseRow.id == CaseIncidentRow.case_id)
    if not include_exercise:
        links = links.where(CaseRow.is_exercise.is_(False))
    if as_of is not None:
        links = links.where(CaseRow.opened_at <= as_of)
    by_incident: dict[str, set[int]] = {}
    for case_id, incident_id, merged_into in session.execute(links):
        for target in (incident_id, merged_into):
            if target is not None and target in wanted:
                by_incident.setdefault(target, set()).add(case_id)
    if not by_incident:
        return {}
    reach = _reach_of_cases(session, set().union(*by_incident.values()), as_of=as_of)
    coverage = {}
    for incident_id, case_ids in by_incident.items():
        found = [reach[c] for c in sorted(case_ids)]
        investigations = [r.investigation_at for r in found if r.investigation_at is not None]
        remedies = [r.remedy_at for r in found if r.remedy_at is not None]
        coverage[incident_id] = CaseCoverage(
            incident_id=incident_id,
            case_ids=sorted(case_ids),
            opened_at=min(r.opened_at for r in found),
            has_referral=any(r.referral for r in found),
            has_investigation=bool(investigations),
            investigation_at=min(investigations) if investigations else None,
            has_remedy=bool(remedies),
            remedy_at=min(remedies) if remedies else None,
            open=any(r.open for r in found),
        )
    return coverage
