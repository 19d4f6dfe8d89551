"""The case pages: the list and one case's history for verifiers, need-to-know, no personal data."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven import accounts, cases
from haven.accounts import Actor, Role
from haven.case_events import CaseAmendIn
from haven.cases import CaseEventIn, CaseIn
from haven.db import Database
from haven.settings import Settings
from tests.support.accountability import add_incident
from tests.support.browser import (
    LiveServer,
    axe_violations,
    live_server,
    sign_in_page,
    watch_errors,
)
from tests.support.web import sign_in, web_client

Browser = Any  # playwright.sync_api.Browser (imported only when Chromium is there)

PEOPLE = (
    ("vera.verifier", Role.VERIFIER, "Exercise Clinic"),
    ("ana.analyst", Role.ANALYST, "Exercise Clinic"),
    ("otto.other", Role.VERIFIER, "Other Exercise Relief (fictional)"),
)
PERSONAL = "Zephyrine Quillfeather-Example, +000 555 0142 (fictional)"


@pytest.fixture
def web(settings: Settings, db: Database) -> Iterator[TestClient]:
    """A client of the app with two verifiers of different organisations and an analyst."""
    with web_client(settings, db, people=PEOPLE) as client:
        yield client


def _actor(db: Database, username: str) -> Actor:
    with db.read() as session:
        return accounts.actor_named(session, username)


def _open(db: Database, actor: Actor, *, title: str, exercise: bool = False) -> cases.Case:
    incident = add_incident(db, **({"exercise": True} if exercise else {}))
    data = CaseIn(title=title, incident_ids=[incident], summary="Opening summary (fictional).")
    return db.write(lambda s: cases.open_case(s, data, actor=actor))


def _add(db: Database, case_id: int, *, actor: Actor, **fields: object) -> cases.CaseEvent:
    data = CaseEventIn.model_validate(fields)
    return db.write(lambda s: cases.add_event(s, case_id, data=data, actor=actor))


def test_a_verifier_lists_the_cases_newest_first_with_overdue_marked(
    web: TestClient, db: Database
) -> None:
    vera = _actor(db, "vera.verifier")
    first = _open(db, vera, title="Strike on Exercise Clinic North (fictional)")
    second = _open(db, vera, title="Shelling near Exercise Field Post (fictional)")
    past = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    _add(db, first.id, actor=vera, kind="referral_national_authority", status="sent",
         authority="Ministry of Fictional Affairs", due_at=past)  # fmt: skip
    future = (datetime.now(UTC) + timedelta(days=9)).isoformat()
    _add(db, second.id, actor=vera, kind="compensation_claim", status="filed", due_at=future)
    sign_in(web, "vera.verifier")
    page = web.get("/cases")
    assert page.status_code == 200, page.text
    text = page.text
    assert text.index(second.title) < text.index(first.title)  # newest first
    assert 'href="/cases"' in text  # the navigation link for verifiers
    rows = text.split("<tr")
    first_row = next(r for r in rows if first.title in r)
    second_row = next(r for r in rows if second.title in r)
    assert "Overdue" in first_row and "Overdue" not in second_row
    assert f'href="/cases/{first.id}"' in first_row and "Open" in first_row
    assert 'href="/api/cases"' in text
    only_closed = web.get("/cases?status=closed")
    assert only_closed.status_code == 200 and first.title not in only_closed.text
    assert web.get("/cases?status=sideways").status_code == 422


def test_an_analyst_is_refused_politely_and_has_no_link(web: TestClient, db: Database) -> None:
    case = _open(db, _actor(db, "vera.verifier"), title="Case the analyst may not see")
    sign_in(web, "ana.analyst")
    for path in ("/cases", f"/cases/{case.id}"):
        page = web.get(path)
        assert page.status_code == 403, path
        assert "Not allowed" in page.text and case.title not in page.text
    assert 'href="/cases"' not in web.get("/evacuations").text
    web.cookies.clear()
    assert web.get("/cases").status_code == 303  # signed out: to the login page


def test_a_case_of_another_organisation_is_neither_listed_nor_shown(
    web: TestClient, db: Database
) -> None:
    theirs = _open(db, _actor(db, "otto.other"), title="Other organisation case (fictional)")
    ours = _open(db, _actor(db, "vera.verifier"), title="Our organisation case (fictional)")
    sign_in(web, "vera.verifier")
    listed = web.get("/cases").text
    assert ours.title in listed and theirs.title not in listed
    hidden = web.get(f"/cases/{theirs.id}")
    assert hidden.status_code == 404 and theirs.title not in hidden.text
    for unknown in ("999999", "abc", "0", "99999999999"):
        assert web.get(f"/cases/{unknown}").status_code == 404, unknown


def test_the_case_page_shows_the_whole_history_and_never_personal_details(
    web: TestClient, db: Database
) -> None:
    vera = _actor(db, "vera.verifier")
    case = _open(db, vera, title="Strike on Exercise Clinic South (fictional)")
    past = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    referral = _add(db, case.id, actor=vera, kind="referral_un_mechanism", status="sent",
                    authority="Fictional UN Desk", reference="REF-0042", due_at=past)  # fmt: skip
    support = _add(db, case.id, actor=vera, kind="support_psychosocial", status="referred",
                   beneficiary_ref="family-2", personal=PERSONAL)  # fmt: skip
    amend = CaseAmendIn(
        title="Strike on Exercise Clinic South, second wing (fictional)",
        summary="Corrected summary (fictional).",
        reason="the first report named the wrong wing",
    )
    db.write(lambda s: cases.amend_case(s, case.id, data=amend, actor=vera))
    sign_in(web, "vera.verifier")
    page = web.get(f"/cases/{case.id}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert PERSONAL not in text and "Zephyrine" not in text  # never decrypted on the page
    assert "Encrypted personal detail" in text and "read_sensitive" in text
    assert f"/api/cases/{case.id}/events/EVENT_ID/personal" in text
    assert "Strike on Exercise Clinic South, second wing (fictional)" in text
    assert "Corrected summary (fictional)." in text
    assert "the first report named the wrong wing" in text
    assert "<del>Strike on Exercise Clinic South (fictional)</del>" in text
    assert "<del>Opening summary (fictional).</del>" in text
    assert "<ins>Corrected summary (fictional).</ins>" in text
    rows = text.split('<tr id="event-')
    referral_row = next(r for r in rows if r.startswith(f'{referral.id}"'))
    assert "Referral to a UN mechanism" in referral_row and "Fictional UN Desk · REF-0042" in (
        referral_row
    )
    assert "Overdue" in referral_row and f"<td>{referral.custody_leaf}</td>" in referral_row
    support_row = next(r for r in rows if r.startswith(f'{support.id}"'))
    assert "Psychosocial support" in support_row and "family-2" in support_row
    assert f"<td>{support.custody_leaf}</td>" in support_row
    assert "Case opened" in text and "Case corrected" in text
    assert f'href="/incidents/{case.incident_ids[0]}"' in text
    assert f'href="/api/cases/{case.id}"' in text
    assert f"haven cases export {case.id}" in text
    assert "Exercise case" not in text
    json_twin = web.get(f"/api/cases/{case.id}").json()
    assert json_twin["title"] in text and len(json_twin["events"]) == 4


def test_a_met_deadline_is_not_overdue(web: TestClient, db: Database) -> None:
    vera = _actor(db, "vera.verifier")
    case = _open(db, vera, title="Deadline met (fictional)")
    past = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    sent = _add(db, case.id, actor=vera, kind="referral_court", status="sent", due_at=past)
    _add(db, case.id, actor=vera, kind="referral_court", status="acknowledged", resolves=sent.id)
    sign_in(web, "vera.verifier")
    text = web.get(f"/cases/{case.id}").text
    assert "Overdue" not in text and "met " in text
    listed = web.get("/cases").text
    assert "Overdue" not in listed


def test_only_an_open_case_offers_the_correction_form(web: TestClient, db: Database) -> None:
    vera = _actor(db, "vera.verifier")
    case = _open(db, vera, title="Case to close (fictional)")
    sign_in(web, "vera.verifier")
    shown = web.get(f"/cases/{case.id}").text
    assert 'id="amend-case"' in shown and "/static/case.js" in shown
    db.write(
        lambda s: cases.set_status(
            s, case.id, status=cases.CaseStatus.CLOSED, outcome=cases.CaseOutcome.NOT_PURSUED,
            actor=vera,
        )
    )  # fmt: skip
    closed = web.get(f"/cases/{case.id}").text
    assert 'id="amend-case"' not in closed and "/static/case.js" not in closed
    assert "Not pursued" in closed and "Closed" in closed
    assert web.get("/static/case.js").status_code == 200


def test_an_exercise_case_carries_its_banner(web: TestClient, db: Database) -> None:
    case = _open(db, _actor(db, "vera.verifier"), title="Drill case (fictional)", exercise=True)
    sign_in(web, "vera.verifier")
    assert "Exercise case (training), not a real case" in web.get(f"/cases/{case.id}").text
    row = next(r for r in web.get("/cases").text.split("<tr") if case.title in r)
    assert "Exercise" in row


def test_the_case_pages_speak_french(web: TestClient, db: Database) -> None:
    case = _open(db, _actor(db, "vera.verifier"), title="Affaire fictive")
    sign_in(web, "vera.verifier")
    french = {"Accept-Language": "fr"}
    listed = web.get("/cases", headers=french).text
    assert "Dossiers" in listed and "Next deadline" not in listed
    shown = web.get(f"/cases/{case.id}", headers=french).text
    assert "Historique" in shown and "Dossier ouvert" in shown and "History" not in shown


@pytest.fixture
def case_server(tmp_path: Path) -> Iterator[LiveServer]:
    """Haven with a verifier and one case with a deadline, a correction and a personal detail."""
    live = live_server(tmp_path / "haven")
    live.add_user("vera.verifier", role=Role.VERIFIER)
    vera = _actor(live.db, "vera.verifier")
    case = _open(live.db, vera, title="Strike on Exercise Clinic East (fictional)")
    _add(live.db, case.id, actor=vera, kind="support_material", status="referred",
         beneficiary_ref="family-1", personal=PERSONAL,
         due_at=(datetime.now(UTC) - timedelta(days=1)).isoformat())  # fmt: skip
    amend = CaseAmendIn(summary="Corrected in the browser test.", reason="typo in the summary")
    live.db.write(lambda s: cases.amend_case(s, case.id, data=amend, actor=vera))
    yield live
    live.stop()


def test_the_case_pages_are_accessible_in_chromium(
    browser: Browser, case_server: LiveServer
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = watch_errors(page)
    sign_in_page(page, case_server, username="vera.verifier", to="/cases")
    assert axe_violations(page) == []
    page.click("table.cases a")
    page.wait_for_selector("table.case-history")
    assert page.locator("table.case-history tbody tr").count() == 3
    assert PERSONAL not in page.content()
    assert axe_violations(page) == []
    page.fill("#amend-case-reason", "the annex was struck, not the main building")
    page.click("#amend-case button")  # nothing changed: said, nothing sent
    page.wait_for_selector("#amend-status[data-state=error]")
    assert "Change the title or the summary first." in page.inner_text("#amend-status")
    page.fill("#amend-case-title", "Strike on Exercise Clinic East, annex (fictional)")
    page.click("#amend-case button")
    page.wait_for_selector("text=the annex was struck, not the main building")
    assert page.locator("table.case-history tbody tr").count() == 4
    assert page.inner_text("h1") == "Strike on Exercise Clinic East, annex (fictional)"
    with case_server.db.read() as session:
        case = cases.list_cases(session, actor=_actor(case_server.db, "vera.verifier"))[0]
    assert case.title == "Strike on Exercise Clinic East, annex (fictional)"
    assert axe_violations(page) == []
    assert errors == []
    context.close()
