"""A constructed scenario for the indicator tests, with every figure computable by hand.

Sudan, January to March 2024, at ``NOW`` (1 July 2024) with the default
30-day delay. Letters name incidents:

=====  ======  ======================  =========  ===  ===  =========================
name   month   attack types            certainty  k    i    else
=====  ======  ======================  =========  ===  ===  =========================
A      Jan     fire                    confirmed  1    0    verified after 2 days
B      Jan     fire, heavy weapons     probable   0    2
C      Jan     heavy weapons           confirmed  2    1    verified after 4 days
D      Feb     assault                 possible   0    0    transport; no facility type
E      Feb     fire                    confirmed  1    1    verified after 10 days
F      Mar     heavy weapons           confirmed  0    3    struck a notified hospital
G      Mar     obstruction             rumour     0    0    (not released: rumour)
H      Feb     fire (Palestine)        confirmed  0    0
R      Jan     fire                    confirmed  5    5    rejected: never counted
X      Mar     fire                    confirmed  9    9    exercise: never counted
=====  ======  ======================  =========  ===  ===  =========================

Resources are "HC Facilities" and "HC Personnel" and the facility type
"Secondary" unless said otherwise. An account of each incident is received one
day after it happened. Cases (opened in April 2024): one about A and C opened
an investigation; one about E obtained compensation (a remedy); one about B
opened after ``NOW`` counts for nothing yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from haven import cases
from haven.accounts import SYSTEM
from haven.case_events import CaseEventIn, CaseEventKind
from haven.cases import CaseIn
from haven.db import Database
from haven.models import (
    CaseRow,
    FacilityRow,
    IncidentRow,
    NotificationRow,
    NotificationSiteRow,
    PartyRow,
    VerificationNoteRow,
)
from tests.support.releases import ASSAULT, FIRE, HEAVY, NOW, OBSTRUCTION, add_incident

HOSPITAL = (32.5341, 15.5881)
"""Where the notified (fictional) hospital of the scenario stands, lon/lat."""


@dataclass(frozen=True)
class Scenario:
    """The incident ids of the scenario by letter."""

    ids: dict[str, str]


def _at(month: int, day: int) -> datetime:
    return datetime(2024, month, day, 10, 0, tzinfo=UTC)


_SPECS: dict[str, dict[str, object]] = {
    "A": {"at": _at(1, 5), "types": [FIRE], "certainty": "confirmed", "k": 1, "i": 0},
    "B": {"at": _at(1, 12), "types": [FIRE, HEAVY], "certainty": "probable", "k": 0, "i": 2},
    "C": {"at": _at(1, 20), "types": [HEAVY], "certainty": "confirmed", "k": 2, "i": 1},
    "D": {"at": _at(2, 3), "types": [ASSAULT], "certainty": "possible", "k": 0, "i": 0},
    "E": {"at": _at(2, 14), "types": [FIRE], "certainty": "confirmed", "k": 1, "i": 1},
    "F": {"at": _at(3, 9), "types": [HEAVY], "certainty": "confirmed", "k": 0, "i": 3},
    "G": {"at": _at(3, 15), "types": [OBSTRUCTION], "certainty": "rumour", "k": 0, "i": 0},
    "H": {"at": _at(2, 20), "types": [FIRE], "certainty": "confirmed", "k": 0, "i": 0},
    "R": {"at": _at(1, 25), "types": [FIRE], "certainty": "confirmed", "k": 5, "i": 5},
    "X": {"at": _at(3, 20), "types": [FIRE], "certainty": "confirmed", "k": 9, "i": 9},
}
VERIFIED_AFTER_DAYS = {"A": 2, "C": 4, "E": 10}


def _hospital_notified(session: Session) -> int:
    hospital = FacilityRow(
        external_id="test:indicators-hospital",
        name="Fictional Nile Teaching Hospital",
        facility_type="Secondary",
        kind="hospital",
        lon=HOSPITAL[0],
        lat=HOSPITAL[1],
        geo_precision=1,
        country="SDN",
    )
    party = PartyRow(name="Fictional Armed Group")
    session.add_all([hospital, party])
    session.flush()
    notification = NotificationRow(
        party_id=party.id,
        kind="sites",
        state="sent",
        valid_from=_at(1, 1),
        expires_at=_at(6, 1),
        content={"exercise": False},
        content_sha256="0" * 64,
        created_at=_at(1, 1),
        created_by="test",
        sent_at=_at(1, 2),
        sent_by="test",
        sent_leaf=0,
    )
    session.add(notification)
    session.flush()
    session.add(NotificationSiteRow(notification_id=notification.id, facility_id=hospital.id))
    return hospital.id


def _case(db: Database, incident_ids: list[str], *, opened: datetime, event: CaseEventIn) -> None:
    made = db.write(
        lambda s: cases.open_case(
            s, CaseIn(title="Fictional indicator case", incident_ids=incident_ids), actor=SYSTEM
        )
    )
    db.write(
        lambda s: s.execute(update(CaseRow).where(CaseRow.id == made.id).values(opened_at=opened))
    )
    db.write(lambda s: cases.add_event(s, made.id, data=event, actor=SYSTEM))


def _cases(db: Database, ids: dict[str, str]) -> None:
    _case(
        db,
        [ids["A"], ids["C"]],
        opened=_at(4, 1),
        event=CaseEventIn(kind=CaseEventKind.INVESTIGATION_OPENED, at=_at(4, 10), status="opened"),
    )
    _case(
        db,
        [ids["E"]],
        opened=_at(4, 2),
        event=CaseEventIn(kind=CaseEventKind.COMPENSATION_CLAIM, at=_at(5, 1), status="granted"),
    )
    later = NOW + timedelta(days=10)
    _case(
        db,
        [ids["B"]],
        opened=later,
        event=CaseEventIn(kind=CaseEventKind.INVESTIGATION_OPENED, at=later, status="opened"),
    )


def build_scenario(db: Database) -> Scenario:
    """Store the scenario (see the module's table)."""

    def write(session: Session) -> Scenario:
        hospital_id = _hospital_notified(session)
        ids: dict[str, str] = {}
        for name, spec in _SPECS.items():
            at = spec["at"]
            assert isinstance(at, datetime)
            located = name == "F"
            ids[name] = add_incident(
                session,
                occurred_at=at,
                country="PSE" if name == "H" else "SDN",
                attack_types=spec["types"],  # type: ignore[arg-type]
                certainty=str(spec["certainty"]),
                exercise=name == "X",
                lon=HOSPITAL[0] if located else None,
                lat=HOSPITAL[1] if located else None,
                geo_precision=1 if located else None,
                killed=int(spec["k"]),  # type: ignore[call-overload]
                injured=int(spec["i"]),  # type: ignore[call-overload]
                facility_id=hospital_id if located else None,
            )
        session.flush()
        for name, incident_id in ids.items():
            received = _SPECS[name]["at"] + timedelta(days=1)  # type: ignore[operator]
            values: dict[str, object] = {"created_at": received}
            if name == "R":
                values["state"] = "rejected"
            if name == "D":
                values |= {"resources": ["HC Transport"], "facility_type": None}
            session.execute(update(IncidentRow).where(IncidentRow.id == incident_id).values(values))
        for name, days in VERIFIED_AFTER_DAYS.items():
            received = _SPECS[name]["at"] + timedelta(days=1)  # type: ignore[operator]
            session.add(
                VerificationNoteRow(
                    incident_id=ids[name],
                    at=received + timedelta(days=days),
                    actor="verifier",
                    kind="state",
                    from_state="in_review",
                    to_state="verified",
                )
            )
        return Scenario(ids)

    scenario = db.write(write)
    _cases(db, scenario.ids)
    return scenario
