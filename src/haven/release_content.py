"""What a release publishes: the public schemas, and how a policy builds them from incidents.

Only the non-sensitive columns of incidents are ever selected (``_COLUMNS``):
never the encrypted part, names, sources, free-text places, facility ids or
disaggregated victims. Each public row is built field by field from the
policy's matrix into ``PublicIncident``, a schema with no room for anything
else. Counts go into ``PublicCell``s, one table per country (period × attack
type with its totals), protected by ``haven.disclosure``; an incident row that
falls in a suppressed cell is withheld, so rows never re-count a hidden cell.
The quality figures frozen with a release (verification, notified-site strikes,
cases; only counts, suppressed with their cell) come from ``haven.release_indicators``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import orjson
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import disclosure, release_indicators
from haven.accounts import Actor
from haven.facts import Point
from haven.geo import LonLat, h3_cell, h3_centroid, h3_finest_resolution
from haven.models import IncidentAttackTypeRow, IncidentRow
from haven.policy import visible_incidents
from haven.release_policy import (
    Period,
    PublicField,
    ReleasePolicy,
    TimeUnit,
    cutoff_of,
    period_of,
    periods_between,
)
from haven.taxonomy import (
    Certainty,
    DatePrecision,
    GeoPrecision,
    PerpetratorCategory,
    SsaAttackType,
    SsaFacilityType,
    SsaResource,
    Tlp,
    Weapon,
)

__all__ = ["PublicCell", "PublicIncident", "ReleasePreview", "ReleaseSummary", "build"]


def _published_keys(model: BaseModel, data: Any) -> Any:
    """Serialized ``data`` without the keys that were never set: a key the policy does not
    publish is absent from every output (JSON, API, exports), not null."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if k in model.model_fields_set}
    return data


class PublicIncident(BaseModel):
    """One published incident: only fields a policy can allow exist here (public schema).

    Keys the policy does not publish are never set, and no serialization shows them.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n: int = Field(description="Row number within the release (not an incident id).")
    country: str = Field(description="ISO 3166-1 alpha-3.")
    period: str = Field(description="ISO week ('2024-W09') or month ('2024-03').")
    period_start: date
    period_end: date = Field(description="Last day of the period.")
    admin1: str | None = Field(default=None, description="Province, when the policy says admin1.")
    h3_cell: str | None = Field(default=None, description="H3 cell, when the policy says h3.")
    location: Point | None = Field(default=None, description="Centre of the H3 cell.")
    attack_types: list[SsaAttackType] | None = None
    resources: list[SsaResource] | None = None
    facility_type: SsaFacilityType | None = None
    killed: int | None = Field(default=None, description="People killed, all groups together.")
    injured: int | None = Field(default=None, description="People injured, all groups together.")
    certainty: Certainty | None = None
    perpetrator_category: PerpetratorCategory | None = None
    weapons: list[Weapon] | None = None

    @model_serializer(mode="wrap")
    def _only_published(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # No return annotation on purpose: pydantic then keeps this model's JSON schema in OpenAPI.
        return _published_keys(self, handler(self))

    def public_dict(self) -> dict[str, Any]:
        """The row as JSON values, with only the keys its policy publishes."""
        return self.model_dump(mode="json")


class PublicCell(BaseModel):
    """One published count: a country × period × attack type cell, or a total over some of them.

    ``period`` null means every period of the release; ``attack_type`` null
    means every attack type (an incident with several types counts once).
    A suppressed cell shows no numbers.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    country: str
    period: str | None
    period_start: date | None
    period_end: date | None
    attack_type: SsaAttackType | None = None
    suppressed: bool
    incidents: int | None
    killed: int | None = None
    injured: int | None = None

    @model_serializer(mode="wrap")
    def _only_published(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        return _published_keys(self, handler(self))

    def public_dict(self) -> dict[str, Any]:
        """The cell as JSON values, with only the keys its policy publishes."""
        return self.model_dump(mode="json")


class ReleaseSummary(BaseModel):
    """What a policy took and left, and why (counts of incidents)."""

    cutoff: datetime = Field(description="Incidents on or after this instant wait for later.")
    released: int = Field(description="Incidents that count in the release.")
    rows: int = Field(description="Incident rows published (rows in suppressed cells withheld).")
    withheld_by_suppression: int
    excluded: dict[str, int] = Field(description="Incidents left out, by reason.")
    cells: int
    suppressed_cells: int


class ReleasePreview(BaseModel):
    """Exactly what a policy would publish now."""

    policy: ReleasePolicy
    summary: ReleaseSummary
    epsilon: float | None = Field(description="Differential-privacy epsilon, if noise was added.")
    incidents: list[PublicIncident]
    cells: list[PublicCell]
    indicators: list[release_indicators.PublicIndicator] = Field(
        default_factory=list,
        description="Frozen quality figures per country and period (haven.release_indicators).",
    )


# --- reading the releasable incidents ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Candidate:
    """The non-sensitive facts of one incident, as the pipeline reads them."""

    id: str
    occurred_at: datetime
    date_precision: DatePrecision
    country: str
    admin1: str | None
    point: LonLat | None
    geo_precision: GeoPrecision | None
    attack_types: tuple[SsaAttackType, ...]
    resources: tuple[SsaResource, ...]
    facility_type: SsaFacilityType | None
    killed: int
    injured: int
    certainty: Certainty
    tlp: Tlp
    perpetrator_category: PerpetratorCategory | None
    weapons: tuple[Weapon, ...]


_COLUMNS = (
    IncidentRow.id,
    IncidentRow.occurred_at,
    IncidentRow.date_precision,
    IncidentRow.country,
    IncidentRow.admin1,
    IncidentRow.lon,
    IncidentRow.lat,
    IncidentRow.geo_precision,
    IncidentRow.resources,
    IncidentRow.facility_type,
    IncidentRow.killed_total,
    IncidentRow.injured_total,
    IncidentRow.certainty,
    IncidentRow.tlp,
    IncidentRow.perpetrator_category,
    IncidentRow.weapons,
)
"""The only incident columns the pipeline ever selects."""


NEVER_RELEASED_STATES = frozenset({"rejected", "withdrawn"})
"""Verification states whose incidents no release may hold."""


def _base_conditions(policy: ReleasePolicy, *, exercise: bool, visible: Any) -> list[Any]:
    conditions: list[Any] = [
        IncidentRow.is_exercise.is_(exercise),
        visible,
        IncidentRow.merged_into.is_(None),  # a merged incident is published through its keeper
        IncidentRow.state.not_in(list(NEVER_RELEASED_STATES)),
    ]
    if policy.countries:
        conditions.append(IncidentRow.country.in_(policy.countries))
    if policy.since is not None:
        first = period_of(policy.since, policy.time).start
        conditions.append(IncidentRow.occurred_at >= datetime.combine(first, time(), tzinfo=UTC))
    return conditions


def _candidates(session: Session, policy: ReleasePolicy, *, visible: Any) -> list[_Candidate]:
    conditions = _base_conditions(policy, exercise=False, visible=visible)
    types: dict[str, list[SsaAttackType]] = defaultdict(list)
    type_rows = session.execute(
        select(IncidentAttackTypeRow.incident_id, IncidentAttackTypeRow.attack_type)
        .join(IncidentRow, IncidentRow.id == IncidentAttackTypeRow.incident_id)
        .where(*conditions)
    )
    for incident_id, attack_type in type_rows:
        types[incident_id].append(SsaAttackType(attack_type))
    order = list(SsaAttackType)
    found: list[_Candidate] = []
    for row in session.execute(select(*_COLUMNS).where(*conditions).order_by(IncidentRow.id)):
        point = LonLat(row.lon, row.lat) if row.lon is not None and row.lat is not None else None
        found.append(
            _Candidate(
                id=row.id,
                occurred_at=row.occurred_at,
                date_precision=DatePrecision(row.date_precision),
                country=row.country,
                admin1=row.admin1,
                point=point,
                geo_precision=GeoPrecision(row.geo_precision) if row.geo_precision else None,
                attack_types=tuple(sorted(set(types[row.id]), key=order.index)),
                resources=tuple(SsaResource(r) for r in row.resources),
                facility_type=SsaFacilityType(row.facility_type) if row.facility_type else None,
                killed=row.killed_total,
                injured=row.injured_total,
                certainty=Certainty(row.certainty),
                tlp=Tlp(row.tlp),
                perpetrator_category=(
                    PerpetratorCategory(row.perpetrator_category)
                    if row.perpetrator_category
                    else None
                ),
                weapons=tuple(Weapon(w) for w in row.weapons),
            )
        )
    return found


def _exclusion(c: _Candidate, policy: ReleasePolicy, *, cutoff: datetime) -> str | None:
    """Why an incident stays out of the release, or ``None`` if it goes in."""
    if c.certainty.rank < policy.min_certainty.rank:
        return "below_min_certainty"
    if not policy.allows_label(c.tlp):
        return "sharing_label"
    if c.occurred_at >= cutoff:
        return "publication_delay"
    too_coarse = {DatePrecision.YEAR} | (
        {DatePrecision.MONTH} if policy.time is TimeUnit.WEEK else set()
    )
    if c.date_precision in too_coarse:
        return "date_too_coarse"
    return None


# --- building the public content ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Placed:
    """A releasable incident and the period it is published in."""

    candidate: _Candidate
    period: Period


def _place(c: _Candidate, policy: ReleasePolicy) -> dict[str, Any]:
    """The place keys of a row: none, the admin1 name, or an H3 cell no finer than allowed."""
    if policy.spatial == "admin1":
        return {"admin1": c.admin1}
    resolution = policy.h3_resolution
    if resolution is None:
        return {}
    radius = c.geo_precision.radius_km if c.geo_precision is not None else None
    if c.point is None or radius is None:
        return {"h3_cell": None, "location": None}
    cell = h3_cell(c.point, resolution=min(resolution, h3_finest_resolution(radius)))
    centre = h3_centroid(cell)
    return {"h3_cell": cell, "location": Point(lon=centre.lon, lat=centre.lat)}


def _field_value(c: _Candidate, field: PublicField) -> Any:  # noqa: PLR0911 - one per field
    """The value of one matrix field of an incident."""
    match field:
        case PublicField.ATTACK_TYPES:
            return list(c.attack_types)
        case PublicField.RESOURCES:
            return list(c.resources)
        case PublicField.FACILITY_TYPE:
            return c.facility_type
        case PublicField.KILLED:
            return c.killed
        case PublicField.INJURED:
            return c.injured
        case PublicField.CERTAINTY:
            return c.certainty
        case PublicField.PERPETRATOR_CATEGORY:
            return c.perpetrator_category
        case PublicField.WEAPONS:
            return list(c.weapons)


def _row_values(item: _Placed, *, policy: ReleasePolicy) -> dict[str, Any]:
    """The public values of one incident, taken field by field from the policy's matrix."""
    c, period = item.candidate, item.period
    values: dict[str, Any] = {
        "country": c.country,
        "period": period.label,
        "period_start": period.start,
        "period_end": period.end,
        **_place(c, policy),
    }
    for field in policy.fields:
        values[field.value] = _field_value(c, field)
    return values


_ALL = "*"
"""A cell-key part meaning 'every period' or 'every attack type'."""

_Key = tuple[str, str]
"""A cell of one country's table: (period label or ``*``, attack type or ``*``)."""


def _counted_types(c: _Candidate, policy: ReleasePolicy) -> tuple[str, ...]:
    if PublicField.ATTACK_TYPES not in policy.fields:
        return ()
    types = c.attack_types
    if policy.dp_epsilon is not None:
        types = types[: policy.dp_attack_types_per_incident]
    return tuple(t.value for t in types)


def _keys_of(item: _Placed, policy: ReleasePolicy) -> list[_Key]:
    """Every cell an incident counts in (its period and every period; its types and all)."""
    label = item.period.label
    types = _counted_types(item.candidate, policy)
    return [(label, _ALL), (_ALL, _ALL), *((label, t) for t in types), *((_ALL, t) for t in types)]


def _exact(items: Sequence[_Placed], policy: ReleasePolicy) -> dict[str, dict[_Key, int]]:
    """Incidents, killed and injured per cell (only cells with at least one incident)."""
    table: dict[str, dict[_Key, int]] = {
        "incidents": defaultdict(int),
        "killed": defaultdict(int),
        "injured": defaultdict(int),
    }
    for item in items:
        for key in _keys_of(item, policy):
            table["incidents"][key] += 1
            table["killed"][key] += item.candidate.killed
            table["injured"][key] += item.candidate.injured
    return {name: dict(values) for name, values in table.items()}


def _noisy(
    items: Sequence[_Placed], policy: ReleasePolicy, *, periods: Sequence[Period], epsilon: float
) -> dict[_Key, int]:
    """Incident counts over the whole domain, zeros too, with DP noise.

    Noise goes on every (period, attack type) and (period, all types) cell; an
    incident moves that vector by at most 1 + ``dp_attack_types_per_incident``
    (its L1 sensitivity). Totals over periods are sums of the noisy cells, so
    they cost no extra privacy.
    """
    exact = _exact(items, policy)["incidents"]
    types = [t.value for t in SsaAttackType] if PublicField.ATTACK_TYPES in policy.fields else []
    base = [(p.label, t) for p in periods for t in (_ALL, *types)]
    sensitivity = 1 + (policy.dp_attack_types_per_incident if types else 0)
    noise = disclosure.add_noise(
        [exact.get(key, 0) for key in base], epsilon=epsilon, sensitivity=sensitivity
    )
    values = dict(zip(base, noise, strict=True))
    totals: dict[_Key, int] = defaultdict(int)
    for (_label, attack_type), value in values.items():
        totals[(_ALL, attack_type)] += value
    return values | dict(totals)


def _lines(keys: Iterable[_Key]) -> list[disclosure.Line[_Key]]:
    """A country table's additive relations: each row and column with its total."""
    rows: dict[str, list[_Key]] = defaultdict(list)
    columns: dict[str, list[_Key]] = defaultdict(list)
    for period, attack_type in keys:
        if attack_type != _ALL:
            rows[period].append((period, attack_type))
        if period != _ALL:
            columns[attack_type].append((period, attack_type))
    lines = [disclosure.Line((p, _ALL), tuple(sorted(parts))) for p, parts in rows.items()]
    lines += [disclosure.Line((_ALL, t), tuple(sorted(parts))) for t, parts in columns.items()]
    return lines


_TYPE_ORDER = {t.value: i for i, t in enumerate(SsaAttackType)}


def _cell_order(key: _Key) -> tuple[bool, str, bool, int]:
    period, attack_type = key
    return (period == _ALL, period, attack_type != _ALL, _TYPE_ORDER.get(attack_type, -1))


def _country_cells(
    country: str, items: Sequence[_Placed], *, policy: ReleasePolicy, periods: Sequence[Period]
) -> tuple[list[PublicCell], set[_Key]]:
    """One country's published cells and the keys hidden by suppression."""
    exact = _exact(items, policy) if policy.dp_epsilon is None else None
    if exact is not None:
        values = exact["incidents"]
    else:
        assert policy.dp_epsilon is not None
        values = _noisy(items, policy, periods=periods, epsilon=policy.dp_epsilon)
    hidden = disclosure.suppress(values, _lines(values), k=policy.k)
    known = {p.label: p for p in periods} | {i.period.label: i.period for i in items}
    cells: list[PublicCell] = []
    for key in sorted(values, key=_cell_order):
        label, attack_type = key
        period = known.get(label)
        data: dict[str, Any] = {
            "country": country,
            "period": period.label if period else None,
            "period_start": period.start if period else None,
            "period_end": period.end if period else None,
            "suppressed": key in hidden,
            "incidents": None if key in hidden else values[key],
        }
        if PublicField.ATTACK_TYPES in policy.fields:
            data["attack_type"] = None if attack_type == _ALL else attack_type
        for name in ("killed", "injured"):
            if exact is not None and name in policy.fields:
                data[name] = None if key in hidden else exact[name][key]
        cells.append(PublicCell(**data))
    return cells, hidden


def _numbered(items: Sequence[_Placed], policy: ReleasePolicy) -> list[PublicIncident]:
    """Public rows in an order that depends only on what they show, numbered from 1."""
    drafts = [PublicIncident(n=0, **_row_values(i, policy=policy)) for i in items]
    drafts.sort(
        key=lambda r: (
            r.period_start,
            r.country,
            orjson.dumps(r.public_dict(), option=orjson.OPT_SORT_KEYS),
        )
    )
    return [row.model_copy(update={"n": n}) for n, row in enumerate(drafts, start=1)]


def build(
    session: Session, policy: ReleasePolicy, *, now: datetime, actor: Actor
) -> ReleasePreview:
    """Everything ``policy`` publishes at ``now`` from the incidents ``actor`` may see.

    A release never holds more than its creator may see (``haven.policy``).
    """
    if policy.dp_epsilon is not None:
        disclosure.require_opendp()
    cutoff = cutoff_of(now, policy)
    visible = visible_incidents(session, actor)
    excluded: dict[str, int] = defaultdict(int)
    exercise = session.scalar(
        select(func.count())
        .select_from(IncidentRow)
        .where(*_base_conditions(policy, exercise=True, visible=visible))
    )
    if exercise:
        excluded["exercise"] = exercise
    by_country: dict[str, list[_Placed]] = defaultdict(list)
    for c in _candidates(session, policy, visible=visible):
        reason = _exclusion(c, policy, cutoff=cutoff)
        if reason is not None:
            excluded[reason] += 1
            continue
        by_country[c.country].append(_Placed(c, period_of(c.occurred_at.date(), policy.time)))
    periods: list[Period] = []
    countries = sorted(by_country)
    if policy.dp_epsilon is not None:
        countries = list(policy.countries) or countries
        starts = [i.period.start for items in by_country.values() for i in items]
        first = policy.since or min(starts, default=None)
        periods = periods_between(first, cutoff=cutoff, unit=policy.time) if first else []
    cells: list[PublicCell] = []
    shown: list[_Placed] = []
    withheld = 0
    hidden_periods: dict[str, set[str]] = {}
    for country in countries:
        items = by_country.get(country, [])
        country_cells, hidden = _country_cells(country, items, policy=policy, periods=periods)
        cells += country_cells
        hidden_periods[country] = {label for label, kind in hidden if kind == _ALL}
        for item in items:
            if any(key in hidden for key in _keys_of(item, policy)):
                withheld += 1
            else:
                shown.append(item)
    rows = _numbered(shown, policy) if policy.publish_incidents else []
    summary = ReleaseSummary(
        cutoff=cutoff,
        released=sum(len(items) for items in by_country.values()),
        rows=len(rows),
        withheld_by_suppression=withheld if policy.publish_incidents else 0,
        excluded=dict(sorted(excluded.items())),
        cells=len(cells),
        suppressed_cells=sum(cell.suppressed for cell in cells),
    )
    indicators = release_indicators.build(
        session,
        {c: [(i.candidate.id, i.period) for i in items] for c, items in by_country.items()},
        hidden=hidden_periods,
        policy=policy,
        now=now,
        actor=actor,
    )
    return ReleasePreview(
        policy=policy,
        summary=summary,
        epsilon=policy.dp_epsilon,
        incidents=rows,
        cells=cells,
        indicators=indicators,
    )
