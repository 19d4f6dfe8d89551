"""Coordinates (``LonLat``, WGS84, GeoJSON order), H3 cells and exact distances.

Coordinate order is always longitude first, latitude second, as in GeoJSON
(RFC 7946). Nothing crosses a module boundary as a bare tuple.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
import pycountry

__all__ = [
    "EARTH_RADIUS_KM",
    "H3_RESOLUTIONS",
    "BBox",
    "LonLat",
    "bbox_around",
    "h3_cell",
    "h3_cells",
    "h3_centroid",
    "h3_finest_resolution",
    "h3_resolution",
    "haversine_km",
    "iso3_country",
]

EXTRA_ISO3 = {"XKX": "Kosovo"}
"""Codes used by the humanitarian data community (HDX, OCHA) that ISO 3166-1 lacks."""

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), in kilometres."""

H3_RESOLUTIONS = (4, 6, 8)
"""H3 resolutions stored with every located record: ~1,770 km², ~36 km² and ~0.74 km² cells."""


@dataclass(frozen=True, slots=True)
class LonLat:
    """A WGS84 point, longitude then latitude, in decimal degrees."""

    lon: float
    lat: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lon) and -180.0 <= self.lon <= 180.0):
            raise ValueError(f"longitude {self.lon!r} is outside -180..180")
        if not (math.isfinite(self.lat) and -90.0 <= self.lat <= 90.0):
            raise ValueError(f"latitude {self.lat!r} is outside -90..90")

    def to_geojson(self) -> dict[str, object]:
        """The point as a GeoJSON geometry, ``[lon, lat]``."""
        return {"type": "Point", "coordinates": [self.lon, self.lat]}


@dataclass(frozen=True, slots=True)
class BBox:
    """A longitude/latitude box: west, south, east, north (GeoJSON bbox order)."""

    west: float
    south: float
    east: float
    north: float

    def __post_init__(self) -> None:
        LonLat(self.west, self.south)
        LonLat(self.east, self.north)
        if self.south > self.north:
            raise ValueError("south edge is north of the north edge")

    @classmethod
    def parse(cls, text: str) -> BBox:
        """Parse ``"west,south,east,north"``; raise ``ValueError`` saying what is wrong."""
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("expected four numbers: west,south,east,north")
        try:
            west, south, east, north = (float(p) for p in parts)
        except ValueError as exc:
            raise ValueError("expected four numbers: west,south,east,north") from exc
        return cls(west, south, east, north)

    def contains(self, point: LonLat) -> bool:
        """Whether the point lies in the box (boxes may cross the antimeridian)."""
        if not self.south <= point.lat <= self.north:
            return False
        if self.west <= self.east:
            return self.west <= point.lon <= self.east
        return point.lon >= self.west or point.lon <= self.east


def haversine_km(a: LonLat, b: LonLat) -> float:
    """Great-circle distance between two points in kilometres (spherical Earth)."""
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    dlat = lat2 - lat1
    dlon = math.radians(b.lon - a.lon)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def bbox_around(center: LonLat, *, radius_km: float) -> BBox:
    """The smallest lon/lat box that holds every point within ``radius_km`` of ``center``.

    Used as an index-friendly prefilter before the exact ``haversine_km`` test.
    """
    angle = radius_km / EARTH_RADIUS_KM  # angular radius, radians
    dlat = math.degrees(angle)
    south, north = center.lat - dlat, center.lat + dlat
    if south <= -90.0 or north >= 90.0 or angle >= math.pi / 2:
        return BBox(-180.0, max(-90.0, south), 180.0, min(90.0, north))
    # widest longitude reached by the circle (bounding coordinates, Matuschek 2010)
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(center.lat)))))
    if dlon >= 180.0:
        return BBox(-180.0, south, 180.0, north)
    west, east = center.lon - dlon, center.lon + dlon
    if west < -180.0:
        west += 360.0
    if east > 180.0:
        east -= 360.0
    return BBox(west, south, east, north)


def h3_cells(point: LonLat, *, finest: int | None = None) -> dict[int, str | None]:
    """H3 cell ids of the point at each of ``H3_RESOLUTIONS``.

    Resolutions finer than ``finest`` get ``None``: a point known only to the
    district is not placed in a 0.7 km² cell.
    """
    return {
        res: (
            h3.latlng_to_cell(point.lat, point.lon, res)
            if finest is None or res <= finest
            else None
        )
        for res in H3_RESOLUTIONS
    }


def h3_cell(point: LonLat, *, resolution: int) -> str:
    """The id of the H3 cell of ``resolution`` (0-15) that holds the point."""
    return str(h3.latlng_to_cell(point.lat, point.lon, resolution))


def h3_centroid(cell: str) -> LonLat:
    """The centre of an H3 cell, as ``LonLat`` (H3 itself answers latitude first)."""
    lat, lon = h3.cell_to_latlng(cell)
    return LonLat(lon, lat)


def h3_resolution(cell: str) -> int:
    """The resolution (0-15) of an H3 cell id."""
    return int(h3.get_resolution(cell))


def h3_finest_resolution(radius_km: float) -> int:
    """The finest H3 resolution whose average cell edge is at least ``radius_km`` (0 if none).

    A point known to within ``radius_km`` is not placed in a cell smaller than its
    own uncertainty.
    """
    finest = 0
    for res in range(16):
        if h3.average_hexagon_edge_length(res, unit="km") >= radius_km:
            finest = res
    return finest


def iso3_country(text: str) -> str:
    """The ISO 3166-1 alpha-3 code for a code or an English country name.

    Accepts ``"PSE"``, ``"ps"``, ``"Palestine, State of"`` and the like; raises
    ``ValueError`` naming the text when no country matches.
    """
    cleaned = text.strip()
    if cleaned.upper() in EXTRA_ISO3:
        return cleaned.upper()
    try:
        found = pycountry.countries.lookup(cleaned)
    except LookupError:
        raise ValueError(f"unknown country {text!r} (use an ISO 3166-1 alpha-3 code)") from None
    return str(found.alpha_3)
