"""POST /api/reports and GET /api/incidents over HTTP: idempotency, refusals, filters, audit."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.sql import func

from haven import reports
from haven.accounts import SYSTEM, Role
from haven.db import Database
from haven.errors import StorageUnavailable
from haven.models import AuditEventRow, IncidentAttackTypeRow, IncidentRow, ReportRow, SourceRow
from tests.conftest import make_token

TABLES = (ReportRow, IncidentRow, IncidentAttackTypeRow, AuditEventRow, SourceRow)

FIRE = "Setting fire"
HEAVY = (
    "Violence with heavy weapons (requires more than one person to use such as firearms, "
    "tanks, missiles, bombs, mortars)"
)
ASSAULT = "Assault (without weapons)"
OBSTRUCTION = "Obstruction to health care delivery (e.g. physical, administrative, legal etc)"

VALID: dict[str, Any] = {
    "id": "6f1c2d4e-8a7b-4c3d-9e0f-1a2b3c4d5e6f",
    "source": {"name": "Field form, Khartoum", "kind": "form", "url": "https://example.org/f/1"},
    "occurred_at": "2024-03-01T10:00:00Z",
    "date_precision": "exact",
    "location": {"lon": 32.53, "lat": 15.59},
    "geo_precision": 1,
    "country": "SDN",
    "admin1": "Khartoum",
    "admin2": "Khartoum North",
    "location_name": "Bahri Teaching Hospital",
    "attack_types": [HEAVY, FIRE],
    "resources": ["HC Facilities", "HC Personnel"],
    "facility_type": "Tertiary",
    "casualties": {"health_workers": {"killed": 2, "injured": 3}, "patients": {"injured": 1}},
    "perpetrator_category": "No Information",
    "weapons": ["Shelling"],
    "narrative": "Shelling struck the emergency ward; a fire followed.",
    "context_flags": ["active_hostilities"],
    "warning_given": False,
    "emblem_displayed": True,
    "military_use_alleged": False,
    "certainty": "probable",
    "sensitivity": "high",
    "tlp": "amber",
    "exercise": False,
    "original": {"row": 17, "sheet": "March"},
}
"""A report with every field filled: the base every malformed case changes in one place."""


# --- helpers ---------------------------------------------------------------------------------


def row_counts(db: Database) -> dict[str, int]:
    """Rows in each table a report submission touches."""
    with db.read() as session:
        return {
            table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
            for table in TABLES
        }


def audit_events(db: Database, entity_id: str) -> list[str]:
    """The actions audited for one record, oldest first."""
    with db.read() as session:
        return list(
            session.scalars(
                select(AuditEventRow.action)
                .where(AuditEventRow.entity_id == entity_id)
                .order_by(AuditEventRow.id)
            )
        )


def assert_error_shape(body: Any, *, code: str) -> dict[str, str]:
    """The one JSON error shape; returns its ``fields``."""
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    fields = error["fields"]
    assert isinstance(fields, dict), error
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items()), error
    return fields


def names(fields: dict[str, str], field: str) -> bool:
    """Whether ``fields`` names ``field`` (itself, or a part of it such as ``location.lon``)."""
    return any(key == field or key.startswith(f"{field}.") for key in fields)


def report(**changes: Any) -> dict[str, Any]:
    """A small valid report with a fresh UUID; keyword arguments replace its fields."""
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": {"name": "Test source", "kind": "api"},
        "occurred_at": "2024-03-01T10:00:00Z",
        "country": "SDN",
        "attack_types": [FIRE],
    }
    payload.update(changes)
    return payload


def submit(client: TestClient, payload: dict[str, Any], *, auth: dict[str, str]) -> str:
    """POST a new report and return the id of its incident."""
    response = client.post("/api/reports", json=payload, headers=auth)
    assert response.status_code == 201, response.text
    incident_id: str = response.json()["incident_id"]
    return incident_id


def cursor_of(value: Any) -> str:
    """A cursor-looking string holding ``value`` (the encoding Haven uses, but forged)."""
    raw = base64.urlsafe_b64encode(json.dumps(value).encode()).decode()
    return raw.rstrip("=")


# --- idempotency -----------------------------------------------------------------------------


def test_the_full_valid_report_is_accepted(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    before = row_counts(db)
    response = client.post("/api/reports", json=VALID, headers=auth)
    assert response.status_code == 201, response.text
    after = row_counts(db)
    assert after["reports"] == before["reports"] + 1
    assert after["incidents"] == before["incidents"] + 1
    assert after["incident_attack_types"] == before["incident_attack_types"] + 2


def test_the_same_uuid_twice_stores_one_report(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    before = row_counts(db)
    first = client.post("/api/reports", json=VALID, headers=auth)
    after_first = row_counts(db)
    second = client.post("/api/reports", json=VALID, headers=auth)
    after_second = row_counts(db)

    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text
    assert first.json()["created"] is True
    assert second.json()["created"] is False
    assert second.json()["report_id"] == first.json()["report_id"] == VALID["id"]
    assert second.json()["incident_id"] == first.json()["incident_id"]
    assert after_first["reports"] == before["reports"] + 1
    assert after_first["incidents"] == before["incidents"] + 1
    assert after_second == after_first


def test_a_resend_spelled_differently_is_the_same_report(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    """Key order, spelled-out defaults and another UTC offset of the same instant are no change."""
    minimal = report()
    first = client.post("/api/reports", json=minimal, headers=auth)
    after_first = row_counts(db)
    respelled = dict(reversed(list(minimal.items())))
    respelled.update(
        occurred_at="2024-03-01T12:00:00+02:00", tlp="amber", exercise=False, narrative=""
    )
    second = client.post("/api/reports", json=respelled, headers=auth)

    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text
    assert second.json()["incident_id"] == first.json()["incident_id"]
    assert row_counts(db) == after_first


def test_the_same_uuid_with_other_content_is_a_conflict(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    first = client.post("/api/reports", json=VALID, headers=auth)
    assert first.status_code == 201, first.text
    before = row_counts(db)

    changed = {**VALID, "narrative": "A different account under the same UUID."}
    response = client.post("/api/reports", json=changed, headers=auth)

    assert response.status_code == 409, response.text
    fields = assert_error_shape(response.json(), code="conflict")
    assert "id" in fields
    assert row_counts(db) == before
    verifier = {"Authorization": f"Bearer {make_token(db, 'verifier-1', role=Role.VERIFIER)}"}
    stored = client.get(
        f"/api/reports/{VALID['id']}", params={"purpose": "conflict test"}, headers=verifier
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["sensitive"]["narrative"] == VALID["narrative"]
    assert stored.json()["incident_id"] == first.json()["incident_id"]


# --- malformed payloads ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Bad:
    """One malformed request: its body, its content type, and what the answer must say."""

    name: str
    body: bytes = dataclasses.field(repr=False)
    field: str | None
    status: int = 422
    content_type: str = "application/json"


def _set(payload: dict[str, Any], path: str, *, value: Any) -> None:
    holder: Any = payload
    *parents, last = path.split(".")
    for part in parents:
        holder = holder[int(part) if isinstance(holder, list) else part]
    if isinstance(holder, list):
        holder[int(last)] = value
    else:
        holder[last] = value


def changed(name: str, path: str, *, value: Any) -> Bad:
    """The valid report with the value at dotted ``path`` replaced; ``path`` is at fault."""
    payload = copy.deepcopy(VALID)
    _set(payload, path, value=value)
    return Bad(name, json.dumps(payload).encode(), path)


def at_fault(bad: Bad, field: str) -> Bad:
    """The same case, naming a more precise field."""
    return Bad(bad.name, bad.body, field, bad.status, bad.content_type)


def dropped(path: str) -> Bad:
    """The valid report without the field at dotted ``path``."""
    payload = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    holder = payload
    for part in parents:
        holder = holder[part]
    del holder[last]
    return Bad(f"missing-{path}", json.dumps(payload).encode(), path)


REQUIRED = ("id", "source", "occurred_at", "country", "attack_types", "source.name", "source.kind")

WRONG_TYPES: tuple[tuple[str, Any], ...] = (
    ("id", 12345),
    ("source", "Field form"),
    ("source.name", ["Field form"]),
    ("source.kind", 3),
    ("source.url", 5),
    ("occurred_at", {"date": "2024-03-01"}),
    ("date_precision", 1),
    ("location", [32.53, 15.59]),
    ("location.lon", "east"),
    ("location.lat", [15.59]),
    ("geo_precision", "high"),
    ("country", 729),
    ("admin1", ["Khartoum"]),
    ("attack_types", FIRE),
    ("resources", "HC Facilities"),
    ("facility_type", 3),
    ("facility_id", "Bahri"),
    ("casualties", [["health_workers", "killed", 2]]),
    ("casualties.health_workers", 2),
    ("casualties.health_workers.killed", "two"),
    ("weapons", "Shelling"),
    ("narrative", 12),
    ("context_flags", "siege"),
    ("warning_given", "perhaps"),
    ("certainty", 3),
    ("sensitivity", 2),
    ("tlp", ["amber"]),
    ("exercise", "maybe"),
    ("original", "row 17"),
    ("incident_id", 7),
)

OUT_OF_RANGE: tuple[tuple[str, str, Any], ...] = (
    ("lon-181", "location.lon", 181),
    ("lon-minus-181", "location.lon", -181),
    ("lat-91", "location.lat", 91),
    ("lat-minus-91", "location.lat", -91),
    ("lon-nan-string", "location.lon", "NaN"),
    ("lat-nan-string", "location.lat", "NaN"),
    ("lon-infinity-string", "location.lon", "Infinity"),
    ("geo-precision-9", "geo_precision", 9),
    ("facility-id-0", "facility_id", 0),
    ("no-attack-type", "attack_types", []),
    ("narrative-over-20000", "narrative", "x" * 20_001),
    ("admin1-over-300", "admin1", "x" * 301),
    ("source-name-empty", "source.name", ""),
)

UNKNOWN_CODES: tuple[tuple[str, str, Any], ...] = (
    ("unknown-attack-type", "attack_types.0", "Telekinesis"),
    ("unknown-resource", "resources.1", "HC Spaceship"),
    ("unknown-certainty", "certainty", "beyond-doubt"),
    ("unknown-country", "country", "ABC"),
    ("lowercase-country", "country", "sdn"),
    ("country-name-not-code", "country", "Sudan"),
    ("unknown-tlp", "tlp", "purple"),
    ("unknown-sensitivity", "sensitivity", "secret"),
    ("unknown-source-kind", "source.kind", "pigeon"),
    ("unknown-date-precision", "date_precision", "fortnight"),
    ("unknown-facility-type", "facility_type", "Castle"),
    ("unknown-weapon", "weapons.0", "Trebuchet"),
    ("unknown-context-flag", "context_flags.0", "eclipse"),
    ("unknown-perpetrator", "perpetrator_category", "Martians"),
)

JSON_CASES: tuple[Bad, ...] = (
    *(dropped(path) for path in REQUIRED),
    *(changed(f"wrong-type-{path}", path, value=value) for path, value in WRONG_TYPES),
    *(changed(name, path, value=value) for name, path, value in OUT_OF_RANGE),
    *(changed(name, path, value=value) for name, path, value in UNKNOWN_CODES),
    at_fault(
        changed("unknown-casualty-group", "casualties", value={"bystanders": {"killed": 1}}),
        "casualties.bystanders",
    ),
    at_fault(
        changed("unknown-casualty-outcome", "casualties", value={"patients": {"bored": 1}}),
        "casualties.patients.bored",
    ),
    changed("negative-killed", "casualties.health_workers.killed", value=-1),
    changed("negative-injured", "casualties.patients.injured", value=-5),
    changed("extra-top-level-field", "priority", value="urgent"),
    changed("extra-source-field", "source.phone", value="+249 000"),
    changed("extra-location-field", "location.alt", value=380),
    changed("occurred-far-future", "occurred_at", value="2999-01-01T00:00:00Z"),
    changed(
        "occurred-tomorrow",
        "occurred_at",
        value=(datetime.now(UTC) + timedelta(days=1)).isoformat(),
    ),
    changed("occurred-before-1990", "occurred_at", value="1900-01-01T00:00:00Z"),
    changed("occurred-garbage", "occurred_at", value="last tuesday"),
    changed("occurred-impossible-date", "occurred_at", value="2024-13-45T00:00:00Z"),
    changed("occurred-empty", "occurred_at", value=""),
    changed("uuid-garbage", "id", value="not-a-uuid"),
    changed("uuid-empty", "id", value=""),
    changed("uuid-too-short", "id", value="6f1c2d4e-8a7b-4c3d-9e0f"),
    changed("incident-id-garbage", "incident_id", value="incident-1"),
    changed("narrative-nul-character", "narrative", value="before\x00after"),
)

BODY_CASES: tuple[Bad, ...] = (
    Bad("non-json-body", b"id=1&country=SDN", "body"),
    Bad("truncated-json", json.dumps(VALID).encode()[:-10], "body"),
    Bad("json-array", json.dumps([VALID]).encode(), "body"),
    Bad("json-string", b'"a report"', "body"),
    Bad("json-null", b"null", "body"),
    Bad("empty-body", b"", "body"),
    Bad("wrong-content-type", json.dumps(VALID).encode(), "body", content_type="text/plain"),
    Bad(
        "ten-megabyte-body",
        json.dumps({**VALID, "narrative": "x" * 10_000_000}).encode(),
        "body",
        status=413,
    ),
)

MALFORMED = JSON_CASES + BODY_CASES


def test_there_are_enough_distinct_malformed_cases() -> None:
    assert len(MALFORMED) >= 50
    assert len({case.name for case in MALFORMED}) == len(MALFORMED)
    assert len({(case.body, case.content_type) for case in MALFORMED}) == len(MALFORMED)


@pytest.mark.parametrize("case", MALFORMED, ids=lambda case: case.name)
def test_a_malformed_report_is_refused_and_changes_nothing(
    *, client: TestClient, auth: dict[str, str], db: Database, case: Bad
) -> None:
    before = row_counts(db)
    response = client.post(
        "/api/reports", content=case.body, headers={**auth, "Content-Type": case.content_type}
    )
    assert response.status_code == case.status, response.text[:500]
    code = "payload_too_large" if case.status == 413 else "invalid_input"
    fields = assert_error_shape(response.json(), code=code)
    if case.field is not None:
        assert names(fields, case.field), f"{case.field!r} not named in {fields}"
    assert row_counts(db) == before


def test_a_chunked_upload_over_the_limit_is_refused(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    """No Content-Length to check up front: the limit must hold while the body streams in."""
    before = row_counts(db)
    head = json.dumps({**VALID, "narrative": ""}).encode()[:-2]

    def chunks() -> Iterator[bytes]:
        yield head + b' "'
        for _ in range(160):
            yield b"x" * 65_536
        yield b'"}'

    response = client.post(
        "/api/reports", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert response.status_code == 413, response.text[:500]
    fields = assert_error_shape(response.json(), code="payload_too_large")
    assert "body" in fields
    assert row_counts(db) == before


def test_a_small_chunked_upload_is_accepted(*, client: TestClient, auth: dict[str, str]) -> None:
    body = json.dumps(report()).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 16):
            yield body[start : start + 16]

    response = client.post(
        "/api/reports", content=chunks(), headers={**auth, "Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text


def _max_length(schema: dict[str, Any], name: str) -> int:
    prop = schema["properties"][name]
    for option in [prop, *prop.get("anyOf", [])]:
        if "maxLength" in option:
            return int(option["maxLength"])
    raise AssertionError(f"{name} has no maxLength in the OpenAPI schema")


def test_the_longest_texts_the_api_documents_are_stored(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    """Every text at the length the OpenAPI schema allows fits the database, on both backends."""
    schemas = client.get("/api/openapi.json").json()["components"]["schemas"]
    facts = schemas["ReportIn"]
    texts = ("admin1", "admin2", "location_name", "perpetrator_name", "narrative")
    longest = {name: chr(ord("a") + i) * _max_length(facts, name) for i, name in enumerate(texts)}
    url_length = _max_length(schemas["SourceIn"], "url")
    source = {
        "name": "s" * _max_length(schemas["SourceIn"], "name"),
        "kind": "api",
        "url": "https://example.org/" + "u" * (url_length - len("https://example.org/")),
    }
    response = client.post("/api/reports", json=report(source=source, **longest), headers=auth)
    assert response.status_code == 201, response.text[:500]
    verifier = {"Authorization": f"Bearer {make_token(db, 'verifier-2', role=Role.VERIFIER)}"}
    incident = client.get(
        f"/api/incidents/{response.json()['incident_id']}",
        params={"purpose": "length test"},
        headers=verifier,
    ).json()
    assert {name: incident[name] for name in texts} == longest


# --- listing ---------------------------------------------------------------------------------

SEED: dict[str, dict[str, Any]] = {
    "khartoum": {
        "occurred_at": "2024-03-01T10:00:00Z",
        "location": {"lon": 32.53, "lat": 15.59},
        "attack_types": [FIRE],
        "certainty": "confirmed",
    },
    "omdurman": {
        "occurred_at": "2024-03-02T10:00:00Z",
        "location": {"lon": 32.48, "lat": 15.65},
        "attack_types": [HEAVY, FIRE],
        "certainty": "probable",
    },
    "box_corner": {
        "occurred_at": "2024-03-03T10:00:00Z",
        "location": {"lon": 32.615, "lat": 15.675},
        "attack_types": [ASSAULT],
    },
    "el_fasher": {
        "occurred_at": "2024-05-10T00:00:00Z",
        "location": {"lon": 25.35, "lat": 13.63},
        "attack_types": [ASSAULT],
    },
    "kharkiv": {
        "occurred_at": "2023-06-01T08:00:00Z",
        "country": "UKR",
        "location": {"lon": 36.23, "lat": 49.99},
        "attack_types": [HEAVY],
        "certainty": "possible",
    },
    "fiji_east": {
        "occurred_at": "2024-01-01T00:00:00Z",
        "country": "FJI",
        "location": {"lon": 179.5, "lat": -17.0},
        "attack_types": [OBSTRUCTION],
    },
    "fiji_west": {
        "occurred_at": "2024-01-02T00:00:00Z",
        "country": "FJI",
        "location": {"lon": -179.8, "lat": -16.5},
        "attack_types": [OBSTRUCTION],
    },
    "no_location": {
        "occurred_at": "2024-02-01T00:00:00Z",
        "country": "PSE",
        "attack_types": [OBSTRUCTION],
    },
    "drill": {
        "occurred_at": "2024-03-01T12:00:00Z",
        "location": {"lon": 32.55, "lat": 15.60},
        "attack_types": [FIRE],
        "certainty": "confirmed",
        "exercise": True,
    },
}
"""Incidents to filter. ``box_corner`` is inside the lon/lat box around Khartoum for a 10 km
radius but 13 km away; ``fiji_*`` lie either side of the antimeridian."""

ALL = frozenset(SEED)

FILTERS: tuple[tuple[str, dict[str, Any], frozenset[str]], ...] = (
    ("no-filter", {}, ALL),
    (
        "one-country",
        {"country": "SDN"},
        frozenset({"khartoum", "omdurman", "box_corner", "el_fasher", "drill"}),
    ),
    (
        "two-countries",
        {"country": ["UKR", "FJI"]},
        frozenset({"kharkiv", "fiji_east", "fiji_west"}),
    ),
    (
        "time-range-since-inclusive-until-exclusive",
        {"since": "2024-03-01T10:00:00Z", "until": "2024-05-10T00:00:00Z"},
        frozenset({"khartoum", "omdurman", "box_corner", "drill"}),
    ),
    ("since-only", {"since": "2024-05-10T00:00:00Z"}, frozenset({"el_fasher"})),
    ("until-only", {"until": "2024-01-01T00:00:00Z"}, frozenset({"kharkiv"})),
    ("bbox", {"bbox": "32,15,33,16"}, frozenset({"khartoum", "omdurman", "box_corner", "drill"})),
    (
        "bbox-across-antimeridian",
        {"bbox": "179,-20,-179,-10"},
        frozenset({"fiji_east", "fiji_west"}),
    ),
    (
        "near-10km",
        {"near": "32.53,15.59", "radius_km": 10},
        frozenset({"khartoum", "omdurman", "drill"}),
    ),
    ("near-1km", {"near": "32.53,15.59", "radius_km": 1}, frozenset({"khartoum"})),
    (
        "near-across-antimeridian",
        {"near": "180,-16.8", "radius_km": 80},
        frozenset({"fiji_east", "fiji_west"}),
    ),
    ("attack-type", {"attack_type": FIRE}, frozenset({"khartoum", "omdurman", "drill"})),
    (
        "two-attack-types",
        {"attack_type": [HEAVY, ASSAULT]},
        frozenset({"omdurman", "box_corner", "el_fasher", "kharkiv"}),
    ),
    ("certainty", {"certainty": "confirmed"}, frozenset({"khartoum", "drill"})),
    (
        "certainty-none-claimed-is-rumour",
        {"certainty": "rumour"},
        frozenset({"box_corner", "el_fasher", "fiji_east", "fiji_west", "no_location"}),
    ),
    ("exercise-include", {"exercise": "include"}, ALL),
    ("exercise-exclude", {"exercise": "exclude"}, ALL - {"drill"}),
    ("exercise-only", {"exercise": "only"}, frozenset({"drill"})),
    (
        "combined",
        {"country": "SDN", "certainty": "confirmed", "exercise": "exclude"},
        frozenset({"khartoum"}),
    ),
)


@pytest.fixture
def seeded(client: TestClient, auth: dict[str, str]) -> dict[str, str]:
    """The ``SEED`` incidents, posted as reports; incident id by name."""
    return {
        name: submit(client, auth=auth, payload=report(**facts)) for name, facts in SEED.items()
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [pytest.param(params, expected, id=name) for name, params, expected in FILTERS],
)
def test_listing_filters(
    *,
    client: TestClient,
    auth: dict[str, str],
    seeded: dict[str, str],
    params: dict[str, Any],
    expected: frozenset[str],
) -> None:
    response = client.get("/api/incidents", params={**params, "limit": 100}, headers=auth)
    assert response.status_code == 200, response.text
    by_id = {incident_id: name for name, incident_id in seeded.items()}
    found = [by_id[item["id"]] for item in response.json()["items"]]
    assert sorted(found) == sorted(expected)
    assert response.json()["next_cursor"] is None


def _walk(
    client: TestClient, params: dict[str, Any], *, auth: dict[str, str]
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        response = client.get(
            "/api/incidents",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=auth,
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= params["limit"]
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert page["items"], "a page with a next cursor must not be empty"
    pytest.fail("pagination did not end within 100 pages")


@pytest.mark.parametrize("limit", [1, 4, 23, 50])
def test_cursor_pagination_returns_every_incident_once_newest_first(
    *, client: TestClient, auth: dict[str, str], limit: int
) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    created = {
        submit(
            client,
            auth=auth,
            payload=report(occurred_at=(start + timedelta(hours=i // 3)).isoformat()),
        )
        for i in range(23)
    }
    items = _walk(client, auth=auth, params={"limit": limit})
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)) == 23
    assert set(ids) == created
    keys = [(datetime.fromisoformat(item["occurred_at"]), item["id"]) for item in items]
    assert keys == sorted(keys, reverse=True)


def test_cursor_pagination_with_a_radius_filter(
    *, client: TestClient, auth: dict[str, str]
) -> None:
    """Points dropped by the exact distance test must not break or repeat pages."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    inside, outside = set(), set()
    for i in range(12):
        at = (start + timedelta(days=i)).isoformat()
        inside.add(
            submit(
                client,
                auth=auth,
                payload=report(occurred_at=at, location={"lon": 32.53, "lat": 15.59}),
            )
        )
        outside.add(
            submit(
                client,
                auth=auth,
                payload=report(occurred_at=at, location={"lon": 32.615, "lat": 15.675}),
            )
        )
    items = _walk(client, auth=auth, params={"limit": 5, "near": "32.53,15.59", "radius_km": 10})
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    assert set(ids) == inside


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor!!",
        cursor_of("hello"),
        cursor_of([1]),
        cursor_of(["yesterday", "x"]),
        cursor_of([None, "x"]),
        cursor_of({"a": 1, "b": 2}),
        cursor_of(["2024-01-01T00:00:00", "x"]),
    ],
    ids=["garbage", "json-string", "one-item", "bad-date", "null-date", "object", "naive-date"],
)
def test_a_bad_cursor_is_refused_naming_cursor(
    *, client: TestClient, auth: dict[str, str], cursor: str
) -> None:
    submit(client, auth=auth, payload=report())
    response = client.get("/api/incidents", params={"cursor": cursor}, headers=auth)
    assert response.status_code == 422, response.text
    assert "cursor" in assert_error_shape(response.json(), code="invalid_input")


def test_near_without_a_radius_is_refused_naming_radius_km(
    *, client: TestClient, auth: dict[str, str]
) -> None:
    response = client.get("/api/incidents", params={"near": "32.53,15.59"}, headers=auth)
    assert response.status_code == 422, response.text
    assert "radius_km" in assert_error_shape(response.json(), code="invalid_input")


# --- who may do what -------------------------------------------------------------------------


def test_anonymous_callers_get_401_but_health_answers(*, client: TestClient, db: Database) -> None:
    before = row_counts(db)
    health = client.get("/api/health")
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"

    for method, path, body in [
        ("GET", "/api/incidents", None),
        ("GET", f"/api/incidents/{uuid.uuid4()}", None),
        ("GET", f"/api/reports/{uuid.uuid4()}", None),
        ("POST", "/api/reports", report()),
        ("POST", "/api/reports", {"not": "a report"}),
    ]:
        response = client.request(method, path, json=body)
        assert response.status_code == 401, (method, path, response.text)
        assert_error_shape(response.json(), code="not_authenticated")
        assert response.headers["www-authenticate"] == "Bearer"
    assert row_counts(db) == before


@pytest.mark.parametrize(
    "authorization", ["Bearer", "Bearer hvn_not-a-real-token", "Basic dXNlcjpwYXNz", "hvn_x"]
)
def test_wrong_credentials_get_401(*, client: TestClient, authorization: str) -> None:
    response = client.get("/api/incidents", headers={"Authorization": authorization})
    assert response.status_code == 401, response.text
    assert_error_shape(response.json(), code="not_authenticated")


def test_a_reporter_may_submit_but_not_list(*, client: TestClient, db: Database) -> None:
    reporter = {"Authorization": f"Bearer {make_token(db, 'field-reporter', role=Role.REPORTER)}"}
    payload = report()
    posted = client.post("/api/reports", json=payload, headers=reporter)
    assert posted.status_code == 201, posted.text

    for path in [
        "/api/incidents",
        f"/api/incidents/{posted.json()['incident_id']}",
        f"/api/reports/{payload['id']}",
    ]:
        response = client.get(path, headers=reporter)
        assert response.status_code == 403, (path, response.text)
        assert_error_shape(response.json(), code="permission_denied")


# --- audit -----------------------------------------------------------------------------------


def test_a_new_report_audits_the_report_and_its_new_incident(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    before = row_counts(db)
    incident_id = submit(client, auth=auth, payload=VALID)

    assert audit_events(db, VALID["id"]) == ["report.create"]
    assert audit_events(db, incident_id) == ["incident.open"]
    assert row_counts(db)["audit_events"] == before["audit_events"] + 2

    resent = client.post("/api/reports", json=VALID, headers=auth)
    assert resent.status_code == 200, resent.text
    assert row_counts(db)["audit_events"] == before["audit_events"] + 2


def test_a_report_joining_an_incident_audits_both(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    incident_id = submit(client, auth=auth, payload=report())
    before = row_counts(db)
    second = report(incident_id=incident_id, certainty="confirmed")
    response = client.post("/api/reports", json=second, headers=auth)

    assert response.status_code == 201, response.text
    assert response.json()["incident_id"] == incident_id
    assert audit_events(db, second["id"]) == ["report.create"]
    assert audit_events(db, incident_id) == ["incident.open", "incident.add_report"]
    after = row_counts(db)
    assert after["audit_events"] == before["audit_events"] + 2
    assert after["incidents"] == before["incidents"]
    incident = client.get(f"/api/incidents/{incident_id}", headers=auth).json()
    assert incident["report_count"] == 2
    assert incident["certainty"] == "confirmed"


def _failing_posts(incident_id: str, drill_incident_id: str) -> list[tuple[dict[str, Any], int]]:
    return [
        ({**VALID, "narrative": "other content, same UUID"}, 409),
        (report(incident_id=str(uuid.uuid4())), 404),
        (report(incident_id=drill_incident_id), 422),
        (report(facility_id=999_999), 422),
        (report(incident_id=incident_id, country="not a country"), 422),
    ]


def test_a_failed_post_writes_nothing_not_even_audit(
    *, client: TestClient, auth: dict[str, str], db: Database
) -> None:
    incident_id = submit(client, auth=auth, payload=VALID)
    drill_incident_id = submit(client, auth=auth, payload=report(exercise=True))
    before = row_counts(db)
    incident_before = client.get(f"/api/incidents/{incident_id}", headers=auth).json()

    for payload, status in _failing_posts(incident_id, drill_incident_id):
        response = client.post("/api/reports", json=payload, headers=auth)
        assert response.status_code == status, response.text
        assert row_counts(db) == before, payload

    assert client.get(f"/api/incidents/{incident_id}", headers=auth).json() == incident_before
    assert audit_events(db, incident_id) == ["incident.open"]


def test_a_write_that_fails_after_submit_leaves_no_trace(*, db: Database) -> None:
    """The request is the transaction: a failure after the incident, report and audit rows
    were added rolls all of them back together."""
    before = row_counts(db)

    def submit_then_fail(session: Any) -> None:
        reports.submit(session, reports.ReportIn.model_validate(VALID), actor=SYSTEM)
        session.flush()
        raise StorageUnavailable("the disk went away after the report was written")

    with pytest.raises(StorageUnavailable):
        db.write(submit_then_fail)
    assert row_counts(db) == before
    assert audit_events(db, VALID["id"]) == []
