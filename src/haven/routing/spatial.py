"""Spatial indexes over a road network: snapping points to nodes, finding edges near a shape.

Geometry is done in a local plane in metres (an equirectangular projection centred on
the network, exact to well under 1 % across a city or a province), so that buffers
and distances are in metres. Each index is built on first use and kept on the network
(``RoadNetwork.cache``) for the life of the process.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree

from haven.errors import InvalidInput
from haven.geo import LonLat
from haven.routing.build import EARTH_RADIUS_M
from haven.routing.network import RoadNetwork

__all__ = ["Plane", "Snap", "nearest_snaps", "plane", "segment_index", "snap", "snap_points"]

FloatArray = npt.NDArray[np.float64]
_M_PER_DEG = math.pi * EARTH_RADIUS_M / 180.0


@dataclass(frozen=True, slots=True)
class Plane:
    """The network's local plane: ``x`` east and ``y`` north of its centre, in metres."""

    lon0: float
    lat0: float
    kx: float
    ky: float

    def xy(self, lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Plane coordinates of longitude/latitude arrays."""
        return (lon - self.lon0) * self.kx, (lat - self.lat0) * self.ky

    def lonlat(self, x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Longitude/latitude of plane coordinates (the inverse of ``xy``)."""
        return x / self.kx + self.lon0, y / self.ky + self.lat0

    def to_plane(self, geometry: Any) -> Any:
        """A shapely geometry given in lon/lat, in plane metres."""
        return shapely.transform(geometry, lambda c: np.column_stack(self.xy(c[:, 0], c[:, 1])))


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a point joins the network: the nearest point of a road and how far away it is.

    ``segment`` is the road shape the point joins and ``fraction`` how far along that
    shape (0 at its first point, 1 at its last, by length); ``node`` is the nearest
    junction (looked up when asked: routes need it only when they have no road to
    follow).
    """

    distance_m: float
    point: LonLat
    segment: int
    fraction: float
    network: RoadNetwork = field(repr=False, compare=False)

    @property
    def on_road(self) -> LonLat:
        """The nearest point of the road itself (where the point joins it)."""
        line = segment_index(self.network).lines[self.segment]
        joined = shapely.line_interpolate_point(line, self.fraction, normalized=True)
        lon, lat = plane(self.network).lonlat(np.array([joined.x]), np.array([joined.y]))
        return LonLat(float(lon[0]), float(lat[0]))

    @property
    def node(self) -> int:
        """The junction nearest to the point."""
        x, y = plane(self.network).xy(np.array([self.point.lon]), np.array([self.point.lat]))
        _, node = _node_tree(self.network).query([float(x[0]), float(y[0])])
        return int(node)


@dataclass(frozen=True, slots=True)
class SegmentIndex:
    """Edge shapes in plane metres in an STRtree, and the edges that use each shape."""

    lines: Any
    tree: Any
    edge_ptr: npt.NDArray[np.int64]
    edges: npt.NDArray[np.int64]

    def edges_of(self, segments: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The directed edges drawn by the given shapes."""
        if len(segments) == 0:
            return np.zeros(0, dtype=np.int64)
        parts = [self.edges[self.edge_ptr[s] : self.edge_ptr[s + 1]] for s in segments.tolist()]
        return np.concatenate(parts)


def plane(network: RoadNetwork) -> Plane:
    """The network's local plane (cached)."""
    found = network.cache.get("plane")
    if found is None:
        west, south, east, north = network.bounds()
        lat0 = (south + north) / 2
        found = Plane(
            lon0=(west + east) / 2,
            lat0=lat0,
            kx=_M_PER_DEG * math.cos(math.radians(lat0)),
            ky=_M_PER_DEG,
        )
        network.cache["plane"] = found
    result: Plane = found
    return result


def _node_tree(network: RoadNetwork) -> Any:
    tree = network.cache.get("node_tree")
    if tree is None:
        x, y = plane(network).xy(network.lon, network.lat)
        tree = cKDTree(np.column_stack([x, y]))
        network.cache["node_tree"] = tree
    return tree


def snap(network: RoadNetwork, point: LonLat, *, field: str, limit_m: float) -> Snap:
    """The nearest point of a road; ``InvalidInput`` naming ``field`` beyond the limit."""
    return snap_points(network, [point], fields=[field], limit_m=limit_m)[0]


def nearest_snaps(network: RoadNetwork, points: Sequence[LonLat]) -> list[Snap | None]:
    """Each point's nearest point of a road, however far, in one spatial query (None only
    when the network has no road shape at all)."""
    if not points:
        return []
    x, y = plane(network).xy(np.array([p.lon for p in points]), np.array([p.lat for p in points]))
    here = shapely.points(x, y)
    index = segment_index(network)
    found, distances = index.tree.query_nearest(here, return_distance=True, all_matches=False)
    nearest = dict(
        zip(found[0].tolist(), zip(found[1].tolist(), distances.tolist(), strict=True), strict=True)
    )
    snaps: list[Snap | None] = [None] * len(points)
    if not nearest:
        return snaps
    keys = sorted(nearest)
    fractions = shapely.line_locate_point(
        index.lines[[nearest[k][0] for k in keys]], here[keys], normalized=True
    )
    for k, fraction in zip(keys, fractions.tolist(), strict=True):
        snaps[k] = Snap(
            distance_m=nearest[k][1],
            point=points[k],
            segment=nearest[k][0],
            fraction=min(max(fraction, 0.0), 1.0),
            network=network,
        )
    return snaps


def snap_points(
    network: RoadNetwork, points: Sequence[LonLat], *, fields: Sequence[str], limit_m: float
) -> list[Snap]:
    """``snap`` for several points in one spatial query; the first one too far is refused."""
    snaps = nearest_snaps(network, points)
    joined: list[Snap] = []
    for found, name in zip(snaps, fields, strict=True):
        distance = found.distance_m if found is not None else math.inf
        if found is None or not math.isfinite(distance) or distance > limit_m:
            raise InvalidInput(
                f"the {name} is {distance:,.0f} m from the nearest road of the network "
                f"(the limit is {limit_m:,.0f} m)",
                fields={name: f"{distance:,.0f} m from the road network, limit {limit_m:,.0f} m"},
            )
        joined.append(found)
    return joined


def segment_index(network: RoadNetwork) -> SegmentIndex:
    """The STRtree of edge shapes in plane metres (cached)."""
    found = network.cache.get("segments")
    if found is None:
        x, y = plane(network).xy(network.geom_lon, network.geom_lat)
        sizes = np.diff(network.geom_ptr)
        lines = shapely.linestrings(
            np.column_stack([x, y]), indices=np.repeat(np.arange(len(sizes)), sizes)
        )
        order = np.argsort(network.edge_geom, kind="stable")
        counts = np.bincount(network.edge_geom, minlength=len(sizes))
        found = SegmentIndex(
            lines=lines,
            tree=shapely.STRtree(lines),
            edge_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            edges=order.astype(np.int64),
        )
        network.cache["segments"] = found
    result: SegmentIndex = found
    return result
