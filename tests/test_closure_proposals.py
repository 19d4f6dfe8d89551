"""Obstruction incidents propose road closures; a coordinator accepts (a closure) or dismisses."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from haven import accounts, reports
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from haven.geo import LonLat
from haven.models import AuditEventRow, ClosureProposalDismissalRow, RoadClosureRow
from haven.routing import RoadNetwork, Route, load_network, route
from haven.routing.build import haversine_m
from haven.routing.demo import import_helsinki
from haven.routing.demo import load_demo as load_routing_demo
from haven.routing.proposals import (
    OBSTRUCTION,
    ClosureProposal,
    ProposalAccept,
    ProposalDismiss,
    accept_proposal,
    dismiss_proposal,
    list_proposals,
)
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.browser import axe_violations, live_server, sign_in_page, watch_errors
from tests.support.routing import HEAVY, haven_with_roads
from tests.support.web import sign_in, web_client

SOUTH_WEST = LonLat(24.9372, 60.1662)
NORTH_EAST = LonLat(24.9510, 60.1772)
OWN, OTHER = "Alpha Clinic Network (fictional)", "Beta Relief (fictional)"


@pytest.fixture
def network(*, db: Database, settings: Settings, datasets: Path) -> RoadNetwork:
    """The Helsinki extract imported into the test database."""
    import_helsinki(db, settings, datasets=datasets)
    with db.read() as session:
        return load_network(session, settings)


def _user(db: Database, name: str, *, role: Role, organisation: str = OWN) -> Actor:
    db.write(
        lambda s: accounts.add_user(
            s, name, role=role, organisation=organisation, password=None, actor=SYSTEM
        )
    )
    with db.read() as session:
        return accounts.actor_named(session, name)


def _report(
    db: Database,
    point: LonLat | None,
    *,
    actor: Actor = SYSTEM,
    **facts: Any,
) -> str:
    """A fictional obstruction report (exact, an hour ago, TLP:GREEN); returns its incident."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": {"name": "proposal test (fictional)", "kind": "form"},
        "occurred_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "country": "FIN",
        "attack_types": [OBSTRUCTION.value],
        "tlp": "green",
    }
    if point is not None:
        body["location"] = {"lon": point.lon, "lat": point.lat}
        body["geo_precision"] = 1
    body.update(facts)
    report = reports.ReportIn.model_validate(body)
    return db.write(lambda s: reports.submit(s, report, actor=actor)).incident_id


def _route(db: Database, network: RoadNetwork, *, exercise: bool = False) -> Route:
    with db.read() as session:
        return route(session, network, SOUTH_WEST, NORTH_EAST, exercise=exercise)[0]


def _on_route(found: Route) -> LonLat:
    """A point of the route's middle, about 20 m north of the road."""
    lon, lat = found.geometry["coordinates"][len(found.geometry["coordinates"]) // 2]
    return LonLat(lon, lat + 0.00018)


def _proposals(
    db: Database, settings: Settings, *, actor: Actor = SYSTEM, exercise: bool = False
) -> list[ClosureProposal]:
    with db.read() as session:
        return list_proposals(session, settings, actor=actor, exercise=exercise)


def _counts(db: Database) -> tuple[int, int, int]:
    with db.read() as session:
        return (
            session.scalar(select(func.count()).select_from(RoadClosureRow)) or 0,
            session.scalar(select(func.count()).select_from(ClosureProposalDismissalRow)) or 0,
            session.scalar(select(func.count()).select_from(AuditEventRow)) or 0,
        )


def _accept(
    db: Database, incident_id: str, *, settings: Settings, actor: Actor = SYSTEM, **body: Any
) -> Any:
    decision = ProposalAccept.model_validate({"kind": "closure", **body})
    return db.write(
        lambda s: accept_proposal(s, incident_id, body=decision, settings=settings, actor=actor)
    )


def _dismiss(
    db: Database, incident_id: str, *, settings: Settings, actor: Actor = SYSTEM, reason: str
) -> Any:
    decision = ProposalDismiss(reason=reason)
    return db.write(
        lambda s: dismiss_proposal(s, incident_id, body=decision, settings=settings, actor=actor)
    )


def test_an_exact_recent_obstruction_near_a_road_is_proposed(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    point = _on_route(_route(db, network))
    alone = _report(db, point)
    mixed = _report(
        db,
        point,
        attack_types=[HEAVY, OBSTRUCTION.value],
        occurred_at=(datetime.now(UTC) - timedelta(days=2)).isoformat(),
    )
    found = _proposals(db, settings)
    assert [p.incident_id for p in found] == [alone, mixed]  # newest first
    first = found[0]
    assert first.attack_types == [OBSTRUCTION.value]
    assert sorted(found[1].attack_types) == sorted([HEAVY, OBSTRUCTION.value])
    assert first.point == pytest.approx([point.lon, point.lat])
    assert first.distance_m <= 20.5  # the point is about 20 m from the route's road
    road_lon, road_lat = first.road_point
    along = haversine_m(
        np.array([point.lon]),
        np.array([point.lat]),
        lon2=np.array([road_lon]),
        lat2=np.array([road_lat]),
    )
    assert float(along[0]) == pytest.approx(first.distance_m, abs=0.5)
    assert first.suggested_kind == "checkpoint" and first.suggested_delay_s == 600
    assert first.exercise is False and first.certainty.value
    assert first.road_name is None  # the imported network keeps no road names


def test_what_is_not_proposed_and_why_accepting_it_is_refused(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    point = _on_route(_route(db, network))
    west, _south, east, north = network.bounds()
    refused = {
        "occurred_at": _report(
            db, point, occurred_at=(datetime.now(UTC) - timedelta(days=8)).isoformat()
        ),
        "geo_precision": _report(db, point, geo_precision=2),
        "location": _report(db, LonLat((west + east) / 2, north + 0.01)),
        "attack_types": _report(db, point, attack_types=[HEAVY]),
    }
    unlocated = _report(db, None)
    assert _proposals(db, settings) == []
    before = _counts(db)
    for field, incident_id in refused.items():
        with pytest.raises(InvalidInput) as caught:
            _accept(db, settings=settings, incident_id=incident_id)
        assert field in caught.value.fields, (field, caught.value.fields)
        with pytest.raises(InvalidInput) as caught:
            _dismiss(db, settings=settings, incident_id=incident_id, reason="not a road matter")
        assert field in caught.value.fields
    with pytest.raises(InvalidInput) as caught:
        _accept(db, settings=settings, incident_id=unlocated)
    assert "location" in caught.value.fields
    with pytest.raises(NotFound) as missing:
        _accept(db, settings=settings, incident_id=str(uuid.uuid4()))
    assert "incident_id" in missing.value.fields
    assert _counts(db) == before


def test_accepting_closes_the_road_and_the_next_route_avoids_it(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    before = _route(db, network)
    incident = _report(db, _on_route(before))
    [proposal] = _proposals(db, settings)
    made = _accept(db, settings=settings, incident_id=incident, radius_m=25)
    assert made.incident_id == incident and made.source == "incident"
    assert made.kind == "closure" and made.exercise is False
    assert made.geometry["coordinates"] == proposal.road_point
    after = _route(db, network)
    assert after.edges != before.edges
    assert after.near_closures[0].closure_id == made.id
    assert _proposals(db, settings) == []
    with db.read() as session:
        event = session.scalar(
            select(AuditEventRow.entity_id).where(AuditEventRow.action == "closure.create")
        )
    assert event == str(made.id)
    with pytest.raises(Conflict) as again:
        _accept(db, settings=settings, incident_id=incident)
    assert again.value.fields == {"incident_id": f"already has closure {made.id}"}
    with pytest.raises(Conflict):
        _dismiss(db, settings=settings, incident_id=incident, reason="too late")


def test_an_accepted_checkpoint_adds_its_delay(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    before = _route(db, network)
    incident = _report(db, _on_route(before))
    _accept(
        db, settings=settings, incident_id=incident, kind="checkpoint", delay_s=120, radius_m=25
    )
    after = _route(db, network)
    if after.edges == before.edges:
        assert after.travel_time_s == pytest.approx(before.travel_time_s + 120, abs=0.01)
    else:
        assert before.travel_time_s < after.travel_time_s < before.travel_time_s + 120
    assert after.near_closures[0].kind == "checkpoint"


def test_dismissing_stores_the_reason_audits_and_writes_nothing_else(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    before = _route(db, network)
    incident = _report(db, _on_route(before))
    coordinator = _user(db, "proposal-coordinator", role=Role.COORDINATOR)
    closures, dismissals, events = _counts(db)
    done = _dismiss(
        db,
        settings=settings,
        incident_id=incident,
        actor=coordinator,
        reason="  Checkpoint lifted (fictional)  ",
    )
    assert done.reason == "Checkpoint lifted (fictional)"
    assert done.dismissed_by == coordinator.label
    assert _counts(db) == (closures, dismissals + 1, events + 1)
    with db.read() as session:
        event = session.execute(
            select(AuditEventRow.action, AuditEventRow.entity_id)
            .order_by(AuditEventRow.id.desc())
            .limit(1)
        ).one()
    assert tuple(event) == ("closure_proposal.dismiss", incident)
    assert _proposals(db, settings) == []
    assert _route(db, network).edges == before.edges
    with pytest.raises(Conflict) as again:
        _dismiss(db, settings=settings, incident_id=incident, reason="twice")
    assert again.value.fields == {"incident_id": "already dismissed"}
    with pytest.raises(Conflict):
        _accept(db, settings=settings, incident_id=incident)
    assert _counts(db) == (closures, dismissals + 1, events + 1)


def test_only_coordinators_decide_and_a_refusal_writes_nothing(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    incident = _report(db, _on_route(_route(db, network)))
    analyst = _user(db, "proposal-analyst", role=Role.ANALYST)
    reporter = _user(db, "proposal-reporter", role=Role.REPORTER)
    assert [p.incident_id for p in _proposals(db, settings, actor=analyst)] == [incident]
    with pytest.raises(PermissionDenied):
        _proposals(db, settings, actor=reporter)
    before = _counts(db)
    with pytest.raises(PermissionDenied):
        _accept(db, settings=settings, incident_id=incident, actor=analyst)
    with pytest.raises(PermissionDenied):
        _dismiss(
            db, settings=settings, incident_id=incident, actor=analyst, reason="not mine to decide"
        )
    assert _counts(db) == before
    assert [p.incident_id for p in _proposals(db, settings)] == [incident]


def test_a_coordinator_sees_only_incidents_they_may_read(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    point = _on_route(_route(db, network))
    reporter = _user(db, "alpha-reporter", role=Role.REPORTER)
    own = _user(db, "alpha-coordinator", role=Role.COORDINATOR)
    other = _user(db, "beta-coordinator", role=Role.COORDINATOR, organisation=OTHER)
    restricted = _report(db, point, actor=reporter, tlp="amber")
    assert [p.incident_id for p in _proposals(db, settings, actor=own)] == [restricted]
    assert _proposals(db, settings, actor=other) == []
    before = _counts(db)
    with pytest.raises(NotFound):
        _accept(db, settings=settings, incident_id=restricted, actor=other)
    with pytest.raises(NotFound):
        _dismiss(db, settings=settings, incident_id=restricted, actor=other, reason="cannot see it")
    assert _counts(db) == before
    assert (
        _accept(db, settings=settings, incident_id=restricted, actor=own).incident_id == restricted
    )


def test_exercise_incidents_propose_exercise_closures_only(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    before = _route(db, network)
    drill = _report(db, _on_route(before), exercise=True)
    assert _proposals(db, settings) == []
    [proposal] = _proposals(db, settings, exercise=True)
    assert proposal.incident_id == drill and proposal.exercise is True
    made = _accept(db, settings=settings, incident_id=drill)
    assert made.exercise is True and "(exercise)" in made.name
    assert _route(db, network).edges == before.edges  # a real route ignores it
    assert _route(db, network, exercise=True).edges != before.edges


def test_the_api_lists_accepts_and_dismisses_with_clear_errors(
    *, client: TestClient, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    coordinator = {"Authorization": f"Bearer {make_token(db, 'api-coord', role=Role.COORDINATOR)}"}
    analyst = {"Authorization": f"Bearer {make_token(db, 'api-analyst', role=Role.ANALYST)}"}
    point = _on_route(_route(db, network))
    first, second = _report(db, point), _report(db, point)
    listed = client.get("/api/closures/proposals", headers=analyst)
    assert listed.status_code == 200, listed.text
    assert {p["incident_id"] for p in listed.json()} == {first, second}
    drills = client.get("/api/closures/proposals", params={"exercise": "true"}, headers=analyst)
    assert drills.json() == []
    url = f"/api/closures/proposals/{first}"
    assert (
        client.post(f"{url}/accept", json={"kind": "closure"}, headers=analyst).status_code == 403
    )
    no_kind = client.post(f"{url}/accept", json={}, headers=coordinator)
    assert no_kind.status_code == 422 and "kind" in no_kind.json()["error"]["fields"]
    bad_until = client.post(
        f"{url}/accept",
        json={"kind": "closure", "valid_until": "2020-01-01T00:00:00Z"},
        headers=coordinator,
    )
    assert bad_until.status_code == 422 and "valid_until" in bad_until.json()["error"]["fields"]
    short = client.post(f"{url}/dismiss", json={"reason": "no"}, headers=coordinator)
    assert short.status_code == 422 and "reason" in short.json()["error"]["fields"]
    assert _counts(db)[:2] == (0, 0)
    made = client.post(f"{url}/accept", json={"kind": "no_go", "radius_m": 40}, headers=coordinator)
    assert made.status_code == 201, made.text
    assert made.json()["kind"] == "no_go" and made.json()["incident_id"] == first
    twice = client.post(f"{url}/accept", json={"kind": "closure"}, headers=coordinator)
    assert twice.status_code == 409 and "incident_id" in twice.json()["error"]["fields"]
    dismissed = client.post(
        f"/api/closures/proposals/{second}/dismiss",
        json={"reason": "Same checkpoint as the first report"},
        headers=coordinator,
    )
    assert dismissed.status_code == 200, dismissed.text
    assert client.get("/api/closures/proposals", headers=analyst).json() == []
    unknown = client.post(
        f"/api/closures/proposals/{uuid.uuid4()}/dismiss",
        json={"reason": "unknown incident"},
        headers=coordinator,
    )
    assert unknown.status_code == 404


def test_the_map_shows_proposals_to_coordinators_only(
    *, db: Database, settings: Settings, network: RoadNetwork
) -> None:
    incident = _report(db, _on_route(_route(db, network)))
    drill = _report(db, _on_route(_route(db, network)), exercise=True)
    people = [
        ("cora.coordinator", Role.COORDINATOR, "Exercise Clinic"),
        ("ana.analyst", Role.ANALYST, "Exercise Clinic"),
    ]
    with web_client(settings, db, people=people) as client:
        sign_in(client, "cora.coordinator")
        page = client.get("/map")
        assert page.status_code == 200
        assert 'id="closure-proposals"' in page.text and "/static/proposals.js" in page.text
        real, _, exercise = page.text.partition('id="exercise-proposals"')
        assert f'data-incident="{incident}"' in real and drill not in real
        assert f'data-incident="{drill}"' in exercise
        sign_in(client, "ana.analyst")
        shown = client.get("/map")
        assert shown.status_code == 200 and 'id="closure-proposals"' not in shown.text


def test_the_commands_list_accept_and_dismiss(tmp_path: Path, datasets: Path) -> None:
    from haven.db import open_database  # noqa: PLC0415 - only this test opens its own

    run = haven_with_roads(tmp_path, datasets=datasets)
    settings = Settings(data_dir=tmp_path)
    db = open_database(settings)
    try:
        with db.read() as session:
            network = load_network(session, settings)
        point = _on_route(_route(db, network))
        first, second = _report(db, point), _report(db, point)
    finally:
        db.close()
    listed = run("closures", "proposals", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {p["incident_id"] for p in json.loads(listed.stdout)} == {first, second}
    missing_kind = run("closures", "accept", first)
    assert missing_kind.returncode != 0 and "--kind" in missing_kind.stderr
    accepted = run("closures", "accept", first, "--kind", "checkpoint", "--delay", "900")
    assert accepted.returncode == 0, accepted.stderr
    assert "closure 1 added: checkpoint" in accepted.stdout
    again = run("closures", "accept", first, "--kind", "closure")
    assert again.returncode == 65 and "already" in again.stderr
    short = run("closures", "dismiss", second, "--reason", "no")
    assert short.returncode == 65 and "reason" in short.stderr
    dismissed = run("closures", "dismiss", second, "--reason", "Duplicate of the first report")
    assert dismissed.returncode == 0, dismissed.stderr
    assert run("closures", "proposals").stdout.strip() == "no closure proposals"


def test_a_coordinator_accepts_and_dismisses_on_the_map(
    *, browser: Any, tmp_path: Path, datasets: Path
) -> None:
    server = live_server(tmp_path / "haven")
    try:
        load_routing_demo(server.db, settings=server.settings, datasets=datasets)
        with server.db.read() as session:
            network = load_network(session, server.settings)
        real = _report(server.db, _on_route(_route(server.db, network)))
        server.add_user("cora.coordinator", role=Role.COORDINATOR)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        errors = watch_errors(page)
        sign_in_page(page, server, username="cora.coordinator", to="/map")
        drill = page.locator("#exercise-proposals + ul li[data-incident]")
        assert drill.count() == 1
        drill_id = drill.get_attribute("data-incident")
        found = axe_violations(page)
        assert found == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in found]
        drill.locator("select").select_option("closure")
        with page.expect_response(lambda r: r.url.endswith("/accept")) as answer:
            drill.get_by_role("button", name="Accept").click()
        assert answer.value.status == 201
        page.wait_for_selector("#proposal-status[data-state=accept]")
        assert page.locator(f"#proposal-{drill_id}").count() == 0
        item = page.locator(f"#proposal-{real}")
        item.get_by_label("Reason for dismissing").fill("Cleared before dispatch (fictional)")
        item.get_by_role("button", name="Dismiss").click()
        page.wait_for_selector("#proposal-status[data-state=dismiss]")
        assert page.locator(f"#proposal-{real}").count() == 0
        assert errors == []
        context.close()
        with server.db.read() as session:
            closure = session.scalar(
                select(RoadClosureRow).where(RoadClosureRow.incident_id == drill_id)
            )
            assert closure is not None and closure.kind == "closure" and closure.is_exercise
            reason = session.scalar(
                select(ClosureProposalDismissalRow.reason).where(
                    ClosureProposalDismissalRow.incident_id == real
                )
            )
        assert reason == "Cleared before dispatch (fictional)"
    finally:
        server.stop()
