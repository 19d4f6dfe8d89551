"""Road-network imports and road closures, checkpoints and no-go areas (routing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from haven.models.base import Base, utcnow

__all__ = ["RoadClosureRow", "RoadImportRow"]


class RoadImportRow(Base):
    """One import of an OpenStreetMap file into the road network the router uses (latest wins)."""

    __tablename__ = "road_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    """The imported file's name."""
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    """SHA-256 of the imported ``.osm.pbf`` file."""
    file: Mapped[str] = mapped_column(String(200))
    """The network's ``.npz`` file, relative to ``DATA_DIR/roads``."""
    node_count: Mapped[int] = mapped_column(Integer)
    edge_count: Mapped[int] = mapped_column(Integer)
    way_count: Mapped[int] = mapped_column(Integer)
    bounds: Mapped[list[Any]] = mapped_column()
    """``[west, south, east, north]`` of the network's nodes."""
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(120))


class RoadClosureRow(Base):
    """A closed road, a checkpoint or a no-go area, valid over a time window."""

    __tablename__ = "road_closures"
    __table_args__ = (
        Index("ix_road_closures_valid_from_valid_until", "valid_from", "valid_until"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    """closure (blocked), checkpoint (a delay) or no_go (front line, no-go area; blocked)."""
    geometry: Mapped[dict[str, Any]] = mapped_column()
    """GeoJSON Point, LineString or Polygon in lon/lat."""
    radius_m: Mapped[float] = mapped_column(Float)
    """Buffer around the geometry, metres."""
    delay_s: Mapped[float] = mapped_column(Float, default=0.0)
    """Time a checkpoint adds to a road through it, seconds."""
    valid_from: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()
    ended_by: Mapped[str | None] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(12))
    """coordinator or incident."""
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    is_exercise: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
