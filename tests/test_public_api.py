"""The public API serves published releases only, anonymously; releases are made over HTTP too."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven.accounts import Role
from haven.db import Database
from haven.models import AuditEventRow
from tests.conftest import make_token
from tests.support.releases import (
    EXACT_LAT,
    EXACT_LON,
    FIRE,
    SECRETS,
    add_facility,
    add_incident,
    public_text,
)

PUBLIC = "/api/public/releases"


def stored(db: Database) -> None:
    """Seven real incidents in Sudan in March 2024, at an exact point, and two exercise ones."""
    start = datetime(2024, 3, 4, 9, 30, tzinfo=UTC)

    def write(session: Session) -> None:
        facility = add_facility(session)
        for day in range(7):
            add_incident(
                session,
                occurred_at=start + timedelta(days=day),
                lon=EXACT_LON,
                lat=EXACT_LAT,
                geo_precision=1,
                facility_id=facility,
                killed=1,
            )
        for day in range(2):
            add_incident(session, occurred_at=start + timedelta(days=day), exercise=True)

    db.write(write)


@pytest.fixture
def tokens(db: Database) -> dict[str, dict[str, str]]:
    """Authorization headers of two analysts, a coordinator and a reporter."""
    stored(db)
    made = {
        "analyst": make_token(db, "api-analyst"),
        "analyst2": make_token(db, "api-analyst-2"),
        "coordinator": make_token(db, "api-coordinator", role=Role.COORDINATOR),
        "reporter": make_token(db, "api-reporter", role=Role.REPORTER),
    }
    return {name: {"Authorization": f"Bearer {token}"} for name, token in made.items()}


def create(client: TestClient, headers: dict[str, str], **policy: Any) -> int:
    response = client.post(
        "/api/releases/drafts",
        json={"title": "Attacks on health care", "policy": policy},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    version: int = response.json()["version"]
    return version


def published(client: TestClient, tokens: dict[str, dict[str, str]], **policy: Any) -> int:
    version = create(client, tokens["analyst"], **policy)
    approved = client.post(f"/api/releases/{version}/approve", headers=tokens["coordinator"])
    assert approved.status_code == 200, approved.text
    done = client.post(f"/api/releases/{version}/publish", headers=tokens["analyst"])
    assert done.status_code == 200, done.text
    return version


def every_public_body(client: TestClient, version: int) -> list[Any]:
    """The body of every public endpoint for one release (XLSX read back as cell values)."""
    bodies: list[Any] = [client.get(PUBLIC).json(), client.get(f"{PUBLIC}/{version}").json()]
    bodies.append(client.get(f"{PUBLIC}/{version}/incidents").json())
    bodies.append(client.get(f"{PUBLIC}/{version}/aggregates").json())
    bodies.append(client.get(f"{PUBLIC}/{version}/export.csv").text)
    bodies.append(client.get(f"{PUBLIC}/{version}/export.csv?table=aggregates").text)
    bodies.append(client.get(f"{PUBLIC}/{version}/export.geojson").json())
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{PUBLIC}/{version}/export.xlsx").content))
    bodies.append([[list(r) for r in book[s].iter_rows(values_only=True)] for s in book.sheetnames])
    return bodies


def test_the_public_sees_nothing_until_a_release_is_published(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    version = create(client, tokens["analyst"])
    assert client.get(PUBLIC).json() == []
    for path in ("", "/incidents", "/aggregates", "/export.csv", "/export.geojson"):
        response = client.get(f"{PUBLIC}/{version}{path}")
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    client.post(f"/api/releases/{version}/approve", headers=tokens["coordinator"])
    assert client.get(PUBLIC).json() == []
    client.post(f"/api/releases/{version}/publish", headers=tokens["analyst"])
    listed = client.get(PUBLIC).json()
    assert [r["version"] for r in listed] == [version]
    assert listed[0]["policy"]["spatial"] == "country" and listed[0]["incidents"] == 7


def test_public_rows_are_paged_and_hold_only_policy_fields(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    version = published(client, tokens, spatial="h3:4", k=3)
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{PUBLIC}/{version}/incidents", params=params).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [row["n"] for row in seen] == list(range(1, 8))
    allowed = {"n", "country", "period", "period_start", "period_end", "h3_cell", "location"}
    allowed |= {"attack_types", "resources", "facility_type", "killed", "injured", "certainty"}
    assert all(set(row) <= allowed for row in seen)
    assert {row["attack_types"][0] for row in seen} == {FIRE}
    cells = client.get(f"{PUBLIC}/{version}/aggregates").json()["cells"]
    total = [c for c in cells if c["period"] is None and c["attack_type"] is None]
    assert total[0]["incidents"] == 7 and total[0]["killed"] == 7


def test_exports_download_with_their_media_types(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    version = published(client, tokens)
    got = client.get(f"{PUBLIC}/{version}/export.csv")
    assert got.headers["content-type"].startswith("text/csv")
    assert f"haven-release-{version}.csv" in got.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[1][1] == "#country+code" and len(rows) == 2 + 7
    geo = client.get(f"{PUBLIC}/{version}/export.geojson")
    assert geo.headers["content-type"] == "application/geo+json"
    assert len(json.loads(geo.content)["features"]) == 7
    xlsx = client.get(f"{PUBLIC}/{version}/export.xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames[0] == "incidents"


def test_every_export_is_audited(
    *, client: TestClient, tokens: dict[str, dict[str, str]], db: Database
) -> None:
    version = published(client, tokens)
    for suffix in ("csv", "geojson", "xlsx"):
        assert client.get(f"{PUBLIC}/{version}/export.{suffix}").status_code == 200
    with db.read() as session:
        events = session.scalars(
            select(AuditEventRow).where(AuditEventRow.action == "release.export")
        ).all()
        assert sorted(e.detail["format"] for e in events) == ["csv", "geojson", "xlsx"]
        assert {(e.actor, e.entity_id) for e in events} == {("public", str(version))}


def test_withdrawal_hides_a_release_from_the_public_api(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    version = published(client, tokens)
    assert client.get(f"{PUBLIC}/{version}/export.csv").status_code == 200
    refused = client.post(
        f"/api/releases/{version}/withdraw", json={"reason": ""}, headers=tokens["analyst"]
    )
    assert refused.status_code == 422
    gone = client.post(
        f"/api/releases/{version}/withdraw",
        json={"reason": "a row can be matched to a named clinic"},
        headers=tokens["coordinator"],
    )
    assert gone.status_code == 200 and gone.json()["status"] == "withdrawn"
    assert client.get(PUBLIC).json() == []
    for path in ("", "/incidents", "/aggregates", "/export.csv", "/export.geojson", "/export.xlsx"):
        assert client.get(f"{PUBLIC}/{version}{path}").status_code == 404, path
    internal = client.get(f"/api/releases/{version}", headers=tokens["analyst"]).json()
    assert internal["withdraw_reason"] == "a row can be matched to a named clinic"
    assert "a named clinic" not in client.get(f"{PUBLIC}").text


def test_two_person_rule_over_http(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    first = create(client, tokens["analyst"])
    own = client.post(f"/api/releases/{first}/approve", headers=tokens["analyst"])
    assert own.status_code == 403  # an analyst may prepare, not approve
    second = create(client, tokens["coordinator"])
    self_approved = client.post(f"/api/releases/{second}/approve", headers=tokens["coordinator"])
    assert self_approved.status_code == 403
    assert "two-person" in self_approved.json()["error"]["message"]
    early = client.post(f"/api/releases/{first}/publish", headers=tokens["analyst"])
    assert early.status_code == 409
    ok = client.post(f"/api/releases/{first}/approve", headers=tokens["coordinator"])
    assert ok.status_code == 200
    assert (ok.json()["created_by"], ok.json()["approved_by"]) == ("api-analyst", "api-coordinator")
    content = client.get(f"/api/releases/{first}/content", headers=tokens["coordinator"]).json()
    assert len(content["incidents"]) == 7


def test_who_may_prepare(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    assert client.post("/api/releases/preview", json={}).status_code == 401
    refused = client.post("/api/releases/preview", json={}, headers=tokens["reporter"])
    assert refused.status_code == 403
    shown = client.post("/api/releases/preview", json={}, headers=tokens["analyst2"])
    assert shown.status_code == 200
    body = shown.json()
    assert body["policy"]["k"] == 3 and body["summary"]["excluded"] == {"exercise": 2}
    assert len(body["incidents"]) == 7 and "admin1" not in body["incidents"][0]
    bad = client.post(
        "/api/releases/preview", json={"policy": {"spatial": "h3:9"}}, headers=tokens["analyst"]
    )
    assert bad.status_code == 422 and "policy.spatial" in bad.json()["error"]["fields"]


def test_no_planted_secret_in_any_public_response(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    for policy in ({}, {"spatial": "admin1"}, {"spatial": "h3:7", "time": "week"}):
        version = published(client, tokens, **policy)
        text = public_text(every_public_body(client, version))
        assert not [s for s in SECRETS.values() if s in text]
        assert "34.46712" not in text and "31.50567" not in text
        if policy.get("spatial") != "admin1":
            assert "Khartoum" not in text


def test_bad_path_and_cursor_values_are_clean_errors(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    version = published(client, tokens)
    assert client.get(f"{PUBLIC}/0").status_code == 422
    assert client.get(f"{PUBLIC}/99999999999").status_code == 422
    assert client.get(f"{PUBLIC}/abc").status_code == 422
    bad = client.get(f"{PUBLIC}/{version}/incidents", params={"cursor": "x1"})
    assert bad.status_code == 422 and "cursor" in bad.json()["error"]["fields"]
    assert client.get(f"{PUBLIC}/{version}/export.csv?table=secrets").status_code == 422
