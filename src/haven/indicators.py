"""Transparency indicators: attacks per month by type, resource, facility type and country;
verification, notified-site strikes, investigation and remedy; trends with confidence bands.

Two service functions answer the same ``Indicators`` schema:

- ``public(session, scope)`` reads one **published release** only (its count
  cells, published rows and frozen quality figures; ``haven.indicator_release``):
  what the public dashboard, ``GET /api/public/indicators`` and the risk
  assessment show. It never reads an incident row.
- ``internal(session, scope, actor=...)`` reads the **live** records the actor
  may see (need-to-know, ``haven.policy``), for signed-in users; it adds
  corridor travel times and closures.

Every definition is in docs/indicators.md.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import corridors, policy
from haven.accounts import Actor, Permission, require
from haven.corridors import CorridorKpis
from haven.indicator_facts import quality_facts
from haven.indicator_release import choose_release, release_ref, tally_release
from haven.indicator_scope import Scope, Window, month_label, parse_period
from haven.indicator_tally import (
    Breakdown,
    Indicators,
    MonthCount,
    ReleaseRef,
    Share,
    Tally,
    assemble,
)
from haven.models import IncidentAttackTypeRow, IncidentRow, utcnow
from haven.taxonomy import DatePrecision, IncidentState

__all__ = [
    "Breakdown",
    "Indicators",
    "MonthCount",
    "ReleaseRef",
    "Scope",
    "Share",
    "internal",
    "public",
]

COUNTED_STATES = tuple(
    s.value for s in IncidentState if s not in (IncidentState.REJECTED, IncidentState.WITHDRAWN)
)
"""Verification states counted by the internal indicators (rejected and withdrawn are not)."""


def public(session: Session, scope: Scope, *, version: int | None = None) -> Indicators:
    """The indicators of ``scope`` from a published release (the newest one holding counts for
    the scope's country, or ``version``); anonymous, released data only."""
    content = choose_release(session, country=scope.country, version=version)
    tally = tally_release(content, scope)
    return assemble(tally, source="release", country=scope.country, release=release_ref(content))


def _internal_window(scope: Scope, *, now: datetime) -> Window:
    if scope.period is not None:
        first, last = parse_period(scope.period)
        return Window.of(scope.period, first=first, last=last, trend_months=scope.trend_months)
    last = now.astimezone(UTC).date().replace(day=1) - timedelta(days=1)
    first = last.replace(day=1)
    for _ in range(11):
        first = (first - timedelta(days=1)).replace(day=1)
    label = f"{month_label(first)}/{month_label(last)}"
    return Window.of(label, first=first, last=last, trend_months=scope.trend_months)


def _conditions(session: Session, scope: Scope, *, window: Window, actor: Actor) -> list[object]:
    conditions: list[object] = [
        policy.visible_incidents(session, actor),
        IncidentRow.merged_into.is_(None),
        IncidentRow.is_exercise.is_(False),
        IncidentRow.state.in_(COUNTED_STATES),
        IncidentRow.occurred_at >= window.since,
        IncidentRow.occurred_at < window.until,
    ]
    if scope.country is not None:
        conditions.append(IncidentRow.country == scope.country)
    return conditions


def _fill_live(session: Session, tally: Tally, *, scope: Scope, actor: Actor) -> list[str]:
    """Count the live incidents of the window into ``tally``; the ids in the period."""
    window = tally.window
    conditions = _conditions(session, scope, window=window, actor=actor)
    types: dict[str, list[str]] = defaultdict(list)
    for incident_id, attack_type in session.execute(
        select(IncidentAttackTypeRow.incident_id, IncidentAttackTypeRow.attack_type)
        .join(IncidentRow, IncidentRow.id == IncidentAttackTypeRow.incident_id)
        .where(*conditions)  # type: ignore[arg-type]
    ):
        types[incident_id].append(attack_type)
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.occurred_at,
            IncidentRow.date_precision,
            IncidentRow.country,
            IncidentRow.resources,
            IncidentRow.facility_type,
            IncidentRow.killed_total,
            IncidentRow.injured_total,
            IncidentRow.certainty,
        )
        .where(*conditions)  # type: ignore[arg-type]
        .order_by(IncidentRow.id)
    ).all()
    assert tally.resources is not None and tally.facility_types is not None
    assert tally.certainty is not None and tally.killed is not None and tally.injured is not None
    in_period: list[str] = []
    year_only = 0
    for row in rows:
        if row.date_precision == DatePrecision.YEAR.value:
            year_only += 1
            continue
        month = month_label(row.occurred_at.date())
        key = (row.country, month)
        tally.totals[key] = (tally.totals.get(key) or 0) + 1
        if month not in window.months:
            continue
        in_period.append(row.id)
        for attack_type in sorted(set(types[row.id])):
            tally.types[(attack_type, month)] = (tally.types.get((attack_type, month)) or 0) + 1
        for resource in sorted(set(row.resources)):
            tally.resources[(resource, month)] += 1
        if row.facility_type:
            tally.facility_types[(row.facility_type, month)] += 1
        tally.certainty[row.certainty] += 1
        tally.killed += row.killed_total
        tally.injured += row.injured_total
    if year_only:
        tally.notes.append(f"{year_only} incidents dated only to the year are not counted")
    return in_period


def _corridors(session: Session, window: Window) -> CorridorKpis:
    return corridors.corridor_kpis(
        session, since=window.period_since, until=window.until, exercise=False
    )


def internal(
    session: Session, scope: Scope, *, actor: Actor, now: datetime | None = None
) -> Indicators:
    """The indicators of ``scope`` from the live records ``actor`` may see (signed in).

    Real incidents only (never exercise data), not merged away, not rejected or
    withdrawn; with no period, the last 12 full months before ``now``.
    """
    require(actor, Permission.READ_INCIDENTS)
    at = now or utcnow()
    window = _internal_window(scope, now=at)
    tally = Tally(window=window)
    tally.covered = set(window.trend)
    in_period = _fill_live(session, tally, scope=scope, actor=actor)
    for facts in quality_facts(session, in_period, actor=actor, as_of=at).values():
        tally.quality.add(facts)
    found = assemble(tally, source="live", country=scope.country)
    return found.model_copy(update={"corridors": _corridors(session, window)})
