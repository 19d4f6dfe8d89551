"""Deduplication in the database: consolidate a new incident, merge, undo, suggestions.

``consolidate`` looks for the incidents a freshly opened incident may describe
(the pure core in ``dedup_candidates`` and ``dedup_score`` does the matching),
merges automatically at or above ``MERGE_THRESHOLD`` and queues a suggestion
in the grey zone. A merge moves the reports (each keeps its provenance: source,
import run, row) to the kept incident and marks the other ``merged_into``; it
is recorded in ``merges`` and audited, and ``undo_merge`` moves the same
reports back. Exercise and real records never merge, nor do two countries, and
an actor only ever merges incidents they may see (``policy.visible_incidents``).
Narratives are decrypted for matching only; they are never logged or stored.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum

import numpy as np
from pydantic import BaseModel
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, aliased

from haven import audit, policy, privacy, reports, verification
from haven.accounts import Actor, Permission, require
from haven.dedup_candidates import TOLERANCE_DAYS, DedupFacts, DedupRecords, candidate_pairs
from haven.dedup_score import FEATURES, MERGE_THRESHOLD, SUGGEST_THRESHOLD, features, score_features
from haven.errors import Conflict, InvalidInput, NotFound
from haven.geo import LonLat
from haven.models import (
    IncidentAttackTypeRow,
    IncidentRow,
    MergeRow,
    MergeSuggestionRow,
    ReportRow,
    SourceRow,
    utcnow,
)
from haven.reports import ReportIn, ReportReceipt
from haven.taxonomy import DatePrecision, GeoPrecision, SsaAttackType, SsaResource

__all__ = [
    "DedupOutcome",
    "Merge",
    "Suggestion",
    "SuggestionVerdict",
    "after_submit",
    "consolidate",
    "decide_suggestion",
    "merge",
    "submit",
    "suggestions",
    "undo_merge",
]

_WIDEST = {
    DatePrecision.EXACT: timedelta(days=1),
    DatePrecision.DAY: timedelta(days=2),
    DatePrecision.MONTH: timedelta(days=32),
    DatePrecision.YEAR: timedelta(days=367),
}
_LOOK_BACK = timedelta(days=367 + TOLERANCE_DAYS)
"""How far either side a candidate's ``occurred_at`` may lie (a year-precise one starts Jan 1)."""


class SuggestionVerdict(StrEnum):
    """A verifier's answer to a suggested duplicate."""

    ACCEPT = "accept"
    REJECT = "reject"


class Merge(BaseModel):
    """A recorded merge: which incident was kept, which was merged, and the reports moved."""

    id: int
    kept_incident_id: str
    merged_incident_id: str
    automatic: bool
    score: float | None
    moved_report_ids: list[str]
    actor: str
    undone: bool


class Suggestion(BaseModel):
    """A possible duplicate waiting for a verifier."""

    id: int
    incident_id: str
    candidate_id: str
    score: float
    features: dict[str, float]
    status: str


class DedupOutcome(BaseModel):
    """What ``consolidate`` did with a new incident."""

    incident_id: str
    """Where the new incident's reports now are (the kept incident after a merge)."""
    merge: Merge | None = None
    suggestions: list[Suggestion] = []


def _facts(
    session: Session, row: IncidentRow, *, types: list[str], narrative: bool = True
) -> DedupFacts:
    """The row's facts; with ``narrative``, its decrypted narrative (for matching only)."""
    text = ""
    if narrative and row.sensitive:
        opened = privacy.decrypt(session, row.sensitive, bound_to=f"incident:{row.id}")
        text = str(opened.get("narrative", ""))
    located = row.lon is not None and row.lat is not None
    return DedupFacts(
        occurred_at=row.occurred_at,
        date_precision=DatePrecision(row.date_precision),
        location=LonLat(row.lon, row.lat) if located else None,  # type: ignore[arg-type]
        geo_precision=GeoPrecision(row.geo_precision) if row.geo_precision else None,
        country=row.country,
        admin1=row.admin1,
        attack_types=tuple(SsaAttackType(t) for t in types),
        resources=tuple(SsaResource(r) for r in row.resources),
        killed=row.killed_total,
        injured=row.injured_total,
        name=row.location_name or "",
        narrative=text,
        exercise=row.is_exercise,
    )


def _visible(session: Session, incident_id: str, *, actor: Actor) -> IncidentRow:
    row = session.scalar(
        select(IncidentRow).where(
            IncidentRow.id == incident_id,
            IncidentRow.merged_into.is_(None),
            policy.visible_incidents(session, actor),
        )
    )
    if row is None:
        raise NotFound(f"no incident {incident_id}", fields={"incident_id": "unknown"})
    return row


def _types(session: Session, ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {i: [] for i in ids}
    for incident_id, attack_type in session.execute(
        select(IncidentAttackTypeRow.incident_id, IncidentAttackTypeRow.attack_type).where(
            IncidentAttackTypeRow.incident_id.in_(ids)
        )
    ):
        found[incident_id].append(attack_type)
    return found


def _published_sources(session: Session, incident_id: str) -> list[int]:
    """Published datasets (source kind ``dataset``) among the incident's reports."""
    return list(
        session.scalars(
            select(SourceRow.id)
            .join(ReportRow, ReportRow.source_id == SourceRow.id)
            .where(ReportRow.incident_id == incident_id, SourceRow.kind == "dataset")
            .distinct()
        )
    )


def _candidates(session: Session, row: IncidentRow, *, actor: Actor) -> list[IncidentRow]:
    """Open incidents of the same country and kind whose dates may be within the tolerance.

    Two rows of one published dataset are two events by the publisher's own
    account, so incidents holding a report from the same dataset are left out.
    """
    slack = timedelta(days=TOLERANCE_DAYS + 1)
    until = row.occurred_at + _WIDEST[DatePrecision(row.date_precision)] + slack
    coarse = [DatePrecision.MONTH.value, DatePrecision.YEAR.value]
    conditions = [
        IncidentRow.id != row.id,
        IncidentRow.country == row.country,
        IncidentRow.is_exercise.is_(row.is_exercise),
        IncidentRow.merged_into.is_(None),
        IncidentRow.occurred_at <= until,
        or_(
            IncidentRow.occurred_at >= row.occurred_at - slack,
            and_(
                IncidentRow.date_precision.in_(coarse),
                IncidentRow.occurred_at >= row.occurred_at - _LOOK_BACK,
            ),
        ),
        policy.visible_incidents(session, actor),
    ]
    found = list(session.scalars(select(IncidentRow).where(*conditions)))
    sources = set(_published_sources(session, row.id))
    if not sources or not found:
        return found
    same_dataset = {
        incident_id
        for incident_id, source_id in session.execute(
            select(ReportRow.incident_id, ReportRow.source_id).where(
                ReportRow.incident_id.in_([r.id for r in found])
            )
        )
        if source_id in sources
    }
    return [r for r in found if r.id not in same_dataset]


def _suggest(
    session: Session,
    row: IncidentRow,
    *,
    other: IncidentRow,
    score: float,
    values: dict[str, float],
    actor: Actor,
) -> Suggestion:
    stored = MergeSuggestionRow(
        incident_id=row.id, candidate_id=other.id, score=score, features=values, status="open"
    )
    session.add(stored)
    session.flush()
    audit.record(
        session,
        actor,
        action="dedup.suggest",
        entity_type="incident",
        entity_id=row.id,
        detail={"candidate_id": other.id, "score": round(score, 4), "suggestion_id": stored.id},
    )
    return _suggestion(stored)


def consolidate(session: Session, incident_id: str, *, actor: Actor) -> DedupOutcome:
    """Find the incidents ``incident_id`` may describe; merge above the threshold, else suggest.

    The incident already there is kept: the new one's reports move into it.
    """
    row = _visible(session, incident_id, actor=actor)
    others = _candidates(session, row, actor=actor)
    if not others:
        return DedupOutcome(incident_id=row.id)
    rows = [row, *others]
    types = _types(session, [r.id for r in rows])
    plain = [_facts(session, r, types=types[r.id], narrative=False) for r in rows]
    i, j = candidate_pairs(DedupRecords.from_facts(plain))
    keep = np.concatenate([[0], j[i == 0]])
    if len(keep) == 1:
        return DedupOutcome(incident_id=row.id)
    rows = [rows[int(k)] for k in keep]
    records = DedupRecords.from_facts([_facts(session, r, types=types[r.id]) for r in rows])
    j = np.arange(1, len(rows))
    i = np.zeros(len(j), dtype=np.int64)
    matrix = features(records, (i, j))
    scores = score_features(matrix)
    order = sorted(range(len(j)), key=lambda k: -float(scores[k]))
    outcome = DedupOutcome(incident_id=row.id)
    for k in order:
        other = rows[int(j[k])]
        score = float(scores[k])
        values = {name: round(float(v), 4) for name, v in zip(FEATURES, matrix[k], strict=True)}
        if score >= MERGE_THRESHOLD:
            done = _merge(session, other, gone=row, actor=actor, automatic=True, score=score)
            return DedupOutcome(incident_id=other.id, merge=done)
        if score >= SUGGEST_THRESHOLD:
            outcome.suggestions.append(
                _suggest(session, row, other=other, score=score, values=values, actor=actor)
            )
    return outcome


def _merge_model(row: MergeRow) -> Merge:
    return Merge(
        id=row.id,
        kept_incident_id=row.kept_incident_id,
        merged_incident_id=row.merged_incident_id,
        automatic=row.automatic,
        score=row.score,
        moved_report_ids=list(row.moved_report_ids),
        actor=row.actor,
        undone=row.undone_at is not None,
    )


def merge(
    session: Session,
    kept: str,
    *,
    merged: str,
    actor: Actor,
    automatic: bool = False,
    score: float | None = None,
) -> Merge:
    """Move every report of ``merged`` into ``kept``; ``merged`` is hidden from listings.

    Raises
    ------
    NotFound
        Either incident is unknown, already merged, or not visible to ``actor``.
    InvalidInput
        The two are the same, of different countries, or one is an exercise record.
    """
    require(actor, Permission.VERIFY)
    if kept == merged:
        raise InvalidInput(
            "an incident cannot merge into itself", fields={"merged": "same as kept"}
        )
    keep, gone = _visible(session, kept, actor=actor), _visible(session, merged, actor=actor)
    return _merge(session, keep, gone=gone, actor=actor, automatic=automatic, score=score)


def _merge(
    session: Session,
    keep: IncidentRow,
    *,
    gone: IncidentRow,
    actor: Actor,
    automatic: bool,
    score: float | None,
) -> Merge:
    if keep.is_exercise != gone.is_exercise:
        raise InvalidInput(
            "exercise and real records never merge", fields={"merged": "exercise flag differs"}
        )
    if keep.country != gone.country:
        raise InvalidInput(
            "incidents of two countries never merge", fields={"merged": "other country"}
        )
    moved = list(session.scalars(select(ReportRow.id).where(ReportRow.incident_id == gone.id)))
    session.execute(
        update(ReportRow).where(ReportRow.incident_id == gone.id).values(incident_id=keep.id)
    )
    gone.merged_into = keep.id
    keep.report_count += len(moved)
    gone.report_count = 0
    keep.updated_at = gone.updated_at = utcnow()
    record = MergeRow(
        kept_incident_id=keep.id,
        merged_incident_id=gone.id,
        actor=actor.label,
        automatic=automatic,
        score=score,
        moved_report_ids=moved,
    )
    session.add(record)
    session.flush()
    verification.refresh_certainty(session, keep, actor=actor)
    audit.record(
        session,
        actor,
        action="incident.merge",
        entity_type="incident",
        entity_id=keep.id,
        detail={
            "merge_id": record.id,
            "merged": gone.id,
            "automatic": automatic,
            "score": score,
            "reports": moved,
        },
    )
    return _merge_model(record)


def undo_merge(session: Session, merge_id: int, *, actor: Actor) -> Merge:
    """Move a merge's reports back and show the merged incident again."""
    require(actor, Permission.VERIFY)
    record = session.get(MergeRow, merge_id)
    if record is None:
        raise NotFound(f"no merge {merge_id}", fields={"merge_id": "unknown"})
    keep = _visible(session, record.kept_incident_id, actor=actor)
    gone = session.scalar(
        select(IncidentRow).where(
            IncidentRow.id == record.merged_incident_id, policy.visible_incidents(session, actor)
        )
    )
    if gone is None:
        raise NotFound(f"no merge {merge_id}", fields={"merge_id": "unknown"})
    if record.undone_at is not None:
        raise Conflict(f"merge {merge_id} is already undone", fields={"merge_id": "undone"})
    moved = list(record.moved_report_ids)
    session.execute(
        update(ReportRow)
        .where(ReportRow.id.in_(moved), ReportRow.incident_id == keep.id)
        .values(incident_id=gone.id)
    )
    gone.merged_into = None
    gone.report_count = len(moved)
    keep.report_count = max(1, keep.report_count - len(moved))
    keep.updated_at = gone.updated_at = utcnow()
    record.undone_at = utcnow()
    record.undone_by = actor.label
    session.flush()
    verification.refresh_certainty(session, keep, actor=actor)
    verification.refresh_certainty(session, gone, actor=actor)
    audit.record(
        session,
        actor,
        action="incident.merge_undo",
        entity_type="incident",
        entity_id=keep.id,
        detail={"merge_id": record.id, "restored": gone.id, "reports": moved},
    )
    return _merge_model(record)


def _suggestion(row: MergeSuggestionRow) -> Suggestion:
    return Suggestion(
        id=row.id,
        incident_id=row.incident_id,
        candidate_id=row.candidate_id,
        score=row.score,
        features=dict(row.features),
        status=row.status,
    )


def suggestions(session: Session, *, actor: Actor, limit: int = 100) -> list[Suggestion]:
    """Open suggestions between two unmerged incidents the actor may see, best first."""
    require(actor, Permission.VERIFY)
    first, second = aliased(IncidentRow), aliased(IncidentRow)
    visible = policy.visible_incidents(session, actor)
    ids = set(
        session.scalars(select(IncidentRow.id).where(visible, IncidentRow.merged_into.is_(None)))
    )
    query = (
        select(MergeSuggestionRow)
        .join(first, first.id == MergeSuggestionRow.incident_id)
        .join(second, second.id == MergeSuggestionRow.candidate_id)
        .where(
            MergeSuggestionRow.status == "open",
            first.merged_into.is_(None),
            second.merged_into.is_(None),
        )
        .order_by(MergeSuggestionRow.score.desc(), MergeSuggestionRow.id)
    )
    found = [
        _suggestion(r)
        for r in session.scalars(query)
        if r.incident_id in ids and r.candidate_id in ids
    ]
    return found[:limit]


def decide_suggestion(
    session: Session, suggestion_id: int, *, verdict: SuggestionVerdict, actor: Actor
) -> Suggestion:
    """Accept (merge the suggested incident into the candidate) or reject a suggestion."""
    require(actor, Permission.VERIFY)
    row = session.get(MergeSuggestionRow, suggestion_id)
    visible = {s.id for s in suggestions(session, actor=actor, limit=1_000_000)}
    if row is None or row.id not in visible:
        raise NotFound(f"no open suggestion {suggestion_id}", fields={"suggestion_id": "unknown"})
    if verdict is SuggestionVerdict.ACCEPT:
        merge(session, row.candidate_id, merged=row.incident_id, actor=actor, score=row.score)
    row.status = "accepted" if verdict is SuggestionVerdict.ACCEPT else "rejected"
    row.decided_by = actor.label
    row.decided_at = utcnow()
    audit.record(
        session,
        actor,
        action="dedup.decide",
        entity_type="merge_suggestion",
        entity_id=row.id,
        detail={
            "verdict": verdict.value,
            "incident_id": row.incident_id,
            "candidate_id": row.candidate_id,
        },
    )
    return _suggestion(row)


def _opened_by(session: Session, receipt: ReportReceipt) -> bool:
    """Whether the receipt's report is new and alone in its incident (not joined to a named one)."""
    if not receipt.created:
        return False
    session.flush()
    count = session.scalar(
        select(IncidentRow.report_count).where(IncidentRow.id == receipt.incident_id)
    )
    return count == 1


def submit(session: Session, report: ReportIn, *, actor: Actor) -> ReportReceipt:
    """``reports.submit``, then consolidate the incident it opened; the receipt names where the
    report ended up (the incident it was merged into, after an automatic merge)."""
    receipt = reports.submit(session, report, actor=actor)
    if not _opened_by(session, receipt):
        return receipt
    outcome = consolidate(session, receipt.incident_id, actor=actor)
    return receipt.model_copy(update={"incident_id": outcome.incident_id})


def after_submit(actor: Actor) -> Callable[[Session, ReportReceipt], bool]:
    """The importer hook: consolidate each newly opened incident; True when it merged."""

    def hook(session: Session, receipt: ReportReceipt) -> bool:
        if not _opened_by(session, receipt):
            return False
        return consolidate(session, receipt.incident_id, actor=actor).merge is not None

    return hook
