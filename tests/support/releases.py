"""Release test helpers: incidents with planted secrets, people, a published release."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session

from haven import accounts, releases
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.models import FacilityRow, IncidentAttackTypeRow, IncidentRow
from haven.release_policy import ReleasePolicy

NOW = datetime(2024, 7, 1, 12, 0, tzinfo=UTC)
"""The clock every release test runs at (with the default 30-day delay, June waits)."""

FIRE = "Setting fire"
HEAVY = (
    "Violence with heavy weapons (requires more than one person to use such as firearms, "
    "tanks, missiles, bombs, mortars)"
)
ASSAULT = "Assault (without weapons)"
OBSTRUCTION = "Obstruction to health care delivery (e.g. physical, administrative, legal etc)"

SECRETS = {
    "narrative": "PLANTED-NARRATIVE the nurse Amina hid in the basement",
    "location_name": "PLANTED-PLACE Al-Awda back gate",
    "admin2": "PLANTED-ADMIN2 Jabalia",
    "perpetrator_name": "PLANTED-PERPETRATOR 3rd Brigade",
    "facility": "PLANTED-FACILITY Al-Amal Maternity Clinic",
}
"""Strings stored in non-public columns: no public output may ever contain them."""

EXACT_LON = 34.4671234
EXACT_LAT = 31.5056789
"""An exact position: no public output may contain these digits."""


def add_incident(
    session: Session,
    *,
    occurred_at: datetime,
    country: str = "SDN",
    attack_types: Sequence[str] = (FIRE,),
    certainty: str = "confirmed",
    exercise: bool = False,
    tlp: str = "amber",
    date_precision: str = "day",
    lon: float | None = None,
    lat: float | None = None,
    geo_precision: int | None = None,
    admin1: str | None = "Khartoum",
    killed: int = 0,
    injured: int = 0,
    facility_id: int | None = None,
    organisation_id: int | None = None,
) -> str:
    """Store one incident directly (every non-public column filled with a planted secret)."""
    incident_id = str(uuid.uuid4())
    session.add(
        IncidentRow(
            id=incident_id,
            organisation_id=organisation_id,
            occurred_at=occurred_at,
            date_precision=date_precision,
            lon=lon,
            lat=lat,
            geo_precision=geo_precision if lon is not None else None,
            country=country,
            admin1=admin1,
            admin2=SECRETS["admin2"],
            location_name=SECRETS["location_name"],
            resources=["HC Facilities", "HC Personnel"],
            facility_type="Secondary",
            facility_id=facility_id,
            casualties={"health_workers": {"killed": killed}, "patients": {"injured": injured}},
            killed_total=killed,
            injured_total=injured,
            perpetrator_category="NSA",
            perpetrator_name=SECRETS["perpetrator_name"],
            weapons=["Firearms"],
            sensitive=SECRETS["narrative"],
            context_flags=["active_hostilities"],
            conduct=[],
            certainty=certainty,
            sensitivity="high",
            tlp=tlp,
            is_exercise=exercise,
            report_count=1,
            attack_type_rows=[
                IncidentAttackTypeRow(attack_type=t) for t in dict.fromkeys(attack_types)
            ],
        )
    )
    return incident_id


def add_facility(session: Session) -> int:
    """A real (non-exercise) facility whose name is a planted secret."""
    row = FacilityRow(
        external_id=f"test:{uuid.uuid4()}",
        name=SECRETS["facility"],
        facility_type="Secondary",
        lon=EXACT_LON,
        lat=EXACT_LAT,
        geo_precision=1,
        country="PSE",
    )
    session.add(row)
    session.flush()
    return row.id


def clear_incidents(session: Session) -> None:
    """Remove every incident (between Hypothesis examples on one database)."""
    session.execute(delete(IncidentAttackTypeRow))
    session.execute(delete(IncidentRow))


@dataclass(frozen=True)
class People:
    """Usernames of the people in a release test."""

    analyst: str = "rel-analyst"
    analyst2: str = "rel-analyst-2"
    coordinator: str = "rel-coordinator"
    reporter: str = "rel-reporter"


def add_people(db: Database) -> People:
    """An analyst (prepares), a second analyst, a coordinator (approves) and a reporter."""
    people = People()

    def make(session: Session) -> None:
        for name, role in (
            (people.analyst, Role.ANALYST),
            (people.analyst2, Role.ANALYST),
            (people.coordinator, Role.COORDINATOR),
            (people.reporter, Role.REPORTER),
        ):
            accounts.add_user(
                session, name, role=role, organisation="Release Test", password=None, actor=SYSTEM
            )

    db.write(make)
    return people


def actor(session: Session, username: str) -> Actor:
    """The actor of a stored user."""
    return accounts.actor_named(session, username)


def publish(
    db: Database, policy: ReleasePolicy | None = None, *, people: People, title: str = "Test"
) -> int:
    """Create (analyst), approve (coordinator) and publish a release at ``NOW``; its version."""
    chosen = policy or ReleasePolicy()

    def run(session: Session) -> int:
        made = releases.create(
            session, chosen, title=title, actor=actor(session, people.analyst), now=NOW
        )
        releases.approve(session, made.version, actor=actor(session, people.coordinator))
        releases.publish(session, made.version, actor=actor(session, people.analyst))
        return made.version

    return db.write(run)


def public_text(value: Any) -> str:
    """Everything a public output holds, as one string to search for planted secrets."""
    import orjson  # noqa: PLC0415

    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return value
    return orjson.dumps(value, default=lambda v: v.model_dump(mode="json")).decode()
