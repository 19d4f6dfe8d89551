"""Parties: who receives deconfliction notifications and alerts, their focal points and sites.

A party is a recipient of notifications (a party to the conflict's deconfliction
cell, a humanitarian coordination office). Its focal point's name, phone and
notes, and the secret that signs its webhooks, are stored only encrypted
(``haven.privacy`` envelopes bound to ``party:<id>``). Each party receives a
subset of the registered sites (``party_sites``). Parties belong to the
organisation that manages them: coordinators see their own organisation's parties
and the operator's (``organisation_id`` empty); admins see all.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator
from sqlalchemy import ColumnElement, delete, or_, select, true
from sqlalchemy.orm import Session

from haven import audit, policy, privacy
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput, NotFound
from haven.facts import RowId, no_nul
from haven.models import FacilityRow, PartyRow, PartySiteRow
from haven.taxonomy import Tlp

__all__ = [
    "Party",
    "PartyContact",
    "PartyCreated",
    "PartyIn",
    "add",
    "check_facilities",
    "contact",
    "get",
    "list_parties",
    "party_row",
    "set_sites",
    "sites_of",
    "visible_parties",
    "webhook_secret",
]

_EMAIL = re.compile(
    r"^[^@\s<>,;]{1,64}@[A-Za-z0-9.-]{1,188}\.[A-Za-z]{2,24}$|^[^@\s<>,;]+@localhost$"
)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$")
Text = Annotated[str, AfterValidator(no_nul)]


def _email(value: str | None) -> str | None:
    if value is not None and not _EMAIL.match(value):
        raise ValueError("not an e-mail address (name@example.org)")
    return value


def _url(value: str | None) -> str | None:
    if value is not None and not _URL.match(value):
        raise ValueError("must be an http:// or https:// URL")
    return value


Email = Annotated[str, Field(max_length=254), AfterValidator(_email)]
Url = Annotated[str, Field(max_length=500), AfterValidator(_url)]


class PartyIn(BaseModel):
    """A party as a coordinator registers it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Text = Field(min_length=1, max_length=200, description="e.g. 'Party A liaison cell'.")
    focal_point: Text | None = Field(default=None, max_length=200, description="Encrypted.")
    phone: Text | None = Field(default=None, max_length=60, description="Encrypted.")
    notes: Text = Field(default="", max_length=2000, description="Encrypted.")
    webhook_url: Url | None = Field(default=None, description="Receives signed JSON by POST.")
    email: Email | None = None
    escalation_email: Email | None = Field(
        default=None, description="Where unacknowledged notifications are escalated."
    )
    max_tlp: Tlp = Field(
        default=Tlp.GREEN,
        description="Alerts show incident details only up to this sharing label.",
    )
    alerts: StrictBool = Field(default=True, description="Send this party proximity alerts.")
    exercise: StrictBool = Field(default=False, description="An exercise (training) party.")
    sites: list[RowId] = Field(
        default_factory=list, max_length=10_000, description="Facility ids it should receive."
    )

    @field_validator("sites")
    @classmethod
    def _once(cls, value: list[int]) -> list[int]:
        return list(dict.fromkeys(value))


class Party(BaseModel):
    """A stored party (its focal point's contact stays encrypted)."""

    id: int
    name: str
    webhook_url: str | None
    email: str | None
    escalation_email: str | None
    max_tlp: Tlp
    alerts: bool
    exercise: bool
    sites: list[int]
    created_at: datetime


class PartyCreated(Party):
    """A new party, with its webhook secret (shown once: give it to the party's IT staff)."""

    webhook_secret: str = Field(
        description="HMAC-SHA256 key of the X-Haven-Signature header; shown only now."
    )


class PartyContact(BaseModel):
    """The focal point's contact (an audited read)."""

    focal_point: str | None
    phone: str | None
    notes: str


def visible_parties(actor: Actor) -> ColumnElement[bool]:
    """The condition on ``PartyRow`` that selects the parties ``actor`` manages."""
    if policy.sees_everything(actor):
        return true()
    if actor.organisation_id is None:
        return PartyRow.organisation_id.is_(None)
    return or_(
        PartyRow.organisation_id.is_(None), PartyRow.organisation_id == actor.organisation_id
    )


def check_facilities(session: Session, ids: list[int], *, field: str) -> None:
    """``InvalidInput`` naming the first id in ``ids`` that is no registered facility."""
    if not ids:
        return
    known = set(session.scalars(select(FacilityRow.id).where(FacilityRow.id.in_(ids))))
    for index, facility_id in enumerate(ids):
        if facility_id not in known:
            raise InvalidInput(
                f"no facility {facility_id}",
                fields={f"{field}[{index}]": f"no facility {facility_id}"},
            )


def sites_of(session: Session, party_id: int) -> list[int]:
    """The facility ids a party receives, ascending."""
    return list(
        session.scalars(
            select(PartySiteRow.facility_id)
            .where(PartySiteRow.party_id == party_id)
            .order_by(PartySiteRow.facility_id)
        )
    )


def _model(session: Session, row: PartyRow) -> Party:
    return Party(
        id=row.id,
        name=row.name,
        webhook_url=row.webhook_url,
        email=row.email,
        escalation_email=row.escalation_email,
        max_tlp=Tlp(row.max_tlp),
        alerts=row.alerts_enabled,
        exercise=row.is_exercise,
        sites=sites_of(session, row.id),
        created_at=row.created_at,
    )


def party_row(
    session: Session, party_id: int, *, actor: Actor, field: str = "party_id"
) -> PartyRow:
    """The stored party ``actor`` manages; ``NotFound`` naming ``field`` otherwise."""
    row = session.scalar(select(PartyRow).where(PartyRow.id == party_id, visible_parties(actor)))
    if row is None:
        raise NotFound(f"no party {party_id}", fields={field: f"no party {party_id}"})
    return row


def add(session: Session, data: PartyIn, *, actor: Actor) -> PartyCreated:
    """Register a party and the sites it receives; its contact is stored encrypted."""
    require(actor, Permission.NOTIFY)
    if session.scalar(select(PartyRow.id).where(PartyRow.name == data.name)) is not None:
        raise Conflict(f"a party called {data.name!r} exists", fields={"name": "is taken"})
    check_facilities(session, data.sites, field="sites")
    row = PartyRow(
        name=data.name,
        organisation_id=actor.organisation_id,
        webhook_url=data.webhook_url,
        email=data.email,
        escalation_email=data.escalation_email,
        max_tlp=data.max_tlp.value,
        alerts_enabled=data.alerts,
        is_exercise=data.exercise,
    )
    session.add(row)
    session.flush()
    secret = secrets.token_urlsafe(32)
    row.contact = privacy.encrypt(
        session,
        {
            "focal_point": data.focal_point,
            "phone": data.phone,
            "notes": data.notes,
            "webhook_secret": secret,
        },
        organisation_id=row.organisation_id,
        bound_to=f"party:{row.id}",
    )
    session.add_all(PartySiteRow(party_id=row.id, facility_id=f) for f in data.sites)
    session.flush()
    audit.record(
        session,
        actor,
        action="party.create",
        entity_type="party",
        entity_id=row.id,
        detail={"name": data.name, "sites": len(data.sites), "exercise": data.exercise},
    )
    return PartyCreated(**_model(session, row).model_dump(), webhook_secret=secret)


def set_sites(session: Session, party_id: int, *, sites: list[int], actor: Actor) -> Party:
    """Replace the sites a party receives (notifications already sent are not changed)."""
    require(actor, Permission.NOTIFY)
    row = party_row(session, party_id, actor=actor)
    sites = list(dict.fromkeys(sites))
    check_facilities(session, sites, field="sites")
    session.execute(delete(PartySiteRow).where(PartySiteRow.party_id == row.id))
    session.add_all(PartySiteRow(party_id=row.id, facility_id=f) for f in sites)
    session.flush()
    audit.record(
        session,
        actor,
        action="party.set_sites",
        entity_type="party",
        entity_id=row.id,
        detail={"sites": sites},
    )
    return _model(session, row)


def get(session: Session, party_id: int, *, actor: Actor) -> Party:
    """One party ``actor`` manages."""
    require(actor, Permission.NOTIFY)
    return _model(session, party_row(session, party_id, actor=actor))


def list_parties(session: Session, *, actor: Actor) -> list[Party]:
    """Every party ``actor`` manages, by name."""
    require(actor, Permission.NOTIFY)
    rows = session.scalars(select(PartyRow).where(visible_parties(actor)).order_by(PartyRow.name))
    return [_model(session, row) for row in rows]


def _opened(session: Session, row: PartyRow) -> dict[str, Any]:
    if not row.contact:
        return {}
    return privacy.decrypt(session, row.contact, bound_to=f"party:{row.id}")


def contact(session: Session, party_id: int, *, actor: Actor, purpose: str) -> PartyContact:
    """Open the focal point's contact; ``actor`` must say why, and the read is audited.

    Run it in a write transaction: the audit event and the disclosure stand or fall together.
    """
    require(actor, Permission.NOTIFY)
    purpose = purpose.strip()
    if not 3 <= len(purpose) <= 300:
        raise InvalidInput(
            "say why you need the focal point's contact",
            fields={"purpose": "3 to 300 characters, e.g. 'chase acknowledgement'"},
        )
    row = party_row(session, party_id, actor=actor)
    audit.record(
        session,
        actor,
        action="party.contact_read",
        entity_type="party",
        entity_id=row.id,
        detail={"purpose": purpose},
    )
    opened = _opened(session, row)
    return PartyContact(
        focal_point=opened.get("focal_point"),
        phone=opened.get("phone"),
        notes=str(opened.get("notes") or ""),
    )


def webhook_secret(session: Session, row: PartyRow) -> str | None:
    """The key that signs this party's webhooks (for the delivery worker only)."""
    secret = _opened(session, row).get("webhook_secret")
    return str(secret) if secret else None
