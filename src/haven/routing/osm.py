"""Read drivable roads from an OpenStreetMap ``.osm.pbf`` file with pyosmium.

What counts as a road, which way it may be driven and how fast:

- drivable ``highway`` values: motorway … residential, the ``*_link`` roads,
  ``unclassified``, ``living_street``, ``service`` and ``road``; ways tagged
  ``area=yes``, ``access=no|private`` or ``motor_vehicle=no|private`` are left out;
- one-way when ``oneway=yes|true|1`` (forward) or ``-1|reverse`` (backward), on
  roundabouts (``junction=roundabout|circular``) and on motorways unless ``oneway=no``;
- speed: ``maxspeed`` when it is a number (km/h, or ``"50 mph"``), else the class
  default below (zone codes such as ``"FI:urban"``, ``"none"`` or ``"signals"``
  fall back to the class default; ``"walk"`` is 7 km/h).

Turn restrictions are not read (they need an edge-expanded graph); see docs/routing.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from haven.errors import ConfigurationError, InvalidInput

__all__ = [
    "CLASS_SPEED_KMH",
    "OsmWay",
    "direction",
    "optional_osmium",
    "optional_routingkit",
    "parse_maxspeed",
    "read_ways",
    "speed_kmh",
]

CLASS_SPEED_KMH: dict[str, float] = {
    "motorway": 100.0,
    "trunk": 80.0,
    "primary": 60.0,
    "secondary": 50.0,
    "tertiary": 40.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "living_street": 10.0,
    "service": 15.0,
    "road": 30.0,
    "motorway_link": 60.0,
    "trunk_link": 50.0,
    "primary_link": 40.0,
    "secondary_link": 35.0,
    "tertiary_link": 30.0,
}
"""Default speed of each drivable road class, km/h (also the set of drivable classes)."""

_MPH = 1.609344
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")
_BLOCKED_ACCESS = {"no", "private"}


@dataclass(frozen=True, slots=True)
class OsmWay:
    """One drivable way: its node ids and locations, class, speed and allowed directions."""

    node_ids: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    highway: str
    speed_kmh: float
    forward: bool
    backward: bool
    name: str


def optional_osmium() -> Any:
    """The ``osmium`` module, or a one-line error naming the extra to install."""
    try:
        import osmium  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise ConfigurationError(
            "reading .osm.pbf files needs `pip install haven[routing]`"
        ) from exc
    return osmium


def optional_routingkit() -> Any:
    """The ``routingkit_cch`` module, or a one-line error naming the extra to install."""
    try:
        import routingkit_cch  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        raise ConfigurationError("routing needs `pip install haven[routing]`") from exc
    return routingkit_cch


def parse_maxspeed(value: str | None) -> float | None:
    """A ``maxspeed`` tag in km/h, or None when it is not a number (e.g. ``"FI:urban"``).

    ``"50"`` → 50, ``"30 mph"`` → 48.3, ``"30;50"`` → 30 (the first value), ``"walk"`` → 7.
    """
    if value is None:
        return None
    first = value.split(";")[0].strip().lower()
    if first == "walk":
        return 7.0
    match = _NUMBER.match(first)
    if match is None:
        return None
    speed = float(match.group(1))
    if match.group(2) == "mph":
        speed *= _MPH
    return speed if 1.0 <= speed <= 200.0 else None


def speed_kmh(highway: str, maxspeed: str | None) -> float:
    """The speed a vehicle drives on a way: its numeric ``maxspeed``, else its class default."""
    parsed = parse_maxspeed(maxspeed)
    return parsed if parsed is not None else CLASS_SPEED_KMH[highway]


def direction(
    highway: str, *, oneway: str | None = None, junction: str | None = None
) -> tuple[bool, bool]:
    """``(forward, backward)``: the directions a way may be driven in, from its tags."""
    value = (oneway or "").strip().lower()
    if value in {"-1", "reverse"}:
        return False, True
    if value in {"yes", "true", "1"}:
        return True, False
    if value == "no":
        return True, True
    if junction in {"roundabout", "circular"} or highway == "motorway":
        return True, False
    return True, True


def _drivable(tags: object) -> str | None:
    get = tags.get  # type: ignore[attr-defined]
    highway = get("highway")
    if highway not in CLASS_SPEED_KMH or get("area") == "yes":
        return None
    if get("access") in _BLOCKED_ACCESS or get("motor_vehicle") in _BLOCKED_ACCESS:
        return None
    return str(highway)


def _check_header(path: Path) -> None:
    """Refuse a file that is not a PBF: its first block header must name ``OSMHeader``."""
    with path.open("rb") as handle:
        head = handle.read(64)
    if len(head) < 16 or b"OSMHeader" not in head:
        raise InvalidInput(
            f"{path.name} is not an OpenStreetMap .osm.pbf file",
            fields={"file": "no OSMHeader block at the start of the file"},
        )


def read_ways(path: Path) -> list[OsmWay]:
    """Every drivable way of a ``.osm.pbf`` file, with node locations.

    Raises ``InvalidInput`` (field ``file``) when the file is not a readable PBF,
    is truncated or corrupt, or holds no drivable road.
    """
    osmium = optional_osmium()
    _check_header(path)
    ways: list[OsmWay] = []
    try:
        processor = (
            osmium.FileProcessor(str(path))
            .with_locations()
            .with_filter(osmium.filter.EntityFilter(osmium.osm.WAY))
        )
        for way in processor:
            highway = _drivable(way.tags)
            if highway is None or len(way.nodes) < 2:
                continue
            ways.extend(_ways(way, highway))
    except (RuntimeError, ValueError, OSError) as exc:
        raise InvalidInput(
            f"{path.name} could not be read as an OpenStreetMap .osm.pbf file",
            fields={"file": str(exc) or type(exc).__name__},
        ) from exc
    if not ways:
        raise InvalidInput(
            f"{path.name} holds no drivable road", fields={"file": "no drivable highway ways"}
        )
    return ways


def _ways(way: object, highway: str) -> list[OsmWay]:
    """The way as one ``OsmWay`` per run of nodes the file has locations for.

    Extracts clip ways at their border: nodes outside it have no location, and the
    way is split there rather than refused.
    """
    nodes = way.nodes  # type: ignore[attr-defined]
    tags = way.tags  # type: ignore[attr-defined]
    ids = np.fromiter((n.ref for n in nodes), dtype=np.int64, count=len(nodes))
    lon = np.full(len(nodes), np.nan)
    lat = np.full(len(nodes), np.nan)
    for index, node in enumerate(nodes):
        location = node.location
        if location.valid():
            lon[index] = location.lon
            lat[index] = location.lat
    forward, backward = direction(highway, oneway=tags.get("oneway"), junction=tags.get("junction"))
    speed = speed_kmh(highway, tags.get("maxspeed"))
    name = str(tags.get("name", ""))
    valid = ~np.isnan(lon)
    runs: list[OsmWay] = []
    start = None
    for index in range(len(ids) + 1):
        inside = index < len(ids) and bool(valid[index])
        if inside and start is None:
            start = index
        elif not inside and start is not None:
            if index - start >= 2:
                part = slice(start, index)
                runs.append(
                    OsmWay(ids[part], lon[part], lat[part], highway, speed, forward, backward, name)
                )
            start = None
    return runs
