"""Merging incidents and undoing merges: reports move, provenance stays, every step is recorded.

A merge moves every report of one incident into another (each report keeps its
source, import run and row), marks the moved incident ``merged_into`` (listings
and reads then skip it), recomputes the kept incident's certainty, stores a row
in ``merges`` and audits it, all in the caller's transaction. ``undo_merge``
moves exactly the recorded reports back. Exercise and real records never merge,
nor do two countries; an actor only merges incidents they may see.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from haven import audit, policy, verification
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput, NotFound
from haven.models import IncidentRow, MergeRow, ReportRow, utcnow

__all__ = ["Merge", "merge", "merge_rows", "undo_merge", "visible_open_incident"]


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


def visible_open_incident(session: Session, incident_id: str, *, actor: Actor) -> IncidentRow:
    """The unmerged incident ``incident_id`` if ``actor`` may see it, else ``NotFound``."""
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
    keep, gone = (
        visible_open_incident(session, kept, actor=actor),
        visible_open_incident(session, merged, actor=actor),
    )
    return merge_rows(session, keep, gone=gone, actor=actor, automatic=automatic, score=score)


def merge_rows(
    session: Session,
    keep: IncidentRow,
    *,
    gone: IncidentRow,
    actor: Actor,
    automatic: bool,
    score: float | None,
) -> Merge:
    """Merge the loaded row ``gone`` into ``keep`` (checks kind and country, not permission)."""
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
    keep = visible_open_incident(session, record.kept_incident_id, actor=actor)
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
