"""Incidents: the consolidated events that reports describe; opening, reading and filtering them."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Select, and_, exists, insert, or_, select
from sqlalchemy.orm import Session

from haven import audit, policy, privacy
from haven.accounts import Actor, Permission, require
from haven.certainty import CertaintyDecision, ReportGrade, derive
from haven.errors import InvalidInput
from haven.facts import Casualties, EventFacts, Point, casualty_total
from haven.geo import BBox, LonLat, bbox_around, h3_cells, haversine_km
from haven.models import IncidentAttackTypeRow, IncidentRow, utcnow
from haven.taxonomy import (
    CasualtyOutcome,
    Certainty,
    ContextFlag,
    DatePrecision,
    GeoPrecision,
    IncidentState,
    PerpetratorCategory,
    ProhibitedConduct,
    Sensitivity,
    SsaAttackType,
    SsaFacilityType,
    SsaResource,
    Tlp,
    Weapon,
    classify_conduct,
)

__all__ = [
    "ExerciseFilter",
    "Incident",
    "IncidentFilter",
    "IncidentPage",
    "attack_types_of",
    "get",
    "list_incidents",
    "open_from_facts",
]


class ExerciseFilter(StrEnum):
    """Whether a listing includes exercise (training) records."""

    INCLUDE = "include"
    EXCLUDE = "exclude"
    ONLY = "only"


class Incident(BaseModel):
    """A stored incident as analysts see it (stored schema; not for public release)."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    exercise: bool = Field(description="True for exercise (training) data, never real events.")
    occurred_at: datetime
    date_precision: DatePrecision
    location: Point | None
    geo_precision: GeoPrecision | None
    h3_cells: dict[int, str | None]
    country: str
    admin1: str | None
    admin2: str | None
    location_name: str | None
    attack_types: list[SsaAttackType]
    resources: list[SsaResource]
    facility_type: SsaFacilityType | None
    facility_id: int | None
    casualties: Casualties
    killed_total: int
    injured_total: int
    perpetrator_category: PerpetratorCategory | None
    perpetrator_name: str | None
    weapons: list[Weapon]
    narrative: str | None = Field(
        default=None,
        description="Only when asked for with a purpose by a role that may read it (audited).",
    )
    context_flags: list[ContextFlag]
    warning_given: bool | None
    emblem_displayed: bool | None
    military_use_alleged: bool | None
    conduct: list[ProhibitedConduct]
    certainty: Certainty
    certainty_reason: str = Field(description="The WHO SSA rule that gave it, or the override.")
    certainty_overridden: bool = Field(description="True when a verifier set it by hand.")
    state: IncidentState = Field(description="Where the incident stands in verification.")
    sensitivity: Sensitivity
    tlp: Tlp
    report_count: int
    created_at: datetime
    updated_at: datetime


class IncidentFilter(BaseModel):
    """What to list: every given condition must hold (values inside one condition are OR-ed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    since: datetime | None = None
    until: datetime | None = None
    countries: tuple[str, ...] = ()
    bbox: tuple[float, float, float, float] | None = Field(
        default=None, description="west, south, east, north"
    )
    near: Point | None = None
    radius_km: float | None = Field(default=None, gt=0, le=20_000)
    attack_types: tuple[SsaAttackType, ...] = ()
    certainties: tuple[Certainty, ...] = ()
    perpetrators: tuple[PerpetratorCategory, ...] = ()
    exercise: ExerciseFilter = ExerciseFilter.INCLUDE


class IncidentPage(BaseModel):
    """One page of incidents, newest first, and the cursor of the next page (if any)."""

    items: list[Incident]
    next_cursor: str | None


def open_from_facts(
    session: Session,
    facts: EventFacts,
    *,
    organisation_id: int | None,
    sensitivity: Sensitivity,
    tlp: Tlp,
    exercise: bool,
    actor: Actor,
    certainty: CertaintyDecision | None = None,
) -> str:
    """Open a new incident holding ``facts`` and return its id (no commit).

    ``certainty`` is what ``haven.certainty.derive`` gives its first report's
    grade; without it, the certainty ``facts`` claims counts as a trusted claim.
    """
    decision = certainty or derive([ReportGrade(claimed=facts.certainty, claim_trusted=True)])
    incident_id = str(uuid.uuid4())
    point = facts.location.lonlat() if facts.location else None
    finest = _finest_h3(facts.geo_precision)
    cells = h3_cells(point, finest=finest) if point else {}
    now = utcnow()
    row: dict[str, Any] = {
        "id": incident_id,
        "created_at": now,
        "updated_at": now,
        "organisation_id": organisation_id,
        "occurred_at": facts.occurred_at,
        "date_precision": facts.date_precision.value,
        "lon": point.lon if point else None,
        "lat": point.lat if point else None,
        "geo_precision": int(facts.geo_precision) if facts.geo_precision else None,
        "h3_r4": cells.get(4),
        "h3_r6": cells.get(6),
        "h3_r8": cells.get(8),
        "country": facts.country,
        "admin1": facts.admin1,
        "admin2": facts.admin2,
        "location_name": facts.location_name,
        "resources": [r.value for r in facts.resources],
        "facility_type": facts.facility_type.value if facts.facility_type else None,
        "facility_id": facts.facility_id,
        "casualties": _casualties_json(facts.casualties),
        "killed_total": casualty_total(facts.casualties, CasualtyOutcome.KILLED),
        "injured_total": casualty_total(facts.casualties, CasualtyOutcome.INJURED),
        "perpetrator_category": (
            facts.perpetrator_category.value if facts.perpetrator_category else None
        ),
        "perpetrator_name": facts.perpetrator_name,
        "weapons": [w.value for w in facts.weapons],
        "sensitive": (
            privacy.encrypt(
                session,
                {"narrative": facts.narrative},
                organisation_id=organisation_id,
                bound_to=f"incident:{incident_id}",
            )
            if facts.narrative
            else None
        ),
        "context_flags": [c.value for c in facts.context_flags],
        "warning_given": facts.warning_given,
        "emblem_displayed": facts.emblem_displayed,
        "military_use_alleged": facts.military_use_alleged,
        "conduct": [
            c.value
            for c in classify_conduct(
                attack_types=facts.attack_types,
                resources=facts.resources,
                military_use_alleged=facts.military_use_alleged,
            )
        ],
        "certainty": decision.certainty.value,
        "certainty_reason": decision.reason,
        "certainty_overridden": False,
        "state": IncidentState.RECEIVED.value,
        "sensitivity": sensitivity.value,
        "tlp": tlp.value,
        "is_exercise": exercise,
        "report_count": 1,
    }
    # ORM bulk INSERT: no unit-of-work bookkeeping on the hot path of every new report
    session.execute(insert(IncidentRow), [row])
    session.execute(
        insert(IncidentAttackTypeRow),
        [{"incident_id": incident_id, "attack_type": t.value} for t in facts.attack_types],
    )
    audit.record(
        session,
        actor,
        action="incident.open",
        entity_type="incident",
        entity_id=incident_id,
        detail={"exercise": exercise, "country": facts.country},
    )
    return incident_id


def _finest_h3(precision: GeoPrecision | None) -> int | None:
    """The finest stored H3 resolution a point of this precision supports."""
    radius = precision.radius_km if precision is not None else None
    if radius is None:
        return -1
    if radius <= 1:
        return 8
    if radius <= 10:
        return 6
    return 4


def _casualties_json(casualties: Casualties) -> dict[str, dict[str, int]]:
    return {
        group.value: {outcome.value: n for outcome, n in by_outcome.items() if n}
        for group, by_outcome in casualties.items()
        if any(by_outcome.values())
    }


def to_model(row: IncidentRow, attack_types: Sequence[str]) -> Incident:
    """The stored incident row as the ``Incident`` schema."""
    location = (
        Point(lon=row.lon, lat=row.lat) if row.lon is not None and row.lat is not None else None
    )
    return Incident(
        id=row.id,
        exercise=row.is_exercise,
        occurred_at=row.occurred_at,
        date_precision=DatePrecision(row.date_precision),
        location=location,
        geo_precision=GeoPrecision(row.geo_precision) if row.geo_precision else None,
        h3_cells={4: row.h3_r4, 6: row.h3_r6, 8: row.h3_r8} if location else {},
        country=row.country,
        admin1=row.admin1,
        admin2=row.admin2,
        location_name=row.location_name,
        attack_types=[SsaAttackType(t) for t in attack_types],
        resources=[SsaResource(r) for r in row.resources],
        facility_type=SsaFacilityType(row.facility_type) if row.facility_type else None,
        facility_id=row.facility_id,
        casualties=row.casualties,  # validated by the Incident model
        killed_total=row.killed_total,
        injured_total=row.injured_total,
        perpetrator_category=(
            PerpetratorCategory(row.perpetrator_category) if row.perpetrator_category else None
        ),
        perpetrator_name=row.perpetrator_name,
        weapons=[Weapon(w) for w in row.weapons],
        context_flags=[ContextFlag(c) for c in row.context_flags],
        warning_given=row.warning_given,
        emblem_displayed=row.emblem_displayed,
        military_use_alleged=row.military_use_alleged,
        conduct=[ProhibitedConduct(c) for c in row.conduct],
        certainty=Certainty(row.certainty),
        certainty_reason=row.certainty_reason,
        certainty_overridden=row.certainty_overridden,
        state=IncidentState(row.state),
        sensitivity=Sensitivity(row.sensitivity),
        tlp=Tlp(row.tlp),
        report_count=row.report_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def attack_types_of(session: Session, ids: Sequence[str]) -> dict[str, list[str]]:
    """Each incident's WHO SSA attack types, in order (one query for all ``ids``)."""
    found: dict[str, list[str]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = session.execute(
        select(IncidentAttackTypeRow.incident_id, IncidentAttackTypeRow.attack_type)
        .where(IncidentAttackTypeRow.incident_id.in_(ids))
        .order_by(IncidentAttackTypeRow.incident_id, IncidentAttackTypeRow.attack_type)
    )
    for incident_id, attack_type in rows:
        found[incident_id].append(attack_type)
    return found


def get(
    session: Session, incident_id: str, *, actor: Actor, purpose: str | None = None
) -> Incident:
    """One incident; with a ``purpose``, its narrative too (run in a write: the read is audited)."""
    require(actor, Permission.READ_INCIDENTS)
    row = policy.visible_incident(session, incident_id, actor=actor)
    incident = to_model(row, attack_types_of(session, [row.id])[row.id])
    if purpose is not None:
        opened = privacy.read_sensitive(
            session, row.sensitive, bound_to=f"incident:{row.id}", actor=actor, purpose=purpose
        )
        incident.narrative = str(opened.get("narrative", ""))
    return incident


def encode_cursor(row: IncidentRow) -> str:
    """An opaque cursor that resumes a listing after ``row``."""
    raw = orjson.dumps([row.occurred_at.isoformat(), row.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The position a cursor points after; ``InvalidInput`` naming ``cursor`` if it is bad."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at_text, incident_id = orjson.loads(raw)
        at = datetime.fromisoformat(at_text)
        if at.tzinfo is None:
            raise ValueError("cursor time without offset")
        return at, str(incident_id)
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError) as exc:
        raise InvalidInput("bad cursor", fields={"cursor": "is not a cursor Haven gave"}) from exc


def _filtered(query: Select[IncidentRow], flt: IncidentFilter) -> Select[IncidentRow]:
    conditions: list[Any] = []
    if flt.since is not None:
        conditions.append(IncidentRow.occurred_at >= flt.since)
    if flt.until is not None:
        conditions.append(IncidentRow.occurred_at < flt.until)
    if flt.countries:
        conditions.append(IncidentRow.country.in_(flt.countries))
    boxes = [BBox(*flt.bbox)] if flt.bbox else []
    if flt.near is not None and flt.radius_km is not None:
        boxes.append(bbox_around(flt.near.lonlat(), radius_km=flt.radius_km))
    conditions.extend(_in_box(box) for box in boxes)
    if flt.attack_types:
        conditions.append(
            exists().where(
                IncidentAttackTypeRow.incident_id == IncidentRow.id,
                IncidentAttackTypeRow.attack_type.in_([t.value for t in flt.attack_types]),
            )
        )
    if flt.certainties:
        conditions.append(IncidentRow.certainty.in_([c.value for c in flt.certainties]))
    if flt.perpetrators:
        conditions.append(IncidentRow.perpetrator_category.in_([p.value for p in flt.perpetrators]))
    if flt.exercise is ExerciseFilter.EXCLUDE:
        conditions.append(IncidentRow.is_exercise.is_(False))
    elif flt.exercise is ExerciseFilter.ONLY:
        conditions.append(IncidentRow.is_exercise.is_(True))
    return query.where(*conditions)


def _in_box(box: BBox) -> Any:
    lat_ok = IncidentRow.lat.between(box.south, box.north)
    if box.west <= box.east:
        return and_(lat_ok, IncidentRow.lon.between(box.west, box.east))
    return and_(lat_ok, or_(IncidentRow.lon >= box.west, IncidentRow.lon <= box.east))


def list_incidents(
    session: Session,
    flt: IncidentFilter,
    *,
    actor: Actor,
    limit: int = 50,
    cursor: str | None = None,
) -> IncidentPage:
    """Incidents matching ``flt``, newest first, ``limit`` at a time (cursor pagination)."""
    require(actor, Permission.READ_INCIDENTS)
    if flt.near is not None and flt.radius_km is None:
        raise InvalidInput("a point needs a radius", fields={"radius_km": "is required with near"})
    visible = policy.visible_incidents(session, actor)
    query = _filtered(
        select(IncidentRow).where(visible, IncidentRow.merged_into.is_(None)), flt
    ).order_by(IncidentRow.occurred_at.desc(), IncidentRow.id.desc())
    if cursor:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            or_(
                IncidentRow.occurred_at < at,
                and_(IncidentRow.occurred_at == at, IncidentRow.id < last_id),
            )
        )
    centre = flt.near.lonlat() if flt.near is not None else None
    rows: list[IncidentRow] = []
    for row in session.scalars(query.execution_options(yield_per=max(limit + 1, 100))):
        if centre is not None and flt.radius_km is not None:
            if row.lon is None or row.lat is None:
                continue
            if haversine_km(centre, LonLat(row.lon, row.lat)) > flt.radius_km:
                continue
        rows.append(row)
        if len(rows) > limit:
            break
    has_more = len(rows) > limit
    rows = rows[:limit]
    types = attack_types_of(session, [r.id for r in rows])
    return IncidentPage(
        items=[to_model(r, types[r.id]) for r in rows],
        next_cursor=encode_cursor(rows[-1]) if has_more and rows else None,
    )


def parse_filter(values: dict[str, Any]) -> IncidentFilter:
    """Build a filter from loose values (query strings, CLI options); errors name the field."""
    try:
        return IncidentFilter.model_validate(values)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc.errors(), message="invalid filter") from exc
