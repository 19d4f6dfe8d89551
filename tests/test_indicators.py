"""Every indicator checked against figures computed by hand on a constructed scenario, public
from a release only, internal from live rows; and the confidence-band arithmetic."""

from __future__ import annotations

import io
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from pypdf import PdfReader
from sqlalchemy import delete

from haven import indicators, releases, risk_report
from haven.accounts import SYSTEM
from haven.db import Database
from haven.errors import InvalidInput, NotFound
from haven.indicator_scope import Scope, parse_period
from haven.indicator_trends import clopper_pearson, garwood, poisson_trend
from haven.models import (
    CaseIncidentRow,
    IncidentAttackTypeRow,
    IncidentRow,
    VerificationNoteRow,
)
from haven.release_policy import ReleasePolicy, TimeUnit
from tests.support.indicators import build_scenario
from tests.support.releases import (
    ASSAULT,
    FIRE,
    HEAVY,
    NOW,
    OBSTRUCTION,
    SECRETS,
    People,
    add_people,
    publish,
)
from tests.test_releases import ADMIN1, policies, store, worlds

Q1 = Scope(country="SDN", period="2024-Q1", trend_months=3)
PROPERTY_FEW = hypothesis_settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: each example is slow
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_MADE: dict[int, People] = {}


def _people_once(db: Database) -> People:
    """The release people, added once per database (Hypothesis reuses the test's database)."""
    if id(db) not in _MADE:
        _MADE[id(db)] = add_people(db)
    return _MADE[id(db)]


@pytest.fixture
def people(db: Database) -> People:
    return add_people(db)


def _public(db: Database, scope: Scope = Q1) -> indicators.Indicators:
    with db.read() as session:
        return indicators.public(session, scope)


def _internal(db: Database, scope: Scope = Q1) -> indicators.Indicators:
    with db.read() as session:
        return indicators.internal(session, scope, actor=SYSTEM, now=NOW)


def _by_key(
    rows: list[indicators.Breakdown] | None,
) -> dict[str, tuple[int | None, list[int | None]]]:
    assert rows is not None
    return {r.key: (r.total, r.months) for r in rows}


# --- the arithmetic of the bands -----------------------------------------------------------------


def test_garwood_matches_published_table_values() -> None:
    # Exact 95 % Poisson limits as tabulated (e.g. Ulm 1990, Table 1)
    assert garwood(0) == (0.0, pytest.approx(3.6889, abs=1e-4))
    assert garwood(1) == (pytest.approx(0.0253, abs=1e-4), pytest.approx(5.5716, abs=1e-4))
    assert garwood(6) == (pytest.approx(2.2019, abs=1e-4), pytest.approx(13.059, abs=1e-3))
    with pytest.raises(ValueError):
        garwood(-1)


def test_clopper_pearson_limits() -> None:
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10)))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025 ** (1 / 10)), 1.0)
    low, high = clopper_pearson(3, 6)
    assert (low, high) == (pytest.approx(0.1181, abs=1e-4), pytest.approx(0.8819, abs=1e-4))


def test_poisson_trend_solves_the_score_equations() -> None:
    # y = 3, 2, 1 at t = 0, 1, 2: a(1+r+r²) = 6 and a(r+2r²) = 4, so 4r² + r - 2 = 0
    trend = poisson_trend([3, 2, 1])
    assert trend is not None
    assert trend.rate_ratio == pytest.approx((math.sqrt(33) - 1) / 8, rel=1e-8)
    assert sum(trend.fitted) == pytest.approx(6)
    assert trend.lower < trend.rate_ratio < trend.upper
    assert poisson_trend([0, 0, 0]) is None and poisson_trend([4, 5]) is None
    assert poisson_trend([1, 0, 0, 0]) is None and poisson_trend([0, 0, 2]) is None
    rising = poisson_trend([1, 2, 4, 8, 16, 32])
    assert rising is not None and rising.rate_ratio == pytest.approx(2.0, rel=1e-6)
    assert rising.p_value < 0.001


def test_periods_parse_and_bad_ones_name_the_field() -> None:
    assert parse_period("2024-Q1") == (datetime(2024, 1, 1).date(), datetime(2024, 3, 31).date())
    assert parse_period("2024-02")[1].day == 29
    assert parse_period("2023") == (datetime(2023, 1, 1).date(), datetime(2023, 12, 31).date())
    for bad in ("2024-Q5", "2024-13", "24", "2024-1", "0000", "0001-Q1", "9999-12"):
        with pytest.raises(InvalidInput) as caught:
            parse_period(bad)
        assert "period" in caught.value.fields
    with pytest.raises(ValueError, match="country"):
        Scope(country="Atlantis")


# --- the scenario, public (released) -----------------------------------------------------------


def test_every_public_indicator_matches_the_hand_computed_value(
    db: Database, people: People
) -> None:
    build_scenario(db)
    version = publish(db, ReleasePolicy(k=1), people=people)
    found = _public(db)
    assert found.source == "release" and found.release is not None
    assert found.release.version == version
    assert found.months == ["2024-01", "2024-02", "2024-03"]
    # A B C | D E | F  (G is a rumour, R rejected, X exercise, H in Palestine)
    assert [m.incidents for m in found.attacks] == [3, 2, 1]
    assert found.total == 6
    assert (found.total_lower, found.total_upper) == (
        pytest.approx(2.2019, abs=1e-4),
        pytest.approx(13.059, abs=1e-3),
    )
    assert _by_key(found.by_type) == {
        FIRE: (3, [2, 1, 0]),
        HEAVY: (3, [2, 0, 1]),
        ASSAULT: (1, [0, 1, 0]),
    }
    assert _by_key(found.by_resource) == {
        "HC Facilities": (5, [3, 1, 1]),
        "HC Personnel": (5, [3, 1, 1]),
        "HC Transport": (1, [0, 1, 0]),
    }
    assert _by_key(found.by_facility_type) == {"Secondary": (5, [3, 1, 1])}
    assert _by_key(found.by_country) == {"SDN": (6, [3, 2, 1])}
    assert (found.killed, found.injured) == (4, 7)
    assert found.certainty == {"confirmed": 4, "possible": 1, "probable": 1}
    # verified: A after 2 days, C after 4, E after 10 of 6 incidents
    assert (found.verified.numerator, found.verified.denominator) == (3, 6)
    assert found.verified.value == pytest.approx(0.5)
    assert (found.verified.lower, found.verified.upper) == (
        pytest.approx(0.1181, abs=1e-4),
        pytest.approx(0.8819, abs=1e-4),
    )
    assert found.median_days_to_verification == pytest.approx(4.0)
    assert found.facility_struck == 1
    assert (found.notified_site_strikes.numerator, found.notified_site_strikes.denominator) == (
        1,
        6,
    )
    assert found.notified_movement_strikes.numerator == 0
    # cases: A and C investigated, E remedied (B's case opened after the release)
    assert (found.investigated.numerator, found.investigated.denominator) == (2, 6)
    assert (found.remedied.numerator, found.remedied.denominator) == (1, 6)
    assert [m.incidents for m in found.trend_months] == [3, 2, 1]
    assert found.trend is not None
    assert found.trend.rate_ratio == pytest.approx((math.sqrt(33) - 1) / 8, rel=1e-6)
    assert found.corridors is None


def test_all_countries_and_one_month(db: Database, people: People) -> None:
    build_scenario(db)
    publish(db, ReleasePolicy(k=1), people=people)
    everywhere = _public(db, Scope(period="2024-02", trend_months=3))
    assert everywhere.total == 3  # D, E and H
    assert _by_key(everywhere.by_country) == {"PSE": (1, [1]), "SDN": (2, [2])}
    assert everywhere.trend is None  # December 2023 is not in the release
    assert any("2023-12" in note for note in everywhere.notes)


def test_suppressed_cells_show_no_number_and_say_so(db: Database, people: People) -> None:
    build_scenario(db)
    publish(db, ReleasePolicy(k=3), people=people)
    found = _public(db)
    # every month is below k=3 or protects one that is (secondary suppression)
    assert [m.incidents for m in found.attacks] == [None, None, None]
    assert any("suppressed" in note for note in found.notes)
    # the quarter is the whole release: its all-periods cells and figures are published
    assert found.total == 6
    assert _by_key(found.by_type)[HEAVY] == (3, [None, 0, None])  # no February cell: none
    assert _by_key(found.by_type)[FIRE][0] is None  # its all-periods cell is suppressed too
    assert (found.verified.numerator, found.verified.denominator) == (3, 6)
    assert found.median_days_to_verification == pytest.approx(4.0)
    # one month alone is not the whole release: nothing to fall back on
    january = _public(db, Scope(country="SDN", period="2024-01", trend_months=3))
    assert january.total is None and january.verified.denominator == 0


def test_public_figures_never_move_with_live_rows(db: Database, people: People) -> None:
    build_scenario(db)
    publish(db, ReleasePolicy(k=1), people=people)
    before = _public(db)

    def wipe(session: object) -> None:
        session.execute(delete(VerificationNoteRow))  # type: ignore[attr-defined]
        session.execute(delete(CaseIncidentRow))  # type: ignore[attr-defined]
        session.execute(delete(IncidentAttackTypeRow))  # type: ignore[attr-defined]
        session.execute(delete(IncidentRow))  # type: ignore[attr-defined]

    db.write(wipe)
    assert _public(db) == before


def test_no_release_is_not_found(db: Database) -> None:
    build_scenario(db)
    with db.read() as session, pytest.raises(NotFound):
        indicators.public(session, Q1)


# --- the scenario, internal (live) ---------------------------------------------------------------


def test_every_internal_indicator_matches_the_hand_computed_value(db: Database) -> None:
    build_scenario(db)
    found = _internal(db)
    assert found.source == "live" and found.release is None
    # the rumour G counts internally; R (rejected) and X (exercise) never do
    assert [m.incidents for m in found.attacks] == [3, 2, 2]
    assert found.total == 7
    assert _by_key(found.by_type) == {
        FIRE: (3, [2, 1, 0]),
        HEAVY: (3, [2, 0, 1]),
        ASSAULT: (1, [0, 1, 0]),
        OBSTRUCTION: (1, [0, 0, 1]),
    }
    assert _by_key(found.by_resource)["HC Facilities"] == (6, [3, 1, 2])
    assert _by_key(found.by_facility_type) == {"Secondary": (6, [3, 1, 2])}
    assert (found.killed, found.injured) == (4, 7)
    assert found.certainty == {"confirmed": 4, "possible": 1, "probable": 1, "rumour": 1}
    assert (found.verified.numerator, found.verified.denominator) == (3, 7)
    assert found.median_days_to_verification == pytest.approx(4.0)
    assert (found.notified_site_strikes.numerator, found.notified_site_strikes.denominator) == (
        1,
        7,
    )
    assert found.facility_struck == 1
    assert (found.investigated.numerator, found.investigated.denominator) == (2, 7)
    assert (found.remedied.numerator, found.remedied.denominator) == (1, 7)
    assert found.corridors is not None and found.corridors.corridor_count == 0
    trend = poisson_trend([3, 2, 2])
    assert found.trend is not None and trend is not None
    assert found.trend.rate_ratio == pytest.approx(trend.rate_ratio)


def test_internal_verification_counts_only_what_happened_by_then(db: Database) -> None:
    build_scenario(db)
    with db.read() as session:
        early = indicators.internal(
            session, Q1, actor=SYSTEM, now=datetime(2024, 1, 12, tzinfo=UTC)
        )
    # by 12 January only A (received 6 Jan, verified 8 Jan) was verified
    assert early.verified.numerator == 1
    assert early.median_days_to_verification == pytest.approx(2.0)


def test_internal_default_window_is_the_last_twelve_full_months(db: Database) -> None:
    build_scenario(db)
    with db.read() as session:
        found = indicators.internal(
            session, Scope(country="SDN"), actor=SYSTEM, now=NOW + timedelta(days=3)
        )
    assert found.months[0] == "2023-07" and found.months[-1] == "2024-06"
    assert found.total == 7


# --- property: public outputs hold released data only (shared with the privacy tests) -----------


@PROPERTY_FEW
@given(world=worlds, policy=policies)
def test_public_outputs_hold_only_released_data(
    client: TestClient, db: Database, *, world: list[dict[str, Any]], policy: ReleasePolicy
) -> None:
    store(db, world)
    version = publish(db, policy, people=_people_once(db))
    scope = Scope(period="2024", trend_months=12)

    def outputs() -> list[str]:
        found = [_public(db, scope).model_dump_json()]
        page = client.get("/indicators/public", params={"period": "2024", "version": version})
        assert page.status_code == 200, page.text
        found.append(page.text)
        api = client.get("/api/public/indicators", params={"period": "2024", "version": version})
        assert api.status_code == 200
        found.append(api.text)
        with db.read() as session:
            try:
                made = risk_report.assess(session, country="SDN", period="2024", version=version)
            except NotFound:
                return found  # no Sudanese counts in this release
        rendered = risk_report.render(made)
        pdf = PdfReader(io.BytesIO(rendered.pdf))
        found += [rendered.html, "\n".join(p.extract_text() for p in pdf.pages)]
        return found

    before = outputs()
    if policy.time is TimeUnit.MONTH:  # each month's figure is the release's own cell
        with db.read() as session:
            cells = [c for c in releases.get_public_cells(session, version) if c.period]
        months = sorted(str(c.period) for c in cells)
        for month in _public(db, scope).attacks:
            own = [c.incidents for c in cells if c.period == month.month and not c.attack_type]
            expected = None if None in own else sum(own)
            if not months or not months[0] <= month.month <= months[-1]:
                expected = None  # the release does not cover the month
            assert month.incidents == expected, month
    text = "\n".join(before)
    assert not [s for s in SECRETS.values() if s in text]
    if policy.spatial != "admin1":
        assert not [name for name in ADMIN1 if name in text]
    store(db, [])  # every live incident gone: the public outputs cannot change
    assert outputs() == before


def test_the_trend_uses_the_latest_months_with_a_known_count(db: Database, people: People) -> None:
    build_scenario(db)
    publish(db, ReleasePolicy(k=1), people=people)
    found = _public(db, Scope(country="SDN", period="2024-Q1", trend_months=5))
    assert [m.incidents for m in found.trend_months] == [None, None, 3, 2, 1]
    assert found.trend is not None and found.trend.months == 3
    assert found.trend.rate_ratio == pytest.approx((math.sqrt(33) - 1) / 8, rel=1e-6)
    assert any("fitted on the 3 months from 2024-01" in note for note in found.notes)
