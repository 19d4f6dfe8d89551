"""Evacuation plans: patients at facilities to receiving facilities, routed on the road network.

The request names Haven facilities by id: where patients wait (``patients``)
and where beds are free (``receivers``). Costs come from the routing engine's
travel matrix in the chosen mode (risk-weighted travel time), the assignment
from ``haven.evacuation.solve``; each used pair is then routed once more for
its path, length and risk exposure. Facilities are routed from the point kept
in clear (a sensitive site's coarse point). A plan is stored with its request
and an audit event unless ``save`` is false.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool
from sqlalchemy import select
from sqlalchemy.orm import Session

from haven import audit
from haven.accounts import Actor, Permission, require
from haven.errors import InvalidInput, NotFound
from haven.evacuation import (
    URGENCY_WEIGHT,
    Leg,
    PatientGroup,
    Receiver,
    Service,
    Solution,
    Totals,
    UnplacedReason,
    Urgency,
    solve,
)
from haven.facts import IsoDateTime, no_nul
from haven.geo import LonLat
from haven.models import EvacuationPlanRow, FacilityRow, utcnow
from haven.routing import RoadNetwork, RouteMode, load_network, route, travel_matrix
from haven.routing.engine import BLOCKED_DS
from haven.settings import Settings

__all__ = [
    "AlternativeOut",
    "AssignmentOut",
    "EvacuationIn",
    "EvacuationPlan",
    "PatientsIn",
    "PlanSummary",
    "ReceiverIn",
    "get_plan",
    "list_plans",
    "plan",
    "risk_weighted_total",
]

MAX_ROWS = 500
_BLOCKED_S = BLOCKED_DS / 10
"""A route costing this much passes a closed road: no open route joins the pair."""
_TRIAGE_NUMBERS = {1: "red", 2: "yellow", 3: "green", "1": "red", "2": "yellow", "3": "green"}
_EXERCISE_SITE = "an exercise facility: only an exercise plan may use it"
FacilityId = Annotated[int, Field(ge=1, le=2**31 - 1)]


def _urgency(value: object) -> object:
    """Accept triage numbers 1–3 as well as the colours."""
    if isinstance(value, bool):
        return value
    return _TRIAGE_NUMBERS.get(value, value) if isinstance(value, int | str) else value


class PatientsIn(BaseModel):
    """Patients of one urgency needing one service, waiting at one facility."""

    model_config = ConfigDict(extra="forbid")

    origin: FacilityId = Field(description="The facility id where they wait.")
    count: int = Field(ge=0, le=100_000)
    urgency: Annotated[Urgency, BeforeValidator(_urgency)] = Field(
        description="red (1, immediate), yellow (2, urgent) or green (3, delayed)."
    )
    service: Service


class ReceiverIn(BaseModel):
    """A facility that can receive patients: its free beds and the services it offers."""

    model_config = ConfigDict(extra="forbid")

    facility: FacilityId
    free_beds: int = Field(ge=0, le=100_000)
    services: list[Service] | None = Field(
        default=None,
        max_length=len(Service),
        description="Default: the facility's registered services that name a known service.",
    )


class EvacuationIn(BaseModel):
    """An evacuation to plan."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: Annotated[str, AfterValidator(no_nul)] = Field(default="", max_length=200)
    mode: RouteMode = Field(default=RouteMode.BALANCED, description="fastest, safest or balanced.")
    tradeoff: float = Field(
        default=0.5, ge=0.0, le=1.0, description="For balanced: 0 fast, 1 safe."
    )
    at: IsoDateTime | None = Field(
        default=None, description="Conditions at this time; default now."
    )
    patients: list[PatientsIn] = Field(min_length=1, max_length=MAX_ROWS)
    receivers: list[ReceiverIn] = Field(min_length=1, max_length=MAX_ROWS)
    exercise: StrictBool = False
    save: StrictBool = True


class FacilityRef(BaseModel):
    """A facility named in a plan."""

    id: int
    name: str


class AlternativeOut(BaseModel):
    """A facility cheaper to reach than the one chosen, and why it was not used."""

    facility: FacilityRef
    cost_s: float
    reason: str
    beds_left: int
    taken_by: dict[str, int]


class AssignmentOut(BaseModel):
    """Patients of one group sent to one facility, with the route and why there."""

    origin: FacilityRef
    destination: FacilityRef
    count: int
    urgency: Urgency
    service: Service
    travel_time_s: float
    risk_weighted_time_s: float
    length_m: float | None
    risk_exposure: float | None
    max_risk: float | None
    weighted_cost: int
    why: str
    cheaper_alternatives: list[AlternativeOut]
    near_closures: list[str]
    geometry: dict[str, Any] | None


class UnplacedOut(BaseModel):
    """Patients no facility could take, and why."""

    origin: FacilityRef
    count: int
    urgency: Urgency
    service: Service
    reason: UnplacedReason
    detail: str


class EvacuationPlan(BaseModel):
    """An explained, optimal evacuation plan."""

    id: int | None
    """``None`` when the plan was not saved."""
    name: str
    mode: RouteMode
    tradeoff: float
    at: datetime
    urgency_weight: dict[str, int]
    assignments: list[AssignmentOut]
    unplaced: list[UnplacedOut]
    totals: Totals
    exercise: bool
    network_sha256: str
    created_by: str
    created_at: datetime


def _facilities(session: Session, request: EvacuationIn) -> dict[int, FacilityRow]:
    """The named facilities; ``InvalidInput`` names every unknown id, duplicate and, in a
    real plan, every exercise facility."""
    wanted = {p.origin for p in request.patients} | {r.facility for r in request.receivers}
    found = {
        f.id: f for f in session.scalars(select(FacilityRow).where(FacilityRow.id.in_(wanted)))
    }
    fields: dict[str, str] = {}

    def exercise_only(facility_id: int) -> bool:  # a real plan never uses exercise data
        return not request.exercise and found[facility_id].is_exercise

    for index, group in enumerate(request.patients):
        if group.origin not in found:
            fields[f"patients[{index}].origin"] = f"no facility {group.origin}"
        elif exercise_only(group.origin):
            fields[f"patients[{index}].origin"] = _EXERCISE_SITE
    seen: dict[int, int] = {}
    for index, receiver in enumerate(request.receivers):
        if receiver.facility not in found:
            fields[f"receivers[{index}].facility"] = f"no facility {receiver.facility}"
        elif exercise_only(receiver.facility):
            fields[f"receivers[{index}].facility"] = _EXERCISE_SITE
        elif receiver.facility in seen:
            fields[f"receivers[{index}].facility"] = (
                f"facility {receiver.facility} is already receivers[{seen[receiver.facility]}]"
            )
        seen.setdefault(receiver.facility, index)
    if fields:
        raise InvalidInput(f"{len(fields)} invalid field(s) in the evacuation", fields=fields)
    return found


def _services(receiver: ReceiverIn, facility: FacilityRow) -> frozenset[Service]:
    if receiver.services is not None:
        return frozenset(receiver.services)
    known = {s.value for s in Service}
    return frozenset(
        Service(text.strip().lower())
        for text in facility.services or ()
        if text.strip().lower() in known
    )


def _legs(
    session: Session,
    network: RoadNetwork,
    *,
    request: EvacuationIn,
    found: dict[int, FacilityRow],
    at: datetime,
) -> dict[tuple[int, int], Leg]:
    origins = sorted({p.origin for p in request.patients})
    destinations = [r.facility for r in request.receivers]

    def point(facility_id: int) -> LonLat:
        return LonLat(found[facility_id].lon, found[facility_id].lat)

    try:
        matrix = travel_matrix(
            session,
            network,
            [point(o) for o in origins],
            [point(d) for d in destinations],
            mode=request.mode,
            tradeoff=request.tradeoff,
            at=at,
            exercise=request.exercise,
        )
    except InvalidInput as exc:  # a facility too far from any road: name it as the request does
        first = {o: i for i, o in reversed(list(enumerate(p.origin for p in request.patients)))}
        names = {f"origins[{i}]": f"patients[{first[o]}].origin" for i, o in enumerate(origins)}
        names |= {
            f"destinations[{j}]": f"receivers[{j}].facility" for j in range(len(destinations))
        }
        names["destinations"] = "receivers"  # too many pairs for one matrix
        fields = {names.get(name, name): why for name, why in exc.fields.items()}
        raise InvalidInput(exc.message, fields=fields) from exc
    legs: dict[tuple[int, int], Leg] = {}
    for i, origin in enumerate(origins):
        for j, destination in enumerate(destinations):
            seconds, cost = matrix.seconds[i][j], matrix.cost_s[i][j]
            if seconds is not None and cost is not None and cost < _BLOCKED_S:
                legs[(origin, destination)] = Leg(time_s=seconds, cost_s=cost)
    return legs


def _assignment(
    session: Session,
    network: RoadNetwork,
    *,
    solution: Solution,
    request: EvacuationIn,
    found: dict[int, FacilityRow],
    at: datetime,
) -> list[AssignmentOut]:
    def ref(facility_id: int) -> FacilityRef:
        return FacilityRef(id=facility_id, name=found[facility_id].name)

    routed: dict[tuple[int, int], Any] = {}
    out: list[AssignmentOut] = []
    for a in solution.assignments:
        pair = (a.origin, a.destination)
        if pair not in routed:
            o, d = found[a.origin], found[a.destination]
            routed[pair] = route(
                session,
                network,
                LonLat(o.lon, o.lat),
                LonLat(d.lon, d.lat),
                mode=request.mode,
                tradeoff=request.tradeoff,
                at=at,
                exercise=request.exercise,
            )[0]
        best = routed[pair]
        out.append(
            AssignmentOut(
                origin=ref(a.origin),
                destination=ref(a.destination),
                count=a.count,
                urgency=a.urgency,
                service=a.service,
                travel_time_s=a.time_s,
                risk_weighted_time_s=a.cost_s,
                length_m=best.length_m,
                risk_exposure=best.risk_exposure,
                max_risk=best.max_risk,
                weighted_cost=a.weighted_cost,
                why=a.why,
                cheaper_alternatives=[
                    AlternativeOut(
                        facility=ref(alt.facility),
                        cost_s=alt.cost_s,
                        reason=alt.reason,
                        beds_left=alt.beds_left,
                        taken_by=alt.taken_by,
                    )
                    for alt in a.cheaper_alternatives
                ],
                near_closures=[c.name for c in best.near_closures],
                geometry=best.geometry,
            )
        )
    return out


def plan(
    session: Session, request: EvacuationIn, *, settings: Settings, actor: Actor
) -> EvacuationPlan:
    """Plan an evacuation (optimal under capacity, explained); store it unless ``save`` is false.

    ``InvalidInput`` names every bad field (unknown facility ids, duplicate
    receivers or patient groups) and nothing is written.
    """
    require(actor, Permission.MANAGE_FACILITIES)
    if request.at is not None and request.at.tzinfo is None:
        raise InvalidInput("at has no time zone", fields={"at": "give a UTC time"})
    at = request.at.astimezone(UTC) if request.at is not None else utcnow()
    found = _facilities(session, request)
    groups = [PatientGroup(p.origin, p.count, p.urgency, p.service) for p in request.patients]
    receivers = [
        Receiver(r.facility, r.free_beds, _services(r, found[r.facility]))
        for r in request.receivers
    ]
    network = load_network(session, settings)
    legs = _legs(session, network, request=request, found=found, at=at)
    solution = solve(groups, receivers, legs=legs)
    assignments = _assignment(
        session, network, solution=solution, request=request, found=found, at=at
    )
    totals = solution.totals
    risks = [a.risk_exposure for a in assignments]
    result = EvacuationPlan(
        id=None,
        name=request.name or f"Evacuation {at:%Y-%m-%d %H:%M} UTC",
        mode=request.mode,
        tradeoff=request.tradeoff,
        at=at,
        urgency_weight={u.value: w for u, w in URGENCY_WEIGHT.items()},
        assignments=assignments,
        unplaced=[
            UnplacedOut(
                origin=FacilityRef(id=u.origin, name=found[u.origin].name),
                count=u.count,
                urgency=u.urgency,
                service=u.service,
                reason=u.reason,
                detail=u.detail,
            )
            for u in solution.unplaced
        ],
        totals=replace(
            totals,
            risk_exposure=(
                sum(a.count * r for a, r in zip(assignments, risks, strict=True) if r is not None)
            ),
        ),
        exercise=request.exercise,
        network_sha256=network.sha256,
        created_by=actor.label,
        created_at=utcnow(),
    )
    if not request.save:
        return result
    stored = EvacuationPlanRow(
        name=result.name,
        mode=request.mode.value,
        request=request.model_dump(mode="json"),
        plan={},
        patients=totals.patients,
        placed=totals.placed,
        unplaced=totals.unplaced,
        network_sha256=network.sha256,
        is_exercise=request.exercise,
        created_by=actor.label,
        actor_user_id=actor.user_id,
        created_at=result.created_at,
    )
    session.add(stored)
    session.flush()
    result = result.model_copy(update={"id": stored.id})
    stored.plan = result.model_dump(mode="json")
    audit.record(
        session,
        actor,
        action="evacuation.plan",
        entity_type="evacuation_plan",
        entity_id=stored.id,
        detail={
            "mode": stored.mode,
            "patients": stored.patients,
            "placed": stored.placed,
            "unplaced": stored.unplaced,
            "exercise": stored.is_exercise,
        },
    )
    return result


def get_plan(session: Session, plan_id: int, *, actor: Actor) -> EvacuationPlan:
    """A stored plan as it was computed."""
    require(actor, Permission.READ_INCIDENTS)
    stored = session.get(EvacuationPlanRow, plan_id)
    if stored is None:
        raise NotFound(f"no evacuation plan {plan_id}", fields={"plan_id": "unknown"})
    return EvacuationPlan.model_validate(stored.plan)


def risk_weighted_total(assignments: Iterable[AssignmentOut]) -> float:
    """Sum over placed patients of their route's risk-weighted travel time (seconds)."""
    return sum(a.count * a.risk_weighted_time_s for a in assignments)


class PlanSummary(BaseModel):
    """A stored plan in a list: when, by whom, exercise or not, who was placed, at what cost."""

    id: int
    name: str
    mode: RouteMode
    exercise: bool
    created_by: str
    created_at: datetime
    patients: int
    placed: int
    unplaced: int
    risk_weighted_time_s: float
    """Sum over placed patients of their route's risk-weighted travel time."""


def list_plans(
    session: Session, *, actor: Actor, exercise: bool | None = None, limit: int = 100
) -> list[PlanSummary]:
    """Stored plans, newest first (at most ``limit``); ``exercise`` keeps only those or the others.

    Needs the permission of ``get_plan``: whoever may read a plan may list them.
    """
    require(actor, Permission.READ_INCIDENTS)
    if not 1 <= limit <= MAX_ROWS:
        raise InvalidInput("limit out of range", fields={"limit": f"from 1 to {MAX_ROWS}"})
    query = select(EvacuationPlanRow).order_by(
        EvacuationPlanRow.created_at.desc(), EvacuationPlanRow.id.desc()
    )
    if exercise is not None:
        query = query.where(EvacuationPlanRow.is_exercise.is_(exercise))
    return [
        PlanSummary(
            id=row.id,
            name=row.name,
            mode=RouteMode(row.mode),
            exercise=row.is_exercise,
            created_by=row.created_by,
            created_at=row.created_at,
            patients=row.patients,
            placed=row.placed,
            unplaced=row.unplaced,
            risk_weighted_time_s=risk_weighted_total(
                AssignmentOut.model_validate(a) for a in row.plan.get("assignments", ())
            ),
        )
        for row in session.scalars(query.limit(limit))
    ]
