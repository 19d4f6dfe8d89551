"""The indicator dashboards over HTTP: the public one anonymous and from a release only, the
internal one behind a login, both in the viewer's language with their JSON twins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from haven.db import Database
from haven.release_policy import ReleasePolicy
from tests.support.indicators import build_scenario
from tests.support.releases import add_people, publish
from tests.support.web import sign_in
from tests.test_web_pages import web

__all__ = ["web"]


@pytest.fixture
def world(web: TestClient, db: Database) -> Iterator[TestClient]:
    build_scenario(db)
    publish(db, ReleasePolicy(k=1), people=add_people(db))
    yield web


def test_public_dashboard_needs_no_login_and_shows_the_release(world: TestClient) -> None:
    page = world.get("/indicators/public", params={"country": "SDN", "period": "2024-Q1"})
    assert page.status_code == 200
    html = page.text
    assert "From public release 1" in html
    assert "<strong>6</strong>" in html  # incidents of the quarter (the rumour is not released)
    assert "50 (3 / 6; 12 – 88)" in html  # verified, per cent with its interval
    assert 'href="/api/public/indicators?country=SDN&amp;period=2024-Q1"' in html
    assert "<script>" not in html  # the chart is plain SVG (CSP: no inline script)
    twin = world.get("/api/public/indicators", params={"country": "SDN", "period": "2024-Q1"})
    assert twin.json()["total"] == 6
    assert "Public indicators" in world.get("/login").text  # linked for the signed-out


def test_public_dashboard_speaks_the_viewers_language(world: TestClient) -> None:
    page = world.get(
        "/indicators/public",
        params={"country": "SDN", "period": "2024-Q1"},
        headers={"Accept-Language": "fr"},
    )
    assert page.status_code == 200
    assert "Indicateurs publics" in page.text and "Incidents par mois" in page.text


def test_bad_scope_and_missing_release_are_error_pages(web: TestClient) -> None:
    missing = web.get("/indicators/public")
    assert missing.status_code == 404 and "no published release" in missing.text
    bad = web.get("/indicators/public", params={"period": "2024-Q9"})
    assert bad.status_code == 422 and "YYYY-Qn" in bad.text
    api = web.get("/api/public/indicators", params={"period": "2024-Q9"})
    assert api.status_code == 422 and "period" in api.json()["error"]["fields"]


def test_internal_dashboard_needs_a_login_and_reads_live_records(world: TestClient) -> None:
    away = world.get("/indicators", params={"country": "SDN", "period": "2024-Q1"})
    assert away.status_code == 303 and away.headers["location"].startswith("/login?next=")
    sign_in(world, "rita.reporter")
    assert world.get("/indicators").status_code == 403  # a reporter may not read incidents
    sign_in(world, "ana.analyst")
    page = world.get("/indicators", params={"country": "SDN", "period": "2024-Q1"})
    assert page.status_code == 200
    assert "<strong>7</strong>" in page.text  # live: the rumour counts
    assert "Corridor travel times and closures" in page.text
    assert 'href="/indicators"' in page.text  # in the navigation
    twin = world.get("/api/indicators", params={"country": "SDN", "period": "2024-Q1"})
    assert twin.status_code == 200 and twin.json()["source"] == "live"
    assert world.get("/indicators", params={"period": "bad"}).status_code == 422
