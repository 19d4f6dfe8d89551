"""Road closures proposed from obstruction incidents: list them, accept one, or dismiss it.

An incident is proposed when it is a WHO SSA "obstruction to health care delivery"
(alone or among its types), happened within ``closure_proposal_days`` before now,
is located exactly (geo-precision 1), lies within ``closure_proposal_distance_m`` of a
road of the imported network, is not merged, rejected or withdrawn, and no closure
was made from it and no coordinator dismissed it. Nothing closes a road by itself:
a coordinator accepts (a closure through ``create_closure``, at the nearest point of
the road) or dismisses with a written reason. Exercise incidents propose exercise
closures, listed apart from real ones. Points are ``[lon, lat]`` (GeoJSON order).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from haven import audit, policy
from haven.accounts import Actor, Permission, require
from haven.errors import Conflict, InvalidInput
from haven.facts import IsoDateTime, no_nul
from haven.geo import LonLat
from haven.incidents import attack_types_of
from haven.models import (
    ClosureProposalDismissalRow,
    IncidentAttackTypeRow,
    IncidentRow,
    RoadClosureRow,
    utcnow,
)
from haven.routing.closures import Closure, ClosureIn, ClosureKind, create_closure
from haven.routing.network import RoadNetwork
from haven.routing.spatial import nearest_snaps
from haven.routing.store import load_network
from haven.settings import Settings
from haven.taxonomy import Certainty, GeoPrecision, SsaAttackType

__all__ = [
    "OBSTRUCTION",
    "ClosureProposal",
    "Dismissal",
    "ProposalAccept",
    "ProposalDismiss",
    "accept_proposal",
    "dismiss_proposal",
    "list_proposals",
]

OBSTRUCTION = SsaAttackType.OBSTRUCTION
"""The WHO SSA attack type that proposes a closure."""
_PRECISE = GeoPrecision.EXACT
"""Only an exact location pins one road; the next level (within 25 km) names a town."""
_EXCLUDED_STATES = ("rejected", "withdrawn")
_DEGREE_MARGIN = 0.05
_DEFAULT_RADIUS_M = 30.0
_DEFAULT_DELAY_S = 600.0
Text = Annotated[str, AfterValidator(no_nul)]


class ClosureProposal(BaseModel):
    """An obstruction incident near a road, proposed to coordinators as a closure."""

    incident_id: str
    occurred_at: datetime
    attack_types: list[str]
    certainty: Certainty
    exercise: bool
    point: list[float]
    """The incident's point, ``[lon, lat]``."""
    road_point: list[float]
    """The nearest point of a road, ``[lon, lat]``: where an accepted closure is put."""
    distance_m: float
    """From the incident's point to that road, metres."""
    road_name: str | None = None
    """The road's name; ``None``: the imported network keeps no road names."""
    suggested_kind: ClosureKind = ClosureKind.CHECKPOINT
    """A suggestion only (an obstruction usually slows vehicles rather than stopping
    them all); the coordinator picks the kind when accepting."""
    suggested_delay_s: float = _DEFAULT_DELAY_S
    suggested_radius_m: float = _DEFAULT_RADIUS_M


class ProposalAccept(BaseModel):
    """A coordinator's decision to close the road: the kind is theirs to choose."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: ClosureKind = Field(description="closure, checkpoint or no_go.")
    name: Text | None = Field(
        default=None, min_length=1, max_length=200, description="Default: from the incident."
    )
    radius_m: float = Field(
        default=_DEFAULT_RADIUS_M,
        ge=0.0,
        le=50_000.0,
        description="Buffer around the nearest point of the road, metres.",
    )
    delay_s: float = Field(
        default=_DEFAULT_DELAY_S, ge=0.0, le=86_400.0, description="Checkpoint delay, seconds."
    )
    valid_until: IsoDateTime | None = Field(default=None, description="Empty: until ended.")


class ProposalDismiss(BaseModel):
    """A coordinator's decision not to close the road, and why."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: Text = Field(min_length=3, max_length=500, description="Why no closure (3–500).")


class Dismissal(BaseModel):
    """A stored dismissal."""

    id: int
    incident_id: str
    reason: str
    exercise: bool
    dismissed_by: str
    dismissed_at: datetime


@dataclass(frozen=True, slots=True)
class _Road:
    distance_m: float
    point: list[float]


def _nearest_roads(
    network: RoadNetwork, points: list[LonLat], *, max_m: float
) -> list[_Road | None]:
    """Per point, the nearest road within ``max_m`` (``spatial.nearest_snaps``)."""
    roads: list[_Road | None] = []
    for snap in nearest_snaps(network, points):
        if snap is None or snap.distance_m > max_m:
            roads.append(None)
            continue
        on_road = snap.on_road
        roads.append(
            _Road(
                distance_m=round(snap.distance_m, 1),
                point=[round(on_road.lon, 7), round(on_road.lat, 7)],
            )
        )
    return roads


def _point(row: IncidentRow) -> LonLat:
    return LonLat(float(row.lon or 0.0), float(row.lat or 0.0))


def _in_area(network: RoadNetwork, *, max_m: float) -> list[Any]:
    west, south, east, north = network.bounds()
    margin = _DEGREE_MARGIN + max_m / 111_000.0
    return [
        IncidentRow.lon.between(west - margin, east + margin),
        IncidentRow.lat.between(south - margin, north + margin),
    ]


def _is_obstruction() -> Any:
    return exists().where(
        IncidentAttackTypeRow.incident_id == IncidentRow.id,
        IncidentAttackTypeRow.attack_type == OBSTRUCTION.value,
    )


def _proposal(row: IncidentRow, road: _Road, *, types: list[str]) -> ClosureProposal:
    point = _point(row)  # the query selected located rows only
    return ClosureProposal(
        incident_id=row.id,
        occurred_at=row.occurred_at,
        attack_types=types,
        certainty=Certainty(row.certainty),
        exercise=row.is_exercise,
        point=[point.lon, point.lat],
        road_point=road.point,
        distance_m=road.distance_m,
    )


def list_proposals(
    session: Session,
    settings: Settings,
    *,
    actor: Actor,
    exercise: bool = False,
    at: datetime | None = None,
    limit: int = 200,
) -> list[ClosureProposal]:
    """Obstruction incidents ``actor`` may see that propose a closure, newest first.

    Real ones by default; ``exercise``: exercise ones only (never mixed). Raises
    ``NotFound`` (``network``) before a road network is imported.
    """
    require(actor, Permission.READ_INCIDENTS)
    when = at or utcnow()
    network = load_network(session, settings)
    max_m = settings.closure_proposal_distance_m
    query = (
        select(IncidentRow)
        .where(
            IncidentRow.is_exercise.is_(exercise),
            IncidentRow.lon.is_not(None),
            IncidentRow.lat.is_not(None),
            IncidentRow.geo_precision == int(_PRECISE),
            *_in_area(network, max_m=max_m),
            IncidentRow.occurred_at <= when,
            IncidentRow.occurred_at >= when - timedelta(days=settings.closure_proposal_days),
            IncidentRow.merged_into.is_(None),
            IncidentRow.state.not_in(_EXCLUDED_STATES),
            _is_obstruction(),
            ~exists().where(RoadClosureRow.incident_id == IncidentRow.id),
            ~exists().where(ClosureProposalDismissalRow.incident_id == IncidentRow.id),
            policy.visible_incidents(session, actor),
        )
        .order_by(IncidentRow.occurred_at.desc(), IncidentRow.id)
    )
    rows = list(session.scalars(query))
    roads = _nearest_roads(network, [_point(row) for row in rows], max_m=max_m)
    near = [(row, road) for row, road in zip(rows, roads, strict=True) if road is not None]
    near = near[:limit]
    types = attack_types_of(session, [row.id for row, _ in near])
    return [_proposal(row, road, types=types[row.id]) for row, road in near]


def _refuse_if_decided(session: Session, incident_id: str) -> None:
    closure = session.scalar(
        select(RoadClosureRow.id).where(RoadClosureRow.incident_id == incident_id).limit(1)
    )
    if closure is not None:
        raise Conflict(
            f"closure {closure} was already made from incident {incident_id}",
            fields={"incident_id": f"already has closure {closure}"},
        )
    dismissal = session.scalar(
        select(ClosureProposalDismissalRow).where(
            ClosureProposalDismissalRow.incident_id == incident_id
        )
    )
    if dismissal is not None:
        raise Conflict(
            f"the proposal from incident {incident_id} was dismissed by "
            f"{dismissal.dismissed_by} on {dismissal.dismissed_at:%Y-%m-%d %H:%M} UTC",
            fields={"incident_id": "already dismissed"},
        )


def _check_incident(
    row: IncidentRow, *, settings: Settings, at: datetime, types: list[str]
) -> None:
    """``InvalidInput`` naming the field that stops ``row`` from proposing a closure."""
    if row.state in _EXCLUDED_STATES:
        raise InvalidInput(
            f"incident {row.id} was {row.state}", fields={"incident_id": f"state {row.state}"}
        )
    if OBSTRUCTION.value not in types:
        raise InvalidInput(
            f"incident {row.id} is not an obstruction to health care delivery",
            fields={"attack_types": "no WHO SSA obstruction among " + (", ".join(types) or "none")},
        )
    if row.lon is None or row.lat is None:
        raise InvalidInput(
            f"incident {row.id} has no location", fields={"location": "the incident has no point"}
        )
    if row.geo_precision != int(_PRECISE):
        raise InvalidInput(
            f"incident {row.id} is not located precisely enough to pin a road",
            fields={"geo_precision": f"level {row.geo_precision}; a road needs 1 (exact)"},
        )
    oldest = at - timedelta(days=settings.closure_proposal_days)
    if not oldest <= row.occurred_at <= at:
        raise InvalidInput(
            f"incident {row.id} is not within the last {settings.closure_proposal_days} days",
            fields={"occurred_at": f"{row.occurred_at:%Y-%m-%d %H:%M} UTC is outside the window"},
        )


def _candidate(
    session: Session, incident_id: str, *, settings: Settings, actor: Actor
) -> tuple[IncidentRow, _Road]:
    """The incident ``incident_id`` (locked) and its nearest road, or the error that stops it."""
    row = policy.visible_incident(session, incident_id, actor=actor)
    session.execute(
        select(IncidentRow.id).where(IncidentRow.id == incident_id).with_for_update()
    ).all()
    types = attack_types_of(session, [row.id])[row.id]
    _check_incident(row, settings=settings, at=utcnow(), types=types)
    _refuse_if_decided(session, row.id)
    network = load_network(session, settings)
    max_m = settings.closure_proposal_distance_m
    road = _nearest_roads(network, [_point(row)], max_m=max_m)
    if road[0] is None:
        raise InvalidInput(
            f"incident {row.id} is not near a road of the network",
            fields={"location": f"no road within {max_m:,.0f} m"},
        )
    return row, road[0]


def accept_proposal(
    session: Session,
    incident_id: str,
    *,
    body: ProposalAccept,
    settings: Settings,
    actor: Actor,
) -> Closure:
    """Close the road near an obstruction incident: a closure with its ``incident_id``.

    The closure is a point at the nearest point of the road, buffered by ``radius_m``,
    exercise when the incident is. Errors name the field; nothing is written then.
    """
    require(actor, Permission.MANAGE_FACILITIES)
    row, road = _candidate(session, incident_id, settings=settings, actor=actor)
    label = " (exercise)" if row.is_exercise else ""
    name = body.name or f"Obstruction reported {row.occurred_at:%Y-%m-%d}{label}"
    return create_closure(
        session,
        ClosureIn(
            name=name,
            kind=body.kind,
            geometry={"type": "Point", "coordinates": road.point},
            radius_m=body.radius_m,
            delay_s=body.delay_s,
            valid_until=body.valid_until,
            incident_id=row.id,
            exercise=row.is_exercise,
        ),
        actor=actor,
    )


def dismiss_proposal(
    session: Session,
    incident_id: str,
    *,
    body: ProposalDismiss,
    settings: Settings,
    actor: Actor,
) -> Dismissal:
    """Decide not to close the road near an obstruction incident; it is not proposed again."""
    require(actor, Permission.MANAGE_FACILITIES)
    row, _road = _candidate(session, incident_id, settings=settings, actor=actor)
    dismissal = ClosureProposalDismissalRow(
        incident_id=row.id,
        reason=body.reason,
        is_exercise=row.is_exercise,
        dismissed_by=actor.label,
        dismissed_at=utcnow(),
    )
    session.add(dismissal)
    session.flush()
    audit.record(
        session,
        actor,
        action="closure_proposal.dismiss",
        entity_type="incident",
        entity_id=row.id,
        detail={"dismissal_id": dismissal.id, "exercise": row.is_exercise},
    )
    return Dismissal(
        id=dismissal.id,
        incident_id=row.id,
        reason=dismissal.reason,
        exercise=dismissal.is_exercise,
        dismissed_by=dismissal.dismissed_by,
        dismissed_at=dismissal.dismissed_at,
    )
