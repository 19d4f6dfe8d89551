"""The routing API and CLI: thin shells over haven.routing, with their errors and permissions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from haven.accounts import Role
from haven.db import Database
from haven.routing.demo import import_helsinki
from haven.settings import Settings
from tests.conftest import make_token

HAVEN = Path(sys.executable).parent / "haven"
FROM, TO = "60.1662,24.9372", "60.1772,24.9510"


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(HAVEN), "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _headers(db: Database, name: str, *, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(db, name, role=role)}"}


def test_route_endpoint_answers_with_routes_and_names_bad_points(
    *, client: TestClient, db: Database, settings: Settings, datasets: Path
) -> None:
    analyst = _headers(db, "route-analyst", role=Role.ANALYST)
    missing = client.get("/api/route", params={"from": FROM, "to": TO}, headers=analyst)
    assert missing.status_code == 404
    import_helsinki(db, settings, datasets=datasets)
    answer = client.get(
        "/api/route",
        params={"from": FROM, "to": TO, "mode": "safest", "alternatives": 2},
        headers=analyst,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["network"] == "helsinki_osm_extract.osm.pbf"
    assert 2 <= len(body["routes"]) <= 3
    first = body["routes"][0]
    assert first["mode"] == "safest"
    assert first["geometry"]["type"] == "LineString"
    assert first["origin"] == [24.9372, 60.1662]
    bad = client.get("/api/route", params={"from": "60.1,north", "to": TO}, headers=analyst)
    assert bad.status_code == 422
    assert "from" in bad.json()["error"]["fields"]
    far = client.get("/api/route", params={"from": FROM, "to": "60.0,24.0"}, headers=analyst)
    assert far.status_code == 422
    assert "destination" in far.json()["error"]["fields"]
    status = client.get("/api/roads", headers=analyst).json()
    assert status["network"]["node_count"] > 500
    assert status["active_closures"] == 0


def test_coordinator_closes_a_road_and_the_next_route_avoids_it(
    *, client: TestClient, db: Database, settings: Settings, datasets: Path
) -> None:
    import_helsinki(db, settings, datasets=datasets)
    coordinator = _headers(db, "route-coordinator", role=Role.COORDINATOR)
    analyst = _headers(db, "route-reader", role=Role.ANALYST)
    before = client.get("/api/route", params={"from": FROM, "to": TO}, headers=analyst).json()
    points = before["routes"][0]["geometry"]["coordinates"]
    middle = points[len(points) // 2]
    body = {
        "name": "Closed (test)",
        "geometry": {"type": "Point", "coordinates": middle},
        "radius_m": 25,
    }
    assert client.post("/api/closures", json=body, headers=analyst).status_code == 403
    made = client.post("/api/closures", json=body, headers=coordinator)
    assert made.status_code == 201, made.text
    closure_id = made.json()["id"]
    after = client.get("/api/route", params={"from": FROM, "to": TO}, headers=analyst).json()
    route = after["routes"][0]
    assert route["edges"] != before["routes"][0]["edges"]
    assert route["near_closures"][0]["closure_id"] == closure_id
    listed = client.get("/api/closures", headers=analyst).json()
    assert [c["id"] for c in listed] == [closure_id]
    ended = client.post(f"/api/closures/{closure_id}/end", headers=coordinator)
    assert ended.status_code == 200
    assert ended.json()["active"] is False
    again = client.post(f"/api/closures/{closure_id}/end", headers=coordinator)
    assert again.status_code == 409
    restored = client.get("/api/route", params={"from": FROM, "to": TO}, headers=analyst).json()
    assert restored["routes"][0]["edges"] == before["routes"][0]["edges"]
    drill = client.post(
        "/api/closures",
        json={**body, "name": "Closed (exercise)", "exercise": True},
        headers=coordinator,
    )
    assert drill.status_code == 201, drill.text
    real = client.get("/api/route", params={"from": FROM, "to": TO}, headers=analyst).json()
    assert real["routes"][0]["edges"] == before["routes"][0]["edges"]  # exercise stays apart
    exercise = client.get(
        "/api/route", params={"from": FROM, "to": TO, "exercise": "true"}, headers=analyst
    ).json()
    assert exercise["routes"][0]["edges"] != before["routes"][0]["edges"]
    assert exercise["routes"][0]["near_closures"][0]["closure_id"] == drill.json()["id"]


def test_cli_imports_routes_and_refuses_a_corrupt_file(tmp_path: Path, datasets: Path) -> None:
    corrupt = tmp_path / "broken.osm.pbf"
    corrupt.write_bytes(b"not a pbf at all")
    refused = _run(tmp_path, "roads", "import", str(corrupt))
    assert refused.returncode == 65
    assert "broken.osm.pbf" in refused.stderr
    assert not (tmp_path / "roads").exists()
    done = _run(tmp_path, "roads", "import", str(datasets / "helsinki_osm_extract.osm.pbf"))
    assert done.returncode == 0, done.stderr
    assert "junctions" in done.stdout
    added = _run(
        tmp_path,
        "closures", "add", "--name", "Bridge closed (exercise)", "--point", "60.1700,24.9420",
        "--exercise",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    routed = _run(tmp_path, "route", FROM, TO, "--mode", "safest", "--alternatives", "1", "--json")
    assert routed.returncode == 0, routed.stderr
    routes = json.loads(routed.stdout)
    assert routes[0]["mode"] == "safest"
    assert "edges" not in routes[0]
    far = _run(tmp_path, "route", "59.0,24.0", TO)
    assert far.returncode == 65
    assert "origin" in far.stderr
    listed = _run(tmp_path, "closures", "list")
    assert "Bridge closed (exercise)" in listed.stdout
    assert "[exercise]" in listed.stdout
