"""Proof of notification: which parties had been told of a site or movement, and when it was struck.

``proof_for_site`` answers "was party P notified of site S before time T?" with
the notification, its content hash, the custody leaf of the send and, if the
party acknowledged receipt by then, the leaf of the acknowledgement.
``incident_notified`` applies it to an incident's linkage (``haven.linkage``):
the facility it struck, and the notified movements under way near it.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import linkage
from haven.accounts import Actor
from haven.linkage import FacilityHit, LinkOutcome, MovementHit
from haven.models import IncidentRow, NotificationRow, NotificationSiteRow, PartyRow
from haven.notification_content import NOT_APPROVAL, NotificationState

__all__ = [
    "IncidentNotified",
    "NotificationProof",
    "NotifiedMovement",
    "NotifiedSite",
    "incident_notified",
    "proof_for_movement",
    "proof_for_site",
]

NOTIFIED_SITE_STRUCK = "notified site struck"
NOTIFIED_MOVEMENT_STRUCK = "notified movement struck"


class NotificationProof(BaseModel):
    """That a party was told of a site or movement: when, what (hash), and the custody leaves."""

    party_id: int
    party_name: str
    notification_id: int
    version: int
    state: NotificationState
    sent_at: datetime
    content_sha256: str
    leaf_index: int = Field(description="Custody leaf of the send.")
    acknowledged_at: datetime | None
    ack_leaf_index: int | None
    acknowledged_before: bool = Field(description="Acknowledged at or before the time asked.")
    acknowledgement_meaning: str = Field(default=NOT_APPROVAL)


def _proofs(
    session: Session, rows: list[tuple[NotificationRow, str]], *, at: datetime
) -> list[NotificationProof]:
    found = []
    for row, party_name in rows:
        if row.sent_at is None or row.sent_leaf is None or row.sent_at > at:
            continue
        if row.valid_from > at or row.expires_at <= at:
            continue
        if (
            row.ended_at is not None
            and row.ended_at <= at
            and row.state != NotificationState.EXPIRED.value
        ):
            continue
        acknowledged = row.acknowledged_at is not None and row.acknowledged_at <= at
        found.append(
            NotificationProof(
                party_id=row.party_id,
                party_name=party_name,
                notification_id=row.id,
                version=row.version,
                state=NotificationState(row.state),
                sent_at=row.sent_at,
                content_sha256=row.content_sha256,
                leaf_index=row.sent_leaf,
                acknowledged_at=row.acknowledged_at,
                ack_leaf_index=row.ack_leaf,
                acknowledged_before=acknowledged,
            )
        )
    return found


def proof_for_site(session: Session, facility_id: int, *, at: datetime) -> list[NotificationProof]:
    """Every notification naming the site that was sent and valid at ``at``, with its leaves.

    For an incident at ``at``: which parties had been told of the site, with what
    content (hash), by which custody leaf, and whether they had acknowledged
    receipt by then. Ordered by party, then send time.
    """
    rows = session.execute(
        select(NotificationRow, PartyRow.name)
        .join(NotificationSiteRow, NotificationSiteRow.notification_id == NotificationRow.id)
        .join(PartyRow, PartyRow.id == NotificationRow.party_id)
        .where(NotificationSiteRow.facility_id == facility_id, NotificationRow.sent_at <= at)
        .order_by(PartyRow.name, NotificationRow.sent_at)
    ).all()
    return _proofs(session, [(r[0], r[1]) for r in rows], at=at)


def proof_for_movement(
    session: Session, movement_id: int, *, at: datetime
) -> list[NotificationProof]:
    """``proof_for_site`` for a movement: which parties had been told of it by ``at``."""
    rows = session.execute(
        select(NotificationRow, PartyRow.name)
        .join(PartyRow, PartyRow.id == NotificationRow.party_id)
        .where(NotificationRow.movement_id == movement_id, NotificationRow.sent_at <= at)
        .order_by(PartyRow.name, NotificationRow.sent_at)
    ).all()
    return _proofs(session, [(r[0], r[1]) for r in rows], at=at)


class NotifiedSite(BaseModel):
    """The facility an incident struck (or came near), and who had been told of it."""

    facility: FacilityHit
    struck: bool = Field(
        description="Inside the incident's precision radius, or named by a report."
    )
    proofs: list[NotificationProof]


class NotifiedMovement(BaseModel):
    """A notified movement under way near the incident, and who had been told of it."""

    movement: MovementHit
    proofs: list[NotificationProof]


class IncidentNotified(BaseModel):
    """Whether an incident struck a notified site or movement, with the proof chain."""

    incident_id: str
    occurred_at: datetime
    labels: list[str] = Field(
        description="'notified site struck' and/or 'notified movement struck' (or nothing)."
    )
    site: NotifiedSite | None
    movements: list[NotifiedMovement]
    acknowledgement_meaning: str = Field(default=NOT_APPROVAL)


def incident_notified(session: Session, incident_id: str, *, actor: Actor) -> IncidentNotified:
    """The incident's linkage with the notifications that covered it at the time.

    ``NotFound`` when the actor may not see the incident (``linkage.describe`` checks).
    """
    link = linkage.describe(session, incident_id, actor=actor)
    occurred_at = session.scalar(
        select(IncidentRow.occurred_at).where(IncidentRow.id == incident_id)
    )
    assert occurred_at is not None  # describe found it
    labels: list[str] = []
    site = None
    if link.facility is not None:
        struck = link.outcome is LinkOutcome.STRUCK or link.named_by_report
        proofs = proof_for_site(session, link.facility.facility_id, at=occurred_at)
        site = NotifiedSite(facility=link.facility, struck=struck, proofs=proofs)
        if struck and proofs:
            labels.append(NOTIFIED_SITE_STRUCK)
    movements = []
    for hit in link.movements:
        proofs = proof_for_movement(session, hit.movement_id, at=occurred_at)
        if proofs:
            movements.append(NotifiedMovement(movement=hit, proofs=proofs))
    if movements:
        labels.append(NOTIFIED_MOVEMENT_STRUCK)
    return IncidentNotified(
        incident_id=incident_id,
        occurred_at=occurred_at,
        labels=labels,
        site=site,
        movements=movements,
    )
