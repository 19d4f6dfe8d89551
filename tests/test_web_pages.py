"""The HTML pages over HTTP: who sees what, redirects, languages, escaping, the JSON twins."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient
from sqlalchemy import select

from haven import accounts, facility_status, reports
from haven.accounts import SYSTEM, Role
from haven.db import Database
from haven.models import AuditEventRow
from haven.settings import Settings
from haven.web import views
from haven.web.i18n import LANGUAGES, Localiser, catalogue_path, negotiate
from tests.support.facilities import add_facility
from tests.support.web import sign_in, web_client

TEMPLATES = "src/haven/web/templates"


@pytest.fixture
def web(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A client of the app (fast password hashing) with users in two organisations."""
    people = [
        ("rita.reporter", Role.REPORTER, "Exercise Clinic"),
        ("ana.analyst", Role.ANALYST, "Exercise Clinic"),
        ("otto.other", Role.ANALYST, "Other Exercise Network"),
    ]
    with web_client(settings, db, people=people) as client:
        yield client


def _incident(db: Database, username: str, **changes: Any) -> str:
    values: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "source": {"name": "exercise form", "kind": "form"},
        "occurred_at": datetime(2024, 3, 5, 10, tzinfo=UTC).isoformat(),
        "country": "UKR",
        "location": {"lon": 36.23, "lat": 49.99},
        "attack_types": ["Setting fire"],
        "casualties": {"health_workers": {"killed": 1234}},
        "tlp": "amber",
    }
    values.update(changes)
    report = reports.ReportIn.model_validate(values)

    def submit(session: Any) -> str:
        actor = accounts.actor_named(session, username)
        return reports.submit(session, report, actor=actor).incident_id

    return db.write(submit)


def test_pages_need_a_login_and_send_each_role_where_it_can_go(web: TestClient) -> None:
    for path in ("/", "/report", "/map", "/verification", "/facilities/1"):
        answer = web.get(path)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")
    assert web.get("/login").status_code == 200
    sign_in(web, "rita.reporter")
    assert web.get("/").headers["location"] == "/report"
    assert web.get("/report").status_code == 200
    refused = web.get("/map")
    assert refused.status_code == 403
    assert "Not allowed" in refused.text
    assert web.get("/verification").status_code == 403
    sign_in(web, "ana.analyst")
    assert web.get("/").headers["location"] == "/map"
    assert web.get("/map").status_code == 200
    assert web.get("/verification").status_code == 403  # analysts do not verify


def test_an_incident_page_shows_only_what_the_viewer_may_see(web: TestClient, db: Database) -> None:
    mine = _incident(db, "ana.analyst", location_name="<script>alert(1)</script>")
    theirs = _incident(db, "otto.other")
    sign_in(web, "ana.analyst")
    csrf = web.get("/api/me").json()["csrf_token"]
    stored = web.post(
        f"/api/incidents/{mine}/evidence",
        params={"filename": "exercise.txt"},
        content=b"exercise evidence",
        headers={"Content-Type": "text/plain", "X-CSRF-Token": csrf},
    )
    assert stored.status_code == 201, stored.text
    with db.read() as session:
        assert "evidence.list" not in set(session.scalars(select(AuditEventRow.action)))
    page = web.get(f"/incidents/{mine}")
    assert page.status_code == 200
    assert "exercise.txt" in page.text and stored.json()["sha256"][:16] in page.text
    with db.read() as session:  # the listing is a custody act, as through the API
        actions = list(session.scalars(select(AuditEventRow.action)))
    assert "evidence.list" in actions
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert f'href="/api/incidents/{mine}"' in page.text  # the JSON twin
    assert web.get(f"/api/incidents/{mine}").status_code == 200
    hidden = web.get(f"/incidents/{theirs}")
    assert hidden.status_code == 404
    assert web.get(f"/api/incidents/{theirs}").status_code == 404
    dashboard = web.get("/map")
    assert mine in dashboard.text and theirs not in dashboard.text
    sign_in(web, "otto.other")
    assert web.get(f"/incidents/{theirs}").status_code == 200
    assert web.get(f"/incidents/{mine}").status_code == 404


def test_the_dashboard_filters_like_its_json_twin(web: TestClient, db: Database) -> None:
    fire = _incident(db, "ana.analyst")
    search = _incident(
        db,
        "ana.analyst",
        attack_types=["Armed or violent search of health care personnel, facility or transport"],
    )
    sign_in(web, "ana.analyst")
    page = web.get("/map", params={"attack_type": "Setting fire", "country": "UKR"})
    assert page.status_code == 200
    assert fire in page.text and search not in page.text
    assert 'href="/api/incidents?country=UKR&amp;attack_type=Setting+fire"' in page.text
    blank = web.get("/map", params={"since": "", "until": "", "country": "", "attack_type": ""})
    assert blank.status_code == 200  # the filter form sends its empty fields
    assert fire in blank.text and search in blank.text
    assert 'href="/api/incidents"' in blank.text
    bad = web.get("/map", params={"country": "ukraine"})
    assert bad.status_code == 422


def test_language_follows_the_browser_and_the_switch(web: TestClient) -> None:
    answer = web.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"})
    assert '<html lang="fr" dir="ltr">' in answer.text
    assert "Se connecter" in answer.text
    answer = web.get("/login", headers={"Accept-Language": "ar-SY"})
    assert '<html lang="ar" dir="rtl">' in answer.text
    switch = web.get("/lang/uk", params={"next": "/login"})
    assert switch.status_code == 303 and switch.headers["location"] == "/login"
    answer = web.get("/login", headers={"Accept-Language": "ar"})
    assert '<html lang="uk" dir="ltr">' in answer.text and "Увійти" in answer.text
    for evil in ("//evil.example/", "/\t/evil.example/", "/\\evil.example", "https://evil.example"):
        assert web.get("/lang/uk", params={"next": evil}).headers["location"] == "/", evil
    login = web.get("/login", params={"next": "/\n/evil.example"})
    assert 'data-next="/"' in login.text
    assert web.get("/lang/xx").status_code == 404


def test_negotiation_and_localised_numbers_and_dates() -> None:
    assert negotiate(cookie=None, accept_language="de-DE,uk;q=0.8,fr;q=0.9") == "fr"
    assert negotiate(cookie=None, accept_language="de, *;q=0.1") == "en"
    assert negotiate(cookie="ar", accept_language="fr") == "ar"
    assert negotiate(cookie="xx", accept_language=None) == "en"
    when = datetime(2024, 1, 5, 14, 30, tzinfo=UTC)
    assert Localiser("fr").number(1234.5) == "1\u202f234,5"
    assert Localiser("en").number(1234.5) == "1,234.5"
    assert "janv." in Localiser("fr").date(when)
    assert "січ" in Localiser("uk").date(when)
    assert Localiser("ar").country("PSE") == "الأراضي الفلسطينية"
    assert Localiser("ar").rtl and not Localiser("uk").rtl


def _msgids() -> set[str]:
    found = {
        m if isinstance(m, str) else m[0]
        for _f, _l, m, _c, _x in extract_from_dir(
            TEMPLATES,
            method_map=[("**.html", "jinja2")],
            options_map={"**.html": {"extensions": "jinja2.ext.i18n"}},
        )
    }
    for labels in (
        views.ATTACK_TYPE_LABELS,
        views.RESOURCE_LABELS,
        views.SOURCE_TYPE_LABELS,
        views.CERTAINTY_LABELS,
        views.STATE_LABELS,
        views.FACILITY_STATUS_LABELS,
        views.FACILITY_KIND_LABELS,
        views.FACILITY_TYPE_LABELS,
    ):
        found.update(labels.values())
    return found


@pytest.mark.parametrize("lang", [code for code in LANGUAGES if code != "en"])
def test_every_catalogue_translates_every_string(lang: str) -> None:
    with catalogue_path(lang).open("rb") as po:
        catalogue = read_po(po, locale=lang)
    translated = {str(m.id): str(m.string) for m in catalogue if m.id and m.string and not m.fuzzy}
    needed = _msgids()
    assert sorted(needed - set(translated)) == []
    assert sorted(set(translated) - needed) == []  # no stale entries
    placeholder = re.compile(r"%\(\w+\)s")
    for msgid, text in translated.items():
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(text)), msgid


def test_pages_stay_out_of_the_openapi_description(web: TestClient) -> None:
    paths = web.get("/api/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/")]


def test_the_service_worker_and_static_files_are_served(web: TestClient) -> None:
    worker = web.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["service-worker-allowed"] == "/"
    assert worker.headers["content-type"].startswith("text/javascript")
    for path in (
        "/static/app.css",
        "/static/report.js",
        "/static/leaflet/leaflet.js",
        "/static/markercluster/leaflet.markercluster.js",
    ):
        assert web.get(path).status_code == 200, path
    assert web.get("/static/../pages.py").status_code == 404


def test_the_facility_page_shows_status_in_the_viewers_language(
    web: TestClient, db: Database
) -> None:
    site = add_facility(db, name="Exercise Clinic North (fictional)")
    entry = facility_status.StatusIn.model_validate(
        {"status": "partially_functioning", "reason": "exercise: generator down"}
    )
    db.write(lambda s: facility_status.add_status(s, site, entry=entry, actor=SYSTEM))
    sign_in(web, "rita.reporter")
    assert web.get(f"/facilities/{site}").status_code == 403
    sign_in(web, "ana.analyst")
    page = web.get(f"/facilities/{site}", headers={"Accept-Language": "fr"})
    assert page.status_code == 200
    assert "Exercise Clinic North (fictional)" in page.text
    assert "Fonctionne en partie" in page.text and "exercise: generator down" in page.text
    assert f'href="/api/facilities/{site}"' in page.text
    assert web.get("/facilities/999999").status_code == 404
    assert "Exercise Clinic North (fictional)" in web.get("/map").text


def test_the_incident_page_links_the_facility_and_its_notifications(
    web: TestClient, db: Database
) -> None:
    site = add_facility(
        db,
        name="Exercise Hospital East (fictional)",
        location={"lon": 36.23, "lat": 49.99},
        country="UKR",
    )
    struck = _incident(db, "ana.analyst")
    sign_in(web, "ana.analyst")
    page = web.get(f"/incidents/{struck}", headers={"Accept-Language": "uk"})
    assert page.status_code == 200
    assert f'href="/facilities/{site}"' in page.text
    assert "Уражено" in page.text  # struck
    assert "До нападу про заклад не повідомляли жодній стороні." in page.text
    assert f'href="/api/incidents/{struck}/notified"' in page.text
    assert web.get(f"/api/incidents/{struck}/notified").json()["site"]["struck"] is True
