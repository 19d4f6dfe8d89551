"""Movements: registration, checks that name the bad field, status moves, API and CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import movements
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.errors import Conflict, InvalidInput, PermissionDenied
from haven.models import AuditEventRow, MovementRow
from haven.movements import MovementIn, MovementStatus
from tests.conftest import make_token
from tests.support.facilities import WHEN, add_movement, movement_json

HAVEN = Path(sys.executable).parent / "haven"


def _count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(MovementRow)) or 0)


def test_register_read_and_list_by_time(db: Database) -> None:
    movement_id = add_movement(db)
    with db.read() as session:
        stored = movements.get(session, movement_id, actor=SYSTEM)
        during = movements.list_movements(session, actor=SYSTEM, at=WHEN + timedelta(hours=1))
        after = movements.list_movements(session, actor=SYSTEM, at=WHEN + timedelta(hours=3))
        audited = session.scalar(
            select(func.count())
            .select_from(AuditEventRow)
            .where(AuditEventRow.action == "movement.create")
        )
    assert stored.route[0] == [34.30, 31.30] and stored.status is MovementStatus.PLANNED
    assert stored.vehicles[0].markings == "red crescent" and stored.personnel_count == 3
    assert [m.id for m in during] == [movement_id]
    assert after == []
    assert audited == 1


def _create(db: Database, **changes: Any) -> None:
    item = MovementIn.model_validate(movement_json(**changes))
    db.write(lambda s: movements.create(s, item, actor=SYSTEM))


def test_a_window_that_ends_before_it_starts_is_refused(db: Database) -> None:
    with pytest.raises(InvalidInput) as caught:
        _create(db, ends_at=(WHEN - timedelta(minutes=1)).isoformat())
    assert set(caught.value.fields) == {"ends_at"}
    assert "starts_at" in caught.value.fields["ends_at"]
    with pytest.raises(InvalidInput) as same:
        _create(db, ends_at=WHEN.isoformat())
    assert "ends_at" in same.value.fields
    assert _count(db) == 0


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ([[34.3, 31.3], [34.4, 31.4], [34.5, 95.0]], "route[2].lat"),
        ([[200.0, 31.3], [34.4, 31.4]], "route[0].lon"),
    ],
)
def test_coordinates_outside_the_world_name_the_field_and_index(
    *, db: Database, route: list[list[float]], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        _create(db, route=route)
    assert set(caught.value.fields) == {field}
    assert _count(db) == 0


def test_a_point_that_is_not_a_pair_is_named() -> None:
    with pytest.raises(InvalidInput) as caught:
        movements.check_route([[34.3, 31.3], [34.4, 31.4, 7.0]])
    assert set(caught.value.fields) == {"route[1]"}
    with pytest.raises(ValueError, match="2 items"):
        MovementIn.model_validate(movement_json(route=[[34.3, 31.3], [34.4, 31.4, 7.0]]))


def test_status_moves_forward_only(db: Database) -> None:
    movement_id = add_movement(db)

    def move(status: MovementStatus) -> movements.Movement:
        return db.write(lambda s: movements.set_status(s, movement_id, status=status, actor=SYSTEM))

    assert move(MovementStatus.UNDER_WAY).status is MovementStatus.UNDER_WAY
    with pytest.raises(Conflict) as caught:
        move(MovementStatus.PLANNED)
    assert "status" in caught.value.fields
    assert move(MovementStatus.COMPLETED).status is MovementStatus.COMPLETED
    with pytest.raises(Conflict):
        move(MovementStatus.CANCELLED)


def test_only_coordinators_and_admins_register(db: Database) -> None:
    item = MovementIn.model_validate(movement_json())
    with pytest.raises(PermissionDenied):
        db.write(lambda s: movements.create(s, item, actor=Actor("fictional", Role.ANALYST)))
    coordinator = Actor("fictional-coordinator", Role.COORDINATOR)
    assert db.write(lambda s: movements.create(s, item, actor=coordinator)).id > 0


def test_api_errors_name_the_field(*, client: TestClient, db: Database) -> None:
    headers = {"Authorization": f"Bearer {make_token(db, 'coord', role=Role.COORDINATOR)}"}
    early = client.post(
        "/api/movements",
        json=movement_json(ends_at=(WHEN - timedelta(hours=1)).isoformat()),
        headers=headers,
    )
    assert early.status_code == 422
    assert list(early.json()["error"]["fields"]) == ["ends_at"]
    short = client.post("/api/movements", json=movement_json(route=[[34.3, 31.3]]), headers=headers)
    assert short.status_code == 422 and "route" in short.json()["error"]["fields"]
    outside = client.post(
        "/api/movements", json=movement_json(route=[[34.3, 31.3], [34.3, -91]]), headers=headers
    )
    assert outside.json()["error"]["fields"] == {"route[1].lat": "-91.0 is outside -90..90"}
    made = client.post("/api/movements", json=movement_json(), headers=headers)
    assert made.status_code == 201, made.text
    moved = client.post(
        f"/api/movements/{made.json()['id']}/status", json={"status": "under_way"}, headers=headers
    )
    assert moved.json()["status"] == "under_way"
    listed = client.get("/api/movements", params={"status": "under_way"}, headers=headers).json()
    assert [m["id"] for m in listed] == [made.json()["id"]]
    seconds = client.post("/api/movements", json=movement_json(starts_at=0), headers=headers)
    assert seconds.status_code == 422 and "starts_at" in seconds.json()["error"]["fields"]
    not_a_time = client.get("/api/movements", params={"at": "0.5"}, headers=headers)
    assert not_a_time.status_code == 422 and "at" in not_a_time.json()["error"]["fields"]
    assert _count(db) == 1


def test_cli_add_and_list(tmp_path: Path) -> None:
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
    good = tmp_path / "run.json"
    good.write_text(json.dumps(movement_json(exercise=True)))
    added = run("movements", "add", str(good))
    assert added.returncode == 0, added.stderr
    assert "[EXERCISE]" in added.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(movement_json(ends_at=WHEN.isoformat())))
    refused = run("movements", "add", str(bad))
    assert refused.returncode == 65 and "ends_at" in refused.stderr
    listed = run("movements", "list", "--at", "2025-03-03T09:00")
    assert "1 movement(s)" in listed.stdout and "Test run (fictional)" in listed.stdout
