"""Early warning in the web app: facility risk and its parts, the forecast map layer."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven import accounts, facilities, facility_risk, reports
from haven.accounts import SYSTEM, Role
from haven.db import Database
from haven.facility_risk import FacilityRisk
from haven.settings import Settings
from haven.web import views
from haven.web.i18n import Localiser
from haven.web.render import environment
from tests.support.browser import (
    LiveServer,
    axe_violations,
    live_server,
    sign_in_page,
    watch_errors,
)
from tests.support.facilities import add_facility
from tests.support.web import REPORTER_AND_ANALYST, sign_in, web_client

Browser = Any  # playwright.sync_api.Browser (imported only when Chromium is there)
SITE = {"lon": 34.40, "lat": 31.40}
EN = Localiser("en")
LABELS = {
    "forecast": "Forecast for its area",
    "recent_incidents": "Incidents nearby lately",
    "notified_sites_struck": "Notified sites struck nearby",
    "status": "Its status",
}


@pytest.fixture
def web(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A client of the app with a reporter and an analyst."""
    with web_client(settings, db, people=REPORTER_AND_ANALYST) as client:
        yield client


def _report(when: datetime, *, lon: float, lat: float, exercise: bool = False) -> Any:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "web forecast test form (fictional)", "kind": "form"},
            "occurred_at": when.isoformat(),
            "country": "PSE",
            "location": {"lon": lon, "lat": lat},
            "geo_precision": 1,
            "attack_types": ["Setting fire"],
            "tlp": "green",
            "exercise": exercise,
        }
    )


def _history(db: Database, *, now: datetime, exercise: bool = False, near: int = 2) -> None:
    """Attacks near ``SITE`` in each of the 14 months before ``now``, ``near`` of them lately."""
    events = [now - timedelta(days=30 * k + 95) for k in range(12)]  # outside the 90-day window
    events += [now - timedelta(days=3 + k) for k in range(near)]  # ~200 m away, last days

    def add(session: Any) -> None:
        for when in events:
            report = _report(when, lon=34.402, lat=31.401, exercise=exercise)
            reports.submit(session, report, actor=SYSTEM)

    db.write(add)


def _expected(
    db: Database, facility_id: int, *, settings: Settings, exercise: bool
) -> FacilityRisk:
    with db.read() as session:
        actor = accounts.actor_named(session, "ana.analyst")
        return facility_risk.facility_risk(
            session, facility_id, actor=actor, settings=settings, exercise=exercise
        )


def _row(html: str, part: str) -> str:
    found = re.search(rf'<tr data-part="{part}">(.*?)</tr>', html, re.S)
    assert found is not None, part
    return found.group(1)


def _cells(row: str) -> list[str]:
    """The text of a row's cells (tags dropped, spaces collapsed)."""
    cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cells]


def test_the_facility_page_shows_the_score_and_each_part(
    web: TestClient, db: Database, *, settings: Settings
) -> None:
    site = add_facility(db, location=SITE, name="Clinic of the Risk Page (fictional)")
    _history(db, now=datetime.now(UTC))
    expected = _expected(db, site, settings=settings, exercise=False)
    parts = {p.name: p for p in expected.parts}
    assert parts["recent_incidents"].detail["within_1_km"] == 2
    assert parts["forecast"].value > 0  # the cell has a history: a real forecast
    sign_in(web, "ana.analyst")
    page = web.get(f"/facilities/{site}")
    assert page.status_code == 200
    html = page.text
    assert "Risk next month" in html
    assert f'<strong id="risk-score">{EN.number(round(expected.score, 2))}</strong>' in html
    assert f"Alert threshold</dt><dd>{EN.number(round(expected.threshold, 2))} · " in html
    assert expected.month.isoformat()[:7] in html
    assert "There is no forecast yet" not in html
    for name, label in LABELS.items():
        cells = _cells(_row(html, name))
        part = parts[name]
        assert cells[0] == label
        assert cells[1:4] == [
            EN.number(round(part.value, 2)),
            EN.number(part.weight),
            EN.number(round(part.contribution, 3)),
        ]
    recent = _row(html, "recent_incidents")
    assert "In the last 90 days: 2 within 1 km, 0 more within 5 km, 0 more within 25 km" in recent
    method = {
        "model": "statistical model",
        "conflictology": "the area&#39;s past frequency",
        "decayed": "recent history, older months counting less",
    }
    assert method[parts["forecast"].detail["method"]] in _row(html, "forecast")
    table = html[html.index('<table class="risk-parts"') :]
    bars = re.findall(r'<rect class="bar-fill" x="0" y="0" width="([\d.]+)"', table)
    shares = [100 * p.contribution for p in expected.parts]
    assert [float(w) for w in bars] == pytest.approx(shares, abs=0.01)  # one bar a part
    assert f'href="/api/forecast/facilities/{site}"' in html
    twin = web.get(f"/api/forecast/facilities/{site}").json()
    assert twin["score"] == expected.score


def test_the_facility_page_speaks_french(web: TestClient, db: Database) -> None:
    site = add_facility(db, location=SITE)
    _history(db, now=datetime.now(UTC))
    sign_in(web, "ana.analyst")
    html = web.get(f"/facilities/{site}", headers={"Accept-Language": "fr"}).text
    assert "Risque le mois prochain" in html and "Prévision pour sa zone" in html
    assert "Risk next month" not in html


def test_without_a_forecast_the_page_says_so_and_keeps_the_parts(
    web: TestClient, db: Database
) -> None:
    site = add_facility(db, location=SITE)
    sign_in(web, "ana.analyst")
    page = web.get(f"/facilities/{site}")
    assert page.status_code == 200
    assert "There is no forecast yet" in page.text
    assert _cells(_row(page.text, "forecast"))[1] == "0"
    assert "No forecast yet." in _row(page.text, "forecast")


def test_an_exercise_facility_is_scored_from_exercise_incidents_only(
    web: TestClient, db: Database, *, settings: Settings
) -> None:
    drill = add_facility(db, location=SITE, name="Exercise Field Post (fictional)", exercise=True)
    real = add_facility(db, location=SITE, name="Real Clinic Beside It (fictional)")
    now = datetime.now(UTC)
    _history(db, now=now, exercise=True, near=3)
    _history(db, now=now, exercise=False, near=1)
    sign_in(web, "ana.analyst")
    drill_html = web.get(f"/facilities/{drill}").text
    real_html = web.get(f"/facilities/{real}").text
    assert "Exercise score, from exercise incidents only." in drill_html
    assert "Exercise score" not in real_html
    assert "3 within 1 km" in _row(drill_html, "recent_incidents")
    assert "1 within 1 km" in _row(real_html, "recent_incidents")
    assert f'href="/api/forecast/facilities/{drill}?exercise=true"' in drill_html
    scored = _expected(db, drill, settings=settings, exercise=True)
    assert f'<strong id="risk-score">{EN.number(round(scored.score, 2))}</strong>' in drill_html


def test_a_viewer_who_may_not_see_risk_gets_a_sentence(
    web: TestClient, db: Database, *, settings: Settings
) -> None:
    site = add_facility(db, location=SITE)
    _history(db, now=datetime.now(UTC))
    with db.read() as session:
        reporter = accounts.actor_named(session, "rita.reporter")
        analyst = accounts.actor_named(session, "ana.analyst")
        refused = views.facility_risk_view(
            session, site, actor=reporter, settings=settings, exercise=False
        )
        shown = views.facility_risk_view(
            session, site, actor=analyst, settings=settings, exercise=False
        )
        facility = facilities.get(session, site, actor=analyst)
    assert refused.risk is None and refused.note == "not_allowed"
    assert shown.risk is not None and shown.note is None
    for lang, sentence in (
        ("en", "Risk scores are shown to those who may read incidents."),
        ("fr", "Les scores de risque sont montrés aux personnes autorisées à lire les incidents."),
    ):
        html = (
            environment(lang)
            .get_template("facility.html")
            .render(facility=facility, statuses=[], risk=refused)
        )
        assert sentence in html
        assert 'data-part="' not in html and "risk-score" not in html
    # The page itself needs read_incidents, like its JSON twins: the reporter is refused
    # the whole page (not shown an error inside it), as before.
    sign_in(web, "rita.reporter")
    assert web.get(f"/facilities/{site}").status_code == 403
    assert web.get(f"/api/forecast/facilities/{site}").status_code == 403


def test_the_map_page_carries_the_forecast_layer_in_the_viewers_language(
    web: TestClient,
) -> None:
    sign_in(web, "ana.analyst")
    for lang, layer in (("en", "Forecast: next month"), ("uk", "Прогноз: наступний місяць")):
        html = web.get("/map", headers={"Accept-Language": lang}).text
        found = re.search(r'<script [^>]*id="forecast-words">(.*?)</script>', html)
        assert found is not None
        words = json.loads(found.group(1))
        assert words["layer"] == layer
        assert {"title", "probability", "expected", "method", "why", "unavailable"} <= set(words)
        assert set(words["methods"]) == {"model", "conflictology", "decayed"}
        assert all("{" in words[k] for k in ("title", "probability", "expected", "why"))
    script = web.get("/static/map.js").text
    assert "/api/forecast/units" in script and "forecast-words" in script


@pytest.fixture
def forecast_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Haven with a year of real attacks around two places in Gaza, a clinic, and an analyst."""
    live = live_server(tmp_path / "haven")
    add_facility(live.db, location={"lon": 34.451, "lat": 31.501})
    now = datetime.now(UTC)

    def add(session: Any) -> None:
        for k in range(12):
            for lon, lat in ((34.45, 31.50), (34.30, 31.33)):
                when = now - timedelta(days=30 * k + 20)
                reports.submit(session, _report(when, lon=lon, lat=lat), actor=SYSTEM)

    live.db.write(add)
    live.add_user("ana.analyst", role=Role.ANALYST)
    yield live
    live.stop()


def test_the_forecast_layer_draws_cells_with_popups_in_chromium(
    browser: Browser, forecast_server: LiveServer
) -> None:
    server = forecast_server
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/forecast" in r.url else None)
    sign_in_page(page, server, username="ana.analyst", to="/map")
    assert asked == []  # nothing fetched until the layer is switched on
    page.hover(".leaflet-control-layers")
    toggle = page.locator(".leaflet-control-layers-overlays label", has_text="Forecast: next month")
    with page.expect_response(lambda r: "/api/forecast/units" in r.url) as answer:
        toggle.locator("input").check()
    assert answer.value.status == 200
    about = answer.value.json()["forecast"]
    page.wait_for_selector(".forecast-legend[data-state=drawn]")
    legend = page.inner_text(".forecast-legend")
    assert "Chance of at least one attack on health care in" in legend and "Method:" in legend
    cells = page.locator("path.forecast-cell")
    assert cells.count() >= 2
    cells.first.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    assert "Chance of at least one attack:" in text and "Expected attacks:" in text
    assert about["method_reason"] in text
    page.wait_for_function(  # Leaflet fades the popup in: check it once it is opaque
        "() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'"
    )
    assert axe_violations(page) == []  # the legend and the popup included
    toggle.locator("input").uncheck()
    assert page.locator(".forecast-legend").count() == 0
    page.goto(f"{server.url}/facilities/1")
    assert page.locator("table.risk-parts tbody tr").count() == 4
    assert axe_violations(page) == []
    assert errors == []
    context.close()


def test_a_forecast_resting_on_old_history_says_how_old(
    web: TestClient, db: Database, *, settings: Settings
) -> None:
    site = add_facility(db, location=SITE, name="Clinic of Old History (fictional)")
    _history(db, now=datetime.now(UTC) - timedelta(days=365))  # the newest attack a year ago
    sign_in(web, "ana.analyst")
    html = web.get(f"/facilities/{site}").text
    expected = _expected(db, site, settings=settings, exercise=False)
    through = next(p for p in expected.parts if p.name == "forecast").detail["data_through"]
    year, month = map(int, through.split("-"))
    gap = (expected.month.year - year) * 12 + expected.month.month - month
    assert gap >= views.STALE_MONTHS
    assert 'id="risk-stale"' in html
    assert f"is from {through}, {gap} months before the month forecast" in html
    french = web.get(f"/facilities/{site}", headers={"Accept-Language": "fr"}).text
    assert f"date de {through}, {gap} mois avant le mois prévu" in french


def test_a_forecast_on_recent_history_has_no_age_note(web: TestClient, db: Database) -> None:
    site = add_facility(db, location=SITE)
    _history(db, now=datetime.now(UTC))
    sign_in(web, "ana.analyst")
    assert 'id="risk-stale"' not in web.get(f"/facilities/{site}").text
