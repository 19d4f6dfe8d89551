"""Save screenshots of the web app into docs/screenshots/ (run with `make screenshots`).

Starts Haven on a throw-away database filled with a small EXERCISE scenario
(fictional facilities and incidents), then photographs the dashboard, the
report form in English and in Arabic, and the verification queue with Debian's
Chromium driven by Playwright.
"""

from __future__ import annotations

import random
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from playwright.sync_api import Browser, sync_playwright  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from tests.support.browser import (  # noqa: E402
    CHROMIUM_ARGS,
    PASSWORD,
    LiveServer,
    chromium_path,
    live_server,
)

from haven import dedup, facilities, facility_status, reports  # noqa: E402
from haven.accounts import SYSTEM, Role  # noqa: E402
from haven.sms import ATTACK_TYPE_CODES  # noqa: E402

OUT = REPO / "docs" / "screenshots"
START = datetime(2025, 1, 6, 8, tzinfo=UTC)
CENTRE = (34.40, 31.42)  # lon, lat
SITES = [
    ("EX-SHOT-1", "Exercise General Hospital (fictional)", "hospital", "operational"),
    ("EX-SHOT-2", "Exercise Maternity Clinic (fictional)", "clinic", "partially_functioning"),
    ("EX-SHOT-3", "Exercise Field Hospital (fictional)", "hospital", "not_functioning"),
    ("EX-SHOT-4", "Exercise First-Aid Post (fictional)", "first_aid_post", "operational"),
]


def _report(rng: random.Random, day: int, **changes: Any) -> reports.ReportIn:
    lon = CENTRE[0] + rng.uniform(-0.12, 0.12)
    lat = CENTRE[1] + rng.uniform(-0.12, 0.12)
    values: dict[str, Any] = {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "source": {"name": "exercise partner form", "kind": "form"},
        "occurred_at": (START + timedelta(days=day, hours=rng.randint(0, 20))).isoformat(),
        "location": {"lon": round(lon, 5), "lat": round(lat, 5)},
        "country": "PSE",
        "location_name": f"Exercise site {day} (fictional)",
        "attack_types": [rng.choice(list(ATTACK_TYPE_CODES)).value],
        "casualties": {"health_workers": {"killed": rng.randint(0, 2)}},
        "source_type": rng.choice(["eyewitness", "secondary", "media", "partner_self_report"]),
        "exercise": True,
    }
    values.update(changes)
    return reports.ReportIn.model_validate(values)


def seed(server: LiveServer) -> None:
    """Fictional facilities with statuses, 60 exercise incidents and one suggested duplicate."""
    rng = random.Random(7)

    def add_sites(session: Session) -> None:
        for n, (code, name, kind, status) in enumerate(SITES):
            site = facilities.FacilityIn.model_validate(
                {
                    "name": name,
                    "kind": kind,
                    "external_id": code,
                    "location": {"lon": CENTRE[0] - 0.08 + 0.05 * n, "lat": CENTRE[1] + 0.03 * n},
                    "country": "PSE",
                    "exercise": True,
                }
            )
            facility_id = facilities.create(session, site, actor=SYSTEM).id
            entry = facility_status.StatusIn.model_validate(
                {"status": status, "at": START.isoformat(), "exercise": True}
            )
            facility_status.add_status(session, facility_id, entry=entry, actor=SYSTEM)

    server.db.write(add_sites)
    incidents = [_report(rng, day) for day in range(60)]
    server.db.write(lambda s: [reports.submit(s, item, actor=SYSTEM) for item in incidents])
    twin = {
        "occurred_at": (START + timedelta(days=70)).isoformat(),
        "date_precision": "day",
        "location": {"lon": 34.45, "lat": 31.50},
        "attack_types": ["Setting fire"],
        "casualties": {"health_workers": {"killed": 3}, "patients": {"injured": 5}},
    }
    server.db.write(
        lambda s: reports.submit(
            s,
            _report(rng, 0, **twin, narrative="Exercise: the hospital store room was set on fire."),
            actor=SYSTEM,
        )
    )
    other = _report(
        rng, 0, **{**twin, "location": {"lon": 34.46, "lat": 31.505}}, location_name=None
    )
    second = server.db.write(lambda s: reports.submit(s, other, actor=SYSTEM)).incident_id
    server.db.write(lambda s: dedup.consolidate(s, second, actor=SYSTEM, auto_merge=True))


def _login(browser: Browser, server: LiveServer, **options: Any) -> Any:
    context = browser.new_context(**options)
    answer = context.request.post(
        f"{server.url}/api/login", data={"username": "exercise.verifier", "password": PASSWORD}
    )
    if not answer.ok:
        raise SystemExit(f"login failed: {answer.text()}")
    return context


def shoot(browser: Browser, server: LiveServer) -> list[Path]:
    """Take the four screenshots; returns their paths."""
    OUT.mkdir(parents=True, exist_ok=True)
    saved = []
    wide: dict[str, Any] = {"viewport": {"width": 1280, "height": 860}, "locale": "en"}
    phone: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2}
    shots: list[tuple[str, str, dict[str, Any]]] = [
        ("dashboard.png", "/map", wide),
        ("verification.png", "/verification", wide),
        ("report-en.png", "/report", {**phone, "locale": "en"}),
        ("report-ar.png", "/report", {**phone, "locale": "ar"}),
    ]
    for name, path, options in shots:
        context = _login(browser, server, **options)
        page = context.new_page()
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        target = OUT / name
        page.screenshot(path=str(target))
        saved.append(target)
        context.close()
    return saved


def main() -> None:
    """Seed, serve, photograph, stop."""
    path = chromium_path()
    if path is None:
        raise SystemExit("Chromium is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory() as tmp:
        server = live_server(Path(tmp))
        try:
            server.add_user("exercise.verifier", role=Role.VERIFIER)
            seed(server)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
                for saved in shoot(browser, server):
                    sys.stdout.write(f"wrote {saved.relative_to(REPO)}\n")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
