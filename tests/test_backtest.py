"""Backtest metrics equal hand-computed values; the rolling backtest runs on real WHO SSA rows."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from haven import backtest, forecast
from haven.accounts import SYSTEM
from haven.cli import cli
from haven.db import open_database
from haven.errors import InvalidInput
from haven.forecast import Event, Stream, UnitKind
from haven.importers import run_import
from haven.settings import Settings
from tests.support.imports import dataset_slice


def _poisson_crps_by_hand(mean: float, observed: int, *, terms: int = 400) -> float:
    total, cdf = 0.0, 0.0
    for k in range(terms):
        cdf += math.exp(k * math.log(mean) - mean - math.lgamma(k + 1))
        total += (cdf - (1.0 if k >= observed else 0.0)) ** 2
    return total


def test_brier_and_aupr_equal_hand_computed_values() -> None:
    assert backtest.brier(np.array([0.2, 0.9]), np.array([0.0, 1.0])) == pytest.approx(0.025)
    # ranked 0.8 (hit), 0.4 (miss), 0.35 (hit), 0.1 (miss): AP = 1/2 · (1/1 + 2/3)
    probability = np.array([0.1, 0.4, 0.35, 0.8])
    assert backtest.aupr(probability, np.array([0.0, 0.0, 1.0, 1.0])) == pytest.approx(5 / 6)
    assert backtest.aupr(probability, np.zeros(4)) is None
    constant = backtest.aupr(np.zeros(4), np.array([0.0, 1.0, 0.0, 0.0]))
    assert constant == pytest.approx(0.25)  # a constant forecast scores the prevalence


def test_poisson_crps_equals_its_definition_also_where_the_closed_form_overflows() -> None:
    assert backtest.crps_poisson(np.array([0.5]), np.array([0.0])) == pytest.approx(
        _poisson_crps_by_hand(0.5, 0)
    )
    assert backtest.crps_poisson(np.array([2.0]), np.array([5.0])) == pytest.approx(
        _poisson_crps_by_hand(2.0, 5)
    )
    assert backtest.crps_poisson(np.array([0.0]), np.array([3.0])) == 3.0  # point mass at 0
    big = backtest.crps_poisson(np.array([250.0]), np.array([300.0]))
    assert big == pytest.approx(_poisson_crps_by_hand(250.0, 300, terms=700), rel=1e-6)


def test_skill_against_a_reference() -> None:
    assert backtest.skill(0.05, 0.1, higher_is_better=False) == pytest.approx(0.5)
    assert backtest.skill(0.2, 0.1, higher_is_better=False) == pytest.approx(-1.0)
    assert backtest.skill(0.6, 0.2, higher_is_better=True) == pytest.approx(0.5)
    assert backtest.skill(0.1, 0.0, higher_is_better=False) is None
    assert backtest.skill(None, 0.1, higher_is_better=False) is None


def _constructed() -> forecast.Panel:
    """Unit A has attacks in even months, B in every third, C never (aid incidents only)."""
    start = date(2019, 1, 1)
    events = []
    for t in range(36):
        month = forecast.shift_month(start, t)
        if t % 2 == 0:
            events.append(Event(unit="AAA", country="AAA", month=month, stream=Stream.HEALTH))
        if t % 3 == 0:
            events.append(Event(unit="BBB", country="BBB", month=month, stream=Stream.HEALTH))
        events.append(Event(unit="CCC", country="CCC", month=month, stream=Stream.AID))
    return forecast.build_panel(
        events, kind=UnitKind.COUNTRY, start=start, end=forecast.shift_month(start, 35)
    )


def test_rolling_backtest_scores_every_method_on_the_same_test_months() -> None:
    panel = _constructed()
    result = backtest.run(panel, since=date(2021, 1, 1), label="constructed", refit_every=4)
    overall = result.overall()
    assert overall.unit_months == 3 * 12 and overall.with_attack == 6 + 4
    assert [r.scope for r in result.rows] == ["overall", "AAA", "BBB"]
    predictions = result.predictions
    months = np.asarray(predictions.months)
    assert months.min() == 24 and months.max() == 35
    p, _ = forecast.baseline(panel, "conflictology", half_life=3.0)
    expected = p[np.asarray(predictions.units), months]
    assert np.allclose(predictions.probability["conflictology"], expected)
    assert overall.brier["all_zero"] == pytest.approx(10 / 36)
    # a regular pattern the lags show: the model beats the unit's long-run share
    assert overall.brier["model"] < overall.brier["conflictology"]
    text = backtest.table_markdown(result)
    assert "| overall | model |" in text and "skill vs conflictology" in text
    with pytest.raises(InvalidInput):
        backtest.run(panel, since=date(2019, 2, 1), label="too early")


def test_write_methodology_replaces_only_its_section(tmp_path: Path) -> None:
    path = tmp_path / "methodology.md"
    path.write_text("# Methods\n\nkept\n", encoding="utf-8")
    backtest.write_methodology(path, body="first")
    after = "\n### Written by hand after the block\n\nkept too\n"
    path.write_text(path.read_text(encoding="utf-8") + after, encoding="utf-8")
    backtest.write_methodology(path, body="second")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Methods\n\nkept\n")
    assert text.endswith("<!-- forecast:end -->\n" + after)
    assert "second" in text and "first" not in text
    assert text.count("<!-- forecast:begin") == 1


def test_backtest_on_a_slice_of_real_who_ssa_data(
    *, datasets: Path, sqlite_settings: Settings, tmp_path: Path
) -> None:
    path = dataset_slice("who_ssa", datasets, tmp_path=tmp_path, rows=2000)
    db = open_database(sqlite_settings)
    try:
        run_import(db, "who_ssa", path, actor=SYSTEM)
        with db.read() as session:
            end = forecast.sources_end(session, kind=UnitKind.COUNTRY)
            top = forecast.top_countries(session, kind=UnitKind.COUNTRY, count=3)
    finally:
        db.close()
    assert top[:2] == ["PSE", "UKR"]  # the two with most attacks in these rows
    docs = tmp_path / "docs" / "methodology.md"
    docs.parent.mkdir()
    docs.write_text("# Methodology\n", encoding="utf-8")
    outcome = CliRunner().invoke(
        cli,
        [
            "--data-dir", str(sqlite_settings.data_dir), "forecast", "backtest",
            "--unit", "country", "--slice", "small", "--refit-every", "4",
            "--write-docs", str(docs),
        ],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert f"to {end:%Y-%m}" in outcome.output
    for country in top:
        assert f"| {country} | model |" in outcome.output
    assert "Overall Brier skill against conflictology" in outcome.output
    written = docs.read_text(encoding="utf-8")
    assert "<!-- forecast:begin" in written and "| overall | model |" in written
    assert (docs.parent / "img" / "forecast-calibration-country.png").stat().st_size > 1000
    assert (docs.parent / "img" / "trend-countries.png").stat().st_size > 1000


def test_admin1_backtest_on_a_slice_of_real_shcc_data(
    *, datasets: Path, sqlite_settings: Settings, tmp_path: Path
) -> None:
    path = dataset_slice("shcc", datasets, tmp_path=tmp_path, rows=1500)
    db = open_database(sqlite_settings)
    try:
        run_import(db, "shcc", path, actor=SYSTEM)
        with db.read() as session:
            panel, unplaced = forecast.load_panel(session, actor=SYSTEM, kind=UnitKind.ADMIN1)
    finally:
        db.close()
    assert unplaced > 0  # "No Information" rows: known to the country only
    assert panel.country_only.sum() > 0
    assert all(":" in u and "information" not in u for u in panel.units)
    assert panel.neighbours.nnz == 0
    assert panel.start == date(2023, 4, 1)  # the newest rows of the file
    outcome = CliRunner().invoke(
        cli,
        [
            "--data-dir", str(sqlite_settings.data_dir), "forecast", "backtest",
            "--unit", "admin1", "--slice", "small", "--since", "2023-10", "--refit-every", "6",
        ],
    )  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    assert "## admin1 area × month" in outcome.output and "2023-10 to 2023-12" in outcome.output
    assert "| overall | model |" in outcome.output
