"""Humanitarian corridors, their status history and measurements, and stored evacuation plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from haven.models.base import Base, utcnow

__all__ = [
    "CorridorObservationRow",
    "CorridorRow",
    "CorridorStatusChangeRow",
    "EvacuationPlanRow",
]


class CorridorRow(Base):
    """A named humanitarian corridor: a route between waypoints, its status and its rules."""

    __tablename__ = "corridors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    waypoints: Mapped[list[Any]] = mapped_column()
    """``[[lon, lat], …]``, at least two points, in the order travelled (GeoJSON order)."""
    geometry: Mapped[list[Any]] = mapped_column()
    """The routed path through the waypoints, ``[[lon, lat], …]``, when it was created."""
    mode: Mapped[str] = mapped_column(String(12))
    """The routing mode the path and its measurements use: fastest, safest or balanced."""
    buffer_m: Mapped[float] = mapped_column(Float)
    """Incidents and closures this close to the path touch the corridor."""
    incident_days: Mapped[int] = mapped_column(Integer)
    """An incident within the buffer in this many past days restricts the corridor."""
    status: Mapped[str] = mapped_column(String(12), index=True)
    """open, restricted or closed."""
    status_automatic: Mapped[bool] = mapped_column(Boolean, default=True)
    """Whether the status in force was set by the automatic check (else by a person)."""
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    min_lon: Mapped[float] = mapped_column(Float)
    min_lat: Mapped[float] = mapped_column(Float)
    max_lon: Mapped[float] = mapped_column(Float)
    max_lat: Mapped[float] = mapped_column(Float)
    length_m: Mapped[float] = mapped_column(Float)
    travel_time_s: Mapped[float] = mapped_column(Float)
    network_sha256: Mapped[str] = mapped_column(String(64))
    """The road network the path was routed on."""
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CorridorStatusChangeRow(Base):
    """One change of a corridor's status: when, from what to what, who or what, and why."""

    __tablename__ = "corridor_status_changes"
    __table_args__ = (Index("ix_corridor_status_changes_corridor_id_at", "corridor_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    corridor_id: Mapped[int] = mapped_column(ForeignKey("corridors.id"))
    at: Mapped[datetime] = mapped_column()
    from_status: Mapped[str | None] = mapped_column(String(12))
    """``None`` for the first status, set when the corridor was created."""
    to_status: Mapped[str] = mapped_column(String(12))
    automatic: Mapped[bool] = mapped_column(Boolean)
    actor: Mapped[str] = mapped_column(String(120))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    cause_type: Mapped[str] = mapped_column(String(12))
    """created, manual, closure, incident or cleared."""
    cause_id: Mapped[str | None] = mapped_column(String(40))
    """The closure or incident id that caused an automatic change."""


class CorridorObservationRow(Base):
    """One measurement of a corridor: travel time, length and risk along it at a time."""

    __tablename__ = "corridor_observations"
    __table_args__ = (Index("ix_corridor_observations_corridor_id_at", "corridor_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    corridor_id: Mapped[int] = mapped_column(ForeignKey("corridors.id"))
    at: Mapped[datetime] = mapped_column()
    travel_time_s: Mapped[float | None] = mapped_column(Float)
    """``None`` when no route joined the waypoints at that time."""
    length_m: Mapped[float | None] = mapped_column(Float)
    risk: Mapped[float | None] = mapped_column(Float)
    """Risk exposure along the route (routing's "seconds at full risk")."""
    status: Mapped[str] = mapped_column(String(12))
    """The corridor's status right after the measurement."""


class EvacuationPlanRow(Base):
    """An evacuation plan as computed: the request, the explained plan and its totals."""

    __tablename__ = "evacuation_plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(12))
    request: Mapped[dict[str, Any]] = mapped_column()
    plan: Mapped[dict[str, Any]] = mapped_column()
    patients: Mapped[int] = mapped_column(Integer)
    placed: Mapped[int] = mapped_column(Integer)
    unplaced: Mapped[int] = mapped_column(Integer)
    network_sha256: Mapped[str] = mapped_column(String(64))
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
