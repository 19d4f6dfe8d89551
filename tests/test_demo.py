"""The demo: real hospitals and EXERCISE reports that are labelled and never mix with real data."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import demo, facilities, reports, sessions
from haven import incidents as incidents_service
from haven.accounts import SYSTEM
from haven.db import Database
from haven.errors import InvalidInput
from haven.models import FacilityRow, IncidentRow, ReportRow
from haven.settings import Settings


def test_demo_loads_hospitals_and_exercise_reports_once(
    *, db: Database, datasets: Path, tmp_path: Path
) -> None:
    first = demo.load(db, datasets=datasets, seed=7)
    assert (first.facilities_added, first.reports_added) == (36, demo.EXERCISE_REPORTS)
    second = demo.load(db, datasets=datasets, seed=7)
    assert (second.facilities_added, second.reports_added) == (0, 0)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(FacilityRow)) == 36
        incidents = session.scalars(select(IncidentRow)).all()
        assert len(incidents) == demo.EXERCISE_REPORTS
        assert all(i.is_exercise for i in incidents)
        ids = [i.id for i in incidents]
    for incident_id in ids:
        opened = db.write(
            lambda s, i=incident_id: incidents_service.get(
                s, i, actor=SYSTEM, purpose="demo label check"
            )
        )
        assert opened.narrative is not None and opened.narrative.startswith("EXERCISE")
        assert all(r.is_exercise for r in session.scalars(select(ReportRow)))
        names = [f.name for f in facilities.list_facilities(session, country="PSE")]
    assert "Yaffa Hospital" in names


def test_demo_token_is_reused_and_reads_the_api(
    *, db: Database, datasets: Path, tmp_path: Path, client: TestClient
) -> None:
    demo.load(db, datasets=datasets, seed=7)
    token_file = tmp_path / "demo-token.txt"
    token = demo.ensure_demo_token(db, token_file=token_file)
    assert demo.ensure_demo_token(db, token_file=token_file) == token
    page = client.get(
        "/api/incidents", params={"exercise": "only"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert page.status_code == 200
    assert len(page.json()["items"]) == demo.EXERCISE_REPORTS
    real = client.get(
        "/api/incidents",
        params={"exercise": "exclude"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert real.json()["items"] == []


def test_exercise_and_real_never_mix(db: Database, datasets: Path) -> None:
    demo.load(db, datasets=datasets, seed=7)
    with db.read() as session:
        exercise_incident = session.scalars(select(IncidentRow.id)).first()
    real = reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "mixing test", "kind": "form"},
            "occurred_at": "2024-01-01T00:00:00Z",
            "country": "PSE",
            "attack_types": ["Setting fire"],
            "incident_id": exercise_incident,
        }
    )
    with pytest.raises(InvalidInput) as caught:
        db.write(lambda s: reports.submit(s, real, actor=SYSTEM))
    assert "incident_id" in caught.value.fields


def test_facility_file_errors_name_the_feature(tmp_path: Path) -> None:
    bad = tmp_path / "bad.geojson"
    features = [
        {
            "type": "Feature",
            "properties": {"name": name},
            "geometry": {"type": "Point", "coordinates": xy},
        }
        for name, xy in [("A", [34.4, 31.5]), ("B", [34.4, 95])]
    ]
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(InvalidInput) as caught:
        facilities.read_geojson_points(bad)
    assert "features[1].geometry.coordinates" in caught.value.fields


def test_demo_people_sign_in_with_their_written_passwords(
    *, db: Database, client: TestClient, tmp_path: Path, settings: Settings
) -> None:
    credentials = tmp_path / "demo-credentials.txt"
    demo.ensure_demo_people(
        db, credentials_file=credentials, hasher=sessions.password_hasher(settings)
    )
    demo.ensure_demo_people(
        db, credentials_file=credentials, hasher=sessions.password_hasher(settings)
    )
    assert credentials.stat().st_mode & 0o777 == 0o600
    lines = dict(line.split(" ", 1) for line in credentials.read_text().splitlines())
    assert set(lines) == set(demo.DEMO_PEOPLE)
    answer = client.post(
        "/api/login", json={"username": "demo-verifier", "password": lines["demo-verifier"]}
    )
    assert answer.status_code == 200, answer.text
    assert client.get("/api/me").json()["role"] == "verifier"
