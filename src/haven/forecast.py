"""Early warning: per unit and month, the probability of an attack on health care and its count.

A **unit** is a place the data can honestly resolve (``UnitKind``): a country
(WHO SSA publishes nothing finer), a first-level admin area (the admin1 name
the sources give, normalised by ``haven.admin_areas``) or an H3 resolution-4
cell (~1,770 km²; SHCC points are mostly at 25 km or district precision, so
finer cells would invent precision). Incidents whose location is coarser than
the unit are left out of that unit's counts; incidents dated only to the year
are left out of months.

The history becomes a **panel**: for every unit and month, the count of attacks
on health care (the target), of aid-worker incidents (AWSD, KIKA) and of
conflict events (ACLED-style imports). ``features`` turns the panel into one
row per unit and month built **only from earlier months**: lags, 12-month sums,
exponentially decayed counts, months since the last event, the same over the
cell's H3 neighbours (k-ring 1) and over the rest of its country, and the number
of registered facilities in the unit. The model (``fit``): the probability of
"at least one attack" blends a logistic GLM on the logged features with
scikit-learn's histogram gradient-boosted classifier (``GLM_WEIGHT``); the
expected count is a gradient-boosted Poisson regressor's rate per unit of
``exposure`` (the unit's decayed count), so it can rise above the counts seen in
training. ``baseline`` gives the honest
references (all-zero, conflictology, decayed history, last value).

``forecast_units`` is the service: it builds the panel from the incidents the
caller may see (need-to-know; exercise and real data never mixed), trains on
every month before the target month and answers each unit's probability and
expected count, with the method chosen by the ``forecast_method`` setting
(``auto`` serves whichever of the model and the baselines scored the best Brier
score over the last ``forecast_validation_months`` months of the same data).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import h3
import numpy as np
import numpy.typing as npt
from scipy import sparse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import policy
from haven.accounts import Actor
from haven.admin_areas import admin1_unit
from haven.errors import ConfigurationError, InvalidInput
from haven.geo import LonLat, h3_cell
from haven.importers.acled import AcledImporter
from haven.importers.awsd import AwsdImporter
from haven.importers.kika import KikaImporter
from haven.models import FacilityRow, IncidentRow, ReportRow, SourceRow
from haven.taxonomy import DatePrecision

__all__ = [
    "EXPOSURE_FLOOR",
    "FEATURES",
    "GLM_WEIGHT",
    "H3_RESOLUTION",
    "METHODS",
    "Event",
    "Model",
    "Panel",
    "Stream",
    "UnitKind",
    "baseline",
    "build_panel",
    "exposure",
    "features",
    "fit",
    "health_months",
    "load_events",
    "load_panel",
    "month_at",
    "month_index",
    "parse_month",
    "past_sum",
    "shift_month",
    "sources_end",
    "top_countries",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

H3_RESOLUTION = 4
"""Resolution of H3 units: ~1,770 km², the finest the public datasets' precision supports."""
NEVER = 120.0
"""Months-since-last-event given to a unit with no earlier event (ten years)."""
METHODS = ("model", "conflictology", "decayed", "last_value", "all_zero")
"""Forecast methods: the model, then the baselines (see ``baseline``)."""

FEATURES = (
    "lag1",
    "lag2",
    "lag3",
    "sum12",
    "past_mean",
    "past_share",
    "decayed",
    "decayed_share",
    "months_since",
    "ring_lag1",
    "ring_decayed",
    "ring_sum12",
    "ring2_decayed",
    "country_decayed",
    "world_lag1",
    "aid_lag1",
    "aid_decayed",
    "ring_aid_decayed",
    "conflict_lag1",
    "conflict_decayed",
    "country_only_lag1",
    "country_only_decayed",
    "facilities",
)
"""Feature names, in column order (see ``features``)."""


class UnitKind(StrEnum):
    """What a forecast unit is."""

    COUNTRY = "country"
    ADMIN1 = "admin1"
    """A first-level admin area, ``"ISO3:key"`` (see ``haven.admin_areas``); no neighbours."""
    H3 = "h3"


class Stream(StrEnum):
    """What kind of event an incident counts as."""

    HEALTH = "health"
    AID = "aid"
    CONFLICT = "conflict"
    COUNTRY_ONLY = "country_only"
    """An attack on health care placed only in its country (e.g. WHO SSA) in an H3 or admin1
    panel."""


AID_SOURCES = frozenset({AwsdImporter.source_name, KikaImporter.source_name})
CONFLICT_SOURCES = frozenset({AcledImporter.source_name})


@dataclass(frozen=True, slots=True)
class Event:
    """One incident placed in a unit and a month (the first day of the month)."""

    unit: str
    country: str
    month: date
    stream: Stream


def parse_month(text: str, *, name: str = "month") -> date:
    """``YYYY-MM`` (or a longer ISO date) as the first day of that month."""
    try:
        parts = text.strip().split("-")
        return date(int(parts[0]), int(parts[1]), 1)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(f"{name} must be YYYY-MM", fields={name: repr(text)}) from exc


def month_index(month: date, *, start: date) -> int:
    """Months from ``start`` to ``month`` (both first days of months)."""
    return (month.year - start.year) * 12 + month.month - start.month


def month_at(start: date, offset: int) -> date:
    total = start.year * 12 + start.month - 1 + offset
    return date(total // 12, total % 12 + 1, 1)


@dataclass(frozen=True)
class Panel:
    """Counts per unit (rows) and month (columns) from ``start``, with what each unit holds."""

    kind: UnitKind
    units: tuple[str, ...]
    countries: tuple[str, ...]
    start: date
    health: FloatArray
    aid: FloatArray
    conflict: FloatArray
    country_only: FloatArray
    """Per unit: attacks in its country that no unit could hold (H3 and admin1 panels)."""
    facilities: FloatArray
    neighbours: Any = field(repr=False)
    """Sparse unit × unit matrix: 1 where two H3 units touch (k-ring 1); empty for countries
    and admin areas (no boundary data)."""
    second_ring: Any = field(repr=False)
    """Sparse unit × unit matrix: 1 where two H3 units are two cells apart (ring 2)."""

    @property
    def months(self) -> int:
        """Number of months (columns)."""
        return int(self.health.shape[1])

    def month(self, offset: int) -> date:
        """The first day of column ``offset``'s month."""
        return month_at(self.start, offset)


def _neighbours(kind: UnitKind, units: Sequence[str], *, distance: int = 1) -> Any:
    size = len(units)
    if kind is not UnitKind.H3 or size == 0:
        return sparse.csr_matrix((size, size))
    where = {u: i for i, u in enumerate(units)}
    rows: list[int] = []
    cols: list[int] = []
    for i, unit in enumerate(units):
        for other in h3.grid_ring(unit, distance):
            j = where.get(other)
            if j is not None:
                rows.append(i)
                cols.append(j)
    return sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(size, size))


def build_panel(
    events: Iterable[Event],
    *,
    kind: UnitKind,
    start: date,
    end: date,
    facilities: Mapping[str, int] | None = None,
) -> Panel:
    """The panel of months ``start``..``end`` (inclusive) over every unit that has an event.

    Events outside the months are dropped. ``facilities`` counts registered
    facilities per unit (units with facilities but no event are not added).
    """
    if end < start:
        raise InvalidInput("the panel ends before it starts", fields={"end": end.isoformat()})
    months = month_index(end, start=start) + 1
    kept = [e for e in events if 0 <= month_index(e.month, start=start) < months]
    seen: dict[str, Counter[str]] = {}
    national: dict[str, FloatArray] = {}
    for event in kept:
        if event.stream is Stream.COUNTRY_ONLY:
            row = national.setdefault(event.country, np.zeros(months))
            row[month_index(event.month, start=start)] += 1
        else:
            seen.setdefault(event.unit, Counter())[event.country] += 1
    # A cell across a border belongs to the country most of its events name (ties: the
    # first alphabetically), whatever order the events come in.
    countries = {u: min(c, key=lambda k: (-c[k], k)) for u, c in seen.items()}
    units = tuple(sorted(countries))
    where = {u: i for i, u in enumerate(units)}
    grids = {s: np.zeros((len(units), months)) for s in Stream}
    for event in kept:
        if event.stream is not Stream.COUNTRY_ONLY:
            grids[event.stream][where[event.unit], month_index(event.month, start=start)] += 1
    for i, unit in enumerate(units):
        if countries[unit] in national:
            grids[Stream.COUNTRY_ONLY][i] = national[countries[unit]]
    counts = facilities or {}
    return Panel(
        kind=kind,
        units=units,
        countries=tuple(countries[u] for u in units),
        start=start,
        health=grids[Stream.HEALTH],
        aid=grids[Stream.AID],
        conflict=grids[Stream.CONFLICT],
        country_only=grids[Stream.COUNTRY_ONLY],
        facilities=np.array([float(counts.get(u, 0)) for u in units]),
        neighbours=_neighbours(kind, units),
        second_ring=_neighbours(kind, units, distance=2),
    )


def _shift(grid: FloatArray, by: int) -> FloatArray:
    """``out[:, t] = grid[:, t - by]`` (zeros before the start)."""
    out = np.zeros_like(grid)
    if by < grid.shape[1]:
        out[:, by:] = grid[:, : grid.shape[1] - by]
    return out


def past_sum(grid: FloatArray, *, window: int | None = None) -> FloatArray:
    """``out[:, t]`` = sum of ``grid[:, s]`` for ``t - window <= s < t`` (all ``s < t`` if None)."""
    before = np.zeros((grid.shape[0], grid.shape[1] + 1))
    np.cumsum(grid, axis=1, out=before[:, 1:])
    total = before[:, :-1]
    if window is None:
        return total
    return total - _shift(total, window)


def decay_factor(half_life: float) -> float:
    """Monthly weight kept by an exponentially decayed count with this half-life (months)."""
    if not half_life > 0:
        raise InvalidInput("half-life must be above 0", fields={"half_life": str(half_life)})
    return float(0.5 ** (1.0 / half_life))


def _decayed(grid: FloatArray, *, half_life: float) -> FloatArray:
    """``out[:, t] = sum_{s<t} a**(t-1-s) * grid[:, s]`` with ``a`` from the half-life."""
    a = decay_factor(half_life)
    out = np.zeros_like(grid)
    for t in range(1, grid.shape[1]):
        out[:, t] = a * out[:, t - 1] + grid[:, t - 1]
    return out


def _months_since(grid: FloatArray) -> FloatArray:
    """Months since the last month with an event before ``t`` (``NEVER`` when none)."""
    out = np.full(grid.shape, NEVER)
    last = np.full(grid.shape[0], -1.0)
    for t in range(1, grid.shape[1]):
        last = np.where(grid[:, t - 1] > 0, t - 1, last)
        out[:, t] = np.where(last >= 0, np.minimum(t - last, NEVER), NEVER)
    return out


def _country_rest(panel: Panel, grid: FloatArray) -> FloatArray:
    """For each unit: the sum of ``grid`` over the other units of its country."""
    names = sorted(set(panel.countries))
    index = np.array([names.index(c) for c in panel.countries], dtype=np.int64)
    totals = np.zeros((len(names), grid.shape[1]))
    np.add.at(totals, index, grid)
    return totals[index] - grid


def features(panel: Panel, *, half_life: float) -> FloatArray:
    """Features of every unit and month, shape ``(units, months, len(FEATURES))``.

    The row of month ``t`` is computed from months before ``t`` only (and the
    unit's static facility count), so a model trained on it cannot see the
    month it predicts.
    """
    health, aid, conflict = panel.health, panel.aid, panel.conflict
    decayed = _decayed(health, half_life=half_life)
    aid_decayed = _decayed(aid, half_life=half_life)
    ring = panel.neighbours
    ring2 = panel.second_ring
    occurred = (health > 0).astype(np.float64)
    weight = _decayed(np.ones_like(health), half_life=half_life)
    weight[weight == 0] = 1.0
    past = past_sum(health)
    months_seen = np.maximum(np.arange(panel.months, dtype=np.float64), 1.0)
    columns = [
        _shift(health, 1),
        _shift(health, 2),
        _shift(health, 3),
        past_sum(health, window=12),
        past / months_seen,
        past_sum(occurred) / months_seen,
        decayed,
        _decayed(occurred, half_life=half_life) / weight,
        _months_since(health),
        np.asarray(ring @ _shift(health, 1)),
        np.asarray(ring @ decayed),
        np.asarray(ring @ past_sum(health, window=12)),
        np.asarray(ring2 @ decayed),
        _country_rest(panel, decayed),
        np.broadcast_to(np.log1p(_shift(health, 1).sum(axis=0))[None, :], health.shape),
        _shift(aid, 1),
        aid_decayed,
        np.asarray(ring @ aid_decayed),
        _shift(conflict, 1),
        _decayed(conflict, half_life=half_life),
        _shift(panel.country_only, 1),
        _decayed(panel.country_only, half_life=half_life),
        np.broadcast_to(np.log1p(panel.facilities)[:, None], health.shape),
    ]
    return np.stack(columns, axis=2)


def baseline(panel: Panel, method: str, *, half_life: float) -> tuple[FloatArray, FloatArray]:
    """A baseline's probability of ≥1 attack and expected count for every unit and month.

    ``all_zero``: nothing happens. ``conflictology``: the unit's share of earlier
    months with an attack, and its mean count. ``decayed``: the same with
    exponentially decayed weights (recent months count more). ``last_value``:
    last month again. Each uses only months before the one it predicts; a month
    with no history gets 0.
    """
    health = panel.health
    occurred = (health > 0).astype(np.float64)
    if method == "all_zero":
        return np.zeros_like(health), np.zeros_like(health)
    if method == "last_value":
        return _shift(occurred, 1), _shift(health, 1)
    if method == "conflictology":
        seen = np.maximum(np.arange(panel.months, dtype=np.float64), 1.0)
        return past_sum(occurred) / seen, past_sum(health) / seen
    if method == "decayed":
        weight = _decayed(np.ones_like(health), half_life=half_life)
        weight[weight == 0] = 1.0
        return (
            _decayed(occurred, half_life=half_life) / weight,
            _decayed(health, half_life=half_life) / weight,
        )
    raise InvalidInput(f"unknown baseline {method!r}", fields={"method": method})


def _sklearn() -> Any:
    try:
        from sklearn import ensemble  # noqa: PLC0415 - optional extra
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ConfigurationError("forecasting needs scikit-learn: install haven[forecast]") from exc
    return ensemble


GLM_WEIGHT = 0.7
"""Share of the logistic GLM in the probability; the rest is the boosted classifier's.

Chosen on the validation months 2018-01..2019-12, before the test months
(docs/methodology.md, "Third attempt").
"""


def _log_features(rows: FloatArray) -> FloatArray:
    return np.log1p(np.maximum(rows, 0.0))


def _glm(rows: FloatArray, occurred: IntArray, *, weight: FloatArray) -> Any:
    """A logistic regression on the standardised logs of the features (counts are skewed)."""
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415 - optional extra
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: PLC0415

    glm = make_pipeline(
        FunctionTransformer(_log_features), StandardScaler(), LogisticRegression(max_iter=2000)
    )
    glm.fit(rows, occurred, logisticregression__sample_weight=weight)
    return glm


@dataclass
class Model:
    """The fitted models: occurrence (boosted classifier + logistic GLM) and count regressor."""

    classifier: Any
    regressor: Any
    constant: float | None = None
    """Set when training saw only one class: that probability is answered everywhere."""
    glm: Any = None

    def predict(self, rows: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Probability of ≥1 attack and expected count for feature ``rows`` (n × features).

        The probability is ``GLM_WEIGHT`` × the GLM's + the rest × the boosted
        classifier's; the count is the regressor's rate × the rows' ``exposure``.
        """
        if len(rows) == 0:
            return np.zeros(0), np.zeros(0)
        rate = np.asarray(self.regressor.predict(rows), dtype=np.float64)
        mean = rate * exposure(rows)
        if self.constant is not None:
            return np.full(len(rows), self.constant), mean
        proba = np.asarray(self.classifier.predict_proba(rows)[:, 1], dtype=np.float64)
        linear = np.asarray(self.glm.predict_proba(rows)[:, 1], dtype=np.float64)
        return GLM_WEIGHT * linear + (1 - GLM_WEIGHT) * proba, mean


EXPOSURE_FLOOR = 0.5
"""Added to a unit's decayed count to make its exposure, so a unit with no history has one."""


def exposure(rows: FloatArray) -> FloatArray:
    """Each row's exposure: the unit's exponentially decayed count plus ``EXPOSURE_FLOOR``.

    The count regressor learns the rate per unit of exposure and the expected
    count is rate × exposure, so a unit whose level rises beyond anything in
    training is forecast at its own new level (trees alone cannot predict a
    count above the largest they were trained on).
    """
    return rows[:, FEATURES.index("decayed")] + EXPOSURE_FLOOR


MAX_QUIET_ROWS = 40_000
"""Training keeps at most this many quiet unit-months (a weighted random sample of them)."""


def _thin(
    rows: FloatArray, counts: FloatArray, *, seed: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Every unit-month except a sample of the quiet ones, weighted to stand for them all.

    Quiet: no attack that month, in the 12 months before, or next door in those
    12 months. Most H3 unit-months are quiet and easy; sampling them (weight
    ``quiet / kept``) keeps the fitted rates unbiased and a fit on the whole H3
    panel short.
    """
    quiet = np.flatnonzero(
        (counts == 0)
        & (rows[:, FEATURES.index("sum12")] == 0)
        & (rows[:, FEATURES.index("ring_sum12")] == 0)
    )
    weight = np.ones(len(counts))
    if len(quiet) <= MAX_QUIET_ROWS:
        return rows, counts, weight
    rng = np.random.default_rng(seed)
    dropped = rng.choice(quiet, size=len(quiet) - MAX_QUIET_ROWS, replace=False)
    keep = np.ones(len(counts), dtype=bool)
    keep[dropped] = False
    weight[quiet] = len(quiet) / MAX_QUIET_ROWS
    return rows[keep], counts[keep], weight[keep]


def fit(rows: FloatArray, counts: FloatArray, *, seed: int = 0) -> Model:
    """Fit the model on feature ``rows`` (n × features) and observed ``counts`` (n)."""
    if len(rows) == 0:
        raise InvalidInput("no training rows: the history is too short", fields={})
    ensemble = _sklearn()
    rows, counts, weight = _thin(rows, counts, seed=seed)
    settings = {
        "max_iter": 150,
        "learning_rate": 0.05,
        "max_leaf_nodes": 15,
        "min_samples_leaf": min(40, max(5, len(rows) // 50)),  # 2% of rows, 5 to 40
        "l2_regularization": 1.0,
        "early_stopping": False,
        "random_state": seed,
    }
    regressor = ensemble.HistGradientBoostingRegressor(loss="poisson", **settings)
    scale = exposure(rows)  # Poisson with offset log(scale): fit count / scale, weighted by scale
    regressor.fit(rows, counts / scale, sample_weight=weight * scale)
    occurred = (counts > 0).astype(np.int64)
    if occurred.min() == occurred.max():
        return Model(classifier=None, regressor=regressor, constant=float(occurred[0]))
    classifier = ensemble.HistGradientBoostingClassifier(**settings)
    classifier.fit(rows, occurred, sample_weight=weight)
    glm = _glm(rows, occurred, weight=weight)
    return Model(classifier=classifier, regressor=regressor, glm=glm)


def training_rows(
    table: FloatArray, panel: Panel, *, before: int, first: int = 3
) -> tuple[FloatArray, FloatArray]:
    """Feature rows and counts of months ``first``..``before - 1`` (what is known at ``before``)."""
    span = slice(first, max(first, before))
    rows = table[:, span, :].reshape(-1, table.shape[2])
    return rows, panel.health[:, span].reshape(-1)


# --- loading from the database -------------------------------------------------------------


def _streams(session: Session, ids: Sequence[str]) -> dict[str, set[Stream]]:
    found: dict[str, set[Stream]] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = session.execute(
            select(ReportRow.incident_id, SourceRow.name)
            .join(SourceRow, SourceRow.id == ReportRow.source_id)
            .where(ReportRow.incident_id.in_(chunk))
        )
        for incident_id, name in rows:
            stream = (
                Stream.AID
                if name in AID_SOURCES
                else Stream.CONFLICT
                if name in CONFLICT_SOURCES
                else Stream.HEALTH
            )
            found.setdefault(incident_id, set()).add(stream)
    return found


def _incident_unit(
    kind: UnitKind, *, country: str, admin1: str | None, cell: str | None
) -> str | None:
    """The unit an incident is counted in (None: its location is coarser than the unit)."""
    if kind is UnitKind.COUNTRY:
        return country
    if kind is UnitKind.ADMIN1:
        return admin1_unit(country, admin1)
    return cell


def _events(
    session: Session, *, actor: Actor, kind: UnitKind, exercise: bool
) -> tuple[list[Event], int]:
    """Events the actor may see, and how many incidents could not be placed in a unit."""
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.occurred_at,
            IncidentRow.date_precision,
            IncidentRow.country,
            IncidentRow.h3_r4,
            IncidentRow.admin1,
        ).where(
            policy.visible_incidents(session, actor),
            IncidentRow.merged_into.is_(None),
            IncidentRow.is_exercise.is_(exercise),
            IncidentRow.state.not_in(["rejected", "withdrawn"]),
        )
    ).all()
    streams = _streams(session, [r.id for r in rows])
    events: list[Event] = []
    unplaced = 0
    for row in rows:
        unit = _incident_unit(kind, country=row.country, admin1=row.admin1, cell=row.h3_r4)
        if unit is None or row.date_precision == DatePrecision.YEAR.value:
            unplaced += 1
        month = date(row.occurred_at.year, row.occurred_at.month, 1)
        kinds = streams.get(row.id, {Stream.HEALTH})
        if row.date_precision == DatePrecision.YEAR.value:
            continue
        if unit is None:
            if Stream.HEALTH in kinds:  # known to the country only: context for its units
                events.append(
                    Event(unit=row.country, country=row.country, month=month,
                          stream=Stream.COUNTRY_ONLY)
                )  # fmt: skip
            continue
        for stream in kinds:
            events.append(Event(unit=unit, country=row.country, month=month, stream=stream))
    return events, unplaced


def _facility_counts(session: Session, *, kind: UnitKind, exercise: bool) -> dict[str, int]:
    counts: dict[str, int] = {}
    rows = session.execute(
        select(FacilityRow.country, FacilityRow.admin1, FacilityRow.lon, FacilityRow.lat).where(
            FacilityRow.is_exercise.is_(exercise)
        )
    )
    for country, admin1, lon, lat in rows:
        cell = h3_cell(LonLat(lon, lat), resolution=H3_RESOLUTION) if kind is UnitKind.H3 else None
        unit = _incident_unit(kind, country=country, admin1=admin1, cell=cell)
        if unit is not None:
            counts[unit] = counts.get(unit, 0) + 1
    return counts


def load_events(
    session: Session,
    *,
    actor: Actor,
    kind: UnitKind,
    exercise: bool = False,
    countries: Sequence[str] = (),
) -> tuple[list[Event], int, dict[str, int]]:
    """Events ``actor`` may see, incidents not placed in a unit, and facilities per unit."""
    events, unplaced = _events(session, actor=actor, kind=kind, exercise=exercise)
    if countries:
        events = [e for e in events if e.country in countries]
    return events, unplaced, _facility_counts(session, kind=kind, exercise=exercise)


def health_months(events: Sequence[Event]) -> tuple[date, date]:
    """First and last month with an attack on health care (``InvalidInput`` when none)."""
    months = [e.month for e in events if e.stream is Stream.HEALTH]
    if not months:
        raise InvalidInput(
            "no attacks on health care to forecast from", fields={"incidents": "none visible"}
        )
    return min(months), max(months)


def load_panel(
    session: Session,
    *,
    actor: Actor,
    kind: UnitKind,
    exercise: bool = False,
    end: date | None = None,
    countries: Sequence[str] = (),
) -> tuple[Panel, int]:
    """The panel of what ``actor`` may see, from the first attack on health care to ``end``.

    ``end`` defaults to the last month with an attack on health care. Returns the
    panel and the number of incidents that could not be placed in a unit.
    """
    events, unplaced, facilities = load_events(
        session, actor=actor, kind=kind, exercise=exercise, countries=countries
    )
    first, last = health_months(events)
    panel = build_panel(events, kind=kind, start=first, end=end or last, facilities=facilities)
    return panel, unplaced


def shift_month(month: date, months: int) -> date:
    """The first day of the month ``months`` after (or before, if negative) ``month``."""
    return month_at(date(month.year, month.month, 1), months)


def _placed(kind: UnitKind) -> Any:
    base = [
        IncidentRow.merged_into.is_(None),
        IncidentRow.is_exercise.is_(False),
        IncidentRow.date_precision != DatePrecision.YEAR.value,
    ]
    if kind is UnitKind.H3:
        base.append(IncidentRow.h3_r4.is_not(None))
    if kind is UnitKind.ADMIN1:  # a placeholder name counts here; close enough for coverage
        base.append(IncidentRow.admin1.is_not(None))
    return base


def sources_end(session: Session, *, kind: UnitKind, min_incidents: int = 100) -> date:
    """The last month that every health-care source (≥ ``min_incidents`` placed) still covers.

    Published datasets end at different dates (SHCC 2023, WHO SSA 2024); months
    after the first of them ends would look like a fall in attacks that did not happen.
    """
    rows = session.execute(
        select(SourceRow.name, func.count(IncidentRow.id), func.max(IncidentRow.occurred_at))
        .join(ReportRow, ReportRow.source_id == SourceRow.id)
        .join(IncidentRow, IncidentRow.id == ReportRow.incident_id)
        .where(*_placed(kind), SourceRow.name.not_in(sorted(AID_SOURCES | CONFLICT_SOURCES)))
        .group_by(SourceRow.name)
    ).all()
    ends = [last for _name, count, last in rows if count >= min_incidents and last is not None]
    if not ends:
        ends = [last for _name, _count, last in rows if last is not None]
    if not ends:
        raise InvalidInput(
            "no attacks on health care to forecast from", fields={"incidents": "none"}
        )
    last = min(ends)
    return date(last.year, last.month, 1)


def top_countries(session: Session, *, kind: UnitKind, count: int) -> list[str]:
    """The ``count`` countries with the most placed attacks on health care."""
    rows = session.execute(
        select(IncidentRow.country, func.count(IncidentRow.id.distinct()))
        .join(ReportRow, ReportRow.incident_id == IncidentRow.id)
        .join(SourceRow, SourceRow.id == ReportRow.source_id)
        .where(*_placed(kind), SourceRow.name.not_in(sorted(AID_SOURCES | CONFLICT_SOURCES)))
        .group_by(IncidentRow.country)
    ).all()
    ranked = sorted(rows, key=lambda r: (-r[1], r[0]))
    return [str(r[0]) for r in ranked[:count]]


def data_version(session: Session) -> tuple[Any, ...]:
    """What changes when incidents or facilities change (counts and latest updates), for caching."""
    incidents = session.execute(
        select(func.count(IncidentRow.id), func.max(IncidentRow.updated_at))
    ).one()
    facilities = session.execute(
        select(func.count(FacilityRow.id), func.max(FacilityRow.updated_at))
    ).one()
    return (*incidents, *facilities)
