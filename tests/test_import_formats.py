"""ACLED (synthetic rows after the codebook), HXL by hashtag, GeoJSON points, WHO SSA XLSX."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from haven.accounts import SYSTEM
from haven.db import Database
from haven.importers import importer_for, run_import
from haven.taxonomy import DatePrecision, GeoPrecision, SsaAttackType, Tlp
from tests.support.imports import WHO_SSA, csv_slice, table_counts

ACLED_COLUMNS = [
    "event_id_cnty",
    "event_date",
    "year",
    "time_precision",
    "disorder_type",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "civilian_targeting",
    "iso",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "tags",
    "timestamp",
]
"""ACLED's current 31-column export (ACLED Codebook); ``iso`` is ISO 3166 numeric."""

ACLED_OLD_COLUMNS = [
    "data_id",
    "iso",
    "event_id_cnty",
    "event_id_no_cnty",
    "event_date",
    "year",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "inter1",
    "actor2",
    "assoc_actor_2",
    "inter2",
    "interaction",
    "region",
    "country",
    "admin1",
    "admin2",
    "admin3",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "source",
    "source_scale",
    "notes",
    "fatalities",
    "timestamp",
    "iso3",
]
"""An older ACLED export: ``data_id`` and ``iso3`` columns, dates as ``15 January 2019``."""

FICTIONAL = [
    {
        "event_id_cnty": "XYZ0001",
        "event_date": "2024-03-02",
        "time_precision": "1",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "actor1": "Fictional Air Force",
        "iso": "887",
        "country": "Yemen",
        "admin1": "Amanat al Asimah",
        "location": "Fictional Town",
        "latitude": "15.3500",
        "longitude": "44.2000",
        "geo_precision": "2",
        "notes": "Fictional test event: a strike damaged a clinic.",
        "fatalities": "3",
    },
    {
        "event_id_cnty": "XYZ0002",
        "event_date": "2024-03-05",
        "time_precision": "3",
        "event_type": "Violence against civilians",
        "sub_event_type": "Abduction/forced disappearance",
        "actor1": "Fictional Militia",
        "iso": "729",
        "country": "Sudan",
        "location": "Fictional Village",
        "latitude": "13.1000",
        "longitude": "30.2000",
        "geo_precision": "1",
        "notes": "Fictional test event: two nurses taken.",
        "fatalities": "0",
    },
    {
        "event_id_cnty": "XYZ0003",
        "event_date": "2024-03-06",
        "time_precision": "1",
        "event_type": "Protests",
        "sub_event_type": "Peaceful protest",
        "iso": "729",
        "country": "Sudan",
        "latitude": "15.5000",
        "longitude": "32.5000",
        "geo_precision": "1",
        "notes": "Fictional test event: a protest, no harm to health care.",
        "fatalities": "0",
    },
]


def acled_file(
    tmp: Path, *, latitude: str | None = None, drop: str | None = None, old: bool = False
) -> Path:
    """Three fictional ACLED rows (row 2's latitude replaced when ``latitude`` is given)."""
    columns = [c for c in (ACLED_OLD_COLUMNS if old else ACLED_COLUMNS) if c != drop]
    rows = [dict(r) for r in FICTIONAL]
    if latitude is not None:
        rows[1]["latitude"] = latitude
    if old:
        for n, row in enumerate(rows, start=1):
            row["data_id"] = str(9000 + n)
            row["iso3"] = {"887": "YEM", "729": "SDN"}[row["iso"]]
            year, _month, day = row["event_date"].split("-")
            row["event_date"] = f"{int(day)} March {year}"
    path = tmp / ("acled-old.csv" if old else "acled.csv")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def hxl_file(tmp: Path, *, latitude: str | None = None, tags: bool = True) -> Path:
    """A small HXL-tagged CSV whose column names say nothing; only the hashtags do."""
    rows = [
        ["Ref", "When", "Where", "Lat", "Lon", "Place", "Dead", "What"],
        [
            "#event +id",
            "#date +occurred",
            "#country +code",
            "#geo +lat",
            "#geo +lon",
            "#loc +name",
            "#affected +killed",
            "#event +type",
        ],
        ["H-1", "2023-05-01", "SDN", "15.50", "32.53", "Khartoum", "2", "Setting fire"],
        ["H-2", "2023-05-03", "SDN", "13.18", "30.21", "El Obeid", "0", "something else"],
        ["H-3", "2023-05-04", "Atlantis", "", "", "", "0", ""],
    ]
    if latitude is not None:
        rows[3][3] = latitude
    if not tags:
        del rows[1]
    path = tmp / "tagged.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def points_file(tmp: Path, *, latitude: Any = None) -> Path:
    """Three features: two points and a polygon (rejected: not a point)."""

    def feature(n: int, lon: Any, *, lat: Any) -> dict[str, Any]:
        return {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "id": f"P-{n}",
                "date": f"2024-02-0{n}",
                "country": "UKR",
                "attack_types": ["Violence with heavy weapons"],
                "geo_precision": 1,
            },
        }

    polygon = feature(3, 0, lat=0)
    polygon["geometry"] = {"type": "Polygon", "coordinates": [[[30, 50], [31, 50], [30, 51]]]}
    features = [
        feature(1, 36.23, lat=49.99),
        feature(2, 30.52, lat=50.45 if latitude is None else latitude),
        polygon,
    ]
    path = tmp / "points.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    return path


@pytest.mark.parametrize("old", [False, True], ids=["current", "older"])
def test_acled_rows_map_through_the_codebook(*, old: bool, db: Database, tmp_path: Path) -> None:
    summary = run_import(db, "acled", acled_file(tmp_path, old=old), actor=SYSTEM)
    assert (summary.rows_read, summary.imported, summary.rejected) == (3, 2, 1)
    assert summary.rejects[0].row == 3
    assert summary.rejects[0].column == "sub_event_type"
    importer = importer_for("acled", acled_file(tmp_path, old=old))
    importer.check_file()
    first, second, _ = importer.rows()
    strike = importer.to_report(first)
    assert strike.country == "YEM"
    assert strike.attack_types == [SsaAttackType.HEAVY_WEAPONS]
    assert strike.geo_precision is GeoPrecision.DISTRICT
    assert strike.casualties == {"others": {"killed": 3}}
    assert strike.tlp is Tlp.GREEN  # ACLED's terms restrict redistribution
    taken = importer.to_report(second)
    assert taken.country == "SDN"
    assert taken.date_precision is DatePrecision.MONTH
    assert taken.attack_types == [SsaAttackType.ABDUCTION_ARREST_DETENTION]
    again = run_import(db, "acled", acled_file(tmp_path, old=old), actor=SYSTEM)
    assert (again.imported, again.unchanged) == (0, 2)


def test_hxl_csv_is_mapped_by_hashtag(db: Database, tmp_path: Path) -> None:
    path = hxl_file(tmp_path)
    summary = run_import(db, "hxl", path, actor=SYSTEM)
    assert (summary.rows_read, summary.imported, summary.rejected) == (3, 2, 1)
    assert (summary.rejects[0].row, summary.rejects[0].column) == (3, "Where")
    importer = importer_for("hxl", path)
    importer.check_file()
    fire, other, _ = importer.rows()
    report = importer.to_report(fire)
    assert report.country == "SDN"
    assert report.location is not None and (report.location.lon, report.location.lat) == (
        32.53,
        15.5,
    )
    assert report.location_name == "Khartoum"
    assert report.attack_types == [SsaAttackType.SETTING_FIRE]
    assert report.casualties == {"others": {"killed": 2}}
    assert importer.to_report(other).attack_types == [SsaAttackType.UNKNOWN]
    assert report.source.name == "HXL dataset tagged"


def test_hxl_reads_the_awsd_file_by_its_hashtags(datasets: Path, tmp_path: Path) -> None:
    from tests.support.imports import AWSD  # noqa: PLC0415

    importer = importer_for("hxl", csv_slice(datasets / AWSD, tmp_path / "a.csv", rows=8, keep=2))
    importer.check_file()
    reports = [importer.to_report(r) for r in list(importer.rows())[1:]]
    assert [r.country for r in reports[:3]] == ["KHM", "RWA", "TJK"]
    assert reports[0].date_precision is DatePrecision.MONTH


def test_geojson_points_import(db: Database, tmp_path: Path) -> None:
    summary = run_import(db, "geojson", points_file(tmp_path), actor=SYSTEM)
    assert (summary.rows_read, summary.imported, summary.rejected) == (3, 2, 1)
    assert (summary.rejects[0].row, summary.rejects[0].column) == (3, "geometry")
    importer = importer_for("geojson", points_file(tmp_path))
    importer.check_file()
    report = importer.to_report(next(importer.rows()))
    assert report.location is not None
    assert (report.location.lon, report.location.lat) == (36.23, 49.99)  # GeoJSON order
    assert report.attack_types == [SsaAttackType.HEAVY_WEAPONS]


def test_who_ssa_xlsx_imports_like_the_csv(*, datasets: Path, db: Database, tmp_path: Path) -> None:
    source = csv_slice(datasets / WHO_SSA, tmp_path / "who.csv", rows=40)
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    with source.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            sheet.append(row)
    book.save(tmp_path / "who.xlsx")
    from_xlsx = run_import(db, "who_ssa", tmp_path / "who.xlsx", actor=SYSTEM)
    assert (from_xlsx.rows_read, from_xlsx.imported) == (40, 40)
    counts = table_counts(db)
    from_csv = run_import(db, "who_ssa", source, actor=SYSTEM)
    assert (from_csv.imported, from_csv.unchanged) == (0, 40)
    assert table_counts(db)["reports"] == counts["reports"]


def test_dry_run_writes_nothing(db: Database, tmp_path: Path) -> None:
    before = table_counts(db)
    summary = run_import(db, "geojson", points_file(tmp_path), actor=SYSTEM, dry_run=True)
    assert (summary.rows_read, summary.rejected, summary.run_id) == (3, 1, None)
    assert table_counts(db) == before


def test_compiled_datasets_are_graded_as_secondary_accounts() -> None:
    """AWSD, SHCC, KIKA and ACLED compile media and partner reports: one such account is
    'possible' by the WHO SSA rules, not a rumour; WHO SSA keeps its own certainty."""
    from haven.importers import FORMATS  # noqa: PLC0415
    from haven.taxonomy import SourceType  # noqa: PLC0415

    graded = {name for name, importer in FORMATS.items() if importer.source_type}
    assert graded == {"awsd", "shcc", "kika", "acled"}
    assert all(FORMATS[n].source_type is SourceType.SECONDARY for n in graded)
