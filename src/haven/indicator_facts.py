"""The per-incident facts behind the quality indicators: verification time, notified-site
strikes, investigation and remedy, read from live rows at a given instant.

``quality_facts`` reads, for each incident asked about: when Haven first received
an account of it (its earliest report), when it first reached the *verified*
state (the verification history, ``verification_notes``), whether it struck a
facility and whether that site or a movement near it had been notified to a
party at the time (``haven.notification_proofs``, for incidents linked to a
facility, and for every located incident once a movement has been notified),
and whether a case opened an investigation or obtained a remedy
(``haven.cases.case_coverage``). Only events at or before ``as_of`` count, so a
release made at ``as_of`` always gives the same answer. ``QualityTally`` adds
them up for one country and period.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import cases, notification_proofs
from haven.accounts import Actor
from haven.models import IncidentRow, NotificationRow, ReportRow, VerificationNoteRow
from haven.taxonomy import IncidentState

__all__ = ["QualityFacts", "QualityTally", "quality_facts"]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class QualityFacts:
    """What the quality indicators need to know about one incident (no personal data)."""

    incident_id: str
    received_at: datetime
    verified_at: datetime | None
    facility_struck: bool
    notified_site_struck: bool
    notified_movement_struck: bool
    investigated: bool
    remedied: bool

    @property
    def days_to_verification(self) -> float | None:
        """Days from the first account received to the first move to *verified*."""
        if self.verified_at is None:
            return None
        return max(0.0, (self.verified_at - self.received_at).total_seconds() / 86400)


@dataclass(slots=True)
class QualityTally:
    """The quality facts of the incidents of one country and period, added up."""

    incidents: int = 0
    verified: int = 0
    verification_days: list[float] = field(default_factory=list)
    facility_struck: int = 0
    notified_site_struck: int = 0
    notified_movement_struck: int = 0
    investigated: int = 0
    remedied: int = 0

    def add(self, facts: QualityFacts) -> None:
        """Count one incident."""
        self.incidents += 1
        days = facts.days_to_verification
        if days is not None:
            self.verified += 1
            self.verification_days.append(round(days, 1))
        self.facility_struck += facts.facility_struck
        self.notified_site_struck += facts.notified_site_struck
        self.notified_movement_struck += facts.notified_movement_struck
        self.investigated += facts.investigated
        self.remedied += facts.remedied

    def merge(self, other: QualityTally) -> None:
        """Add another tally to this one."""
        self.incidents += other.incidents
        self.verified += other.verified
        self.verification_days.extend(other.verification_days)
        self.facility_struck += other.facility_struck
        self.notified_site_struck += other.notified_site_struck
        self.notified_movement_struck += other.notified_movement_struck
        self.investigated += other.investigated
        self.remedied += other.remedied

    @property
    def median_days(self) -> float | None:
        """Median days to verification of the verified incidents (``None`` if none)."""
        if not self.verification_days:
            return None
        return float(statistics.median(self.verification_days))


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _received(session: Session, ids: Sequence[str]) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(ReportRow.incident_id, func.min(ReportRow.received_at))
            .where(ReportRow.incident_id.in_(chunk))
            .group_by(ReportRow.incident_id)
        )
        found.update({incident_id: at for incident_id, at in rows})
        created = session.execute(
            select(IncidentRow.id, IncidentRow.created_at).where(IncidentRow.id.in_(chunk))
        )
        for incident_id, at in created:
            if incident_id not in found or at < found[incident_id]:
                found[incident_id] = at
    return found


def _verified(session: Session, ids: Sequence[str], *, as_of: datetime) -> dict[str, datetime]:
    found: dict[str, datetime] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(VerificationNoteRow.incident_id, func.min(VerificationNoteRow.at))
            .where(
                VerificationNoteRow.incident_id.in_(chunk),
                VerificationNoteRow.kind == "state",
                VerificationNoteRow.to_state == IncidentState.VERIFIED.value,
                VerificationNoteRow.at <= as_of,
            )
            .group_by(VerificationNoteRow.incident_id)
        )
        found.update({incident_id: at for incident_id, at in rows})
    return found


def _linkable(session: Session, ids: Sequence[str]) -> set[str]:
    """Incidents whose linkage can find a notified site or movement: those linked to a facility,
    and, once any movement has been notified, every incident with a point."""
    movements = session.scalar(
        select(NotificationRow.id)
        .where(NotificationRow.kind == "movement", NotificationRow.sent_at.is_not(None))
        .limit(1)
    )
    linked = IncidentRow.lon.is_not(None) if movements else IncidentRow.facility_id.is_not(None)
    found: set[str] = set()
    for chunk in _chunks(ids):
        found.update(
            session.scalars(select(IncidentRow.id).where(IncidentRow.id.in_(chunk), linked))
        )
    return found


def quality_facts(
    session: Session, incident_ids: Sequence[str], *, actor: Actor, as_of: datetime
) -> dict[str, QualityFacts]:
    """The quality facts of each incident in ``incident_ids`` as they stood at ``as_of``.

    ``actor`` must be allowed to see the incidents (the linkage checks it).
    """
    ids = sorted(set(incident_ids))
    received = _received(session, ids)
    verified = _verified(session, ids, as_of=as_of)
    located = _linkable(session, ids)
    coverage = cases.case_coverage(session, ids, as_of=as_of)
    found: dict[str, QualityFacts] = {}
    for incident_id in ids:
        struck = site = movement = False
        if incident_id in located:
            notified = notification_proofs.incident_notified(session, incident_id, actor=actor)
            if notified.site is not None:
                struck = notified.site.struck
            site = notification_proofs.NOTIFIED_SITE_STRUCK in notified.labels
            movement = notification_proofs.NOTIFIED_MOVEMENT_STRUCK in notified.labels
        covered = coverage.get(incident_id)
        found[incident_id] = QualityFacts(
            incident_id=incident_id,
            received_at=received[incident_id],
            verified_at=verified.get(incident_id),
            facility_struck=struck,
            notified_site_struck=site,
            notified_movement_struck=movement,
            investigated=bool(covered and covered.has_investigation),
            remedied=bool(covered and covered.has_remedy),
        )
    return found
