"""``haven import`` and ``POST /api/imports``: thin shells over `run_import`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from haven.accounts import Role
from haven.app import create_app
from haven.db import Database, open_database
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.imports import table_counts
from tests.test_import_bad_files import CORRUPT_LAT
from tests.test_import_formats import points_file

HAVEN = Path(sys.executable).parent / "haven"


def haven(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_imports_prints_the_summary_and_writes_rejects(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    path = points_file(tmp_path)
    done = haven(data_dir, "import", "geojson", str(path))
    assert done.returncode == 0, done.stderr
    assert "rows read: 3" in done.stdout
    assert "imported:  2" in done.stdout
    assert "rejected:  1" in done.stdout
    assert "row 3, geometry: 'Polygon' is not a Point" in done.stdout
    rejects = data_dir / "imports" / "points.geojson.rejects.csv"
    assert rejects.read_text().splitlines() == [
        "row,column,reason",
        "3,geometry,'Polygon' is not a Point",
    ]
    again = haven(data_dir, "import", "geojson", str(path), "--rejects", str(tmp_path / "r.csv"))
    assert "unchanged: 2" in again.stdout
    assert (tmp_path / "r.csv").exists()


def test_cli_refuses_a_bad_file_with_row_and_column(tmp_path: Path) -> None:
    done = haven(
        tmp_path / "var", "import", "geojson", str(points_file(tmp_path, latitude=CORRUPT_LAT))
    )
    assert done.returncode == 65
    assert "row 2" in done.stderr
    assert "latitude" in done.stderr
    assert "nothing was imported" in done.stderr


def test_cli_dry_run_and_help(tmp_path: Path) -> None:
    done = haven(tmp_path / "var", "import", "geojson", str(points_file(tmp_path)), "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "dry run" in done.stdout
    assert not (tmp_path / "var" / "imports").exists()
    assert "Example:" in haven(tmp_path / "var", "import", "--help").stdout


def test_api_imports_raw_body_and_multipart(
    *, client: TestClient, db: Database, tmp_path: Path
) -> None:
    headers = {"Authorization": f"Bearer {make_token(db, 'importer', role=Role.ADMIN)}"}
    body = points_file(tmp_path).read_bytes()
    raw = client.post(
        "/api/imports",
        params={"format": "geojson", "filename": "points.geojson"},
        content=body,
        headers=headers,
    )
    assert raw.status_code == 200, raw.text
    assert raw.json()["imported"] == 2
    assert raw.json()["rejects"] == [
        {"row": 3, "column": "geometry", "reason": "'Polygon' is not a Point"}
    ]
    form = client.post(
        "/api/imports",
        params={"format": "geojson"},
        files={"file": ("points.geojson", body, "application/geo+json")},
        headers=headers,
    )
    assert form.status_code == 200, form.text
    assert (form.json()["unchanged"], form.json()["file"]) == (2, "points.geojson")


def test_api_refuses_bad_files_and_other_roles(
    *, client: TestClient, db: Database, tmp_path: Path
) -> None:
    admin = {"Authorization": f"Bearer {make_token(db, 'importer', role=Role.ADMIN)}"}
    analyst = {"Authorization": f"Bearer {make_token(db, 'analyst', role=Role.ANALYST)}"}
    body = points_file(tmp_path, latitude=CORRUPT_LAT).read_bytes()
    before = table_counts(db)
    bad = client.post("/api/imports", params={"format": "geojson"}, content=body, headers=admin)
    assert bad.status_code == 422
    assert "row 2" in bad.json()["error"]["message"]
    assert table_counts(db) == before
    unknown = client.post("/api/imports", params={"format": "dbase"}, content=b"x", headers=admin)
    assert unknown.status_code == 422
    denied = client.post(
        "/api/imports", params={"format": "geojson"}, content=body, headers=analyst
    )
    assert denied.status_code == 403


def test_api_upload_size_is_limited_by_settings(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, max_import_bytes=2048, max_body_bytes=1024)
    db = open_database(settings)
    try:
        with TestClient(create_app(settings, db=db)) as client:
            headers = {"Authorization": f"Bearer {make_token(db, 'importer', role=Role.ADMIN)}"}
            ok = client.post(
                "/api/imports",
                params={"format": "geojson"},
                content=points_file(tmp_path).read_bytes().ljust(1500),
                headers=headers,
            )
            assert ok.status_code == 200, ok.text  # over max_body_bytes, under max_import_bytes
            big = client.post(
                "/api/imports", params={"format": "geojson"}, content=b" " * 4096, headers=headers
            )
            assert big.status_code == 413
    finally:
        db.close()
