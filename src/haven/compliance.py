"""A party's compliance record: incidents attributed to it by certainty, and what they show.

The record lists the incidents a source reported the party as perpetrator of
(``haven.attributions``), grouped by the certainty each attribution is *shown*
at, which is never above the incident's own certainty. It counts, each figure
split by that certainty and drillable to incident ids:

- notified sites struck after the party acknowledged receipt of the notification,
  and those struck while the notification sent to it was unacknowledged;
- notified movements struck, likewise (``haven.notification_proofs``);
- obstruction of medical routes or access, interference with humanitarian relief,
  and militarisation of health assets (the incident's conduct,
  ``haven.taxonomy.conduct``).

Every incident comes with its proof: the custody leaves about it, the leaves of the
notifications to this party that covered it, and the evidence package endpoint.
The record says in words that attribution is a reported perpetrator, not a
verdict (``REPORTED_PERPETRATOR``). This is the internal record (``read_incidents``);
public figures come only from released data.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import commitments, custody, notification_proofs, parties, policy
from haven.accounts import Actor, Permission, require
from haven.attributions import REPORTED_PERPETRATOR, shown_certainty
from haven.commitments import PartyProfile
from haven.errors import NotFound
from haven.models import AttributionRow, IncidentAttackTypeRow, IncidentRow, utcnow
from haven.notification_proofs import NotificationProof
from haven.taxonomy import Certainty, ProhibitedConduct

__all__ = [
    "AttributedIncident",
    "CertaintyGroup",
    "ComplianceRecord",
    "Figure",
    "FigureKey",
    "IncidentProof",
    "record",
]


class FigureKey(StrEnum):
    """The figures of a compliance record."""

    SITE_STRUCK_AFTER_ACK = "notified_site_struck_after_acknowledgement"
    SITE_STRUCK_UNACKNOWLEDGED = "notified_site_struck_unacknowledged"
    MOVEMENT_STRUCK_AFTER_ACK = "notified_movement_struck_after_acknowledgement"
    MOVEMENT_STRUCK_UNACKNOWLEDGED = "notified_movement_struck_unacknowledged"
    OBSTRUCTION = "obstruction_of_medical_access"
    RELIEF = "interference_with_humanitarian_relief"
    MILITARISATION = "militarisation_of_health_assets"


FIGURE_LABELS: dict[FigureKey, str] = {
    FigureKey.SITE_STRUCK_AFTER_ACK: (
        "Notified sites struck after this party acknowledged receipt of the notification"
    ),
    FigureKey.SITE_STRUCK_UNACKNOWLEDGED: (
        "Notified sites struck while the notification sent to this party was unacknowledged"
    ),
    FigureKey.MOVEMENT_STRUCK_AFTER_ACK: (
        "Notified movements struck after this party acknowledged receipt of the notification"
    ),
    FigureKey.MOVEMENT_STRUCK_UNACKNOWLEDGED: (
        "Notified movements struck while the notification sent to this party was unacknowledged"
    ),
    FigureKey.OBSTRUCTION: "Obstruction of medical routes or access to care",
    FigureKey.RELIEF: "Interference with humanitarian relief",
    FigureKey.MILITARISATION: "Militarisation of health assets",
}
_CONDUCT_FIGURES = {
    ProhibitedConduct.OBSTRUCTION_OF_MEDICAL_ACCESS: FigureKey.OBSTRUCTION,
    ProhibitedConduct.INTERFERENCE_WITH_RELIEF: FigureKey.RELIEF,
    ProhibitedConduct.MILITARISATION: FigureKey.MILITARISATION,
}


class IncidentProof(BaseModel):
    """Where to check an incident: its custody leaves, this party's notification leaves, and
    the endpoint that makes its evidence package (verifiable offline)."""

    custody_leaves: list[int]
    notification_leaves: list[int]
    package: str


class AttributedIncident(BaseModel):
    """One incident attributed to the party, at the certainty the evidence supports."""

    incident_id: str
    occurred_at: datetime
    country: str
    state: str
    exercise: bool
    attack_types: list[str]
    conduct: list[str]
    incident_certainty: Certainty
    certainty: Certainty = Field(description="The attribution's certainty, capped.")
    capped: bool = Field(description="The source claimed more than the incident's evidence.")
    source: str
    basis: str
    figures: list[FigureKey]
    proof: IncidentProof


class CertaintyGroup(BaseModel):
    """The incidents whose attribution is shown at one certainty level."""

    certainty: Certainty
    count: int
    incident_ids: list[str]


class Figure(BaseModel):
    """One figure of the record, by certainty, with the incidents behind it."""

    key: FigureKey
    label: str
    count: int
    by_certainty: dict[Certainty, int]
    incident_ids: list[str]


class ComplianceRecord(BaseModel):
    """A party's compliance record (internal: it may include unpublished incidents)."""

    party: PartyProfile
    statement: str = Field(default=REPORTED_PERPETRATOR)
    generated_at: datetime
    attributed: int
    by_certainty: list[CertaintyGroup]
    figures: list[Figure]
    incidents: list[AttributedIncident]


def _notified_figures(
    session: Session, incident_id: str, *, party_id: int, actor: Actor
) -> tuple[list[FigureKey], list[int]]:
    """The notified-site/movement figures an incident counts in for this party, and the
    custody leaves of the notifications to this party that covered it."""
    try:
        notified = notification_proofs.incident_notified(session, incident_id, actor=actor)
    except NotFound:  # no point to link
        return [], []
    found: list[FigureKey] = []
    leaves: set[int] = set()

    def mine(proofs: list[NotificationProof]) -> list[NotificationProof]:
        ours = [p for p in proofs if p.party_id == party_id]
        for proof in ours:
            leaves.update(i for i in (proof.leaf_index, proof.ack_leaf_index) if i is not None)
        return ours

    if notified.site is not None and notified.site.struck and (ours := mine(notified.site.proofs)):
        acknowledged = any(p.acknowledged_before for p in ours)
        found.append(
            FigureKey.SITE_STRUCK_AFTER_ACK
            if acknowledged
            else FigureKey.SITE_STRUCK_UNACKNOWLEDGED
        )
    movement_proofs = [p for m in notified.movements for p in mine(m.proofs)]
    if movement_proofs:
        acknowledged = any(p.acknowledged_before for p in movement_proofs)
        found.append(
            FigureKey.MOVEMENT_STRUCK_AFTER_ACK
            if acknowledged
            else FigureKey.MOVEMENT_STRUCK_UNACKNOWLEDGED
        )
    return found, sorted(leaves)


def _attack_types(session: Session, incident_id: str) -> list[str]:
    return sorted(
        session.scalars(
            select(IncidentAttackTypeRow.attack_type).where(
                IncidentAttackTypeRow.incident_id == incident_id
            )
        )
    )


def _incident(
    session: Session, row: IncidentRow, *, attribution: AttributionRow, actor: Actor
) -> AttributedIncident:
    incident_certainty = Certainty(row.certainty)
    claimed = Certainty(attribution.certainty)
    shown = shown_certainty(claimed, incident=incident_certainty)
    figures, notification_leaves = _notified_figures(
        session, row.id, party_id=attribution.party_id, actor=actor
    )
    conduct = [ProhibitedConduct(c) for c in row.conduct]
    figures += [_CONDUCT_FIGURES[c] for c in conduct if c in _CONDUCT_FIGURES]
    leaves = custody.leaves_for(session, entity_type="incident", entity_id=row.id)
    return AttributedIncident(
        incident_id=row.id,
        occurred_at=row.occurred_at,
        country=row.country,
        state=row.state,
        exercise=row.is_exercise,
        attack_types=_attack_types(session, row.id),
        conduct=[c.value for c in conduct],
        incident_certainty=incident_certainty,
        certainty=shown,
        capped=shown != claimed,
        source=attribution.source,
        basis=attribution.basis,
        figures=sorted(set(figures), key=list(FigureKey).index),
        proof=IncidentProof(
            custody_leaves=[leaf.index for leaf in leaves],
            notification_leaves=notification_leaves,
            package=f"/api/incidents/{row.id}/package",
        ),
    )


def _attributed(
    session: Session, party_id: int, *, actor: Actor
) -> list[tuple[IncidentRow, AttributionRow]]:
    """The live incidents ``actor`` may see that are attributed to the party, oldest first.

    An attribution on an incident later merged into another counts for the one it was
    merged into (once per incident: the earliest attribution is kept)."""
    attributions = session.scalars(
        select(AttributionRow)
        .where(AttributionRow.party_id == party_id)
        .order_by(AttributionRow.id)
    ).all()
    merged = dict(
        session.execute(
            select(IncidentRow.id, IncidentRow.merged_into).where(
                IncidentRow.id.in_([a.incident_id for a in attributions])
            )
        ).all()
    )
    target: dict[str, AttributionRow] = {}
    for attribution in attributions:
        target.setdefault(
            merged.get(attribution.incident_id) or attribution.incident_id, attribution
        )
    rows = session.scalars(
        select(IncidentRow)
        .where(
            IncidentRow.id.in_(sorted(target)),
            IncidentRow.merged_into.is_(None),
            policy.visible_incidents(session, actor),
        )
        .order_by(IncidentRow.occurred_at, IncidentRow.id)
    ).all()
    return [(row, target[row.id]) for row in rows]


def record(session: Session, party_id: int, *, actor: Actor) -> ComplianceRecord:
    """The compliance record of a party ``actor`` may see, over the incidents ``actor`` may see."""
    require(actor, Permission.READ_INCIDENTS)
    party = parties.party_row(session, party_id, actor=actor)
    rows = _attributed(session, party.id, actor=actor)
    incidents = [
        _incident(session, row, attribution=attribution, actor=actor) for row, attribution in rows
    ]
    groups = [
        CertaintyGroup(
            certainty=level,
            count=len(ids := [i.incident_id for i in incidents if i.certainty == level]),
            incident_ids=ids,
        )
        for level in reversed(list(Certainty))
    ]
    figures = []
    for key in FigureKey:
        counted = [i for i in incidents if key in i.figures]
        figures.append(
            Figure(
                key=key,
                label=FIGURE_LABELS[key],
                count=len(counted),
                by_certainty={
                    level: sum(1 for i in counted if i.certainty == level)
                    for level in reversed(list(Certainty))
                },
                incident_ids=[i.incident_id for i in counted],
            )
        )
    return ComplianceRecord(
        party=commitments.profile(session, party.id, actor=actor),
        generated_at=utcnow(),
        attributed=len(incidents),
        by_certainty=groups,
        figures=figures,
        incidents=incidents,
    )
