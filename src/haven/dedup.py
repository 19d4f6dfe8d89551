"""Deduplication in the database: consolidate a new incident, suggestions and decisions.

``consolidate`` looks for the incidents a freshly opened incident may describe
(the pure core in ``dedup_candidates`` and ``dedup_score`` does the matching),
compares it with every report those incidents hold (an incident scores as its
best report, ``dedup_resolve.best_by_incident``), merges automatically with the
clear best candidate (``dedup_resolve.pick_merge``;
``haven.merges``: recorded,
audited, reversible with ``undo_merge``) and queues a suggestion for a verifier
in the grey zone. Candidates are only incidents the actor may see
(``policy.visible_incidents``), of the same country and kind (real or exercise).
Narratives are decrypted for matching only; they are never logged or stored.
``merge``, ``undo_merge`` and ``Merge`` are re-exported from ``haven.merges``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import numpy as np
from pydantic import BaseModel
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from haven import audit, policy, privacy, reports
from haven.accounts import Actor, Permission, require
from haven.dedup_candidates import (
    TOLERANCE_DAYS,
    DedupFacts,
    DedupRecords,
    candidate_pairs,
    detained_count,
)
from haven.dedup_resolve import best_by_incident, pick_merge
from haven.dedup_score import (
    FEATURES,
    SUGGEST_THRESHOLD,
    comparable,
    features,
    score_features,
)
from haven.errors import NotFound
from haven.geo import LonLat
from haven.merges import Merge, merge, merge_rows, undo_merge, visible_open_incident
from haven.models import (
    IncidentAttackTypeRow,
    IncidentRow,
    MergeSuggestionRow,
    ReportRow,
    SourceRow,
    utcnow,
)
from haven.reports import ReportIn, ReportReceipt
from haven.taxonomy import (
    CasualtyOutcome,
    DatePrecision,
    GeoPrecision,
    SsaAttackType,
    SsaResource,
)

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
        facility_type=row.facility_type,
        detained=detained_count(row.casualties),
    )


@dataclass(frozen=True, slots=True)
class _Member:
    """A report a candidate incident holds: the columns matching needs, not the whole row."""

    report_id: str
    incident_id: str
    facts: dict[str, Any]
    is_exercise: bool


def _report_facts(member: _Member, *, narrative: str = "") -> DedupFacts:
    """The facts one report gives (``reports.facts``), with its ``narrative`` when known."""
    facts = member.facts
    point = facts.get("location")
    precision = facts.get("geo_precision")
    casualties: dict[str, dict[str, int]] = facts.get("casualties") or {}
    return DedupFacts(
        occurred_at=datetime.fromisoformat(facts["occurred_at"]),
        date_precision=DatePrecision(facts["date_precision"]),
        location=LonLat(point["lon"], point["lat"]) if point else None,
        geo_precision=GeoPrecision(precision) if precision else None,
        country=facts["country"],
        admin1=facts.get("admin1"),
        attack_types=tuple(SsaAttackType(t) for t in facts.get("attack_types", [])),
        resources=tuple(SsaResource(r) for r in facts.get("resources", [])),
        killed=sum(int(v.get(CasualtyOutcome.KILLED, 0)) for v in casualties.values()),
        injured=sum(int(v.get(CasualtyOutcome.INJURED, 0)) for v in casualties.values()),
        name=facts.get("location_name") or "",
        narrative=narrative,
        exercise=member.is_exercise,
        facility_type=facts.get("facility_type"),
        detained=detained_count(casualties),
    )


def _narratives(session: Session, members: list[_Member]) -> dict[str, str]:
    """The decrypted narratives of ``members``' reports that have one (for matching only)."""
    ids = [m.report_id for m in members]
    found: dict[str, str] = {}
    for report_id, sensitive in session.execute(
        select(ReportRow.id, ReportRow.sensitive).where(
            ReportRow.id.in_(ids), ReportRow.sensitive.is_not(None)
        )
    ):
        if not sensitive:
            continue
        opened = privacy.decrypt(session, sensitive, bound_to=f"report:{report_id}")
        found[report_id] = str(opened.get("narrative") or "")
    return found


def _incident(session: Session, incident_id: str) -> IncidentRow:
    found = session.get(IncidentRow, incident_id)
    assert found is not None  # a candidate's incident, read in this transaction
    return found


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


def _candidates(session: Session, row: IncidentRow, *, actor: Actor) -> list[_Member]:
    """Reports whose dates may be within the tolerance, of open incidents of the same
    country and kind (only the columns matching needs: loading whole rows was most of an
    import's time).

    One query finds both kinds: the reports of incidents whose own (first report's) date
    is near, and the near reports of incidents holding several (a later member may be
    nearer than the first). Two rows of one published dataset are two events by the publisher's own
    account, so incidents holding a report from the same dataset are left out.
    """
    slack = timedelta(days=TOLERANCE_DAYS + 1)
    until = row.occurred_at + _WIDEST[DatePrecision(row.date_precision)] + slack
    earliest, longest = row.occurred_at - slack, row.occurred_at - _LOOK_BACK
    coarse = [DatePrecision.MONTH.value, DatePrecision.YEAR.value]
    shared = [
        IncidentRow.id != row.id,
        IncidentRow.country == row.country,
        IncidentRow.is_exercise.is_(row.is_exercise),
        IncidentRow.merged_into.is_(None),
        policy.visible_incidents(session, actor),
        ReportRow.occurred_at <= until,
        or_(
            ReportRow.occurred_at >= earliest,
            and_(
                ReportRow.facts["date_precision"].as_string().in_(coarse),
                ReportRow.occurred_at >= longest,
            ),
        ),
    ]
    by_incident_date = and_(
        IncidentRow.occurred_at <= until,
        or_(
            IncidentRow.occurred_at >= earliest,
            and_(IncidentRow.date_precision.in_(coarse), IncidentRow.occurred_at >= longest),
        ),
    )
    query = (
        select(ReportRow.id, ReportRow.incident_id, ReportRow.facts, ReportRow.is_exercise)
        .join(IncidentRow, ReportRow.incident_id == IncidentRow.id)
        .where(*shared, or_(by_incident_date, IncidentRow.report_count > 1))
    )
    found = [_Member(*columns) for columns in session.execute(query)]
    sources = set(_published_sources(session, row.id))
    if not sources or not found:
        return found
    same_dataset = {
        incident_id
        for incident_id, source_id in session.execute(
            select(ReportRow.incident_id, ReportRow.source_id).where(
                ReportRow.incident_id.in_({m.incident_id for m in found})
            )
        )
        if source_id in sources
    }
    return [m for m in found if m.incident_id not in same_dataset]


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


def consolidate(
    session: Session, incident_id: str, *, actor: Actor, auto_merge: bool = False
) -> DedupOutcome:
    """Find the incidents ``incident_id`` may describe; suggest them to verifiers, or merge.

    The new incident is compared with each report the candidates hold; a candidate scores
    as its best report among those compared most fully (``dedup_resolve.best_by_incident``),
    so it may be found through any of its reports, not only the one that opened it.
    With ``auto_merge``, the candidate ``dedup_resolve.pick_merge`` picks (at or above
    ``MERGE_THRESHOLD`` and ``MERGE_MARGIN`` clear of the others) is merged at once
    (the incident already there is kept: the new one's reports move into it). Without it
    (the default, see the ``dedup_auto_merge`` setting), or when no candidate is clear,
    every candidate from ``SUGGEST_THRESHOLD`` up is queued for a verifier.
    """
    row = visible_open_incident(session, incident_id, actor=actor)
    members = _candidates(session, row, actor=actor)
    if not members:
        return DedupOutcome(incident_id=row.id)
    types = _types(session, [row.id])[row.id]
    plain = [_facts(session, row, types=types, narrative=False)]
    plain += [_report_facts(m) for m in members]
    i, j = candidate_pairs(DedupRecords.from_facts(plain))
    near = [members[int(k) - 1] for k in j[i == 0]]
    if not near:
        return DedupOutcome(incident_id=row.id)
    told = _narratives(session, near)
    records = DedupRecords.from_facts(
        [
            _facts(session, row, types=types),
            *(_report_facts(m, narrative=told.get(m.report_id, "")) for m in near),
        ]
    )
    j = np.arange(1, len(near) + 1)
    matrix = features(records, (np.zeros(len(j), dtype=np.int64), j))
    scores = score_features(matrix)
    best = best_by_incident([m.incident_id for m in near], scores, comparable=comparable(matrix))
    ranked = sorted(best.values(), key=lambda k: -float(scores[k]))
    chosen = pick_merge([float(scores[k]) for k in ranked]) if auto_merge else None
    if chosen is not None:
        other = _incident(session, near[ranked[chosen]].incident_id)
        score = float(scores[ranked[chosen]])
        done = merge_rows(session, other, gone=row, actor=actor, automatic=True, score=score)
        return DedupOutcome(incident_id=other.id, merge=done)
    outcome = DedupOutcome(incident_id=row.id)
    for k in ranked:
        if scores[k] >= SUGGEST_THRESHOLD:
            values = {name: round(float(v), 4) for name, v in zip(FEATURES, matrix[k], strict=True)}
            outcome.suggestions.append(
                _suggest(
                    session,
                    row,
                    other=_incident(session, near[k].incident_id),
                    score=float(scores[k]),
                    values=values,
                    actor=actor,
                )
            )
    return outcome


def _suggestion(row: MergeSuggestionRow) -> Suggestion:
    return Suggestion(
        id=row.id,
        incident_id=row.incident_id,
        candidate_id=row.candidate_id,
        score=row.score,
        features=dict(row.features),
        status=row.status,
    )


def _open_suggestions(session: Session, *, actor: Actor) -> list[MergeSuggestionRow]:
    """Open suggestions whose two incidents are unmerged and visible to ``actor``, best first."""
    first, second = aliased(IncidentRow), aliased(IncidentRow)
    rows = list(
        session.scalars(
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
    )
    named = {r.incident_id for r in rows} | {r.candidate_id for r in rows}
    seen = set(
        session.scalars(
            select(IncidentRow.id).where(
                IncidentRow.id.in_(sorted(named)), policy.visible_incidents(session, actor)
            )
        )
    )
    return [r for r in rows if r.incident_id in seen and r.candidate_id in seen]


def suggestions(session: Session, *, actor: Actor, limit: int = 100) -> list[Suggestion]:
    """Open suggestions between two unmerged incidents the actor may see, best first."""
    require(actor, Permission.VERIFY)
    return [_suggestion(r) for r in _open_suggestions(session, actor=actor)[:limit]]


def decide_suggestion(
    session: Session, suggestion_id: int, *, verdict: SuggestionVerdict, actor: Actor
) -> Suggestion:
    """Accept (merge the suggested incident into the candidate) or reject a suggestion."""
    require(actor, Permission.VERIFY)
    row = session.get(MergeSuggestionRow, suggestion_id)
    visible = {s.id for s in _open_suggestions(session, actor=actor)}
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


def submit(
    session: Session, report: ReportIn, *, actor: Actor, auto_merge: bool = False
) -> ReportReceipt:
    """``reports.submit``, then consolidate the incident it opened; the receipt names where the
    report ended up (the incident it was merged into, after an automatic merge)."""
    receipt = reports.submit(session, report, actor=actor)
    if not _opened_by(session, receipt):
        return receipt
    outcome = consolidate(session, receipt.incident_id, actor=actor, auto_merge=auto_merge)
    return receipt.model_copy(update={"incident_id": outcome.incident_id})


def after_submit(
    actor: Actor, *, auto_merge: bool = False
) -> Callable[[Session, ReportReceipt], bool]:
    """The importer hook: consolidate each newly opened incident; True when it merged."""

    def hook(session: Session, receipt: ReportReceipt) -> bool:
        if not _opened_by(session, receipt):
            return False
        outcome = consolidate(session, receipt.incident_id, actor=actor, auto_merge=auto_merge)
        return outcome.merge is not None

    return hook
