"""Corridors on the Helsinki network: routing, automatic status rules, history, KPIs, API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import corridor_check, corridors
from haven.accounts import SYSTEM, Role
from haven.corridors import CorridorIn, CorridorStatus, StatusIn
from haven.db import Database
from haven.errors import Conflict, InvalidInput
from haven.geo import LonLat
from haven.models import AuditEventRow, CorridorObservationRow, utcnow
from haven.routing import ClosureIn, ClosureKind, create_closure, end_closure, load_network
from haven.routing.demo import import_helsinki
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.routing import add_incident


@pytest.fixture
def network_db(db: Database, settings: Settings, *, datasets: Path) -> Database:
    """The test database with the Helsinki extract imported."""
    import_helsinki(db, settings, datasets=datasets)
    return db


def _ends(db: Database, settings: Settings) -> list[list[float]]:
    """Two waypoints across the extract, west and east of its middle."""
    with db.read() as session:
        net = load_network(session, settings)
    west, south, east, north = net.bounds()
    mid = (south + north) / 2
    points = []
    for lon in (west + (east - west) * 0.2, west + (east - west) * 0.8):
        node = int(np.hypot(net.lon - lon, (net.lat - mid) * 2).argmin())
        points.append([float(net.lon[node]), float(net.lat[node])])
    return points


def _create(db: Database, settings: Settings, **changes: Any) -> corridors.Corridor:
    body = CorridorIn.model_validate(
        {"name": "Test corridor (fictional)", "waypoints": _ends(db, settings), **changes}
    )
    return db.write(lambda s: corridor_check.create(s, body, settings=settings, actor=SYSTEM))


def _check(
    db: Database, settings: Settings, *, corridor_id: int, at: datetime | None = None
) -> Any:
    [result] = db.write(
        lambda s: corridor_check.check(
            s, settings=settings, actor=SYSTEM, corridor_id=corridor_id, at=at
        )
    )
    return result


def _closure(
    db: Database, point: list[float], *, kind: ClosureKind = ClosureKind.CLOSURE, **extra: Any
) -> int:
    body = ClosureIn(
        name=f"Test {kind.value} (fictional)",
        kind=kind,
        geometry={"type": "Point", "coordinates": point},
        radius_m=25.0,
        **extra,
    )
    return db.write(lambda s: create_closure(s, body, actor=SYSTEM).id)


def _middle(corridor: corridors.Corridor) -> list[float]:
    coordinates = corridor.geometry["coordinates"]
    return list(coordinates[len(coordinates) // 2])


def test_a_corridor_is_routed_stored_open_and_audited(
    network_db: Database, settings: Settings
) -> None:
    made = _create(network_db, settings)
    assert made.status is CorridorStatus.OPEN
    assert made.geometry["type"] == "LineString"
    assert len(made.geometry["coordinates"]) > 2
    assert made.geometry["coordinates"][0] == pytest.approx(made.waypoints[0], abs=0.01)
    assert made.length_m > 300 and made.travel_time_s > 0
    assert made.latest is not None and made.latest.travel_time_s == pytest.approx(
        made.travel_time_s
    )
    with network_db.read() as session:
        history = corridors.history(session, made.id, actor=SYSTEM)
        actions = set(session.scalars(select(AuditEventRow.action)))
    assert [(h.from_status, h.to_status, h.cause_type) for h in history] == [
        (None, CorridorStatus.OPEN, "created")
    ]
    assert {"corridor.create", "corridor.check"} <= actions


def test_a_closure_across_the_corridor_closes_it_and_its_end_reopens_it(
    network_db: Database, settings: Settings
) -> None:
    made = _create(network_db, settings)
    closure_id = _closure(network_db, _middle(made))
    closed = _check(network_db, settings, corridor_id=made.id)
    assert (closed.status_before, closed.status, closed.changed) == (
        CorridorStatus.OPEN,
        CorridorStatus.CLOSED,
        True,
    )
    assert f"closure {closure_id}" in closed.reason and "crosses" in closed.reason
    network_db.write(lambda s: end_closure(s, closure_id, actor=SYSTEM))
    reopened = _check(network_db, settings, corridor_id=made.id)
    assert reopened.status is CorridorStatus.OPEN
    with network_db.read() as session:
        history = corridors.history(session, made.id, actor=SYSTEM)
    assert [(h.to_status, h.automatic, h.cause_type, h.cause_id) for h in history[1:]] == [
        (CorridorStatus.CLOSED, True, "closure", str(closure_id)),
        (CorridorStatus.OPEN, True, "cleared", None),
    ]


def test_a_recent_incident_near_the_corridor_restricts_it_an_old_one_does_not(
    network_db: Database, settings: Settings
) -> None:
    made = _create(network_db, settings, incident_days=3)
    lon, lat = _middle(made)
    add_incident(network_db, LonLat(lon, lat + 0.0005), occurred_at=utcnow() - timedelta(days=10))
    assert _check(network_db, settings, corridor_id=made.id).status is CorridorStatus.OPEN
    recent = add_incident(
        network_db, LonLat(lon, lat + 0.0005), occurred_at=utcnow() - timedelta(days=1)
    )
    result = _check(network_db, settings, corridor_id=made.id)
    assert result.status is CorridorStatus.RESTRICTED
    assert f"incident {recent}" in result.reason


def test_a_checkpoint_restricts_and_a_persons_status_holds(
    network_db: Database, settings: Settings
) -> None:
    made = _create(network_db, settings)
    _closure(network_db, _middle(made), kind=ClosureKind.CHECKPOINT, delay_s=300.0)
    assert _check(network_db, settings, corridor_id=made.id).status is CorridorStatus.RESTRICTED
    network_db.write(
        lambda s: corridors.set_status(
            s,
            made.id,
            change=StatusIn(status=CorridorStatus.CLOSED, reason="bridge damaged"),
            actor=SYSTEM,
        )
    )
    held = _check(
        network_db, settings, corridor_id=made.id
    )  # the check never relaxes a person's status
    assert (held.status, held.changed) == (CorridorStatus.CLOSED, False)
    network_db.write(
        lambda s: corridors.set_status(
            s,
            made.id,
            change=StatusIn(status=CorridorStatus.OPEN, reason="repaired"),
            actor=SYSTEM,
        )
    )
    stricter = _check(network_db, settings, corridor_id=made.id)  # but it may make it stricter
    assert (stricter.status, stricter.changed) == (CorridorStatus.RESTRICTED, True)
    with network_db.read() as session:
        history = corridors.history(session, made.id, actor=SYSTEM)
    assert [(h.to_status.value, h.automatic) for h in history] == [
        ("open", False),
        ("restricted", True),
        ("closed", False),
        ("open", False),
        ("restricted", True),
    ]
    assert history[2].reason == "bridge damaged" and history[2].actor == "system"


def test_exercise_closures_touch_only_exercise_corridors(
    network_db: Database, settings: Settings
) -> None:
    real = _create(network_db, settings)
    drill = _create(network_db, settings, name="Drill corridor (fictional)", exercise=True)
    _closure(network_db, _middle(real), exercise=True)
    assert _check(network_db, settings, corridor_id=real.id).status is CorridorStatus.OPEN
    assert _check(network_db, settings, corridor_id=drill.id).status is CorridorStatus.CLOSED
    with pytest.raises(InvalidInput) as caught:  # no check before the corridor existed
        _check(network_db, settings, corridor_id=real.id, at=real.created_at - timedelta(days=1))
    assert set(caught.value.fields) == {"at"}


def test_kpis_follow_travel_time_and_hours_in_each_status(
    network_db: Database, settings: Settings
) -> None:
    start = utcnow()
    made = _create(network_db, settings)
    _closure(
        network_db,
        _middle(made),
        valid_from=start + timedelta(hours=2),
        valid_until=start + timedelta(hours=3),
    )
    first = _check(network_db, settings, corridor_id=made.id, at=start + timedelta(hours=1))
    closed = _check(
        network_db, settings, corridor_id=made.id, at=start + timedelta(hours=2, minutes=30)
    )
    reopened = _check(
        network_db, settings, corridor_id=made.id, at=start + timedelta(hours=3, minutes=30)
    )
    assert (first.status, closed.status, reopened.status) == ("open", "closed", "open")
    assert closed.observation.travel_time_s > first.observation.travel_time_s  # the detour
    with network_db.read() as session:
        kpis = corridors.corridor_kpis(
            session, since=start, until=start + timedelta(hours=4), exercise=False
        )
    [kpi] = kpis.corridors
    assert kpi.observations == 4  # the check at creation, then three
    assert kpi.status_changes == 2
    assert kpi.hours_closed == pytest.approx(1.0, abs=0.01)
    assert kpi.hours_open == pytest.approx(3.0, abs=0.01)
    assert kpi.open_share == pytest.approx(0.75, abs=0.01)
    assert kpi.first_travel_time_s == pytest.approx(kpi.last_travel_time_s)
    assert kpi.travel_time_change_pct == pytest.approx(0.0, abs=1e-6)
    assert kpis.corridor_count == 1 and kpis.status_changes == 2
    with network_db.read() as session:
        assert (
            corridors.corridor_kpis(
                session, since=start, until=start + timedelta(hours=4), exercise=True
            ).corridors
            == []
        )


def test_kpis_refuse_a_window_that_ends_before_it_starts(db: Database) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with db.read() as session, pytest.raises(InvalidInput) as caught:
        corridors.corridor_kpis(session, since=now, until=now)
    assert "until" in caught.value.fields


def test_bad_corridors_write_nothing(network_db: Database, settings: Settings) -> None:
    made = _create(network_db, settings)
    with pytest.raises(Conflict):
        _create(network_db, settings)
    far = [_ends(network_db, settings)[0], [25.5, 60.5]]
    with pytest.raises(InvalidInput) as caught:
        _create(network_db, settings, name="Far away (fictional)", waypoints=far)
    assert set(caught.value.fields) == {"waypoints[1]"}
    with network_db.read() as session:
        assert [c.id for c in corridors.list_corridors(session, actor=SYSTEM)] == [made.id]
        assert session.scalar(select(func.count()).select_from(CorridorObservationRow)) == 1


def test_corridor_api_round_trip(
    network_db: Database, settings: Settings, *, client: TestClient, auth: dict[str, str]
) -> None:
    coordinator = {
        "Authorization": f"Bearer {make_token(network_db, 'coord', role=Role.COORDINATOR)}"
    }
    body = {"name": "API corridor (fictional)", "waypoints": _ends(network_db, settings)}
    assert client.post("/api/corridors", json=body, headers=auth).status_code == 403
    created = client.post("/api/corridors", json=body, headers=coordinator)
    assert created.status_code == 201, created.text
    corridor_id = created.json()["id"]
    listed = client.get("/api/corridors", headers=auth).json()
    assert [c["id"] for c in listed] == [corridor_id]
    changed = client.post(
        f"/api/corridors/{corridor_id}/status",
        json={"status": "restricted", "reason": "convoy reports shooting"},
        headers=coordinator,
    )
    assert changed.json()["status"] == "restricted"
    history = client.get(f"/api/corridors/{corridor_id}/history", headers=auth).json()
    assert [h["to_status"] for h in history] == ["open", "restricted"]
    checked = client.post("/api/corridors/check", headers=coordinator).json()
    assert checked[0]["status"] == "restricted"
    observed = client.get(f"/api/corridors/{corridor_id}/observations", headers=auth).json()
    assert len(observed) == 2
    today = utcnow().date()
    kpis = client.get(
        "/api/corridors/kpis",
        params={"since": str(today), "until": str(today + timedelta(days=1))},
        headers=auth,
    ).json()
    assert kpis["corridors"][0]["observations"] == 2
    bad = client.post(
        "/api/corridors", json={**body, "waypoints": [[24.9, 60.1]]}, headers=coordinator
    )
    assert bad.status_code == 422 and "waypoints" in bad.json()["error"]["fields"]
    missing = client.get("/api/corridors/999", headers=auth)
    assert missing.status_code == 404
    renamed = client.patch(
        f"/api/corridors/{corridor_id}",
        json={"name": "Renamed corridor (fictional)", "buffer_m": 500},
        headers=coordinator,
    )
    assert (renamed.json()["name"], renamed.json()["buffer_m"]) == (
        "Renamed corridor (fictional)",
        500.0,
    )
    assert renamed.json()["geometry"] == created.json()["geometry"]  # the path stays as agreed
    second = client.post("/api/corridors", json=body, headers=coordinator).json()["id"]
    clash = client.patch(
        f"/api/corridors/{second}",
        json={"name": "Renamed corridor (fictional)"},
        headers=coordinator,
    )
    assert clash.status_code == 409 and "name" in clash.json()["error"]["fields"]
    refused = client.patch(f"/api/corridors/{second}", json={"buffer_m": 1}, headers=coordinator)
    assert refused.status_code == 422 and "buffer_m" in refused.json()["error"]["fields"]


def test_the_demo_adds_an_exercise_corridor_and_plan_once(
    db: Database, settings: Settings, *, datasets: Path
) -> None:
    from haven import corridor_demo  # noqa: PLC0415 - only this test needs it
    from haven.models import EvacuationPlanRow  # noqa: PLC0415

    for _ in range(2):
        corridor_demo.load_demo(db, settings=settings, datasets=datasets)
    with db.read() as session:
        found = corridors.list_corridors(session, actor=SYSTEM)
        plans = session.execute(
            select(EvacuationPlanRow.name, EvacuationPlanRow.is_exercise, EvacuationPlanRow.placed)
        ).all()
    assert [(c.name, c.exercise) for c in found] == [(corridor_demo.DEMO_CORRIDOR, True)]
    assert [(name, exercise) for name, exercise, _ in plans] == [(corridor_demo.DEMO_PLAN, True)]
    assert "EXERCISE" in found[0].name and plans[0].placed > 0


def test_the_commands_add_check_and_plan(tmp_path: Path, datasets: Path) -> None:
    import json  # noqa: PLC0415 - only this test needs them

    from haven.db import open_database  # noqa: PLC0415
    from tests.support.facilities import add_facility  # noqa: PLC0415
    from tests.support.routing import haven_with_roads  # noqa: PLC0415

    run = haven_with_roads(tmp_path, datasets=datasets)
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings)
    try:
        (west_lon, west_lat), (east_lon, east_lat) = _ends(db, settings)
        origin = add_facility(db, location={"lon": west_lon, "lat": west_lat}, country="FIN")
        target = add_facility(
            db, location={"lon": east_lon, "lat": east_lat}, country="FIN", services=["burns"]
        )
    finally:
        db.close()
    added = run(
        "corridors", "add", "CLI corridor (fictional)",
        "--via", f"{west_lat},{west_lon}", "--via", f"{east_lat},{east_lon}",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "corridor 1 'CLI corridor (fictional)'" in added.stdout and "open" in added.stdout
    assert run("corridors", "status", "1", "closed", "--reason", "bridge down").returncode == 0
    listed = json.loads(run("corridors", "list", "--json").stdout)
    assert [(c["name"], c["status"]) for c in listed] == [("CLI corridor (fictional)", "closed")]
    checked = run("corridors", "check")
    assert checked.returncode == 0 and "\tclosed\t" in checked.stdout
    history = run("corridors", "history", "1").stdout
    assert "open → closed\tmanual, system\tbridge down" in history
    request = tmp_path / "evacuation.json"
    request.write_text(
        json.dumps(
            {
                "patients": [{"origin": origin, "count": 2, "urgency": "red", "service": "burns"}],
                "receivers": [{"facility": target, "free_beds": 1}],
            }
        )
    )
    planned = run("evacuate", "plan", str(request))
    assert planned.returncode == 0, planned.stderr
    assert "1 of 2 placed" in planned.stdout and "UNPLACED 1 red burns" in planned.stdout
    request.write_text(json.dumps({"patients": [], "receivers": [{"facility": 0}]}))
    refused = run("evacuate", "plan", str(request))
    assert refused.returncode == 65
    assert "patients" in refused.stderr and "receivers.0.facility" in refused.stderr


def test_the_server_checks_corridors_on_its_own(network_db: Database, settings: Settings) -> None:
    import time  # noqa: PLC0415 - only this test waits

    from haven.app import create_app  # noqa: PLC0415

    made = _create(network_db, settings)
    _closure(network_db, _middle(made))
    often = settings.model_copy(update={"corridor_check_interval_seconds": 0.2})
    with TestClient(create_app(often, db=network_db)):
        deadline = time.monotonic() + 60  # generous: the first check loads the road network
        while time.monotonic() < deadline:
            with network_db.read() as session:
                if corridors.get(session, made.id, actor=SYSTEM).status is CorridorStatus.CLOSED:
                    break
            time.sleep(0.1)
    with network_db.read() as session:
        [*_, last] = corridors.history(session, made.id, actor=SYSTEM)
    assert (last.to_status, last.automatic, last.actor) == (CorridorStatus.CLOSED, True, "system")
