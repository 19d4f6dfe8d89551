"""Parties to a conflict: their type, and the commitments they made (declarations, agreements…).

A party (``haven.parties``) receives deconfliction notifications; for
accountability it also has a *type* (state forces, non-state armed group, other)
and a list of public *commitments*: a declaration (e.g. endorsing the Safe
Schools or a unilateral declaration on health care), an agreement (a ceasefire,
a humanitarian pause, an action plan with the UN), participation in a
deconfliction mechanism, or another one. Each commitment names its source
(a URL and/or a document reference) so a reader can check it. Recording one
needs ``notify`` (coordinators manage parties); reading needs ``read_incidents``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit, parties
from haven.accounts import Actor, Permission, require
from haven.errors import InvalidInput
from haven.facts import IsoDate, no_nul
from haven.models import PartyCommitmentRow, PartyRow, utcnow
from haven.parties import Url

__all__ = [
    "Commitment",
    "CommitmentIn",
    "CommitmentKind",
    "PartyProfile",
    "PartyType",
    "add",
    "list_for_party",
    "profile",
    "set_party_type",
]

Text = Annotated[str, AfterValidator(no_nul)]


class PartyType(StrEnum):
    """What kind of party to the conflict it is."""

    STATE_FORCES = "state_forces"
    NON_STATE_ARMED_GROUP = "non_state_armed_group"
    OTHER = "other"


class CommitmentKind(StrEnum):
    """What kind of commitment a party made."""

    DECLARATION = "declaration"
    AGREEMENT = "agreement"
    DECONFLICTION_PARTICIPATION = "deconfliction_participation"
    OTHER = "other"


class CommitmentIn(BaseModel):
    """A commitment as a coordinator records it; it needs a source URL or a reference."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: CommitmentKind
    title: Text = Field(min_length=3, max_length=300)
    made_on: IsoDate | None = Field(default=None, description="The date it was made.")
    source_url: Url | None = Field(default=None, description="Where it is published.")
    reference: Text | None = Field(
        default=None,
        max_length=300,
        validate_default=True,
        description="e.g. a UN document symbol.",
    )
    text: Text = Field(default="", max_length=20_000, description="Its wording, or an excerpt.")
    exercise: StrictBool = Field(default=False, description="An exercise (training) record.")

    @field_validator("made_on")
    @classmethod
    def _not_future(cls, value: date | None) -> date | None:
        if value is not None and value > utcnow().date():
            raise ValueError("made_on cannot be in the future")
        return value

    @field_validator("reference")
    @classmethod
    def _sourced(cls, value: str | None, info: ValidationInfo) -> str | None:
        if not value and not info.data.get("source_url"):
            raise ValueError("give a source_url or a reference so readers can check it")
        return value


class Commitment(BaseModel):
    """A stored commitment."""

    id: int
    party_id: int
    kind: CommitmentKind
    title: str
    made_on: date | None
    source_url: str | None
    reference: str | None
    text: str
    exercise: bool
    created_by: str
    created_at: datetime


class PartyProfile(BaseModel):
    """A party as accountability sees it: its type and its commitments (no contact details)."""

    party_id: int
    name: str
    party_type: PartyType
    exercise: bool
    commitments: list[Commitment]


def _model(row: PartyCommitmentRow) -> Commitment:
    return Commitment(
        id=row.id,
        party_id=row.party_id,
        kind=CommitmentKind(row.kind),
        title=row.title,
        made_on=row.made_on,
        source_url=row.source_url,
        reference=row.reference,
        text=row.text,
        exercise=row.is_exercise,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def add(session: Session, party_id: int, *, data: CommitmentIn, actor: Actor) -> Commitment:
    """Record a commitment of a party ``actor`` manages; exercise data only on exercise parties."""
    require(actor, Permission.NOTIFY)
    party = parties.party_row(session, party_id, actor=actor)
    if party.is_exercise and not data.exercise:
        raise InvalidInput(
            "an exercise party takes exercise commitments only",
            fields={"exercise": "must be true for an exercise party"},
        )
    if data.exercise and not party.is_exercise:
        raise InvalidInput(
            "exercise commitments belong to exercise parties",
            fields={"exercise": "the party is real"},
        )
    row = PartyCommitmentRow(
        party_id=party.id,
        kind=data.kind.value,
        title=data.title,
        made_on=data.made_on,
        source_url=data.source_url,
        reference=data.reference,
        text=data.text,
        is_exercise=data.exercise,
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="commitment.add",
        entity_type="party",
        entity_id=party.id,
        detail={"commitment_id": row.id, "kind": data.kind.value, "title": data.title},
    )
    return _model(row)


def list_for_party(session: Session, party_id: int, *, actor: Actor) -> list[Commitment]:
    """A party's commitments, oldest first (undated ones last)."""
    require(actor, Permission.READ_INCIDENTS)
    party = parties.party_row(session, party_id, actor=actor)
    rows = session.scalars(
        select(PartyCommitmentRow)
        .where(PartyCommitmentRow.party_id == party.id)
        .order_by(
            PartyCommitmentRow.made_on.is_(None), PartyCommitmentRow.made_on, PartyCommitmentRow.id
        )
    )
    return [_model(row) for row in rows]


def profile(session: Session, party_id: int, *, actor: Actor) -> PartyProfile:
    """A party's type and commitments."""
    require(actor, Permission.READ_INCIDENTS)
    party = parties.party_row(session, party_id, actor=actor)
    return _profile(session, party, actor=actor)


def _profile(session: Session, party: PartyRow, *, actor: Actor) -> PartyProfile:
    return PartyProfile(
        party_id=party.id,
        name=party.name,
        party_type=PartyType(party.party_type),
        exercise=party.is_exercise,
        commitments=list_for_party(session, party.id, actor=actor),
    )


def set_party_type(
    session: Session, party_id: int, *, party_type: PartyType, actor: Actor
) -> PartyProfile:
    """Say what kind of party to the conflict a party is."""
    require(actor, Permission.NOTIFY)
    party = parties.party_row(session, party_id, actor=actor)
    before = party.party_type
    party.party_type = party_type.value
    audit.record(
        session,
        actor,
        action="party.set_type",
        entity_type="party",
        entity_id=party.id,
        detail={"from": before, "to": party_type.value},
    )
    return _profile(session, party, actor=actor)
