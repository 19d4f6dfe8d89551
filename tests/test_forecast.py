"""Forecast features see only the past; baselines are right; the service respects need-to-know."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import h3
import numpy as np
import pytest
from fastapi.testclient import TestClient

from haven import accounts, forecast, forecast_service, reports
from haven.accounts import SYSTEM
from haven.db import Database
from haven.errors import InvalidInput
from haven.forecast import Event, Stream, UnitKind, baseline, build_panel, features
from haven.settings import Settings
from tests.conftest import make_token

CENTRE = h3.latlng_to_cell(31.40, 34.40, forecast.H3_RESOLUTION)
"""A resolution-4 cell over the Gaza Strip; its ring gives real neighbouring cells."""


def _cells(kind: UnitKind = UnitKind.H3) -> list[str]:
    cells = [CENTRE, *sorted(h3.grid_ring(CENTRE, 1)), *sorted(h3.grid_ring(CENTRE, 2))[:4]]
    if kind is UnitKind.ADMIN1:  # areas with no boundary data: names only
        return [f"PSE:area {i}" for i in range(len(cells))]
    return cells


def _random_events(seed: int, *, months: int, kind: UnitKind = UnitKind.H3) -> list[Event]:
    rng = np.random.default_rng(seed)
    start = date(2020, 1, 1)
    events = []
    for unit in _cells(kind):
        for t in range(months):
            for stream in Stream:
                for _ in range(int(rng.poisson(0.6))):
                    month = forecast.shift_month(start, t)
                    events.append(Event(unit=unit, country="PSE", month=month, stream=stream))
    return events


def _panel(
    events: list[Event], *, months: int = 24, kind: UnitKind = UnitKind.H3
) -> forecast.Panel:
    start = date(2020, 1, 1)
    return build_panel(
        events, kind=kind, start=start, end=forecast.shift_month(start, months - 1),
        facilities={_cells(kind)[0]: 3},
    )  # fmt: skip


@pytest.mark.parametrize("kind", [UnitKind.H3, UnitKind.ADMIN1])
def test_features_use_only_months_before_the_one_they_describe(kind: UnitKind) -> None:
    events = _random_events(1, months=24, kind=kind)
    panel = _panel(events, kind=kind)
    table = features(panel, half_life=3.0)
    assert table.shape == (len(panel.units), 24, len(forecast.FEATURES))
    for cut in (1, 7, 15, 22):
        # change every month from ``cut`` on (more and other events) and keep the units
        changed = [e for e in events if forecast.month_index(e.month, start=panel.start) < cut]
        changed += [
            Event(unit=u, country="PSE", month=panel.month(t), stream=s)
            for u in panel.units
            for t in range(cut, 24)
            for s in Stream
            for _ in range(t % 3 + 2)
        ]
        other = features(_panel(changed, kind=kind), half_life=3.0)
        assert np.array_equal(other[:, : cut + 1, :], table[:, : cut + 1, :])
        assert not np.array_equal(other[:, cut + 1 :, :], table[:, cut + 1 :, :])


def test_baselines_on_a_constructed_unit() -> None:
    months = [date(2021, 1, 1), date(2021, 3, 1), date(2021, 3, 1)]  # counts 1, 0, 2, 0
    events = [Event(unit="XYZ", country="XYZ", month=m, stream=Stream.HEALTH) for m in months]
    panel = build_panel(events, kind=UnitKind.COUNTRY, start=date(2021, 1, 1), end=date(2021, 4, 1))
    assert panel.health.tolist() == [[1, 0, 2, 0]]
    p, mu = baseline(panel, "conflictology", half_life=1.0)
    assert p[0].tolist() == pytest.approx([0, 1, 0.5, 2 / 3])
    assert mu[0].tolist() == pytest.approx([0, 1, 0.5, 1])
    p, mu = baseline(panel, "decayed", half_life=1.0)  # weights 1, 1/2, 1/4 back in time
    assert p[0, 3] == pytest.approx((1 * 1 + 0 * 0.5 + 1 * 0.25) / 1.75)
    assert mu[0, 3] == pytest.approx((2 * 1 + 0 * 0.5 + 1 * 0.25) / 1.75)
    assert p[0, 1] == pytest.approx(1.0)
    p, mu = baseline(panel, "last_value", half_life=1.0)
    assert p[0].tolist() == [0, 1, 0, 1]
    assert mu[0].tolist() == [0, 1, 0, 2]
    p, mu = baseline(panel, "all_zero", half_life=1.0)
    assert p.sum() == mu.sum() == 0
    with pytest.raises(InvalidInput):
        baseline(panel, "oracle", half_life=1.0)


def test_expected_count_follows_a_unit_beyond_the_training_range() -> None:
    start = date(2020, 1, 1)
    events = [
        Event(unit="XYZ", country="XYZ", month=forecast.shift_month(start, t), stream=Stream.HEALTH)
        for t in range(11)
        for _ in range(2**t)  # the count doubles every month: 1, 2, 4, … 1024
    ]
    panel = build_panel(
        events, kind=UnitKind.COUNTRY, start=start, end=forecast.shift_month(start, 10)
    )
    table = features(panel, half_life=3.0)
    rows, counts = forecast.training_rows(table, panel, before=10)
    _, mean = forecast.fit(rows, counts).predict(table[:, 10, :])
    assert counts.max() == 512
    # a tree alone answers at most about the largest count it was trained on; the exposure
    # lets the forecast follow the unit's own level
    assert 512 * 1.3 < mean[0] < 1024 * 2


def test_probability_blends_the_logistic_glm_and_the_boosted_classifier() -> None:
    panel = _panel(_random_events(2, months=24))
    table = features(panel, half_life=3.0)
    rows, counts = forecast.training_rows(table, panel, before=20)
    model = forecast.fit(rows, counts)
    test = table[:, 20:, :].reshape(-1, table.shape[2])
    probability, _ = model.predict(test)
    linear = model.glm.predict_proba(test)[:, 1]
    boosted = model.classifier.predict_proba(test)[:, 1]
    assert not np.allclose(linear, boosted)
    weight = forecast.GLM_WEIGHT
    assert 0 < weight < 1
    assert np.allclose(probability, weight * linear + (1 - weight) * boosted)


def test_panel_counts_streams_and_finds_neighbours() -> None:
    ring = sorted(h3.grid_ring(CENTRE, 1))
    far = sorted(h3.grid_ring(CENTRE, 2))[0]
    when = date(2022, 5, 1)
    events = [
        Event(unit=CENTRE, country="PSE", month=when, stream=Stream.HEALTH),
        Event(unit=CENTRE, country="PSE", month=when, stream=Stream.HEALTH),
        Event(unit=ring[0], country="PSE", month=when, stream=Stream.AID),
        Event(unit=far, country="PSE", month=when, stream=Stream.CONFLICT),
        Event(unit=ring[0], country="PSE", month=date(2030, 1, 1), stream=Stream.HEALTH),
        Event(unit="PSE", country="PSE", month=when, stream=Stream.COUNTRY_ONLY),
    ]
    panel = build_panel(events, kind=UnitKind.H3, start=when, end=forecast.shift_month(when, 1))
    centre, near, two = (panel.units.index(u) for u in (CENTRE, ring[0], far))
    assert panel.health[centre].tolist() == [2, 0]
    assert panel.health.sum() == 2  # the 2030 event is outside the months
    assert panel.aid[near, 0] == 1 and panel.conflict[two, 0] == 1
    assert panel.neighbours[centre, near] == 1 and panel.neighbours[centre, two] == 0
    assert panel.second_ring[centre, two] == 1
    assert "PSE" not in panel.units  # a country-only attack is context, not a unit
    assert panel.country_only[:, 0].tolist() == [1, 1, 1] and panel.country_only[:, 1].sum() == 0
    table = features(panel, half_life=3.0)
    ring_lag1 = forecast.FEATURES.index("ring_lag1")
    assert table[near, 1, ring_lag1] == 2  # the centre's two attacks, seen from next door


def test_a_border_cell_belongs_to_the_country_most_of_its_events_name() -> None:
    when = date(2022, 5, 1)
    events = [
        Event(unit=CENTRE, country="ISR", month=when, stream=Stream.AID),
        Event(unit=CENTRE, country="PSE", month=when, stream=Stream.HEALTH),
        Event(unit=CENTRE, country="PSE", month=when, stream=Stream.HEALTH),
    ]
    for order in (events, events[::-1]):
        panel = build_panel(order, kind=UnitKind.H3, start=when, end=when)
        assert panel.countries == ("PSE",)
    tie = [events[0], events[1]]
    for order in (tie, tie[::-1]):
        panel = build_panel(order, kind=UnitKind.H3, start=when, end=when)
        assert panel.countries == ("ISR",)  # a tie goes to the first alphabetically


def _report(when: datetime, *, tlp: str = "clear", exercise: bool = False, **extra: Any) -> Any:
    return reports.ReportIn.model_validate(
        {
            "id": str(uuid.uuid4()),
            "source": {"name": "forecast test form (fictional)", "kind": "form"},
            "occurred_at": when.isoformat(),
            "country": "PSE",
            "location": {"lon": 34.40, "lat": 31.40},
            "geo_precision": 1,
            "attack_types": ["Setting fire"],
            "tlp": tlp,
            "sensitivity": "moderate",
            "exercise": exercise,
            "narrative": "EXERCISE fictional test incident" if exercise else "fictional test",
            **extra,
        }
    )


def _history(
    db: Database, *, months: int, tlp: str = "clear", actor: accounts.Actor = SYSTEM
) -> None:
    """An attack every other month from January 2022 at one fictional place."""

    def add(session: Any) -> None:
        for t in range(months):
            if t % 2 == 0:
                when = datetime(2022 + t // 12, t % 12 + 1, 10, tzinfo=UTC)
                report = _report(when, tlp=tlp, admin1="Gaza Strip")
                reports.submit(session, report, actor=actor)

    db.write(add)


def test_admin1_panel_merges_spellings_and_keeps_placeholders_as_country_context(
    db: Database,
) -> None:
    kyiv = {"country": "UKR", "location": {"lon": 30.52, "lat": 50.45}}
    rows = [
        (datetime(2022, 3, 5, tzinfo=UTC), "Kyiv Oblast"),
        (datetime(2022, 3, 9, tzinfo=UTC), "Kiev"),  # the alias table: the same oblast
        (datetime(2022, 4, 2, tzinfo=UTC), "Kharkiv Oblast"),
        (datetime(2022, 4, 7, tzinfo=UTC), "No Information"),  # a placeholder: country only
        (datetime(2022, 4, 8, tzinfo=UTC), None),  # no admin area at all: country only
    ]

    def add(session: Any) -> None:
        for when, area in rows:
            reports.submit(session, _report(when, admin1=area, **kyiv), actor=SYSTEM)

    db.write(add)
    with db.read() as session:
        panel, unplaced = forecast.load_panel(session, actor=SYSTEM, kind=UnitKind.ADMIN1)
    assert panel.units == ("UKR:kharkiv", "UKR:kyiv")
    assert panel.countries == ("UKR", "UKR")
    assert panel.start == date(2022, 3, 1) and panel.months == 2
    assert panel.health.tolist() == [[0, 1], [2, 0]]
    assert panel.country_only.tolist() == [[0, 2], [0, 2]]  # context for every area of UKR
    assert unplaced == 2
    assert panel.neighbours.nnz == 0 and panel.second_ring.nnz == 0  # no boundary data
    table = features(panel, half_life=3.0)
    assert not table[:, :, forecast.FEATURES.index("ring_decayed")].any()
    assert table[0, 1, forecast.FEATURES.index("country_decayed")] == 2  # Kyiv's March


def test_forecast_follows_need_to_know_and_keeps_exercise_apart(
    db: Database, settings: Settings
) -> None:
    def people(session: Any) -> None:
        for name, role, org in (
            ("fc-owner", accounts.Role.REPORTER, "Owner Org (fictional)"),
            ("fc-other", accounts.Role.ANALYST, "Other Org (fictional)"),
        ):
            accounts.add_user(
                session, name, role=role, organisation=org, password=None, actor=SYSTEM
            )

    db.write(people)
    with db.read() as session:
        owner = accounts.actor_named(session, "fc-owner")
        other = accounts.actor_named(session, "fc-other")
    _history(db, months=12, tlp="red", actor=owner)  # TLP:RED: not for other organisations
    with db.read() as session:
        mine = forecast_service.forecast_units(session, settings, actor=SYSTEM, kind=UnitKind.H3)
        theirs = forecast_service.forecast_units(session, settings, actor=other, kind=UnitKind.H3)
        drill = forecast_service.forecast_units(
            session, settings, actor=SYSTEM, kind=UnitKind.H3, exercise=True
        )
    assert [f.unit for f in mine.forecasts] == [CENTRE]
    assert mine.month == date(2022, 12, 1)  # the month after the last attack (2022-11)
    assert mine.method in {"model", "conflictology", "decayed"}
    assert 0 <= mine.forecasts[0].probability <= 1
    assert mine.forecasts[0].last_12_months == 6
    assert theirs.forecasts == [] and theirs.method == "none"  # RED is not theirs to see
    assert drill.forecasts == [] and drill.exercise  # real data never feeds an exercise forecast


def test_forecast_method_setting_is_served(db: Database, settings: Settings) -> None:
    _history(db, months=24)
    forced = settings.model_copy(update={"forecast_method": "conflictology"})
    with db.read() as session:
        result = forecast_service.forecast_units(
            session, forced, actor=SYSTEM, kind=UnitKind.COUNTRY, month=date(2024, 1, 1)
        )
        auto = forecast_service.forecast_units(
            session, settings, actor=SYSTEM, kind=UnitKind.COUNTRY
        )
    assert result.method == "conflictology"
    assert result.forecasts[0].probability == pytest.approx(12 / 24)  # every other month
    assert auto.method_reason.startswith(("best Brier", "too little"))
    assert set(auto.validation_brier) <= {"model", "conflictology", "decayed"}


def test_forecast_api_answers_geojson(client: TestClient, db: Database) -> None:
    _history(db, months=6)
    token = make_token(db, "fc-analyst")
    answer = client.get(
        "/api/forecast/units", params={"unit": "h3"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    assert feature["id"] == CENTRE and feature["geometry"]["type"] == "Polygon"
    ring = feature["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and 34 < ring[0][0] < 35  # [lon, lat]
    assert body["forecast"]["unit_kind"] == "h3"
    areas = client.get(
        "/api/forecast/units", params={"unit": "admin1"},
        headers={"Authorization": f"Bearer {token}"},
    ).json()  # fmt: skip
    assert [f["id"] for f in areas["features"]] == ["PSE:gaza strip"]
    assert areas["features"][0]["geometry"] is None  # no boundary data for admin areas
    assert areas["forecast"]["unit_kind"] == "admin1"
    bad = client.get(
        "/api/forecast/units", params={"month": "2024-13"},
        headers={"Authorization": f"Bearer {token}"},
    )  # fmt: skip
    assert bad.status_code == 422
    assert client.get("/api/forecast/units").status_code == 401
