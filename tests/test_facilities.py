"""The facility registry: imports (GeoJSON, CSV, OSM), status and supplies, focal points, API."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import facilities, facility_import, facility_status
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.errors import InvalidInput, NotFound, PermissionDenied
from haven.facilities import FacilityKind
from haven.facility_status import FacilityStatus, StatusIn, SupplyIn, SupplyKind
from haven.geo import BBox, LonLat
from haven.models import AuditEventRow, FacilityRow, FacilityStatusRow
from tests.conftest import make_token
from tests.support.facilities import add_facility, facility_json, write_osm

HAVEN = Path(sys.executable).parent / "haven"


def _count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(FacilityRow)) or 0)


# --- imports ----------------------------------------------------------------------------------


def test_gaza_hospitals_load_as_is_and_again_change_nothing(db: Database, datasets: Path) -> None:
    path = datasets / "gaza_hospitals.geojson"

    def load() -> facilities.FacilityLoad:
        return db.write(
            lambda s: facility_import.import_file(
                s, path, actor=SYSTEM, country="PSE", kind=FacilityKind.HOSPITAL
            )
        )

    first = load()
    assert (first.read, first.added) == (36, 36)
    again = load()
    assert (again.added, again.updated, again.unchanged) == (0, 0, 36)
    with db.read() as session:
        found = facilities.list_facilities(session, country="PSE")
    assert len(found) == 36
    yaffa = next(f for f in found if f.name == "Yaffa Hospital")
    assert yaffa.kind is FacilityKind.HOSPITAL
    assert (yaffa.lon, yaffa.lat, yaffa.beds) == (34.34438558, 31.4178524, 30)
    assert yaffa.name_local == "مستشفى يافا الطبي"


def test_demo_loader_maps_secondary_facilities_to_hospitals(db: Database, datasets: Path) -> None:
    loaded = db.write(
        lambda s: facilities.load_geojson(
            s,
            datasets / "gaza_hospitals.geojson",
            source_name="Gaza hospitals test",
            country="PSE",
            facility_type="Secondary",
            actor=SYSTEM,
        )
    )
    assert loaded.added == 36
    with db.read() as session:
        kinds = {f.kind for f in facilities.list_facilities(session)}
    assert kinds == {FacilityKind.HOSPITAL}


CSV = """\
Facility Name,Type,Latitude,Longitude,Operator,Services,Beds,ID
Fictional North Clinic,clinic,31.55,34.49,Fictional Trust,primary care;vaccination,10,N-1
Fictional South Post,first aid post,31.30,34.25,Fictional Red Crescent,,0,S-2
"""


def test_csv_import_maps_headers_and_updates_changed_rows(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "clinics.csv"
    path.write_text(CSV, encoding="utf-8")

    def load() -> facilities.FacilityLoad:
        return db.write(lambda s: facility_import.import_file(s, path, actor=SYSTEM, country="PSE"))

    assert load().added == 2
    with db.read() as session:
        north = facilities.list_facilities(session, kind=FacilityKind.CLINIC)[0]
        south = facilities.list_facilities(session, kind=FacilityKind.FIRST_AID_POST)[0]
    assert (north.lon, north.lat) == (34.49, 31.55)  # lon/lat, whatever the column order
    assert north.services == ["primary care", "vaccination"]
    assert north.operator == "Fictional Trust" and north.beds == 10
    assert south.external_id.endswith(":S-2")
    path.write_text(CSV.replace("31.55,34.49", "31.56,34.49"), encoding="utf-8")
    changed = load()
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 1)


def test_csv_with_a_bad_latitude_in_row_7_names_row_and_column(
    db: Database, tmp_path: Path
) -> None:
    rows = [f"Fictional Clinic {i},31.{40 + i},34.4" for i in range(1, 10)]
    rows[6] = "Fictional Clinic 7,131.5,34.4"
    path = tmp_path / "bad.csv"
    path.write_text("name,latitude,longitude\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        db.write(lambda s: facility_import.import_file(s, path, actor=SYSTEM, country="PSE"))
    assert caught.value.fields == {"row 7, latitude": "131.5 is outside -90..90"}
    assert "row 7" in caught.value.message
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("header", "row", "field"),
    [
        ("name,lat,lon", "Fictional A,31.5,abc", "row 1, lon"),
        ("name,lat,lon,type", "Fictional A,31.5,34.4,castle", "row 1, type"),
        ("name,lat,lon,beds", "Fictional A,31.5,34.4,-3", "row 1, beds"),
        ("name,lat,lon,beds", "Fictional A,31.5,34.4,many", "row 1, beds"),
        ("name,lat,lon,precision", "Fictional A,31.5,34.4,9", "row 1, precision"),
        ("name,lat", "Fictional A,31.5", "header"),
    ],
)
def test_csv_errors_name_the_row_and_column(
    *, db: Database, tmp_path: Path, header: str, row: str, field: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(f"{header}\n{row}\n")
    with pytest.raises(InvalidInput) as caught:
        db.write(lambda s: facility_import.import_file(s, path, actor=SYSTEM, country="PSE"))
    assert field in caught.value.fields
    assert _count(db) == 0


def test_geojson_with_a_bad_feature_writes_nothing(db: Database, tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"name": f"Fictional {i}", "kind": kind},
            "geometry": {"type": "Point", "coordinates": [34.4, 31.5 + i / 100]},
        }
        for i, kind in enumerate(["clinic", "hospital", "castle"])
    ]
    path = tmp_path / "sites.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(InvalidInput) as caught:
        db.write(lambda s: facility_import.import_file(s, path, actor=SYSTEM, country="PSE"))
    assert "features[2].properties.kind" in caught.value.fields
    assert _count(db) == 0


def test_osm_pbf_import_takes_health_nodes_and_ways_at_their_centroid(
    db: Database, tmp_path: Path
) -> None:
    path = write_osm(tmp_path / "tiny.osm.pbf")

    def load() -> facilities.FacilityLoad:
        return db.write(lambda s: facility_import.import_file(s, path, actor=SYSTEM, country="PSE"))

    assert load().added == 3
    assert load().unchanged == 3
    with db.read() as session:
        found = {f.external_id: f for f in facilities.list_facilities(session)}
    assert set(found) == {"osm:node/1", "osm:node/2", "osm:way/100"}
    assert found["osm:node/1"].kind is FacilityKind.HOSPITAL
    assert found["osm:node/2"].kind is FacilityKind.PHARMACY
    clinic = found["osm:way/100"]
    assert clinic.kind is FacilityKind.CLINIC and clinic.operator == "Fictional Trust"
    assert clinic.lon == pytest.approx(34.4510, abs=1e-5)
    assert clinic.lat == pytest.approx(31.5010, abs=1e-5)


def test_real_osm_extract_loads(db: Database, datasets: Path) -> None:
    path = datasets / "helsinki_osm_extract.osm.pbf"
    loaded = db.write(lambda s: facility_import.import_file(s, path, actor=SYSTEM, country="FIN"))
    assert loaded.added > 5
    with db.read() as session:
        found = facilities.list_facilities(session, country="FIN")
    assert all(f.external_id.startswith("osm:") for f in found)
    assert all(BBox(24.5, 59.9, 25.5, 60.5).contains(LonLat(f.lon, f.lat)) for f in found)


def test_a_file_that_is_not_osm_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "fake.osm.pbf"
    path.write_bytes(b"this is not a protocol buffer")
    with pytest.raises(InvalidInput):
        db.write(lambda s: facility_import.import_file(s, path, actor=SYSTEM, country="PSE"))
    assert _count(db) == 0


# --- status and supplies ----------------------------------------------------------------------


def test_days_of_autonomy_per_supply_and_overall(db: Database) -> None:
    facility_id = add_facility(db)
    entry = StatusIn(
        status=FacilityStatus.PARTIALLY_FUNCTIONING,
        reason="generator failing (fictional)",
        supplies=[
            SupplyIn(kind=SupplyKind.FUEL, quantity=2400, daily_consumption=600),
            SupplyIn(kind=SupplyKind.WATER, quantity=10000, daily_consumption=2000),
            SupplyIn(kind=SupplyKind.MEDICINE, name="insulin", quantity=300, daily_consumption=100),
            SupplyIn(kind=SupplyKind.BLOOD, quantity=20, daily_consumption=0),
        ],
    )
    stored = db.write(
        lambda s: facility_status.add_status(s, facility_id, entry=entry, actor=SYSTEM)
    )
    days = {s.kind.value + (s.name or ""): s.days_of_autonomy for s in stored.supplies}
    assert days == {"fuel": 4.0, "water": 5.0, "medicineinsulin": 3.0, "blood": None}
    assert stored.days_of_autonomy == 3.0
    assert stored.limiting_supply == "medicine:insulin"
    with db.read() as session:
        shown = facilities.get(session, facility_id, actor=SYSTEM)
    assert shown.status is not None
    assert shown.status.status is FacilityStatus.PARTIALLY_FUNCTIONING
    assert shown.status.days_of_autonomy == 3.0


def test_history_is_newest_first_and_exercise_never_masks_real(db: Database) -> None:
    facility_id = add_facility(db)
    now = datetime.now(UTC)
    for hours, status, exercise in [
        (30, FacilityStatus.OPERATIONAL, False),
        (20, FacilityStatus.PARTIALLY_FUNCTIONING, False),
        (1, FacilityStatus.NOT_FUNCTIONING, True),
    ]:
        entry = StatusIn(status=status, at=now - timedelta(hours=hours), exercise=exercise)

        def add(session: Session, entry: StatusIn = entry) -> facility_status.StatusEntry:
            return facility_status.add_status(session, facility_id, entry=entry, actor=SYSTEM)

        db.write(add)
    with db.read() as session:
        entries = facility_status.history(session, facility_id, actor=SYSTEM)
        shown = facilities.get(session, facility_id, actor=SYSTEM)
    assert [e.status for e in entries] == [
        FacilityStatus.NOT_FUNCTIONING,
        FacilityStatus.PARTIALLY_FUNCTIONING,
        FacilityStatus.OPERATIONAL,
    ]
    assert entries[0].exercise
    assert shown.status is not None
    assert shown.status.status is FacilityStatus.PARTIALLY_FUNCTIONING
    assert not shown.status.exercise


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        (
            {"status": "operational", "at": "2999-01-01T00:00:00Z"},
            "at",
        ),
        (
            {
                "status": "operational",
                "supplies": [
                    {"kind": "fuel", "quantity": 1, "daily_consumption": 1},
                    {"kind": "fuel", "quantity": 2, "daily_consumption": 1},
                ],
            },
            "supplies[1]",
        ),
    ],
)
def test_bad_status_names_the_field_and_writes_nothing(
    *, db: Database, entry: dict[str, object], field: str
) -> None:
    facility_id = add_facility(db)
    parsed = StatusIn.model_validate(entry)
    with pytest.raises(InvalidInput) as caught:
        db.write(lambda s: facility_status.add_status(s, facility_id, entry=parsed, actor=SYSTEM))
    assert field in caught.value.fields
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(FacilityStatusRow)) == 0


def test_a_medicine_needs_a_name() -> None:
    with pytest.raises(ValueError, match="medicine needs its name"):
        SupplyIn(kind=SupplyKind.MEDICINE, quantity=1, daily_consumption=1)


# --- focal points -----------------------------------------------------------------------------


def test_focal_points_are_encrypted_and_read_only_with_a_purpose(db: Database) -> None:
    facility_id = add_facility(db)
    with db.read() as session:
        row = session.get(FacilityRow, facility_id)
        assert row is not None and row.sensitive is not None
        assert row.sensitive.startswith("hv1.")
        assert "000 0001" not in row.sensitive and "Test Person" not in row.sensitive
    coordinator = Actor("fictional-coordinator", Role.COORDINATOR)
    with pytest.raises(PermissionDenied):
        db.write(
            lambda s: facilities.focal_points(
                s, facility_id, actor=coordinator, purpose="call them"
            )
        )
    verifier = Actor("fictional-verifier", Role.VERIFIER)
    people = db.write(
        lambda s: facilities.focal_points(s, facility_id, actor=verifier, purpose="alert test call")
    )
    assert [(p.name, p.phone) for p in people] == [("Dr Test Person", "+970 59 000 0001")]
    with db.read() as session:
        reads = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "sensitive.read")
        ).all()
        assert [(r.entity_type, r.entity_id, r.detail["purpose"]) for r in reads] == [
            ("facility", str(facility_id), "alert test call")
        ]


def test_update_changes_only_given_fields_and_keeps_focal_points(db: Database) -> None:
    facility_id = add_facility(db)
    changes = facilities.FacilityUpdate(beds=40, location={"lon": 34.41, "lat": 31.41})
    updated = db.write(lambda s: facilities.update(s, facility_id, changes=changes, actor=SYSTEM))
    assert (updated.beds, updated.lon, updated.lat, updated.kind) == (
        40, 34.41, 31.41, FacilityKind.CLINIC,
    )  # fmt: skip
    assert updated.has_focal_points
    people = db.write(
        lambda s: facilities.focal_points(s, facility_id, actor=SYSTEM, purpose="check kept")
    )
    assert len(people) == 1


# --- API and CLI ------------------------------------------------------------------------------


def test_api_register_list_status_and_import(
    *, client: TestClient, db: Database, tmp_path: Path
) -> None:
    coordinator = {"Authorization": f"Bearer {make_token(db, 'coord', role=Role.COORDINATOR)}"}
    analyst = {"Authorization": f"Bearer {make_token(db, 'analyst', role=Role.ANALYST)}"}
    admin = {"Authorization": f"Bearer {make_token(db, 'admin', role=Role.ADMIN)}"}
    assert client.post("/api/facilities", json=facility_json(), headers=analyst).status_code == 403
    made = client.post("/api/facilities", json=facility_json(), headers=coordinator)
    assert made.status_code == 201, made.text
    facility_id = made.json()["id"]
    assert "focal_points" not in made.json() and made.json()["has_focal_points"]
    bad = client.post(
        "/api/facilities", json=facility_json(location={"lon": 200, "lat": 31}), headers=coordinator
    )
    assert bad.status_code == 422 and "location.lon" in bad.json()["error"]["fields"]
    status = client.post(
        f"/api/facilities/{facility_id}/statuses",
        json={
            "status": "not_functioning",
            "reason": "no fuel (fictional)",
            "supplies": [{"kind": "fuel", "quantity": 0, "daily_consumption": 300}],
        },
        headers=coordinator,
    )
    assert status.status_code == 201, status.text
    assert status.json()["days_of_autonomy"] == 0.0
    path = tmp_path / "more.csv"
    path.write_text(CSV, encoding="utf-8")
    imported = client.post(
        "/api/facilities/import",
        params={"format": "csv", "country": "PSE"},
        content=path.read_bytes(),
        headers=admin,
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["added"] == 2
    listed = client.get(
        "/api/facilities", params={"bbox": "34.3,31.35,34.45,31.45"}, headers=analyst
    ).json()
    assert [f["id"] for f in listed] == [facility_id]
    assert listed[0]["status"]["status"] == "not_functioning"
    posts = client.get("/api/facilities", params={"kind": "first_aid_post"}, headers=analyst)
    assert [f["name"] for f in posts.json()] == ["Fictional South Post"]
    history = client.get(f"/api/facilities/{facility_id}/statuses", headers=analyst).json()
    assert history[0]["supplies"][0]["unit"] == "litres"


def test_cli_import_list_and_status(tmp_path: Path, datasets: Path) -> None:
    data = tmp_path / "instance"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(HAVEN), "--data-dir", str(data), *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert run("init").returncode == 0
    path = datasets / "gaza_hospitals.geojson"
    done = run("facilities", "import", str(path), "--country", "PSE", "--kind", "hospital")
    assert done.returncode == 0, done.stderr
    assert "36 read: 36 added" in done.stdout
    listed = run("facilities", "list", "--format", "json")
    facility_id = json.loads(listed.stdout)[0]["id"]
    set_status = run(
        "facilities", "status", str(facility_id), "--set", "partially_functioning",
        "--reason", "fictional test", "--supply", "fuel=2400/600",
        "--supply", "medicine:insulin=300/150",
    )  # fmt: skip
    assert set_status.returncode == 0, set_status.stderr
    assert "2.0 days (medicine:insulin runs out first)" in set_status.stdout
    bad = run("facilities", "status", str(facility_id), "--set", "operational", "--supply", "x")
    assert bad.returncode == 65 and "KIND[:NAME]=QUANTITY/DAILY" in bad.stderr


def test_a_country_focal_point_sees_only_their_countries(db: Database) -> None:
    here = add_facility(db)
    there = add_facility(db, country="YEM", location={"lon": 44.2, "lat": 15.35})
    limited = Actor("fictional-focal-point", Role.ANALYST, countries=frozenset({"YEM"}))
    with db.read() as session:
        assert [f.id for f in facilities.list_facilities(session, actor=limited)] == [there]
        with pytest.raises(NotFound):
            facilities.get(session, here, actor=limited)


def test_numbers_must_be_numbers(*, client: TestClient, db: Database) -> None:
    headers = {"Authorization": f"Bearer {make_token(db, 'coord', role=Role.COORDINATOR)}"}
    for body in (
        facility_json(location={"lon": 34.4, "lat": False}),
        facility_json(beds=True),
        facility_json(geo_precision=True),
        facility_json(beds="12"),
    ):
        answer = client.post("/api/facilities", json=body, headers=headers)
        assert answer.status_code == 422, body
    assert _count(db) == 0
    facility_id = add_facility(db)
    seconds = client.post(
        f"/api/facilities/{facility_id}/statuses",
        json={"status": "operational", "at": 0},
        headers=headers,
    )
    assert seconds.status_code == 422 and "at" in seconds.json()["error"]["fields"]
    huge = client.post(f"/api/facilities/{2**80}/statuses", json={"status": "operational"})
    assert huge.status_code in {401, 422}
    huge = client.post(
        f"/api/facilities/{2**80}/statuses", json={"status": "operational"}, headers=headers
    )
    assert huge.status_code == 422
