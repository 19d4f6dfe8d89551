"""Accountability test helpers: a fictional party told of a fictional clinic, and an incident
that struck the clinic after the party acknowledged receipt."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from haven import evidence, notifications, parties, reports, verification
from haven.accounts import SYSTEM, Actor, Permission, Role
from haven.db import Database
from haven.evidence import EvidenceIn
from haven.notifications import AckChannel, NotificationIn
from haven.settings import Settings
from haven.taxonomy import Certainty
from tests.support.facilities import add_facility

PHOTO = b"\xff\xd8\xff\xe0" + b"fictional case-file photo bytes " * 120 + b"\xff\xd9"
CLINIC = {"lon": 34.41, "lat": 31.41}


@dataclass
class Scene:
    """What ``notified_strike`` made."""

    facility_id: int
    party_id: int
    notification_id: int
    incident_id: str


def report_json(**changes: Any) -> dict[str, Any]:
    """A fictional report (TLP:GREEN) as the API takes it."""
    return {
        "id": str(uuid.uuid4()),
        "source": {"name": "accountability test", "kind": "form"},
        "occurred_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
        "country": "PSE",
        "attack_types": ["Setting fire"],
        "resources": ["HC Facilities"],
        "tlp": "green",
        "sensitivity": "moderate",
        "narrative": "Fictional narrative for an accountability test.",
        **changes,
    }


def add_incident(db: Database, *, actor: Actor = SYSTEM, **changes: Any) -> str:
    """Submit a fictional report; returns its incident's id."""
    report = reports.ReportIn.model_validate(report_json(**changes))
    return db.write(lambda s: reports.submit(s, report, actor=actor)).incident_id


def set_certainty(db: Database, incident_id: str, *, certainty: Certainty) -> None:
    """Override an incident's certainty (as a verifier would, with a rationale)."""
    db.write(
        lambda s: verification.override_certainty(
            s,
            incident_id,
            certainty=certainty,
            rationale="set by the accountability test scenario",
            actor=SYSTEM,
        )
    )


def notified_strike(db: Database, settings: Settings, *, party_name: str | None = None) -> Scene:
    """A clinic notified to a party that acknowledged receipt, then struck (with a photo)."""
    facility_id = add_facility(db, location=CLINIC)
    party = db.write(
        lambda s: parties.add(
            s,
            parties.PartyIn(
                name=party_name or f"Party Test {uuid.uuid4().hex[:6]} (fictional)",
                focal_point="Officer Fictional",
                sites=[facility_id],
            ),
            actor=SYSTEM,
        )
    )
    data = NotificationIn(
        party_id=party.id,
        kind=notifications.NotificationKind.SITES,
        expires_at=datetime.now(UTC) + timedelta(days=30),
        message="Fictional static sites for an accountability test.",
    )
    made = db.write(lambda s: notifications.create(s, data, actor=SYSTEM, settings=settings))
    db.write(lambda s: notifications.send(s, made.id, actor=SYSTEM, settings=settings))
    db.write(
        lambda s: notifications.acknowledge(
            s, made.id, by="Fictional duty desk", channel=AckChannel.EMAIL, actor=SYSTEM
        )
    )
    incident_id = add_incident(
        db,
        location=CLINIC,
        facility_id=facility_id,
        occurred_at=datetime.now(UTC).isoformat(),
    )
    evidence.upload_file(
        db,
        incident_id,
        settings=settings,
        source=io.BytesIO(PHOTO),
        meta=EvidenceIn(filename="clinic gate.jpg"),
        media_type="image/jpeg",
        actor=SYSTEM,
    )
    return Scene(facility_id, party.id, made.id, incident_id)


def own_case(db: Database, incident_id: str, *, actor: Actor, personal: bool = False) -> str:
    """A case on ``incident_id`` opened by ``actor`` (for the authorisation matrix); with
    ``personal``, also an event holding personal details. Returns ``"<case>"`` or
    ``"<case>/events/<event>"``, the path under ``/api/cases/``."""
    from haven import cases  # noqa: PLC0415 - only the matrix needs it

    data = cases.CaseIn(title="Matrix case (fictional)", incident_ids=[incident_id])
    case_id = db.write(lambda s: cases.open_case(s, data, actor=actor)).id
    if not personal:
        return str(case_id)
    event = cases.CaseEventIn(
        kind=cases.CaseEventKind.SUPPORT_MATERIAL,
        status="referred",
        beneficiary_ref="family-1",
        personal="Fictional Person, +000 555 0100",
    )
    made = db.write(lambda s: cases.add_event(s, case_id, data=event, actor=actor))
    return f"{case_id}/events/{made.id}"


def fresh_party(db: Database) -> int:
    """A real party of the operator's (visible to every organisation)."""
    data = parties.PartyIn(name=f"Matrix party {uuid.uuid4().hex} (fictional)")
    return db.write(lambda s: parties.add(s, data, actor=SYSTEM)).id


def personal_read(role: Role | None, same_org: bool) -> int:
    """The matrix's expected status for opening a case event's personal details: it needs
    ``verify`` and ``read_sensitive``, and a case of the caller's organisation (or an admin)."""
    if role is None:
        return 401
    actor = Actor("matrix", role)
    if not (actor.can(Permission.VERIFY) and actor.can(Permission.READ_SENSITIVE)):
        return 403
    return 200 if same_org or role is Role.ADMIN else 404
