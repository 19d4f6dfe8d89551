"""Attributions: which party a source reports as an incident's perpetrator, and on what basis.

An attribution links an incident to a party explicitly (never by guessing from
free-text perpetrator names). It records the *source* that names the party (a
report, a dataset, a publication), the *basis* (markings seen, a claim of
responsibility, the weapon's origin …) and the source's own confidence. It is a
**reported perpetrator, not a verdict**. It is shown at no more than the
incident's certainty (``shown_certainty``): a rumour-level incident's attribution
is shown as rumour, however sure its source claims to be. Recording one needs
``verify``; reading needs ``read_incidents`` and an incident the reader may see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit, parties, policy
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput
from haven.facts import RowId, no_nul
from haven.models import AttributionRow, IncidentRow, PartyRow
from haven.taxonomy import Certainty

__all__ = [
    "REPORTED_PERPETRATOR",
    "Attribution",
    "AttributionIn",
    "add",
    "list_for_incident",
    "shown_certainty",
    "to_model",
]

REPORTED_PERPETRATOR = (
    "An attribution names the party that a source reported as the perpetrator; it is not a "
    "verdict, a legal finding or an established responsibility. Each attribution is shown at "
    "no more than the certainty of the incident's own evidence."
)
"""What every compliance record and attribution listing says in words."""

Text = Annotated[str, AfterValidator(no_nul)]


def shown_certainty(claimed: Certainty, *, incident: Certainty) -> Certainty:
    """The certainty an attribution is shown at: its source's, capped at the incident's."""
    return claimed if claimed.rank <= incident.rank else incident


class AttributionIn(BaseModel):
    """A reported perpetrator of an incident, as a verifier records it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    party_id: RowId
    source: Text = Field(
        min_length=3, max_length=300, description="Who reports it: a report, dataset, publication."
    )
    basis: Text = Field(
        min_length=3, max_length=5000, description="What it rests on (markings, claim, …)."
    )
    certainty: Certainty = Field(description="The source's own confidence (shown capped).")


class Attribution(BaseModel):
    """A stored attribution, its certainty already capped at the incident's."""

    id: int
    incident_id: str
    party_id: int
    party_name: str
    source: str
    basis: str
    certainty: Certainty = Field(description="Shown certainty: never above the incident's.")
    capped: bool = Field(description="The source claimed more than the incident's evidence.")
    incident_certainty: Certainty
    exercise: bool
    created_by: str
    created_at: datetime
    meaning: str = Field(default=REPORTED_PERPETRATOR)


def to_model(row: AttributionRow, *, party_name: str, incident: Certainty) -> Attribution:
    """The attribution as shown, capped at ``incident`` (the incident's current certainty)."""
    claimed = Certainty(row.certainty)
    shown = shown_certainty(claimed, incident=incident)
    return Attribution(
        id=row.id,
        incident_id=row.incident_id,
        party_id=row.party_id,
        party_name=party_name,
        source=row.source,
        basis=row.basis,
        certainty=shown,
        capped=shown != claimed,
        incident_certainty=incident,
        exercise=row.is_exercise,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def add(session: Session, incident_id: str, *, data: AttributionIn, actor: Actor) -> Attribution:
    """Record that a source reports ``data.party_id`` as the perpetrator of an incident."""
    require(actor, Permission.VERIFY)
    incident = policy.visible_incident(session, incident_id, actor=actor)
    party = parties.party_row(session, data.party_id, actor=actor)
    if party.is_exercise != incident.is_exercise:
        raise InvalidInput(
            "exercise parties go with exercise incidents only",
            fields={"party_id": "exercise and real data do not mix"},
        )
    taken = session.scalar(
        select(AttributionRow.id).where(
            AttributionRow.incident_id == incident.id, AttributionRow.party_id == party.id
        )
    )
    if taken is not None:
        raise Conflict(
            f"incident {incident.id} is already attributed to party {party.id}",
            fields={"party_id": f"attribution {taken} exists"},
        )
    row = AttributionRow(
        incident_id=incident.id,
        party_id=party.id,
        source=data.source,
        basis=data.basis,
        certainty=data.certainty.value,
        is_exercise=incident.is_exercise,
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="attribution.add",
        entity_type="incident",
        entity_id=incident.id,
        detail={"attribution_id": row.id, "party_id": party.id, "certainty": row.certainty},
    )
    return to_model(row, party_name=party.name, incident=Certainty(incident.certainty))


def list_for_incident(session: Session, incident_id: str, *, actor: Actor) -> list[Attribution]:
    """An incident's attributions, each capped at its certainty."""
    require(actor, Permission.READ_INCIDENTS)
    incident: IncidentRow = policy.visible_incident(session, incident_id, actor=actor)
    rows = session.execute(
        select(AttributionRow, PartyRow.name)
        .join(PartyRow, PartyRow.id == AttributionRow.party_id)
        .where(AttributionRow.incident_id == incident.id)
        .order_by(AttributionRow.id)
    ).all()
    certainty = Certainty(incident.certainty)
    return [to_model(row, party_name=name, incident=certainty) for row, name in rows]
