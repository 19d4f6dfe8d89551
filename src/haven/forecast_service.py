"""Forecasts served to users: choose the method that scores best lately, predict, cache."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from haven.accounts import Actor, Permission, require
from haven.errors import InvalidInput
from haven.forecast import (
    FloatArray,
    Panel,
    Stream,
    UnitKind,
    baseline,
    build_panel,
    data_version,
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

__all__ = ["UnitForecast", "UnitForecasts", "forecast_units"]


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


_CACHE: dict[tuple[Any, ...], UnitForecasts] = {}
_CACHE_LOCK = threading.Lock()


def _cache_key(
    session: Session, actor: Actor, *, settings: Settings, extra: tuple[Any, ...]
) -> tuple[Any, ...]:
    who = (actor.role.value, actor.organisation_id, tuple(sorted(actor.countries)))
    knobs = (
        settings.forecast_method,
        settings.forecast_half_life_months,
        settings.forecast_validation_months,
    )
    return (str(session.get_bind().engine.url), who, knobs, data_version(session), *extra)


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
    never mixed (``exercise`` picks which). Answers are cached until incidents change.
    """
    require(actor, Permission.READ_INCIDENTS)
    key = _cache_key(session, actor, settings=settings, extra=(kind, month, exercise))
    with _CACHE_LOCK:
        if key in _CACHE:
            return _CACHE[key]
    events, unplaced, facilities = load_events(session, actor=actor, kind=kind, exercise=exercise)
    if not any(e.stream is Stream.HEALTH for e in events):
        return _nothing(kind, month=month, exercise=exercise, unplaced=unplaced)
    first, data_through = health_months(events)
    target = month or month_at(data_through, 1)
    at = month_index(target, start=first)
    if at < 1:
        raise InvalidInput("no history before that month", fields={"month": target.isoformat()[:7]})
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
    with _CACHE_LOCK:
        if len(_CACHE) > 32:
            _CACHE.clear()
        _CACHE[key] = result
    return result
