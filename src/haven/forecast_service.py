"""Forecasts served to users: choose the method that scores best lately, predict, cache."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from haven.accounts import Actor, Permission, require
from haven.errors import InvalidInput
from haven.forecast import (
    Event,
    FloatArray,
    Panel,
    Stream,
    UnitKind,
    baseline,
    build_panel,
    features,
    fit,
    health_months,
    load_events,
    month_at,
    month_index,
    past_sum,
    training_rows,
)
from haven.settings import Settings

__all__ = [
    "CACHE_SIZE",
    "UnitForecast",
    "UnitForecasts",
    "clear_cache",
    "forecast_units",
    "input_digest",
]


class UnitForecast(BaseModel):
    """One unit's forecast for one month."""

    unit: str = Field(
        description="ISO3 country code, admin area ('ISO3:name', see haven.admin_areas), "
        "or H3 cell id (resolution 4)."
    )
    country: str
    probability: float = Field(description="Probability of at least one attack on health care.")
    expected_count: float = Field(description="Expected number of attacks on health care.")
    last_12_months: int = Field(description="Attacks recorded in the unit in the 12 months before.")


class UnitForecasts(BaseModel):
    """Forecasts of every unit for one month, and how they were made."""

    unit_kind: UnitKind
    month: date = Field(description="The month forecast (its first day).")
    data_through: date | None = Field(
        description="Last month with a recorded attack on health care (none: nothing recorded)."
    )
    method: str = Field(description="Method served: model or a baseline.")
    method_reason: str
    validation_brier: dict[str, float] = Field(
        default_factory=dict, description="Brier score of each method over the validation months."
    )
    exercise: bool
    unplaced_incidents: int = Field(
        description="Incidents not placed in a unit (location too coarse, or only a year)."
    )
    forecasts: list[UnitForecast]


def _predict(
    panel: Panel, method: str, *, at: int, half_life: float
) -> tuple[FloatArray, FloatArray]:
    """Every unit's forecast for month ``at`` made with what is known before it."""
    table = features(panel, half_life=half_life)
    if method != "model":
        probability, mean = baseline(panel, method, half_life=half_life)
        return probability[:, at], mean[:, at]
    rows, counts = training_rows(table, panel, before=at)
    if len(rows) == 0:
        probability, mean = baseline(panel, "conflictology", half_life=half_life)
        return probability[:, at], mean[:, at]
    return fit(rows, counts).predict(table[:, at, :])


def _choose(panel: Panel, settings: Settings, *, at: int) -> tuple[str, str, dict[str, float]]:
    """The method to serve for month ``at`` and why."""
    wanted = settings.forecast_method
    if wanted != "auto":
        return wanted, "set by the forecast_method setting", {}
    window = settings.forecast_validation_months
    first = max(6, at - window)
    if at - first < 3:
        return "conflictology", "too little history to validate the model", {}
    half_life = settings.forecast_half_life_months
    table = features(panel, half_life=half_life)
    observed = (panel.health[:, first:at] > 0).astype(np.float64)
    rows, counts = training_rows(table, panel, before=first)
    scores: dict[str, float] = {}
    if len(rows) and counts.max() > 0:
        model = fit(rows, counts)
        proba, _ = model.predict(table[:, first:at, :].reshape(-1, table.shape[2]))
        scores["model"] = float(np.mean((proba - observed.reshape(-1)) ** 2))
    for method in ("conflictology", "decayed"):
        probability, _ = baseline(panel, method, half_life=half_life)
        scores[method] = float(np.mean((probability[:, first:at] - observed) ** 2))
    best = min(scores, key=lambda m: (scores[m], m != "model"))
    reason = (
        f"best Brier score over the {at - first} months before "
        f"{panel.month(at).isoformat()[:7]} (forecast_method=auto)"
    )
    return best, reason, scores


CACHE_SIZE = 32
"""Answers kept (least recently used dropped first): a few views × kinds × months × labels."""

_CACHE: OrderedDict[tuple[Any, ...], UnitForecasts] = OrderedDict()
_PENDING: dict[tuple[Any, ...], Future[UnitForecasts]] = {}
_CACHE_LOCK = threading.Lock()


def input_digest(events: Sequence[Event], *, unplaced: int, facilities: Mapping[str, int]) -> str:
    """A digest of everything a forecast is computed from, in a canonical order.

    Two callers whose visible incidents yield the same events (and the same
    unplaced count and facility counts) get the same digest, whoever they are;
    a caller who sees one incident more or less gets another one.
    """
    lines = sorted(f"{e.unit}\t{e.country}\t{e.month:%Y-%m}\t{e.stream.value}" for e in events)
    lines.append(f"unplaced\t{unplaced}")
    lines.extend(f"facilities\t{unit}\t{n}" for unit, n in sorted(facilities.items()))
    return hashlib.blake2b("\n".join(lines).encode(), digest_size=20).hexdigest()


def _knobs(settings: Settings) -> tuple[Any, ...]:
    return (
        settings.forecast_method,
        settings.forecast_half_life_months,
        settings.forecast_validation_months,
    )


def _cached(key: tuple[Any, ...], compute: Callable[[], UnitForecasts]) -> UnitForecasts:
    """The answer under ``key``: cached, awaited from a caller already computing it, or computed.

    Only one caller computes a given key at a time; others with the same key wait for
    its answer (or its error) instead of fitting the same model again.
    """
    mine: Future[UnitForecasts] = Future()
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        pending = _PENDING.setdefault(key, mine)
    if pending is not mine:
        return pending.result()
    try:
        result = compute()
    except BaseException as exc:
        with _CACHE_LOCK:
            del _PENDING[key]
        mine.set_exception(exc)
        raise
    with _CACHE_LOCK:
        del _PENDING[key]
        _CACHE[key] = result
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    mine.set_result(result)
    return result


def clear_cache() -> None:
    """Forget every cached answer (answers being computed are kept by their callers)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _nothing(kind: UnitKind, *, month: date | None, exercise: bool, unplaced: int) -> UnitForecasts:
    today = datetime.now(UTC)
    return UnitForecasts(
        unit_kind=kind,
        month=month or date(today.year, today.month, 1),
        data_through=None,
        method="none",
        method_reason="no attack on health care that the caller may see is recorded",
        exercise=exercise,
        unplaced_incidents=unplaced,
        forecasts=[],
    )


def forecast_units(
    session: Session,
    settings: Settings,
    *,
    actor: Actor,
    kind: UnitKind,
    month: date | None = None,
    exercise: bool = False,
) -> UnitForecasts:
    """Every unit's probability of ≥1 attack on health care and expected count in ``month``.

    ``month`` defaults to the month after the last recorded attack. Only incidents
    before ``month`` that ``actor`` may see are used; exercise and real data are
    never mixed (``exercise`` picks which).

    Answers are cached under a digest of the input itself (``input_digest`` of the
    events ``load_events`` returns for ``actor``), the forecast settings, ``kind``,
    the month forecast and ``exercise``, never under who asks: callers who see the
    same incidents share one fit, and a caller is only ever served an answer built
    from exactly the incidents they may see. Loading the events runs on every call;
    only the fit is saved.
    """
    require(actor, Permission.READ_INCIDENTS)
    events, unplaced, facilities = load_events(session, actor=actor, kind=kind, exercise=exercise)
    if not any(e.stream is Stream.HEALTH for e in events):
        return _nothing(kind, month=month, exercise=exercise, unplaced=unplaced)
    first, data_through = health_months(events)
    target = month or month_at(data_through, 1)
    at = month_index(target, start=first)
    if at < 1:
        raise InvalidInput("no history before that month", fields={"month": target.isoformat()[:7]})
    digest = input_digest(events, unplaced=unplaced, facilities=facilities)
    key = (digest, _knobs(settings), kind, target, exercise)
    return _cached(
        key,
        lambda: _compute(
            events,
            settings,
            kind=kind,
            target=target,
            exercise=exercise,
            unplaced=unplaced,
            facilities=facilities,
        ),
    )


def _compute(
    events: list[Event],
    settings: Settings,
    *,
    kind: UnitKind,
    target: date,
    exercise: bool,
    unplaced: int,
    facilities: dict[str, int],
) -> UnitForecasts:
    """Fit (or apply the baseline) and forecast every unit for ``target``: the slow part."""
    first, data_through = health_months(events)
    at = month_index(target, start=first)
    panel = build_panel(events, kind=kind, start=first, end=target, facilities=facilities)
    method, reason, scores = _choose(panel, settings, at=at)
    probability, mean = _predict(panel, method, at=at, half_life=settings.forecast_half_life_months)
    recent = past_sum(panel.health, window=12)[:, at]
    result = UnitForecasts(
        unit_kind=kind,
        month=target,
        data_through=min(data_through, month_at(target, -1)),
        method=method,
        method_reason=reason,
        validation_brier=scores,
        exercise=exercise,
        unplaced_incidents=unplaced,
        forecasts=[
            UnitForecast(
                unit=unit,
                country=panel.countries[i],
                probability=round(float(np.clip(probability[i], 0.0, 1.0)), 4),
                expected_count=round(float(max(mean[i], 0.0)), 4),
                last_12_months=int(recent[i]),
            )
            for i, unit in enumerate(panel.units)
        ],
    )
    return result
