"""The evacuation solver: capacities, triage order, optimality by brute force, explanations."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from haven.accounts import Role
from haven.db import Database
from haven.errors import InvalidInput
from haven.evacuation import (
    URGENCY_ORDER,
    URGENCY_WEIGHT,
    Leg,
    PatientGroup,
    Receiver,
    Service,
    Solution,
    UnplacedReason,
    Urgency,
    solve,
    unit_cost,
)
from haven.geo import LonLat
from haven.models import AuditEventRow, EvacuationPlanRow
from haven.routing import load_network
from haven.routing.demo import import_helsinki
from haven.settings import Settings
from tests.conftest import make_token
from tests.support.facilities import add_facility

SERVICES = [Service.SURGERY, Service.MATERNITY, Service.GENERAL]
ORIGINS = [1, 2]
RECEIVERS = [10, 11, 12, 2]  # facility 2 is both an origin and a receiver


@st.composite
def instances(
    draw: st.DrawFn,
) -> tuple[list[PatientGroup], list[Receiver], dict[tuple[int, int], Leg]]:
    keys = draw(
        st.lists(
            st.tuples(
                st.sampled_from(ORIGINS), st.sampled_from(URGENCY_ORDER), st.sampled_from(SERVICES)
            ),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    counts = draw(st.lists(st.integers(0, 2), min_size=len(keys), max_size=len(keys)))
    groups = [PatientGroup(o, c, u, s) for (o, u, s), c in zip(keys, counts, strict=True)]
    facilities = draw(st.lists(st.sampled_from(RECEIVERS), min_size=0, max_size=3, unique=True))
    receivers = [
        Receiver(
            f,
            draw(st.integers(0, 3)),
            frozenset(draw(st.sets(st.sampled_from(SERVICES), max_size=3))),
        )
        for f in facilities
    ]
    legs: dict[tuple[int, int], Leg] = {}
    for origin in ORIGINS:
        for receiver in facilities:
            if draw(st.booleans()) or draw(st.booleans()):  # three in four pairs have a route
                cost = draw(st.integers(0, 50)) * 60.0
                legs[(origin, receiver)] = Leg(time_s=cost / 2, cost_s=cost, risk=cost / 600)
    return groups, receivers, legs


def _eligible(group: PatientGroup, receiver: Receiver, *, legs: dict[tuple[int, int], Leg]) -> bool:
    return (
        group.service in receiver.services
        and receiver.facility != group.origin
        and (group.origin, receiver.facility) in legs
    )


def _key(placed: Counter[Urgency], cost: int) -> tuple[int, ...]:
    """The lexicographic objective: most red placed, then yellow, then green, then cost."""
    return (*(-placed[u] for u in URGENCY_ORDER), cost)


def _brute_force(
    groups: list[PatientGroup], receivers: list[Receiver], *, legs: dict[tuple[int, int], Leg]
) -> tuple[int, ...]:
    patients = [g for g in groups for _ in range(g.count)]
    choices = [[None, *(r for r in receivers if _eligible(p, r, legs=legs))] for p in patients]
    best: tuple[int, ...] | None = None
    for combo in itertools.product(*choices):
        beds = Counter(r.facility for r in combo if r is not None)
        if any(beds[r.facility] > r.free_beds for r in receivers):
            continue
        placed: Counter[Urgency] = Counter()
        cost = 0
        for patient, receiver in zip(patients, combo, strict=True):
            if receiver is not None:
                placed[patient.urgency] += 1
                leg = legs[(patient.origin, receiver.facility)]
                cost += URGENCY_WEIGHT[patient.urgency] * unit_cost(leg)
        key = _key(placed, cost)
        best = key if best is None or key < best else best
    assert best is not None
    return best


def _solution_key(solution: Solution, *, legs: dict[tuple[int, int], Leg]) -> tuple[int, ...]:
    placed: Counter[Urgency] = Counter()
    cost = 0
    for a in solution.assignments:
        placed[a.urgency] += a.count
        cost += a.count * URGENCY_WEIGHT[a.urgency] * unit_cost(legs[(a.origin, a.destination)])
    return _key(placed, cost)


@hypothesis_settings(max_examples=150, deadline=None)
@given(instances())
def test_plans_respect_capacity_and_are_optimal_by_brute_force(
    instance: tuple[list[PatientGroup], list[Receiver], dict[tuple[int, int], Leg]],
) -> None:
    groups, receivers, legs = instance
    solution = solve(groups, receivers, legs=legs)
    by_facility = {r.facility: r for r in receivers}
    used = Counter[int]()
    for a in solution.assignments:
        assert a.count > 0
        used[a.destination] += a.count
        group = next(
            g
            for g in groups
            if (g.origin, g.urgency, g.service) == (a.origin, a.urgency, a.service)
        )
        assert _eligible(group, by_facility[a.destination], legs=legs)
    for facility, count in used.items():
        assert count <= by_facility[facility].free_beds
    for group in groups:  # nobody is dropped: placed + unplaced is the count
        key = (group.origin, group.urgency, group.service)
        placed = sum(
            a.count for a in solution.assignments if (a.origin, a.urgency, a.service) == key
        )
        unplaced = sum(
            u.count for u in solution.unplaced if (u.origin, u.urgency, u.service) == key
        )
        assert placed + unplaced == group.count
    assert solution.totals.placed + solution.totals.unplaced == sum(g.count for g in groups)
    assert _solution_key(solution, legs=legs) == _brute_force(groups, receivers, legs=legs)
    assert solution.totals.weighted_cost == _solution_key(solution, legs=legs)[-1]


@hypothesis_settings(max_examples=100, deadline=None)
@given(instances())
def test_explanations_and_unplaced_reasons_hold(
    instance: tuple[list[PatientGroup], list[Receiver], dict[tuple[int, int], Leg]],
) -> None:
    groups, receivers, legs = instance
    solution = solve(groups, receivers, legs=legs)
    for a in solution.assignments:
        chosen = unit_cost(legs[(a.origin, a.destination)])
        for alt in a.cheaper_alternatives:
            assert unit_cost(legs[(a.origin, alt.facility)]) < chosen
            if alt.reason == "full":  # optimal: a cheaper facility with the service has no bed left
                assert alt.beds_left == 0
    for u in solution.unplaced:
        group = next(
            g
            for g in groups
            if (g.origin, g.urgency, g.service) == (u.origin, u.urgency, u.service)
        )
        offering = [r for r in receivers if u.service in r.services and r.facility != u.origin]
        eligible = [r for r in receivers if _eligible(group, r, legs=legs)]
        if not offering:
            assert u.reason is UnplacedReason.NO_SERVICE
        elif not eligible:
            assert u.reason is UnplacedReason.NO_ROUTE
        else:
            assert u.reason is UnplacedReason.NO_BEDS
            taken = sum(
                a.count
                for a in solution.assignments
                if a.destination in {r.facility for r in eligible}
            )
            assert taken == sum(r.free_beds for r in eligible)


def test_a_red_patient_gets_the_last_bed_and_the_plan_says_why() -> None:
    groups = [
        PatientGroup(1, 2, Urgency.GREEN, Service.SURGERY),
        PatientGroup(2, 1, Urgency.RED, Service.SURGERY),
        PatientGroup(1, 1, Urgency.YELLOW, Service.BURNS),
    ]
    receivers = [
        Receiver(10, 1, frozenset({Service.SURGERY})),
        Receiver(11, 1, frozenset({Service.SURGERY, Service.GENERAL})),
        Receiver(12, 9, frozenset({Service.GENERAL})),
    ]
    legs = {
        (1, 10): Leg(60, 60),
        (1, 11): Leg(600, 900),
        (1, 12): Leg(30, 30),
        (2, 10): Leg(300, 300),
        (2, 11): Leg(100, 100),
    }
    solution = solve(groups, receivers, legs=legs)
    red = [a for a in solution.assignments if a.urgency is Urgency.RED]
    assert [(a.destination, a.count) for a in red] == [(11, 1)]
    green = [a for a in solution.assignments if a.urgency is Urgency.GREEN]
    assert [(a.destination, a.count) for a in green] == [(10, 1)]
    reasons = {(u.urgency, u.reason, u.count) for u in solution.unplaced}
    assert reasons == {
        (Urgency.GREEN, UnplacedReason.NO_BEDS, 1),
        (Urgency.YELLOW, UnplacedReason.NO_SERVICE, 1),
    }
    assert green[0].why == "1 cheaper facility lacks the service"
    assert solution.totals.placed_by_urgency == {"red": 1, "yellow": 0, "green": 1}
    assert solution.totals.weighted_cost == 4 * 100 + 1 * 60


def test_no_route_is_its_own_reason() -> None:
    groups = [PatientGroup(1, 3, Urgency.RED, Service.DIALYSIS)]
    receivers = [Receiver(10, 5, frozenset({Service.DIALYSIS}))]
    solution = solve(groups, receivers, legs={})
    assert solution.assignments == []
    [unplaced] = solution.unplaced
    assert (unplaced.count, unplaced.reason) == (3, UnplacedReason.NO_ROUTE)


def test_bad_input_names_every_field() -> None:
    groups = [
        PatientGroup(1, -1, Urgency.RED, Service.SURGERY),
        PatientGroup(1, 2, Urgency.RED, Service.SURGERY),
    ]
    receivers = [
        Receiver(10, -2, frozenset({Service.SURGERY})),
        Receiver(10, 1, frozenset({Service.SURGERY})),
    ]
    legs = {(1, 10): Leg(float("nan"), 10.0)}
    with pytest.raises(InvalidInput) as caught:
        solve(groups, receivers, legs=legs)
    assert set(caught.value.fields) == {
        "patients[0].count",
        "patients[1]",
        "receivers[0].free_beds",
        "receivers[1].facility",
        "legs[1,10].time_s",
    }


@pytest.fixture
def helsinki(db: Database, settings: Settings, *, datasets: Path) -> list[LonLat]:
    """The Helsinki extract imported; five road junctions spread over it, west to east."""
    import_helsinki(db, settings, datasets=datasets)
    with db.read() as session:
        net = load_network(session, settings)
    west, south, east, north = net.bounds()
    points = []
    for fx, fy in ((0.15, 0.5), (0.85, 0.5), (0.3, 0.3), (0.5, 0.6), (0.75, 0.3)):
        lon, lat = west + (east - west) * fx, south + (north - south) * fy
        node = int(np.hypot(net.lon - lon, (net.lat - lat) * 2).argmin())
        points.append(LonLat(float(net.lon[node]), float(net.lat[node])))
    return points


def _site(db: Database, point: LonLat, *, name: str, services: list[str]) -> int:
    return add_facility(
        db,
        name=f"{name} (fictional)",
        location={"lon": point.lon, "lat": point.lat},
        country="FIN",
        services=services,
        exercise=True,
    )


def test_a_plan_on_the_road_network_is_routed_explained_and_stored(
    db: Database, settings: Settings, *, helsinki: list[LonLat], client: TestClient
) -> None:
    west = _site(db, helsinki[0], name="West Field Clinic", services=["general"])
    east = _site(db, helsinki[1], name="East Field Clinic", services=["general"])
    near = _site(db, helsinki[2], name="Near Hospital", services=["surgery", "general"])
    mid = _site(db, helsinki[3], name="Mid Hospital", services=["Surgery", "maternity"])
    far = _site(db, helsinki[4], name="Far Hospital", services=["surgery", "burns"])
    token = make_token(db, "coord", role=Role.COORDINATOR)
    request = {
        "name": "Test evacuation (fictional)",
        "mode": "safest",
        "patients": [
            {"origin": west, "count": 3, "urgency": "red", "service": "surgery"},
            {"origin": east, "count": 2, "urgency": 2, "service": "surgery"},
            {"origin": east, "count": 1, "urgency": "green", "service": "dialysis"},
        ],
        "receivers": [
            {"facility": near, "free_beds": 2},
            {"facility": mid, "free_beds": 1},
            {"facility": far, "free_beds": 1, "services": ["burns"]},
        ],
        "exercise": True,
    }
    answer = client.post(
        "/api/evacuation/plan", json=request, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200, answer.text
    plan = answer.json()
    beds = Counter[int]()
    for a in plan["assignments"]:
        beds[a["destination"]["id"]] += a["count"]
        assert a["service"] == "surgery"
        assert a["geometry"]["type"] == "LineString" and a["length_m"] > 0
        assert a["risk_exposure"] is not None and a["why"]
    assert beds[near] <= 2 and beds[mid] <= 1 and beds[far] == 0  # far lacks surgery here
    assert plan["totals"]["placed_by_urgency"]["red"] == 3  # the red patients take the beds first
    assert plan["totals"]["placed"] == 3 and plan["totals"]["unplaced"] == 3
    reasons = {(u["urgency"], u["service"], u["reason"], u["count"]) for u in plan["unplaced"]}
    assert reasons == {("yellow", "surgery", "no_beds", 2), ("green", "dialysis", "no_service", 1)}
    stored = client.get(
        f"/api/evacuation/plans/{plan['id']}", headers={"Authorization": f"Bearer {token}"}
    )
    assert stored.json() == plan
    with db.read() as session:
        actions = list(session.scalars(select(AuditEventRow.action)))
    assert actions.count("evacuation.plan") == 1


def test_a_plan_with_bad_facilities_names_each_field_and_writes_nothing(
    db: Database, settings: Settings, *, helsinki: list[LonLat], client: TestClient
) -> None:
    site = _site(db, helsinki[0], name="Only Clinic", services=["general"])
    token = make_token(db, "coord", role=Role.COORDINATOR)
    headers = {"Authorization": f"Bearer {token}"}
    request: dict[str, Any] = {
        "exercise": True,
        "patients": [{"origin": 999, "count": 1, "urgency": "red", "service": "general"}],
        "receivers": [
            {"facility": site, "free_beds": 1},
            {"facility": 998, "free_beds": 1},
            {"facility": site, "free_beds": 2},
        ],
    }
    answer = client.post("/api/evacuation/plan", json=request, headers=headers)
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) == {
        "patients[0].origin",
        "receivers[1].facility",
        "receivers[2].facility",
    }
    request["patients"][0].update(count=-1, service="dentistry")
    answer = client.post("/api/evacuation/plan", json=request, headers=headers)
    assert answer.status_code == 422
    assert set(answer.json()["error"]["fields"]) == {"patients.0.count", "patients.0.service"}
    far = _site(db, LonLat(25.5, 60.5), name="Far Away Clinic", services=["general"])
    request = {
        "patients": [{"origin": site, "count": 1, "urgency": "red", "service": "general"}],
        "receivers": [{"facility": far, "free_beds": 1}],
    }
    answer = client.post("/api/evacuation/plan", json=request, headers=headers)
    assert answer.status_code == 422  # a real plan never uses exercise facilities
    assert answer.json()["error"]["fields"] == {
        "patients[0].origin": "an exercise facility: only an exercise plan may use it",
        "receivers[0].facility": "an exercise facility: only an exercise plan may use it",
    }
    answer = client.post(
        "/api/evacuation/plan", json={**request, "exercise": True}, headers=headers
    )
    assert answer.status_code == 422  # farther from any road than the snap limit
    assert set(answer.json()["error"]["fields"]) == {"receivers[0].facility"}
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(EvacuationPlanRow)) == 0


def test_a_fractional_vertex_is_solved_again_as_an_integer_program() -> None:
    from scipy import sparse  # noqa: PLC0415 - only this test builds a matrix

    from haven.evacuation import _stage  # noqa: PLC0415 - the solver's one private stage

    # an odd cycle (not a network matrix): the LP's best vertex is (½, ½, ½)
    rows = sparse.csr_array(np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.0, 1.0]]))
    found = _stage(-np.ones(3), rows=rows, upper=np.ones(3))
    assert sorted(found.tolist()) == [0.0, 0.0, 1.0]


def test_a_closure_around_the_nearest_hospital_sends_patients_elsewhere(
    db: Database, settings: Settings, *, helsinki: list[LonLat]
) -> None:
    from haven import evacuation_plan  # noqa: PLC0415 - the service the API shells over
    from haven.accounts import SYSTEM  # noqa: PLC0415
    from haven.routing import ClosureIn, create_closure  # noqa: PLC0415

    origin = _site(db, helsinki[0], name="Origin Clinic", services=[])
    near = _site(db, helsinki[2], name="Near Burns Unit", services=["burns"])
    far = _site(db, helsinki[4], name="Far Burns Unit", services=["burns"])

    def plan(*receivers: int) -> evacuation_plan.EvacuationPlan:
        request = evacuation_plan.EvacuationIn.model_validate(
            {
                "patients": [{"origin": origin, "count": 1, "urgency": "red", "service": "burns"}],
                "receivers": [{"facility": r, "free_beds": 5} for r in receivers],
                "exercise": True,
                "save": False,
            }
        )
        return db.write(lambda s: evacuation_plan.plan(s, request, settings=settings, actor=SYSTEM))

    assert [a.destination.id for a in plan(near, far).assignments] == [near]
    ring = ClosureIn(
        name="Cordon around the near unit (fictional)",
        geometry={"type": "Point", "coordinates": [helsinki[2].lon, helsinki[2].lat]},
        radius_m=120.0,
    )
    db.write(lambda s: create_closure(s, ring, actor=SYSTEM))
    [moved] = plan(near, far).assignments
    assert moved.destination.id == far and moved.cheaper_alternatives == []
    [stuck] = plan(near).unplaced
    assert stuck.reason is UnplacedReason.NO_ROUTE
