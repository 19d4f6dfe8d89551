"""Public exports parse back (csv, json, openpyxl) with an HXL row and hold only released data."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy.orm import Session

from haven import exports, releases
from haven.db import Database
from haven.errors import NotFound
from haven.exports import ExportFormat, ExportTable
from haven.geo import h3_centroid, h3_resolution
from haven.release_policy import ReleasePolicy
from haven.releases import PublicContent
from tests.support.releases import (
    EXACT_LAT,
    EXACT_LON,
    HEAVY,
    NOW,
    SECRETS,
    People,
    actor,
    add_facility,
    add_incident,
    add_people,
    public_text,
    publish,
)

POLICIES = {
    "country": ReleasePolicy(k=1),
    "admin1": ReleasePolicy(k=1, spatial="admin1"),
    "h3": ReleasePolicy(k=1, spatial="h3:5", time="week", fields=("attack_types", "killed")),
}


@pytest.fixture
def people(db: Database) -> People:
    return add_people(db)


def stored(db: Database) -> None:
    """Six real incidents near one exact point (at a named facility) and one exercise incident."""

    def write(session: Session) -> None:
        facility = add_facility(session)
        for day in range(6):
            add_incident(
                session,
                occurred_at=NOW - timedelta(days=40 + day),
                country="PSE",
                admin1="North Gaza" if day % 2 else '=HYPERLINK("http://x")',
                lon=EXACT_LON,
                lat=EXACT_LAT,
                geo_precision=1,
                attack_types=(HEAVY,),
                killed=day,
                facility_id=facility,
            )
        add_incident(session, occurred_at=NOW - timedelta(days=50), country="UKR", exercise=True)

    db.write(write)


def content(db: Database, *, people: People, policy: ReleasePolicy) -> PublicContent:
    stored(db)
    version = publish(db, policy, people=people)
    with db.read() as session:
        return releases.public_content(session, version)


def test_csv_has_a_header_and_an_hxl_row_and_parses_back(db: Database, people: People) -> None:
    got = content(db, people=people, policy=POLICIES["h3"])
    rows = list(csv.reader(io.StringIO(exports.to_csv(got))))
    header, hxl, data = rows[0], rows[1], rows[2:]
    assert header == [
        "n",
        "country",
        "period",
        "period_start",
        "period_end",
        "h3_cell",
        "lon",
        "lat",
        "attack_types",
        "killed",
    ]
    assert hxl == [
        "#meta+row",
        "#country+code",
        "#date+period",
        "#date+start",
        "#date+end",
        "#loc+code+h3",
        "#geo+lon",
        "#geo+lat",
        "#event+type",
        "#affected+killed",
    ]
    assert len(data) == len(got.incidents) == 6
    for values, row in zip(data, got.incidents, strict=True):
        record = dict(zip(header, values, strict=True))
        assert record["country"] == "PSE" and record["attack_types"] == HEAVY
        assert int(record["killed"]) == row.killed
        assert h3_resolution(record["h3_cell"]) == 5
        centre = h3_centroid(record["h3_cell"])
        assert (float(record["lon"]), float(record["lat"])) == (centre.lon, centre.lat)


def test_csv_of_the_counts(db: Database, people: People) -> None:
    got = content(db, people=people, policy=POLICIES["country"])
    rows = list(csv.reader(io.StringIO(exports.to_csv(got, table=ExportTable.AGGREGATES))))
    assert rows[0][:5] == ["country", "period", "period_start", "period_end", "attack_type"]
    assert rows[1][:5] == [
        "#country+code",
        "#date+period",
        "#date+start",
        "#date+end",
        "#event+type",
    ]
    totals = [r for r in rows[2:] if r[1] == "" and r[4] == ""]
    assert len(totals) == 1 and totals[0][rows[0].index("incidents")] == "6"


def test_geojson_points_are_cell_centres_or_absent(db: Database, people: People) -> None:
    got = content(db, people=people, policy=POLICIES["h3"])
    parsed = json.loads(exports.export(got, fmt=ExportFormat.GEOJSON).data)
    assert parsed["type"] == "FeatureCollection" and parsed["release"]["version"] == 1
    assert len(parsed["features"]) == 6
    for feature in parsed["features"]:
        cell = feature["properties"]["h3_cell"]
        centre = h3_centroid(cell)
        assert feature["geometry"] == {"type": "Point", "coordinates": [centre.lon, centre.lat]}
        assert set(feature["properties"]) <= POLICIES["h3"].incident_fields()


def test_geojson_under_a_country_policy_has_no_geometry(db: Database, people: People) -> None:
    parsed = exports.to_geojson(content(db, people=people, policy=POLICIES["country"]))
    assert parsed["features"] and all(f["geometry"] is None for f in parsed["features"])


def test_xlsx_has_both_tables_with_hxl_rows_and_no_formula(db: Database, people: People) -> None:
    got = content(db, people=people, policy=POLICIES["admin1"])
    book = openpyxl.load_workbook(io.BytesIO(exports.to_xlsx(got)))
    assert book.sheetnames == ["incidents", "aggregates", "about"]
    incidents = list(book["incidents"].iter_rows(values_only=True))
    assert incidents[0][:3] == ("n", "country", "period")
    assert all(str(tag).startswith("#") for tag in incidents[1])
    assert len(incidents) == 2 + 6
    admin1 = incidents[0].index("admin1")
    assert {r[admin1] for r in incidents[2:]} == {"North Gaza", '=HYPERLINK("http://x")'}
    for row in book["incidents"].iter_rows(min_row=3):
        assert all(cell.data_type != "f" for cell in row)
    about = {r[0]: r[1] for r in book["about"].iter_rows(values_only=True)}
    assert about["content_sha256"] == got.release.content_sha256
    assert json.loads(str(about["policy"]))["spatial"] == "admin1"
    assert list(book["aggregates"].iter_rows(values_only=True))[1][0] == "#country+code"


def test_csv_defuses_text_a_spreadsheet_would_run(db: Database, people: People) -> None:
    got = content(db, people=people, policy=POLICIES["admin1"])
    text = exports.to_csv(got)
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_no_planted_secret_in_any_export(db: Database, *, people: People, name: str) -> None:
    got = content(db, people=people, policy=POLICIES[name])
    for fmt in ExportFormat:
        rendered = exports.export(got, fmt=fmt)
        text = public_text(rendered.data)
        if fmt is ExportFormat.XLSX:
            book = openpyxl.load_workbook(io.BytesIO(rendered.data))
            text = public_text(
                [[list(r) for r in book[s].iter_rows(values_only=True)] for s in book.sheetnames]
            )
        for secret in SECRETS.values():
            assert secret not in text, (fmt, secret)
        assert f"{EXACT_LON:.5f}"[:7] not in text and f"{EXACT_LAT:.5f}"[:7] not in text
        assert "UKR" not in text  # the exercise incident
    csv_counts = exports.to_csv(got, table=ExportTable.AGGREGATES)
    assert not [s for s in SECRETS.values() if s in csv_counts]


def test_exports_come_only_from_published_releases(db: Database, people: People) -> None:
    stored(db)
    db.write(
        lambda s: releases.create(
            s, ReleasePolicy(), title="draft", actor=actor(s, people.analyst), now=NOW
        )
    )
    with db.read() as session, pytest.raises(NotFound):
        releases.public_content(session, 1)
