"""The forecast warm-up: pages find forecasts ready, a change refits once, shutdown stops it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from haven import forecast_service, forecast_warmup, reports
from haven.accounts import SYSTEM
from haven.db import Database
from haven.forecast import H3_RESOLUTION
from haven.forecast_warmup import ForecastWarmup
from haven.geo import LonLat, h3_cell
from haven.settings import Settings
from tests.support.facilities import add_facility
from tests.support.web import REPORTER_AND_ANALYST, sign_in, web_client
from tests.test_forecast_cache import FitCounter

WAIT = 180.0  # generous: two cores shared with other work
CELLS = [(34.40, 31.40), (34.47, 31.52), (34.25, 31.30)]  # places around Gaza


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> Iterator[FitCounter]:
    """A fit counter, on an empty cache."""
    forecast_service.clear_cache()
    yield FitCounter(monkeypatch)
    forecast_service.clear_cache()


@pytest.fixture
def warm(settings: Settings) -> Settings:
    """The test settings with the warm-up on, polling fast, one fit per forecast."""
    return settings.model_copy(
        update={
            "forecast_warmup": True,
            "forecast_warmup_interval_seconds": 0.05,
            "forecast_method": "model",
        }
    )


def _report(when: datetime, *, place: tuple[float, float], exercise: bool = False) -> Any:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "forecast warm-up test form (fictional)", "kind": "form"},
            "occurred_at": when.isoformat(),
            "country": "PSE",
            "location": {"lon": place[0], "lat": place[1]},
            "geo_precision": 1,
            "attack_types": ["Setting fire"],
            "tlp": "green",
            "exercise": exercise,
        }
    )


def _history(db: Database, *, now: datetime, exercise: bool = False) -> None:
    """Attacks in three cells over the 18 months before ``now``, the last in ``now``'s month
    (so the overlay's default month is the facility page's: the month after)."""
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def add(session: Any) -> None:
        for k in range(18):
            place = CELLS[k % len(CELLS)]
            when = now - timedelta(days=30 * k + 3)
            if k == 0:
                when = max(when, this_month)
            reports.submit(session, _report(when, place=place, exercise=exercise), actor=SYSTEM)

    db.write(add)


def _warmup(client: TestClient) -> ForecastWarmup:
    warmup = client.app.state.forecast_warmup  # type: ignore[attr-defined]
    assert isinstance(warmup, ForecastWarmup)
    assert warmup.wait_until_current(timeout=WAIT)
    return warmup


def test_pages_find_the_forecast_ready_and_a_new_incident_refits_once(
    db: Database, warm: Settings, *, fits: FitCounter
) -> None:
    now = datetime.now(UTC)
    real = add_facility(db, location={"lon": 34.40, "lat": 31.40}, name="Warm Clinic (fictional)")
    drill = add_facility(
        db, location={"lon": 34.47, "lat": 31.52}, name="Warm Drill Post (fictional)", exercise=True
    )
    _history(db, now=now)
    _history(db, now=now, exercise=True)
    with web_client(warm, db, people=REPORTER_AND_ANALYST) as client:
        warmup = _warmup(client)
        assert fits.calls == 2  # real and exercise, next month (also the overlay's month)
        sign_in(client, "ana.analyst")
        for site in (real, drill):
            page = client.get(f"/facilities/{site}")
            assert page.status_code == 200
            assert "There is no forecast yet" not in page.text
        overlay = client.get("/api/forecast/units", params={"unit": "h3"})
        assert overlay.status_code == 200
        assert overlay.json()["forecast"]["method"] == "model"
        cells = {h3_cell(LonLat(*place), resolution=H3_RESOLUTION) for place in CELLS}
        assert {f["id"] for f in overlay.json()["features"]} >= cells
        assert fits.calls == 2  # every page was served from the warm-up's fits

        rounds = warmup.rounds
        db.write(lambda s: reports.submit(s, _report(now, place=CELLS[1]), actor=SYSTEM))
        assert warmup.wait_until_current(timeout=WAIT)
        assert warmup.rounds == rounds + 1
        assert fits.calls == 3  # real data refit once; the exercise view did not change
        assert warmup.wait_for_polls(3, timeout=WAIT)
        assert warmup.rounds == rounds + 1 and fits.calls == 3  # nothing changed: no refit
        assert client.get(f"/facilities/{real}").status_code == 200
        assert client.get("/api/forecast/units", params={"unit": "h3"}).status_code == 200
        assert fits.calls == 3
        assert warmup.running
    assert not warmup.running  # shutdown stopped the thread


def test_the_setting_off_starts_no_warmup(db: Database, settings: Settings) -> None:
    assert not settings.forecast_warmup  # the test settings turn it off
    with web_client(settings, db, people=()) as client:
        assert client.app.state.forecast_warmup is None  # type: ignore[attr-defined]
    assert Settings.model_fields["forecast_warmup"].default is True


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_FORECAST_WARMUP", "false")
    assert not Settings().forecast_warmup


def test_a_failure_is_logged_and_the_server_carries_on(
    db: Database,
    warm: Settings,
    *,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("fictional failure of the forecast")

    monkeypatch.setattr(forecast_warmup, "forecast_units", broken)
    _history(db, now=datetime.now(UTC))
    with caplog.at_level(logging.ERROR, logger="haven.forecast_warmup"):
        with web_client(warm, db, people=()) as client:
            warmup = client.app.state.forecast_warmup  # type: ignore[attr-defined]
            assert warmup.wait_for_polls(2, timeout=WAIT)
            assert warmup.running and warmup.rounds == 0
            assert client.get("/api/health").status_code == 200
        assert not warmup.running
    assert "forecast warm-up failed" in caplog.text
    assert "fictional failure of the forecast" in caplog.text


def test_stop_ends_the_thread(db: Database, warm: Settings) -> None:
    warmup = ForecastWarmup(db, warm)
    warmup.start()
    assert warmup.stop(timeout=WAIT)
    assert not warmup.running


def test_targets_are_next_month_and_the_overlays_default() -> None:
    today = datetime(2026, 12, 27, tzinfo=UTC).date()
    assert forecast_warmup.targets(today) == [
        (False, datetime(2027, 1, 1).date()),
        (False, None),
        (True, datetime(2027, 1, 1).date()),
    ]
