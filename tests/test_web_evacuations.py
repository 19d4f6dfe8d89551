"""The evacuation plan pages: the list, the explained plan, who may see them, the map drawn."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven import corridor_demo
from haven.accounts import Role
from haven.db import Database
from haven.evacuation import URGENCY_WEIGHT, Service, Totals, UnplacedReason, Urgency
from haven.evacuation_plan import (
    AssignmentOut,
    EvacuationPlan,
    FacilityRef,
    UnplacedOut,
)
from haven.models import utcnow
from haven.settings import Settings
from tests.support.browser import LiveServer, live_server, sign_in_page, watch_errors
from tests.support.corridors import store_plan
from tests.support.facilities import add_facility
from tests.support.web import REPORTER_AND_ANALYST, sign_in, web_client

Browser = Any  # playwright.sync_api.Browser (imported only when Chromium is there)


@pytest.fixture
def web(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A client of the app (fast password hashing) with a reporter and an analyst."""
    with web_client(settings, db, people=REPORTER_AND_ANALYST) as client:
        yield client


def _totals(**changes: Any) -> Totals:
    values: dict[str, Any] = {
        "patients": 0, "placed": 0, "unplaced": 0, "placed_by_urgency": {},
        "unplaced_by_urgency": {}, "weighted_cost": 0, "patient_travel_s": 0.0,
        "max_travel_s": None, "risk_exposure": None,
    }  # fmt: skip
    return Totals(**(values | changes))


def _plan(db: Database, *, name: str, exercise: bool) -> int:
    """A plan of two legs without stored geometry and one unplaced group; its id."""
    west = FacilityRef(id=add_facility(db, name="Exercise West Post (fictional)"), name="West")
    north = add_facility(db, name="Exercise North Hospital", location={"lon": 24.95, "lat": 60.18})
    east = add_facility(db, name="Exercise East Hospital", location={"lon": 24.97, "lat": 60.17})

    def leg(destination: int, *, count: int, urgency: Urgency, cost: float) -> AssignmentOut:
        return AssignmentOut(
            origin=west, destination=FacilityRef(id=destination, name=f"Receiver {destination}"),
            count=count, urgency=urgency, service=Service.SURGERY, travel_time_s=cost / 2,
            risk_weighted_time_s=cost, length_m=4200.0, risk_exposure=12.0, max_risk=0.1,
            weighted_cost=int(count * URGENCY_WEIGHT[urgency] * cost), why="cheapest with beds",
            cheaper_alternatives=[], near_closures=["Exercise bridge closure <b>"], geometry=None,
        )  # fmt: skip

    now = utcnow()
    plan = EvacuationPlan(
        id=None, name=name, mode="balanced", tradeoff=0.5, at=now,
        urgency_weight={u.value: w for u, w in URGENCY_WEIGHT.items()},
        assignments=[
            leg(north, count=3, urgency=Urgency.RED, cost=600.0),
            leg(east, count=1, urgency=Urgency.YELLOW, cost=900.0),
        ],
        unplaced=[
            UnplacedOut(
                origin=west, count=2, urgency=Urgency.GREEN, service=Service.DIALYSIS,
                reason=UnplacedReason.NO_SERVICE, detail="no receiver offers dialysis",
            )
        ],
        totals=_totals(patients=6, placed=4, unplaced=2, max_travel_s=450.0),
        exercise=exercise, network_sha256="0" * 64, created_by="carla.coordinator",
        created_at=now,
    )  # fmt: skip
    return store_plan(db, plan)


def _map_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="plan-data">(.*?)</script>', html, re.S)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_a_reader_sees_the_plans_newest_first_with_their_totals(
    web: TestClient, db: Database
) -> None:
    older = _plan(db, name="Real evacuation of West Post", exercise=False)
    newer = _plan(db, name="EXERCISE: drill of West Post (fictional)", exercise=True)
    sign_in(web, "ana.analyst")
    page = web.get("/evacuations")
    assert page.status_code == 200
    html = page.text
    assert html.index(f'href="/evacuations/{newer}"') < html.index(f'href="/evacuations/{older}"')
    exercise_row = re.search(rf'<tr class="exercise">.*?/evacuations/{newer}".*?</tr>', html, re.S)
    assert exercise_row is not None and "Exercise" in exercise_row.group(0)
    assert f'/evacuations/{older}">Real evacuation of West Post</a></td>' in html  # no label
    assert "carla.coordinator" in html
    assert "<td>45</td>" in html  # 3 × 600 s + 1 × 900 s = 45 patient-minutes
    assert 'href="/evacuations"' in html  # the navigation link
    twin = web.get("/api/evacuation/plans").json()
    assert [p["id"] for p in twin] == [newer, older]
    assert twin[0]["placed"] == 4 and twin[0]["unplaced"] == 2 and twin[0]["exercise"]
    assert twin[0]["risk_weighted_time_s"] == 2700.0
    assert [p["id"] for p in web.get("/api/evacuation/plans?exercise=false").json()] == [older]


def test_the_plan_page_explains_each_group_and_draws_straight_lines(
    web: TestClient, db: Database
) -> None:
    plan_id = _plan(db, name="EXERCISE: drill of West Post (fictional)", exercise=True)
    sign_in(web, "ana.analyst")
    page = web.get(f"/evacuations/{plan_id}")
    assert page.status_code == 200
    html = page.text
    assert "Exercise plan (training), not a real evacuation" in html
    assert html.index("Red (immediate)</span>") < html.index("Yellow (urgent)</span>")
    assert "Receiver" in html and "cheapest with beds" in html
    assert "Exercise bridge closure &lt;b&gt;" in html  # names from users are escaped
    assert "No receiving facility offers this service: no receiver offers dialysis" in html
    assert "Dialysis" in html and ">2<" in html
    assert "they are not roads" in html
    legs = _map_data(html)["legs"]
    assert [(leg["number"], leg["road"], leg["count"]) for leg in legs] == [
        (1, False, 3),
        (2, False, 1),
    ]
    assert legs[0]["geometry"]["coordinates"][1] == [24.95, 60.18]
    assert f'href="/api/evacuation/plans/{plan_id}"' in html  # the JSON twin


def test_empty_states(web: TestClient, db: Database) -> None:
    sign_in(web, "ana.analyst")
    assert "No evacuation plan yet" in web.get("/evacuations").text
    nothing = EvacuationPlan(
        id=None, name="EXERCISE: empty (fictional)", mode="fastest", tradeoff=0.5,
        at=utcnow(), urgency_weight={}, assignments=[], unplaced=[], totals=_totals(),
        exercise=True, network_sha256="0" * 64, created_by="system", created_at=utcnow(),
    )  # fmt: skip
    empty = store_plan(db, nothing)
    html = web.get(f"/evacuations/{empty}").text
    assert "This plan has no patients." in html
    assert 'id="evacuation-map"' not in html and "/static/evacuation.js" not in html


def test_refused_without_permission_and_404_for_unknown_plans(
    web: TestClient, db: Database
) -> None:
    plan_id = _plan(db, name="Real evacuation of West Post", exercise=False)
    assert web.get("/evacuations").headers["location"].startswith("/login?next=")
    sign_in(web, "rita.reporter")
    assert 'href="/evacuations"' not in web.get("/report").text
    for path in ("/evacuations", f"/evacuations/{plan_id}"):
        refused = web.get(path)
        assert refused.status_code == 403
        assert "Real evacuation" not in refused.text
    assert web.get("/api/evacuation/plans").status_code == 403
    web.post("/api/logout")
    sign_in(web, "ana.analyst")
    for unknown in (str(plan_id + 1), "0", "abc", str(2**40)):
        missing = web.get(f"/evacuations/{unknown}")
        assert missing.status_code == 404, unknown
        assert "Not found" in missing.text


def test_the_plan_page_speaks_the_viewers_language(web: TestClient, db: Database) -> None:
    plan_id = _plan(db, name="EXERCISE: drill (fictional)", exercise=True)
    sign_in(web, "ana.analyst")
    web.cookies.set("haven_lang", "fr")
    html = web.get(f"/evacuations/{plan_id}").text
    assert "Exercise plan (training)" not in html
    assert "Chirurgie" in html


@pytest.fixture
def demo_server(tmp_path: Path, datasets: Path) -> Iterator[LiveServer]:
    """Haven with the Helsinki roads and the EXERCISE demo plan, and an analyst."""
    live = live_server(tmp_path / "haven")
    corridor_demo.load_demo(live.db, settings=live.settings, datasets=datasets)
    live.add_user("ana.analyst", role=Role.ANALYST)
    yield live
    live.stop()


def test_the_demo_plan_draws_its_road_legs_in_chromium(
    browser: Browser, demo_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_page(page, demo_server, username="ana.analyst", to="/evacuations")
    page.click(f"text={corridor_demo.DEMO_PLAN}")
    page.wait_for_selector("#evacuation-map[data-legs]")
    legs = _map_data(page.content())["legs"]
    assert legs and all(leg["road"] for leg in legs)  # the demo plan keeps road geometries
    assert all(len(leg["geometry"]["coordinates"]) > 2 for leg in legs)
    assert page.get_attribute("#evacuation-map", "data-legs") == str(len(legs))
    assert page.locator("#evacuation-map .leaflet-overlay-pane path").count() >= len(legs)
    assert page.locator("#straight-lines").count() == 0
    assert "Exercise plan (training), not a real evacuation" in page.inner_text("main")
    assert errors == []
    context.close()
