"""The forecast cache: keyed on what the caller may see, shared by callers who see the same."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from haven import forecast_service, reports
from haven.accounts import SYSTEM, Actor, Role
from haven.db import Database
from haven.forecast import UnitKind
from haven.settings import Settings

NOW = datetime(2025, 6, 15, 12, 0, tzinfo=UTC)
PLACES = {"PSE": (34.40, 31.40), "YEM": (44.20, 15.35)}


class FitCounter:
    """Counts calls of ``haven.forecast.fit`` as the forecast service makes them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        real = forecast_service.fit

        def counted(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(forecast_service, "fit", counted)


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> Iterator[FitCounter]:
    """A fit counter, on an empty cache."""
    forecast_service.clear_cache()
    yield FitCounter(monkeypatch)
    forecast_service.clear_cache()


def _report(when: datetime, *, country: str, **extra: Any) -> Any:
    lon, lat = PLACES[country]
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "forecast cache test form (fictional)", "kind": "form"},
            "occurred_at": when.isoformat(),
            "country": country,
            "location": {"lon": lon, "lat": lat},
            "geo_precision": 1,
            "attack_types": ["Setting fire"],
            "tlp": "green",
            "sensitivity": "moderate",
            **extra,
        }
    )


def _history(db: Database) -> None:
    """Two years of monthly attacks in PSE and in YEM, and one severe one only admins see."""

    def add(session: Any) -> None:
        for k in range(24):
            for country in PLACES:
                when = NOW - timedelta(days=30 * k + 2 * (country == "YEM"))
                reports.submit(session, _report(when, country=country), actor=SYSTEM)
        severe = _report(NOW - timedelta(days=40), country="PSE", sensitivity="severe")
        reports.submit(session, severe, actor=SYSTEM)

    db.write(add)


def test_actors_who_see_the_same_incidents_share_one_fit(
    db: Database, settings: Settings, *, fits: FitCounter
) -> None:
    _history(db)
    model = settings.model_copy(update={"forecast_method": "model"})  # one fit per answer
    analyst = Actor("fictional-analyst", Role.ANALYST, organisation_id=1)
    verifier = Actor("fictional-verifier", Role.VERIFIER, organisation_id=2)
    with db.read() as session:
        first = forecast_service.forecast_units(session, model, actor=analyst, kind=UnitKind.H3)
        assert fits.calls == 1
        again = forecast_service.forecast_units(session, model, actor=verifier, kind=UnitKind.H3)
        assert fits.calls == 1  # another role and organisation, the same incidents: no new fit
        assert again is first
        admin = forecast_service.forecast_units(session, model, actor=SYSTEM, kind=UnitKind.H3)
    assert fits.calls == 2  # the admin also sees the severe incident: its own fit
    assert admin != first
    seen = {f.unit: f.last_12_months for f in first.forecasts}
    assert sum(f.last_12_months for f in admin.forecasts) == sum(seen.values()) + 1


def test_a_country_limited_actor_never_gets_the_wider_answer(
    db: Database, settings: Settings, *, fits: FitCounter
) -> None:
    _history(db)
    model = settings.model_copy(update={"forecast_method": "model"})
    local = Actor("fictional-gaza-analyst", Role.ANALYST, countries=frozenset({"PSE"}))
    focal = Actor("fictional-focal-point", Role.ADMIN, countries=frozenset({"PSE"}))
    with db.read() as session:
        wide = forecast_service.forecast_units(session, model, actor=SYSTEM, kind=UnitKind.H3)
        narrow = forecast_service.forecast_units(session, model, actor=local, kind=UnitKind.H3)
        admin_narrow = forecast_service.forecast_units(
            session, model, actor=focal, kind=UnitKind.H3
        )
    assert {f.country for f in wide.forecasts} == {"PSE", "YEM"}
    assert {f.country for f in narrow.forecasts} == {"PSE"}
    assert {f.country for f in admin_narrow.forecasts} == {"PSE"}
    assert admin_narrow != narrow  # the country-limited admin also sees the severe incident
    assert fits.calls == 3


def test_the_overlay_month_and_the_same_month_named_share_one_fit(
    db: Database, settings: Settings, *, fits: FitCounter
) -> None:
    _history(db)
    model = settings.model_copy(update={"forecast_method": "model"})
    with db.read() as session:
        default = forecast_service.forecast_units(session, model, actor=SYSTEM, kind=UnitKind.H3)
        named = forecast_service.forecast_units(
            session, model, actor=SYSTEM, kind=UnitKind.H3, month=default.month
        )
    assert named is default
    assert fits.calls == 1


def test_a_new_incident_makes_a_new_answer(
    db: Database, settings: Settings, *, fits: FitCounter
) -> None:
    _history(db)
    model = settings.model_copy(update={"forecast_method": "model"})
    with db.read() as session:
        before = forecast_service.forecast_units(session, model, actor=SYSTEM, kind=UnitKind.H3)
    db.write(lambda s: reports.submit(s, _report(NOW, country="YEM"), actor=SYSTEM))
    with db.read() as session:
        after = forecast_service.forecast_units(session, model, actor=SYSTEM, kind=UnitKind.H3)
    assert fits.calls == 2
    total = sum(f.last_12_months for f in after.forecasts)
    assert total == sum(f.last_12_months for f in before.forecasts) + 1


def test_callers_asking_at_once_wait_for_one_fit(
    db: Database, settings: Settings, *, fits: FitCounter
) -> None:
    _history(db)
    model = settings.model_copy(update={"forecast_method": "model"})
    answers: list[object] = []

    def ask(actor: Actor) -> None:
        with db.read() as session:
            answers.append(
                forecast_service.forecast_units(session, model, actor=actor, kind=UnitKind.H3)
            )

    people = [Actor(f"fictional-analyst-{i}", Role.ANALYST, organisation_id=i) for i in range(4)]
    threads = [threading.Thread(target=ask, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == 4
    assert all(a is answers[0] for a in answers)
    assert fits.calls == 1
