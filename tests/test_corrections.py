"""The public correction log: every change to a published incident, naming no one."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from haven import corrections, verification
from haven.accounts import SYSTEM, Actor, Role
from haven.corrections import PublicCorrection, incident_ref
from haven.db import Database
from haven.models import IncidentRow, utcnow
from haven.taxonomy import Certainty, IncidentState, SourceType
from tests.test_verification import add_actor, report_in, submit

PUBLIC_KEYS = {"id", "at", "incident_ref", "field", "old_value", "new_value", "reason", "by_role"}


def publish(db: Database, incident_id: str, *, actor: Actor = SYSTEM) -> None:
    for to_state in (IncidentState.IN_REVIEW, IncidentState.VERIFIED, IncidentState.PUBLISHED):
        db.write(
            lambda s, t=to_state: verification.transition(
                s, incident_id, to_state=t, note="", actor=actor
            )
        )


def log(db: Database) -> list[PublicCorrection]:
    with db.read() as session:
        return corrections.corrections(session)


def test_changes_before_publication_are_not_corrections(db: Database) -> None:
    incident_id = submit(db, report_in())
    db.write(
        lambda s: verification.override_certainty(
            s, incident_id, certainty=Certainty.POSSIBLE, rationale="checked by phone", actor=SYSTEM
        )
    )
    publish(db, incident_id)
    assert log(db) == []


def test_every_change_to_a_published_incident_is_logged(db: Database) -> None:
    verifier = add_actor(db, "vera", role=Role.VERIFIER)
    incident_id = submit(db, report_in(), actor=verifier)
    publish(db, incident_id, actor=verifier)

    media = report_in(incident_id=incident_id, source={"name": "Radio", "kind": "media"})
    submit(db, media.model_copy(update={"source_type": SourceType.MEDIA}), actor=verifier)
    db.write(
        lambda s: verification.override_certainty(
            s,
            incident_id,
            certainty=Certainty.PROBABLE,
            rationale="a second partner confirmed by phone",
            actor=verifier,
        )
    )
    db.write(
        lambda s: verification.transition(
            s,
            incident_id,
            to_state=IncidentState.WITHDRAWN,
            note="the date was wrong by a year",
            actor=verifier,
        )
    )
    entries = log(db)
    assert [(e.field, e.old_value, e.new_value) for e in entries] == [
        ("certainty", "rumour", "possible"),
        ("certainty", "possible", "probable"),
        ("state", "published", "withdrawn"),
    ]
    assert entries[1].reason == "a second partner confirmed by phone"
    assert entries[2].reason == "the date was wrong by a year"
    assert {e.by_role for e in entries} == {"verifier"}
    assert {e.incident_ref for e in entries} == {incident_ref(incident_id)}


def test_a_non_public_field_is_logged_without_its_values(db: Database) -> None:
    incident_id = submit(db, report_in(location_name="Al-Amal Clinic, Street 9"))
    publish(db, incident_id)

    def change(session: object) -> None:
        row = session.get(IncidentRow, incident_id)  # type: ignore[attr-defined]
        corrections.record_correction(
            session,  # type: ignore[arg-type]
            row,
            field="location_name",
            old=row.location_name,
            new="another clinic",
            reason="the clinic's name was misspelt",
            actor=SYSTEM,
        )

    db.write(change)
    [entry] = log(db)
    assert entry.field == "location_name"
    assert entry.old_value is None and entry.new_value is None


def test_exercise_incidents_stay_out_of_the_public_log(db: Database) -> None:
    incident_id = submit(db, report_in(exercise=True))
    publish(db, incident_id)
    db.write(
        lambda s: verification.transition(
            s, incident_id, to_state=IncidentState.WITHDRAWN, note="end of drill", actor=SYSTEM
        )
    )
    assert log(db) == []


def test_public_api_serves_the_log_without_a_token(client: TestClient, db: Database) -> None:
    verifier = add_actor(db, "vera.secret-name", role=Role.VERIFIER)
    incident_id = submit(db, report_in(narrative="SECRET NARRATIVE"), actor=verifier)
    publish(db, incident_id, actor=verifier)
    db.write(
        lambda s: verification.override_certainty(
            s,
            incident_id,
            certainty=Certainty.CONFIRMED,
            rationale="satellite imagery shows the roof",
            actor=verifier,
        )
    )
    response = client.get("/api/public/corrections")
    assert response.status_code == 200
    [entry] = response.json()
    assert set(entry) == PUBLIC_KEYS
    for secret in ("vera.secret-name", "SECRET NARRATIVE", incident_id, "Partner field form"):
        assert secret not in response.text
    assert entry["by_role"] == "verifier"

    later = (utcnow() + timedelta(minutes=5)).isoformat()
    assert client.get("/api/public/corrections", params={"since": later}).json() == []
    naive = client.get("/api/public/corrections", params={"since": "2000-01-01T00:00:00"})
    assert len(naive.json()) == 1


@hypothesis_settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    field=st.text(min_size=1, max_size=60),
    old=st.text(max_size=50),
    new=st.text(max_size=50),
)
def test_a_public_correction_never_holds_a_non_public_value(
    *, db: Database, field: str, old: str, new: str
) -> None:
    incident_id = submit(db, report_in())
    publish(db, incident_id)
    before = {e.id for e in log(db)}

    def change(session: object) -> None:
        row = session.get(IncidentRow, incident_id)  # type: ignore[attr-defined]
        corrections.record_correction(
            session,  # type: ignore[arg-type]
            row,
            field=field.replace("\x00", ""),
            old=old.replace("\x00", ""),
            new=new.replace("\x00", ""),
            reason="property test",
            actor=SYSTEM,
        )

    db.write(change)
    [entry] = [e for e in log(db) if e.id not in before]
    assert set(entry.model_dump()) == PUBLIC_KEYS
    if entry.field not in corrections.PUBLIC_CORRECTION_FIELDS:
        assert entry.old_value is None and entry.new_value is None
    assert entry.by_role == "system"
