"""Hotspots: Gi* against PySAL esda, permutations, FDR, Mann-Kendall, emerging categories."""

from __future__ import annotations

import itertools
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import esda
import h3
import libpysal
import numpy as np
import orjson
import pymannkendall as mk
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from scipy import sparse, stats

from haven import accounts, hotspots, incidents
from haven.accounts import SYSTEM, Role
from haven.cli import cli
from haven.db import Database
from haven.facts import EventFacts
from haven.hotspot_stats import (
    benjamini_hochberg,
    cells_to_int,
    distance_band_weights,
    gi_star,
    kring_weights,
    mann_kendall,
    neighbourhood,
    permutation_p,
    space_time_gi_star,
    space_time_weights,
)
from haven.hotspots import EmergingCategory, HotspotQuery, choose_resolution, emerging_categories
from haven.settings import Settings
from haven.taxonomy import DatePrecision, GeoPrecision, Sensitivity, Tlp
from tests.conftest import make_token

KHARTOUM = (32.53, 15.59)  # lon, lat
E = EmergingCategory


def _grid(rings: int = 6, res: int = 6) -> np.ndarray[Any, np.dtype[np.uint64]]:
    centre = h3.latlng_to_cell(KHARTOUM[1], KHARTOUM[0], res)
    return cells_to_int(sorted(h3.grid_disk(centre, rings)))


def _esda_weights(w: sparse.csr_array) -> Any:
    """The same binary weights as a libpysal ``W`` (neighbours without the cell itself)."""
    neighbours = {
        i: [int(j) for j in w.indices[w.indptr[i] : w.indptr[i + 1]] if j != i]
        for i in range(w.shape[0])
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return libpysal.weights.W(neighbours, silence_warnings=True)


def _esda_gi(y: np.ndarray[Any, Any], w: sparse.csr_array) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(y, _esda_weights(w), transform="B", star=True, permutations=0)


# --- Gi* equals esda.G_Local(star=True) ------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3])
def test_gi_star_equals_esda_on_k_ring_weights(k: int) -> None:
    cells = _grid()
    rng = np.random.default_rng(k)
    y = rng.poisson(0.8, len(cells)).astype(float)
    y[:5] += 12  # a cluster in the first cells (ordered by id: spatially scattered too)
    w = kring_weights(cells, k=k)
    ours, theirs = gi_star(y, w), _esda_gi(y, w)
    np.testing.assert_allclose(ours.z, theirs.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.g, theirs.Gs, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.p_norm, theirs.p_norm, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.p, 2 * theirs.p_norm, rtol=0, atol=1e-9)  # two-sided
    assert np.abs(ours.z).max() > 2  # not a trivial all-zero comparison


def test_gi_star_equals_esda_on_distance_band_and_space_time_weights() -> None:
    cells = _grid(rings=4)
    rng = np.random.default_rng(7)
    y = rng.poisson(1.5, len(cells)).astype(float)
    band = distance_band_weights(cells, distance_km=12.0)
    np.testing.assert_allclose(gi_star(y, band).z, _esda_gi(y, band).Zs, rtol=0, atol=1e-9)
    spatial = kring_weights(cells, k=1)
    for time_lag in (0, 1, 2):
        cube = space_time_weights(spatial, periods=5, time_lag=time_lag)
        values = rng.poisson(1.0, cube.shape[0]).astype(float)
        ours, theirs = gi_star(values, cube), _esda_gi(values, cube)
        np.testing.assert_allclose(ours.z, theirs.Zs, rtol=0, atol=1e-9)
        np.testing.assert_allclose(ours.p_norm, theirs.p_norm, rtol=0, atol=1e-9)
        fast = space_time_gi_star(values.reshape(5, -1), spatial, time_lag=time_lag)
        np.testing.assert_allclose(fast.z, theirs.Zs, rtol=0, atol=1e-9)


def test_k_ring_and_distance_band_weights_have_the_expected_neighbours() -> None:
    cells = _grid(rings=3)
    w = kring_weights(cells, k=1)
    assert (w.diagonal() == 1).all()
    interior = [
        i
        for i, c in enumerate(cells)
        if set(h3.grid_disk(format(int(c), "x"), 1)) <= {format(int(x), "x") for x in cells}
    ]
    assert (w.sum(axis=1)[interior] == 7).all()  # itself and six touching hexagons
    assert (w - w.T).count_nonzero() == 0
    edge = h3.average_hexagon_edge_length(6, unit="km")
    band = distance_band_weights(cells, distance_km=edge * 1.9)  # reaches one ring, not two
    assert (band != w).count_nonzero() == 0


def _grid_disk_weights(cells: np.ndarray[Any, Any], k: int) -> np.ndarray[Any, Any]:
    """Reference weights straight from ``h3.grid_disk``."""
    index = {int(c): i for i, c in enumerate(cells)}
    dense = np.zeros((len(cells), len(cells)))
    for i, c in enumerate(cells):
        for n in h3.grid_disk(format(int(c), "x"), k):
            if int(n, 16) in index:
                dense[i, index[int(n, 16)]] = 1
    return dense


@pytest.mark.parametrize("res", [2, 5, 8])
def test_k_ring_weights_equal_grid_disk_across_base_cells_and_pentagons(res: int) -> None:
    rng = np.random.default_rng(res)
    pentagons = [h3.cell_to_latlng(p) for p in h3.get_pentagons(0)[:4]]
    places = [*pentagons, *zip(rng.uniform(-70, 70, 6), rng.uniform(-180, 180, 6), strict=True)]
    for lat, lon in places:
        disk = h3.grid_disk(h3.latlng_to_cell(lat, lon, res), 7)
        cells = rng.permutation(cells_to_int(disk))[: int(len(disk) * 0.7)]  # holes, any order
        for k in (1, 2):
            assert (kring_weights(cells, k=k).toarray() == _grid_disk_weights(cells, k)).all()


def test_space_time_weights_reach_back_time_lag_periods() -> None:
    spatial = kring_weights(_grid(rings=1), k=1)  # 7 cells, all neighbours of the centre
    n = spatial.shape[0]
    cube = space_time_weights(spatial, periods=4, time_lag=2).toarray()
    centre_last = 3 * n + 3
    periods_reached = sorted({j // n for j in np.flatnonzero(cube[centre_last])})
    assert periods_reached == [1, 2, 3]  # itself, and the two periods before; never the future
    assert cube[0 * n + 3, n:].sum() == 0


def test_gi_star_refuses_negative_values_and_handles_no_variance() -> None:
    w = kring_weights(_grid(rings=1), k=1)
    with pytest.raises(ValueError, match="non-negative"):
        gi_star(-np.ones(7), w)
    flat = gi_star(np.ones(7), w)
    assert (flat.z == 0).all() and (flat.p == 1).all()


# --- permutation inference ------------------------------------------------------------------


def test_permutation_p_matches_the_exact_conditional_distribution() -> None:
    cells = _grid(rings=1)  # 7 cells: the exact null can be enumerated
    y = np.array([0, 3, 1, 0, 6, 2, 1], dtype=float)
    w = kring_weights(cells, k=1)
    ours = permutation_p(y, w, permutations=20000, seed=1)
    dense = w.toarray()
    for i in range(7):
        others = np.delete(y, i)
        m = int(dense[i].sum()) - 1
        observed = dense[i] @ y - y[i]
        sums = np.array([sum(c) for c in itertools.combinations(others, m)])
        exact = min((sums >= observed).mean(), (sums < observed).mean())
        assert abs(ours[i] - exact) < 0.015, (i, ours[i], exact)


def test_permutation_p_agrees_with_esda_and_is_seeded() -> None:
    cells = _grid(rings=5)
    rng = np.random.default_rng(3)
    y = rng.poisson(1.0, len(cells)).astype(float)
    w = kring_weights(cells, k=1)
    ours = permutation_p(y, w, permutations=4999, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = esda.G_Local(
            y, _esda_weights(w), transform="B", star=True, permutations=4999, seed=5
        ).p_sim
    assert np.abs(ours - theirs).max() < 0.04  # two Monte Carlo estimates of one p-value
    assert np.array_equal(ours, permutation_p(y, w, permutations=4999, seed=11))
    assert not np.array_equal(ours, permutation_p(y, w, permutations=4999, seed=12))


# --- false discovery rate -------------------------------------------------------------------


def test_benjamini_hochberg_matches_scipy_and_a_hand_example() -> None:
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5])
    # sorted 0.005 0.01 0.03 0.04 0.5 → ×5/rank: 0.025 0.025 0.05 0.05 0.5 (monotone)
    np.testing.assert_allclose(benjamini_hochberg(p), [0.025, 0.05, 0.05, 0.025, 0.5])
    rng = np.random.default_rng(0)
    many = np.concatenate([rng.uniform(size=500), rng.uniform(0, 1e-3, size=40)])
    np.testing.assert_allclose(
        benjamini_hochberg(many), stats.false_discovery_control(many), rtol=0, atol=1e-12
    )
    assert benjamini_hochberg(np.array([])).shape == (0,)


# --- Mann-Kendall ---------------------------------------------------------------------------


def test_mann_kendall_matches_pymannkendall_and_scipy_kendall_tau() -> None:
    rng = np.random.default_rng(5)
    series = np.vstack(
        [
            rng.poisson(2, (20, 24)).astype(float),  # many ties
            np.arange(24) * 0.3 + rng.normal(0, 1, (10, 24)),  # upward trend
            -np.arange(24) * 0.3 + rng.normal(0, 1, (10, 24)),  # downward trend
        ]
    )
    ours = mann_kendall(series)
    for i, row in enumerate(series):
        ref = mk.original_test(row)
        assert ours.s[i] == ref.s
        assert ours.var_s[i] == pytest.approx(ref.var_s, abs=1e-9)
        assert ours.z[i] == pytest.approx(ref.z, abs=1e-12)
        assert ours.p[i] == pytest.approx(ref.p, abs=1e-12)
        assert ours.tau[i] == pytest.approx(ref.Tau, abs=1e-12)
        tau_b = stats.kendalltau(np.arange(24), row).statistic
        pairs = 24 * 23 / 2
        _, counts = np.unique(row, return_counts=True)
        tied = (counts * (counts - 1) / 2).sum()
        assert ours.s[i] == pytest.approx(tau_b * np.sqrt(pairs * (pairs - tied)), abs=1e-9)
    assert (ours.p[20:] < 0.05).all() and (np.sign(ours.s[20:30]) > 0).all()
    assert (np.sign(ours.s[30:]) < 0).all()


# --- emerging hot spot categories, one constructed location each ----------------------------

EMERGING_CASES: dict[EmergingCategory, tuple[str, int]] = {
    # pattern per period, oldest first: H hot, C cold, . neither; then the z-score trend
    E.NEW_HOT: ("..........H", 0),
    E.CONSECUTIVE_HOT: ("........HHH", 0),
    E.INTENSIFYING_HOT: ("HHHHHHHHHHH", 1),
    E.PERSISTENT_HOT: ("HHHHH.HHHHH", 0),
    E.DIMINISHING_HOT: ("HHHHHHHHHHH", -1),
    E.SPORADIC_HOT: ("..H..HH...H", 0),
    E.OSCILLATING_HOT: ("..C.....C.H", 0),
    E.HISTORICAL_HOT: ("HHHHHHHHHH.", 0),
    E.NEW_COLD: ("..........C", 0),
    E.CONSECUTIVE_COLD: (".........CC", 0),
    E.INTENSIFYING_COLD: ("CCCCCCCCCCC", -1),
    E.PERSISTENT_COLD: ("CCCCCCCCCCC", 0),
    E.DIMINISHING_COLD: ("CCCCCCCCCCC", 1),
    E.SPORADIC_COLD: ("C...C.C...C", 0),
    E.OSCILLATING_COLD: ("H.H.....H.C", 0),
    E.HISTORICAL_COLD: ("CCCCCCCCCC.", 0),
    E.NO_PATTERN: ("..H..H..C..", 0),
}


@pytest.mark.parametrize("category", list(EMERGING_CASES), ids=lambda c: c.value)
def test_emerging_category_on_a_constructed_history(category: EmergingCategory) -> None:
    pattern, trend = EMERGING_CASES[category]
    hot = np.array([[c == "H" for c in pattern]])
    cold = np.array([[c == "C" for c in pattern]])
    assert emerging_categories(hot, cold, trend=np.array([trend])) == [category]


def test_emerging_categories_cover_every_category_and_are_vectorised() -> None:
    assert set(EMERGING_CASES) == set(EmergingCategory)
    rows = list(EMERGING_CASES.values())
    hot = np.array([[c == "H" for c in p] for p, _ in rows])
    cold = np.array([[c == "C" for c in p] for p, _ in rows])
    trend = np.array([t for _, t in rows])
    assert emerging_categories(hot, cold, trend=trend) == list(EMERGING_CASES)


# --- binning and the precision choice -------------------------------------------------------


def test_choose_resolution_keeps_the_wanted_share_of_located_incidents() -> None:
    exact = {4: ["a"] * 10, 6: ["b"] * 10, 8: ["c"] * 10}
    assert choose_resolution(exact) == 8
    Cells = dict[int, list[str | None]]
    mixed: Cells = {4: ["a"] * 10, 6: ["b"] * 9 + [None], 8: ["c"] * 7 + [None] * 3}
    assert choose_resolution(mixed) == 6
    assert choose_resolution(mixed, min_share=0.7) == 8
    coarse: Cells = {4: ["a"] * 10, 6: [None] * 10, 8: [None] * 10}
    assert choose_resolution(coarse) == 4
    assert choose_resolution({4: [None], 6: [None], 8: [None]}) == 4


def test_neighbourhood_adds_the_empty_ring() -> None:
    centre = _grid(rings=0)
    assert len(neighbourhood(centre, k=1)) == 7
    assert len(neighbourhood(centre, k=2)) == 19


# --- the service and its shells on a database -----------------------------------------------


def _add(
    db: Database,
    point: tuple[float, float],
    *,
    when: datetime,
    precision: GeoPrecision = GeoPrecision.EXACT,
    date_precision: DatePrecision = DatePrecision.DAY,
    country: str = "SDN",
    organisation_id: int | None = None,
    tlp: Tlp = Tlp.CLEAR,
    exercise: bool = False,
) -> str:
    facts = EventFacts.model_validate(
        {
            "occurred_at": when,
            "date_precision": date_precision,
            "location": {"lon": point[0], "lat": point[1]},
            "geo_precision": precision,
            "country": country,
            "attack_types": [
                "Violence with heavy weapons (requires more than one person to use"
                " such as firearms, tanks, missiles, bombs, mortars)"
            ],
        }
    )
    return db.write(
        lambda s: incidents.open_from_facts(
            s,
            facts,
            organisation_id=organisation_id,
            sensitivity=Sensitivity.HIGH,
            tlp=tlp,
            exercise=exercise,
            actor=SYSTEM,
        )
    )


def _cluster_world(db: Database) -> None:
    """A fictional cluster of 30 incidents around one point, and 12 scattered ones."""
    rng = np.random.default_rng(2)
    when = datetime(2023, 6, 1, tzinfo=UTC)
    for dx, dy in rng.normal(0, 0.004, (30, 2)):
        _add(db, (KHARTOUM[0] + dx, KHARTOUM[1] + dy), when=when)
    for dx, dy in rng.uniform(-1.5, 1.5, (12, 2)):
        _add(db, (KHARTOUM[0] + dx, KHARTOUM[1] + dy), when=when)


def test_service_finds_the_cluster_and_counts_what_it_left_out(db: Database) -> None:
    _cluster_world(db)
    when = datetime(2023, 7, 1, tzinfo=UTC)
    _add(db, (31.0, 14.0), when=when, precision=GeoPrecision.DISTRICT)  # coarser than the grid
    _add(db, (30.0, 13.0), when=when, precision=GeoPrecision.COUNTRY)  # no usable location
    _add(db, (32.0, 15.0), when=when, exercise=True)  # exercise: left out by default
    _add(db, (32.0, 15.0), when=datetime(2022, 1, 1, tzinfo=UTC))  # before since
    query = HotspotQuery(country="SDN", since=hotspots.parse_month("2023-01"), k=1)
    with db.read() as session:
        layer = hotspots.hotspots(session, query, actor=SYSTEM)
    assert layer.resolution == 8  # 42 of 43 located incidents have resolution-8 cells
    assert (layer.incidents_considered, layer.incidents_used) == (44, 42)
    assert (layer.left_out_unlocated, layer.left_out_coarser_than_grid) == (1, 1)
    hot = [f for f in layer.features if f["properties"]["spot"] == "hot"]
    centre = h3.latlng_to_cell(KHARTOUM[1], KHARTOUM[0], 8)
    assert centre in {f["id"] for f in hot}
    assert all(f["properties"]["q"] <= 0.05 for f in hot)
    ring = layer.to_geojson()["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and 31 < ring[0][0] < 35  # longitude first
    with db.read() as session:
        coarse = hotspots.hotspots(
            session, query.model_copy(update={"resolution": 4}), actor=SYSTEM
        )
    assert coarse.incidents_used == 43 and coarse.left_out_coarser_than_grid == 0


def test_service_emerging_finds_a_new_hot_spot(db: Database) -> None:
    rng = np.random.default_rng(4)
    for month in range(1, 13):  # a thin, steady background across the year
        for dx, dy in rng.uniform(-0.3, 0.3, (3, 2)):
            _add(
                db, (KHARTOUM[0] + dx, KHARTOUM[1] + dy), when=datetime(2023, month, 10, tzinfo=UTC)
            )
    for dx, dy in rng.normal(0, 0.002, (25, 2)):  # a cluster appearing in the last month
        _add(db, (32.9 + dx, 15.2 + dy), when=datetime(2023, 12, 5, tzinfo=UTC))
    _add(db, (32.0, 15.0), when=datetime(2023, 5, 1, tzinfo=UTC), date_precision=DatePrecision.YEAR)
    query = HotspotQuery(
        country="SDN", since=hotspots.parse_month("2023-01"), resolution=6, emerging=True
    )
    with db.read() as session:
        layer = hotspots.hotspots(session, query, actor=SYSTEM)
    assert layer.periods[0] == "2023-01" and layer.periods[-1] == "2023-12"
    assert layer.left_out_coarser_than_period == 1
    by_cell = {f["id"]: f["properties"]["category"] for f in layer.features}
    assert by_cell[h3.latlng_to_cell(15.2, 32.9, 6)] == E.NEW_HOT.value


def test_bad_input_is_named() -> None:
    with pytest.raises(Exception, match="since"):
        hotspots.parse_month("2023-13")
    with pytest.raises(Exception, match="YYYY"):
        hotspots.parse_month("last week")
    with pytest.raises(ValueError, match="country"):
        HotspotQuery(country="Atlantis")


def test_api_needs_read_incidents_and_shows_only_what_the_caller_sees(
    client: TestClient, db: Database
) -> None:
    _cluster_world(db)
    other = db.write(lambda s: accounts.ensure_organisation(s, "Fictional Other Relief"))
    for _ in range(5):  # amber records of another organisation: not for the analyst
        _add(
            db,
            (30.2, 12.9),
            when=datetime(2023, 6, 2, tzinfo=UTC),
            organisation_id=other,
            tlp=Tlp.AMBER,
        )
    analyst = {"Authorization": f"Bearer {make_token(db, 'hs-analyst')}"}
    params = {"country": "SDN", "since": "2023-01"}
    assert client.get("/api/hotspots", params=params).status_code == 401
    reporter = make_token(db, "hs-reporter", role=Role.REPORTER)
    forbidden = client.get(
        "/api/hotspots", params=params, headers={"Authorization": f"Bearer {reporter}"}
    )
    assert forbidden.status_code == 403
    answer = client.get("/api/hotspots", params=params, headers=analyst)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/geo+json")
    layer = answer.json()
    assert layer["properties"]["incidents_considered"] == 42  # not the other org's five
    admin = make_token(db, "hs-admin", role=Role.ADMIN)
    everything = client.get(
        "/api/hotspots", params=params, headers={"Authorization": f"Bearer {admin}"}
    ).json()
    assert everything["properties"]["incidents_considered"] == 47
    db.write(
        lambda s: accounts.add_user(
            s,
            "hs-focal",
            role=Role.ANALYST,
            organisation="Test Health Cluster",
            password=None,
            actor=SYSTEM,
            countries=("UKR",),
        )
    )
    focal = db.write(lambda s: accounts.create_token(s, "hs-focal", name="t", actor=SYSTEM))
    empty = client.get(
        "/api/hotspots", params=params, headers={"Authorization": f"Bearer {focal}"}
    ).json()
    assert empty["features"] == [] and empty["properties"]["incidents_considered"] == 0
    bad = client.get("/api/hotspots", params={"since": "June"}, headers=analyst)
    assert bad.status_code == 422 and "since" in bad.json()["error"]["fields"]


def test_cli_writes_a_geojson_layer(settings: Settings, db: Database, *, tmp_path: Path) -> None:
    _cluster_world(db)
    out = tmp_path / "layer.geojson"
    result = CliRunner().invoke(
        cli,
        [
            "--data-dir",
            str(settings.data_dir),
            "hotspots",
            "--country",
            "SDN",
            "--since",
            "2023-01",
            "--permutations",
            "9999",
            "--out",
            str(out),
        ],
        env={"HAVEN_DATABASE_URL": settings.database_url} if settings.database_url else {},
    )
    assert result.exit_code == 0, result.output
    assert "H3 resolution 8: 42 of 42 incidents used" in result.output
    layer = orjson.loads(out.read_bytes())
    assert (
        layer["type"] == "FeatureCollection"
        and layer["properties"]["query"]["permutations"] == 9999
    )
    assert any(f["properties"]["spot"] == "hot" for f in layer["features"])


def test_png_map_draws_every_cell(db: Database, tmp_path: Path) -> None:
    from haven.hotspot_plot import render_png  # noqa: PLC0415 -- optional extra

    _cluster_world(db)
    with db.read() as session:
        layer = hotspots.hotspots(session, HotspotQuery(country="SDN"), actor=SYSTEM)
    path = tmp_path / "map.png"
    assert render_png(layer.to_geojson(), path, title="test") == len(layer.features) > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
