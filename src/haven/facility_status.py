"""Facility status over time: functioning or not, why, and supplies as days of autonomy.

Each status entry is kept (the history is the record); the latest real entry
is a facility's status, and an exercise entry is shown only, labelled, when no
real one exists. A supply's days of autonomy are its quantity divided by its
daily consumption; a facility's are the minimum over its supplies (the one
that runs out first), ``None`` when nothing is consumed.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    model_validator,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from haven import audit, linkage, movements
from haven.accounts import SYSTEM, Actor, Permission, Role, require
from haven.db import Database
from haven.errors import InvalidInput, NotFound
from haven.facts import no_nul
from haven.models import FacilityRow, FacilityStatusRow, IncidentRow, MovementRow, utcnow
from haven.movements import IsoDateTime

__all__ = [
    "DEFAULT_UNITS",
    "FacilityStatus",
    "StatusEntry",
    "StatusIn",
    "StatusSummary",
    "Supply",
    "SupplyIn",
    "SupplyKind",
    "add_status",
    "days_of_autonomy",
    "history",
    "latest_statuses",
    "load_demo_exercise",
]

Text = Annotated[str, AfterValidator(no_nul)]
FUTURE_SLACK = timedelta(minutes=5)
"""How far ahead of the server's clock a status time may be (clock skew)."""


class FacilityStatus(StrEnum):
    """Whether a facility functions."""

    OPERATIONAL = "operational"
    PARTIALLY_FUNCTIONING = "partially_functioning"
    NOT_FUNCTIONING = "not_functioning"


class SupplyKind(StrEnum):
    """Supplies whose stock decides how long a facility can keep working."""

    FUEL = "fuel"
    WATER = "water"
    OXYGEN = "oxygen"
    BLOOD = "blood"
    MEDICINE = "medicine"
    """A key medicine, named in ``name`` (e.g. 'insulin')."""


DEFAULT_UNITS: dict[SupplyKind, str] = {
    SupplyKind.FUEL: "litres",
    SupplyKind.WATER: "litres",
    SupplyKind.OXYGEN: "cylinders",
    SupplyKind.BLOOD: "units",
    SupplyKind.MEDICINE: "doses",
}


class SupplyIn(BaseModel):
    """Stock of one supply and how much of it a day uses."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: SupplyKind
    name: Text | None = Field(default=None, max_length=120, description="Needed for a medicine.")
    quantity: Annotated[float, Strict()] = Field(ge=0, le=1e12, allow_inf_nan=False)
    daily_consumption: Annotated[float, Strict()] = Field(ge=0, le=1e12, allow_inf_nan=False)
    unit: Text | None = Field(default=None, max_length=30, description="Default by kind.")

    @model_validator(mode="after")
    def _medicine_named(self) -> Self:
        if self.kind is SupplyKind.MEDICINE and not self.name:
            raise ValueError("a medicine needs its name")
        return self


class Supply(BaseModel):
    """A supply as stored, with its days of autonomy."""

    kind: SupplyKind
    name: str | None
    quantity: float
    daily_consumption: float
    unit: str
    days_of_autonomy: float | None = Field(description="None when nothing is consumed.")


class StatusIn(BaseModel):
    """A status report on a facility."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: FacilityStatus
    reason: Text = Field(default="", max_length=2000)
    at: IsoDateTime | None = Field(default=None, description="When it held (UTC); default now.")
    supplies: list[SupplyIn] = Field(default_factory=list, max_length=50)
    exercise: StrictBool = False


class StatusSummary(BaseModel):
    """A facility's status at a glance."""

    status: FacilityStatus
    at: datetime
    exercise: bool
    days_of_autonomy: float | None
    limiting_supply: str | None


class StatusEntry(BaseModel):
    """One stored status entry."""

    id: int
    facility_id: int
    at: datetime
    status: FacilityStatus
    reason: str
    reporter: str
    exercise: bool
    supplies: list[Supply]
    days_of_autonomy: float | None = Field(description="The minimum over its supplies.")
    limiting_supply: str | None = Field(description="The supply that runs out first.")


def days_of_autonomy(quantity: float, daily_consumption: float) -> float | None:
    """How many days ``quantity`` lasts at ``daily_consumption`` (None: it is not consumed)."""
    if daily_consumption <= 0:
        return None
    return round(quantity / daily_consumption, 1)


def _label(kind: str, name: str | None) -> str:
    return f"{kind}:{name}" if name else kind


def _supplies(stored: list[dict[str, object]]) -> tuple[list[Supply], float | None, str | None]:
    out: list[Supply] = []
    least: tuple[float, str] | None = None
    for item in stored:
        days = days_of_autonomy(float(str(item["quantity"])), float(str(item["daily"])))
        label = _label(str(item["kind"]), str(item["name"]) if item.get("name") else None)
        out.append(
            Supply(
                kind=SupplyKind(str(item["kind"])),
                name=str(item["name"]) if item.get("name") else None,
                quantity=float(str(item["quantity"])),
                daily_consumption=float(str(item["daily"])),
                unit=str(item["unit"]),
                days_of_autonomy=days,
            )
        )
        if days is not None and (least is None or days < least[0]):
            least = (days, label)
    return out, (least[0] if least else None), (least[1] if least else None)


def _entry(row: FacilityStatusRow) -> StatusEntry:
    supplies, least, limiting = _supplies(row.supplies)
    return StatusEntry(
        id=row.id,
        facility_id=row.facility_id,
        at=row.at,
        status=FacilityStatus(row.status),
        reason=row.reason,
        reporter=row.reporter,
        exercise=row.is_exercise,
        supplies=supplies,
        days_of_autonomy=least,
        limiting_supply=limiting,
    )


def _checked_supplies(supplies: list[SupplyIn]) -> list[dict[str, object]]:
    seen: dict[str, int] = {}
    stored: list[dict[str, object]] = []
    for index, supply in enumerate(supplies):
        label = _label(supply.kind.value, supply.name.lower() if supply.name else None)
        if label in seen:
            raise InvalidInput(
                f"supplies[{index}] repeats supplies[{seen[label]}]",
                fields={f"supplies[{index}]": f"{label} is already given"},
            )
        seen[label] = index
        stored.append(
            {
                "kind": supply.kind.value,
                "name": supply.name,
                "quantity": supply.quantity,
                "daily": supply.daily_consumption,
                "unit": supply.unit or DEFAULT_UNITS[supply.kind],
            }
        )
    return stored


def add_status(
    session: Session,
    facility_id: int,
    *,
    entry: StatusIn,
    actor: Actor,
    now: datetime | None = None,
) -> StatusEntry:
    """Record a facility's status; a time in the future or a repeated supply writes nothing."""
    require(actor, Permission.MANAGE_FACILITIES)
    exercise = session.scalar(select(FacilityRow.is_exercise).where(FacilityRow.id == facility_id))
    if exercise is None:
        raise NotFound(f"no facility {facility_id}", fields={"facility_id": "unknown"})
    if exercise and not entry.exercise:
        raise InvalidInput(
            "an exercise facility takes only exercise statuses",
            fields={"exercise": "must be true for an exercise facility"},
        )
    clock = now or utcnow()
    at = entry.at or clock
    if at.tzinfo is None:
        raise InvalidInput("the time has no time zone", fields={"at": "add an offset, e.g. Z"})
    if at > clock + FUTURE_SLACK:
        raise InvalidInput("the status time is in the future", fields={"at": at.isoformat()})
    row = FacilityStatusRow(
        facility_id=facility_id,
        at=at,
        status=entry.status.value,
        reason=entry.reason,
        supplies=_checked_supplies(entry.supplies),
        reporter=actor.label,
        reporter_user_id=actor.user_id,
        is_exercise=entry.exercise,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        action="facility.status",
        entity_type="facility",
        entity_id=facility_id,
        detail={"status_id": row.id, "status": row.status, "exercise": row.is_exercise},
    )
    return _entry(row)


def history(
    session: Session, facility_id: int, *, actor: Actor, limit: int = 100
) -> list[StatusEntry]:
    """A facility's status entries, newest first."""
    require(actor, Permission.READ_INCIDENTS)
    if session.get(FacilityRow, facility_id) is None:
        raise NotFound(f"no facility {facility_id}", fields={"facility_id": "unknown"})
    rows = session.scalars(
        select(FacilityStatusRow)
        .where(FacilityStatusRow.facility_id == facility_id)
        .order_by(FacilityStatusRow.at.desc(), FacilityStatusRow.id.desc())
        .limit(limit)
    )
    return [_entry(row) for row in rows]


def latest_statuses(session: Session, facility_ids: list[int]) -> dict[int, StatusSummary]:
    """The status of each facility: its latest real entry, else its latest exercise entry."""
    found: dict[int, StatusSummary] = {}
    for start in range(0, len(facility_ids), 500):
        chunk = facility_ids[start : start + 500]
        rank = (
            func.row_number()
            .over(
                partition_by=FacilityStatusRow.facility_id,
                order_by=(
                    FacilityStatusRow.is_exercise,
                    FacilityStatusRow.at.desc(),
                    FacilityStatusRow.id.desc(),
                ),
            )
            .label("rank")
        )
        ranked = (
            select(FacilityStatusRow.id, rank)
            .where(FacilityStatusRow.facility_id.in_(chunk))
            .subquery()
        )
        rows = session.scalars(
            select(FacilityStatusRow)
            .join(ranked, ranked.c.id == FacilityStatusRow.id)
            .where(ranked.c.rank == 1)
        )
        for row in rows:
            entry = _entry(row)
            found[row.facility_id] = StatusSummary(
                status=entry.status,
                at=entry.at,
                exercise=entry.exercise,
                days_of_autonomy=entry.days_of_autonomy,
                limiting_supply=entry.limiting_supply,
            )
    return found


DEMO_REPORTER = "EXERCISE scenario generator"
DEMO_MOVEMENT = "EXERCISE medical evacuation 1 (fictional)"


def _demo_statuses(session: Session, *, seed: int) -> int:
    rng = random.Random(seed)
    hospitals = session.execute(
        select(FacilityRow.id, FacilityRow.beds)
        .where(FacilityRow.country == "PSE", FacilityRow.kind == "hospital")
        .order_by(FacilityRow.id)
    ).all()
    clock = utcnow().replace(minute=0, second=0, microsecond=0)
    made = 0
    for facility_id, beds in hospitals:
        size = max(int(beds or 20), 10)
        status = rng.choices(list(FacilityStatus), weights=[3, 5, 2])[0]
        supplies = [
            SupplyIn(kind=SupplyKind.FUEL, quantity=rng.randrange(0, 40) * size,
                     daily_consumption=8.0 * size),
            SupplyIn(kind=SupplyKind.WATER, quantity=rng.randrange(1, 20) * 50.0 * size,
                     daily_consumption=50.0 * size),
            SupplyIn(kind=SupplyKind.OXYGEN, quantity=rng.randrange(0, 60),
                     daily_consumption=max(1.0, size / 20)),
            SupplyIn(kind=SupplyKind.BLOOD, quantity=rng.randrange(0, 80),
                     daily_consumption=max(1.0, size / 30)),
            SupplyIn(kind=SupplyKind.MEDICINE, name="insulin", quantity=rng.randrange(0, 400),
                     daily_consumption=max(2.0, size / 5)),
        ]  # fmt: skip
        add_status(
            session,
            facility_id,
            entry=StatusIn(
                status=status,
                reason="EXERCISE - simulated status for training; not the hospital's real state.",
                at=clock - timedelta(hours=rng.randrange(1, 48)),
                supplies=supplies,
                exercise=True,
            ),
            actor=Actor(label=DEMO_REPORTER, role=Role.ADMIN),
        )
        made += 1
    return made


def _demo_movement(session: Session) -> bool:
    incident = session.execute(
        select(IncidentRow.id, IncidentRow.lon, IncidentRow.lat, IncidentRow.occurred_at)
        .where(IncidentRow.is_exercise.is_(True), IncidentRow.lon.is_not(None))
        .order_by(IncidentRow.occurred_at)
        .limit(1)
    ).first()
    hospitals = session.execute(
        select(FacilityRow.lon, FacilityRow.lat)
        .where(FacilityRow.country == "PSE", FacilityRow.kind == "hospital")
        .order_by(FacilityRow.lat)
    ).all()
    if incident is None or len(hospitals) < 2:
        return False
    south, north = hospitals[0], hospitals[-1]
    movement = movements.create(
        session,
        movements.MovementIn(
            kind=movements.MovementKind.MEDICAL_EVACUATION,
            name=DEMO_MOVEMENT,
            route=[[south.lon, south.lat], [incident.lon, incident.lat], [north.lon, north.lat]],
            route_type=movements.RouteType.WAYPOINTS,
            starts_at=incident.occurred_at - timedelta(hours=1),
            ends_at=incident.occurred_at + timedelta(hours=3),
            vehicles=[
                movements.Vehicle(
                    description="Type B ambulance (EXERCISE)",
                    markings="red crescent emblem on roof and sides",
                    registration="EX-0001",
                )
            ],
            personnel_count=4,
            cargo="EXERCISE - two fictional patients for transfer",
            organisation="Exercise Relief Society (fictional)",
            status=movements.MovementStatus.COMPLETED,
            exercise=True,
        ),
        actor=SYSTEM,
    )
    linkage.link_incident(session, incident.id)
    return movement.id > 0


def load_demo_exercise(db: Database, *, seed: int) -> tuple[int, bool]:
    """Give the demo's hospitals EXERCISE statuses with supplies and add one EXERCISE movement.

    Runs once: a second call finds the exercise entries and changes nothing.
    Returns (statuses added, movement added).
    """

    def load(session: Session) -> tuple[int, bool]:
        done = session.scalar(
            select(func.count())
            .select_from(FacilityStatusRow)
            .where(FacilityStatusRow.reporter == DEMO_REPORTER)
        )
        statuses = 0 if done else _demo_statuses(session, seed=seed)
        exists = session.scalar(select(MovementRow.id).where(MovementRow.name == DEMO_MOVEMENT))
        return statuses, (False if exists else _demo_movement(session))

    return db.write(load)
