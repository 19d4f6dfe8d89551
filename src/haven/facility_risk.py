"""Facility risk: a 0-1 score per facility for the coming month, with the parts it is made of.

Four parts, each a value from 0 to 1, weighted and added (``WEIGHTS``):

- ``forecast`` (0.4): the probability of at least one attack on health care in
  the facility's H3 resolution-4 cell that month (``haven.forecast``; 0 when no
  attack was ever recorded in the cell);
- ``recent_incidents`` (0.3): incidents in the ``facility_risk_window_days``
  before the as-of date, by distance band (1, 5 and 25 km). An incident counts
  in the nearest band that its location's precision allows (a point known to
  25 km is never counted "within 1 km"). Value ``1 - exp(-(1·n₁ + 0.3·n₅ +
  0.05·n₂₅))``: one incident within 1 km gives 0.63;
- ``notified_sites_struck`` (0.15): 1 when a site within 25 km (this one
  included) whose location had been notified to a party was struck in that
  window (notification did not protect it), else 0;
- ``status`` (0.15): the facility's latest status: not functioning 1, partially
  functioning 0.5, operational or unknown 0 (disruption that often follows attacks).

The weights are a documented judgement, not fitted: the score ranks facilities
for attention and is not a probability. Only incidents the caller may see are
used; exercise and real data are never mixed. ``raise_alerts`` stores one
alert per facility and month whose score reaches ``facility_risk_alert_threshold``
and queues a message to the facility's parties and focal points
(``haven.alerts.notify_facility``); it scores with community-visible incidents
only, so a message never reveals a restricted incident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import alerts, audit, linkage, notification_proofs, policy
from haven.accounts import Actor, Permission, Role, require
from haven.errors import InvalidInput, NotFound
from haven.facility_status import FacilityStatus, StatusSummary, latest_statuses
from haven.forecast import H3_RESOLUTION, UnitKind
from haven.forecast_service import UnitForecasts, forecast_units
from haven.geo import LonLat, bbox_around, h3_cell, haversine_km
from haven.models import FacilityRiskAlertRow, FacilityRow, IncidentRow, utcnow
from haven.settings import Settings

__all__ = [
    "BANDS_KM",
    "COMMUNITY",
    "WEIGHTS",
    "FacilityRisk",
    "RiskPart",
    "facility_risk",
    "list_risks",
    "raise_alerts",
]

WEIGHTS = {"forecast": 0.4, "recent_incidents": 0.3, "notified_sites_struck": 0.15, "status": 0.15}
"""Weight of each part in the score (they add up to 1)."""
BANDS_KM = (1.0, 5.0, 25.0)
BAND_WEIGHTS = (1.0, 0.3, 0.05)
STATUS_VALUE = {
    FacilityStatus.NOT_FUNCTIONING: 1.0,
    FacilityStatus.PARTIALLY_FUNCTIONING: 0.5,
    FacilityStatus.OPERATIONAL: 0.0,
}
COMMUNITY = Actor(label="facility-risk alerts", role=Role.ANALYST)
"""Who risk alerts are computed as: sees only community-visible incidents."""


class RiskPart(BaseModel):
    """One part of a facility's risk score."""

    name: str
    value: float = Field(ge=0, le=1)
    weight: float
    contribution: float = Field(description="value × weight: its share of the score.")
    detail: dict[str, Any] = Field(default_factory=dict)


class FacilityRisk(BaseModel):
    """A facility's risk score for a month, and its parts."""

    facility_id: int
    name: str
    country: str
    lon: float
    lat: float
    month: date = Field(description="The month the forecast part is for.")
    as_of: datetime = Field(description="End of the window of recent incidents.")
    score: float = Field(ge=0, le=1)
    above_threshold: bool
    threshold: float
    exercise: bool
    parts: list[RiskPart]


def _part(name: str, value: float, *, detail: dict[str, Any]) -> RiskPart:
    value = min(1.0, max(0.0, value))
    weight = WEIGHTS[name]
    return RiskPart(
        name=name,
        value=round(value, 4),
        weight=weight,
        contribution=round(value * weight, 4),
        detail=detail,
    )


def _nearby_incidents(
    session: Session,
    point: LonLat,
    *,
    actor: Actor,
    since: datetime,
    until: datetime,
    exercise: bool,
) -> list[IncidentRow]:
    box = bbox_around(point, radius_km=BANDS_KM[-1])
    lon_ok = (
        IncidentRow.lon.between(box.west, box.east)
        if box.west <= box.east
        else (IncidentRow.lon >= box.west) | (IncidentRow.lon <= box.east)
    )
    return list(
        session.scalars(
            select(IncidentRow).where(
                policy.visible_incidents(session, actor),
                IncidentRow.is_exercise.is_(exercise),
                IncidentRow.merged_into.is_(None),
                IncidentRow.state.not_in(["rejected", "withdrawn"]),
                IncidentRow.occurred_at >= since,
                IncidentRow.occurred_at <= until,
                IncidentRow.lat.between(box.south, box.north),
                lon_ok,
            )
        )
    )


def _band(point: LonLat, incident: IncidentRow) -> int | None:
    """Index of the nearest band the incident may be counted in, or None (outside 25 km)."""
    assert incident.lon is not None and incident.lat is not None
    distance = haversine_km(point, LonLat(incident.lon, incident.lat))
    blur = (linkage.precision_radius_m(incident.geo_precision) or 0.0) / 1000.0
    reach = max(distance, blur)
    if distance > BANDS_KM[-1]:
        return None
    return next((i for i, b in enumerate(BANDS_KM) if reach <= b), len(BANDS_KM) - 1)


def _recent_part(point: LonLat, incidents: list[IncidentRow], *, window_days: int) -> RiskPart:
    counts = [0, 0, 0]
    for incident in incidents:
        band = _band(point, incident)
        if band is not None:
            counts[band] += 1
    weighted = sum(w * n for w, n in zip(BAND_WEIGHTS, counts, strict=True))
    detail = {f"within_{int(b)}_km": n for b, n in zip(BANDS_KM, counts, strict=True)}
    return _part("recent_incidents", 1 - math.exp(-weighted), detail=detail | {"days": window_days})


def _struck_part(
    session: Session, row: FacilityRow, *, incidents: list[IncidentRow], exercise: bool
) -> RiskPart:
    point = LonLat(row.lon, row.lat)
    nearby = {row.id} | {
        hit.facility_id
        for hit in linkage.nearest_facilities(
            session, point, radius_m=BANDS_KM[-1] * 1000, limit=200, exercise=exercise
        )
    }
    struck = sorted(
        {
            i.facility_id
            for i in incidents
            if i.facility_id in nearby
            and notification_proofs.proof_for_site(session, i.facility_id, at=i.occurred_at)
        }
    )
    return _part(
        "notified_sites_struck",
        1.0 if struck else 0.0,
        detail={"notified_sites_struck": len(struck), "sites_within_25_km": len(nearby)},
    )


def _status_part(status: str | None) -> RiskPart:
    value = STATUS_VALUE.get(FacilityStatus(status), 0.0) if status else 0.0
    return _part("status", value, detail={"status": status or "unknown"})


def _status(summary: StatusSummary | None, *, exercise: bool) -> str | None:
    """The status to score: an exercise status never counts for real scoring."""
    if summary is None or (summary.exercise and not exercise):
        return None
    return summary.status.value


def _forecast_part(row: FacilityRow, forecasts: UnitForecasts | None) -> RiskPart:
    cell = h3_cell(LonLat(row.lon, row.lat), resolution=H3_RESOLUTION)
    found = next((f for f in forecasts.forecasts if f.unit == cell), None) if forecasts else None
    detail: dict[str, Any] = {
        "h3_cell": cell,
        "method": forecasts.method if forecasts else None,
        "expected_count": found.expected_count if found else 0.0,
        "data_through": (
            forecasts.data_through.isoformat()[:7] if forecasts and forecasts.data_through else None
        ),
    }
    return _part("forecast", found.probability if found else 0.0, detail=detail)


def _forecasts(
    session: Session, settings: Settings, *, actor: Actor, month: date, exercise: bool
) -> UnitForecasts | None:
    try:
        return forecast_units(
            session, settings, actor=actor, kind=UnitKind.H3, month=month, exercise=exercise
        )
    except InvalidInput:  # nothing to forecast from (no attack recorded, or no history)
        return None


@dataclass(frozen=True)
class _Context:
    month: date
    as_of: datetime
    forecasts: UnitForecasts | None
    exercise: bool


def _score(
    session: Session,
    row: FacilityRow,
    *,
    actor: Actor,
    settings: Settings,
    context: _Context,
    status: str | None,
) -> FacilityRisk:
    month, as_of = context.month, context.as_of
    forecasts, exercise = context.forecasts, context.exercise
    window = settings.facility_risk_window_days
    point = LonLat(row.lon, row.lat)
    incidents = _nearby_incidents(
        session,
        point,
        actor=actor,
        since=as_of - timedelta(days=window),
        until=as_of,
        exercise=exercise,
    )
    parts = [
        _forecast_part(row, forecasts),
        _recent_part(point, incidents, window_days=window),
        _struck_part(session, row, incidents=incidents, exercise=exercise),
        _status_part(status),
    ]
    total = round(sum(p.contribution for p in parts), 4)
    threshold = settings.facility_risk_alert_threshold
    return FacilityRisk(
        facility_id=row.id,
        name=row.name,
        country=row.country,
        lon=row.lon,
        lat=row.lat,
        month=month,
        as_of=as_of,
        score=total,
        above_threshold=total >= threshold,
        threshold=threshold,
        exercise=exercise,
        parts=parts,
    )


def _month_after(moment: datetime) -> date:
    return date(moment.year + moment.month // 12, moment.month % 12 + 1, 1)


def _end_of(day: date | None) -> datetime:
    if day is None:
        return utcnow()
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


def _facilities(
    session: Session, *, actor: Actor, exercise: bool, country: str | None
) -> list[FacilityRow]:
    """The facilities to score: real ones (and exercise ones with ``exercise``) the actor may see.

    An actor limited to countries (need-to-know) sees only facilities in them, as in
    the registry (``facilities.list_facilities``).
    """
    query = select(FacilityRow).order_by(FacilityRow.id)
    if not exercise:
        query = query.where(FacilityRow.is_exercise.is_(False))
    if country:
        query = query.where(FacilityRow.country == country)
    if actor.countries:
        query = query.where(FacilityRow.country.in_(sorted(actor.countries)))
    return list(session.scalars(query))


def list_risks(
    session: Session,
    settings: Settings,
    *,
    actor: Actor,
    as_of: date | None = None,
    exercise: bool = False,
    country: str | None = None,
) -> list[FacilityRisk]:
    """Every facility's risk for the month after ``as_of`` (default today), highest first.

    Real facilities with real incidents; with ``exercise``, exercise incidents and
    every facility (as ``haven.linkage`` links exercise incidents).
    """
    require(actor, Permission.READ_INCIDENTS)
    moment = _end_of(as_of)
    month = _month_after(moment)
    forecasts = _forecasts(session, settings, actor=actor, month=month, exercise=exercise)
    rows = _facilities(session, actor=actor, exercise=exercise, country=country)
    statuses = latest_statuses(session, [r.id for r in rows])
    context = _Context(month=month, as_of=moment, forecasts=forecasts, exercise=exercise)
    risks = [
        _score(
            session,
            row,
            actor=actor,
            settings=settings,
            context=context,
            status=_status(statuses.get(row.id), exercise=exercise),
        )
        for row in rows
    ]
    return sorted(risks, key=lambda r: (-r.score, r.facility_id))


def facility_risk(
    session: Session,
    facility_id: int,
    *,
    actor: Actor,
    settings: Settings,
    as_of: date | None = None,
    exercise: bool = False,
) -> FacilityRisk:
    """One facility's risk for the month after ``as_of``, with its parts."""
    require(actor, Permission.READ_INCIDENTS)
    row = session.get(FacilityRow, facility_id)
    hidden = row is not None and bool(actor.countries) and row.country not in actor.countries
    if row is None or (row.is_exercise and not exercise) or hidden:
        raise NotFound(f"no facility {facility_id}", fields={"facility_id": "unknown"})
    moment = _end_of(as_of)
    month = _month_after(moment)
    forecasts = _forecasts(session, settings, actor=actor, month=month, exercise=exercise)
    status = _status(latest_statuses(session, [row.id]).get(row.id), exercise=exercise)
    context = _Context(month=month, as_of=moment, forecasts=forecasts, exercise=exercise)
    return _score(
        session,
        row,
        actor=actor,
        settings=settings,
        context=context,
        status=status,
    )


def _message(risk: FacilityRisk, *, alert_id: int) -> tuple[dict[str, Any], str]:
    payload = {
        "type": "facility_risk",
        "alert_id": alert_id,
        "exercise": risk.exercise,
        "facility": {"id": risk.facility_id, "name": risk.name},
        "month": risk.month.isoformat()[:7],
        "score": risk.score,
        "threshold": risk.threshold,
        "parts": {p.name: p.value for p in risk.parts},
        "note": "A risk score ranks facilities for attention; it is not a probability. "
        "No incident details are sent.",
    }
    lines = [
        ("EXERCISE - NOT A REAL EVENT\n" if risk.exercise else "")
        + f"Haven risk alert {alert_id}: {risk.name} scores {risk.score:.2f} for "
        f"{payload['month']} (threshold {risk.threshold:.2f}).",
        *(f"{p.name}: {p.value:.2f} (weight {p.weight})" for p in risk.parts),
        str(payload["note"]),
    ]
    return payload, "\n".join(lines) + "\n"


def raise_alerts(
    session: Session,
    settings: Settings,
    *,
    as_of: date | None = None,
    exercise: bool = False,
    actor: Actor = COMMUNITY,
) -> list[FacilityRisk]:
    """Store and send one alert per facility whose score reaches the threshold this month.

    A facility already alerted for the month is not alerted again. Returns the
    facilities newly alerted. Writes one audit event per alert.
    """
    raised: list[FacilityRisk] = []
    for risk in list_risks(session, settings, actor=actor, as_of=as_of, exercise=exercise):
        if not risk.above_threshold:
            break
        month = risk.month.isoformat()[:7]
        known = session.scalar(
            select(FacilityRiskAlertRow.id).where(
                FacilityRiskAlertRow.facility_id == risk.facility_id,
                FacilityRiskAlertRow.month == month,
            )
        )
        if known is not None:
            continue
        row = FacilityRiskAlertRow(
            facility_id=risk.facility_id,
            month=month,
            score=risk.score,
            parts={p.name: p.model_dump() for p in risk.parts},
            is_exercise=risk.exercise,
        )
        session.add(row)
        session.flush()
        payload, text = _message(risk, alert_id=row.id)
        queued = alerts.notify_facility(
            session,
            risk.facility_id,
            key=f"facility-risk:{row.id}",
            subject=("EXERCISE " if risk.exercise else "")
            + f"Haven risk alert: {risk.name} ({risk.score:.2f})",
            payload=payload,
            text=text,
            exercise=risk.exercise,
            now=utcnow(),
        )
        audit.record(
            session,
            actor,
            action="facility_risk.alert",
            entity_type="facility",
            entity_id=risk.facility_id,
            detail={"month": month, "score": risk.score, "messages": queued},
        )
        raised.append(risk)
    return raised
