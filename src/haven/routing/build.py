"""Turn OpenStreetMap ways into a ``RoadNetwork``: split at junctions, keep the main component.

Graph nodes are the OSM nodes where ways meet or end; the points between them are
kept as edge shapes only. Only the largest strongly connected component is kept, so
every node can reach every other (a dead-end one-way stub or an island of private
roads would otherwise make routes fail). The contraction order is computed here,
once per network (``routingkit_cch.compute_order_inertial``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from haven.routing.network import RoadNetwork
from haven.routing.osm import OsmWay, optional_routingkit

__all__ = ["EARTH_RADIUS_M", "assemble_network", "build_network", "haversine_m"]

EARTH_RADIUS_M = 6_371_008.8
_DS_PER_S = 10

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def haversine_m(
    lon1: FloatArray, lat1: FloatArray, *, lon2: FloatArray, lat2: FloatArray
) -> FloatArray:
    """Great-circle distances in metres between matching points (arrays in degrees)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result


def _junctions(ways: list[OsmWay]) -> IntArray:
    """OSM ids of the nodes that become graph nodes: shared by two ways (or twice) or an end."""
    all_ids = np.concatenate([way.node_ids for way in ways])
    ids, counts = np.unique(all_ids, return_counts=True)
    ends = np.concatenate([way.node_ids[[0, -1]] for way in ways])
    junction = np.union1d(ids[counts >= 2], ends)
    return junction.astype(np.int64)


def build_network(ways: list[OsmWay], *, name: str = "", sha256: str = "") -> RoadNetwork:
    """The network of the given ways (see the module docstring)."""
    junction_ids = _junctions(ways)
    node_lon = np.zeros(len(junction_ids))
    node_lat = np.zeros(len(junction_ids))
    tails: list[int] = []
    heads: list[int] = []
    seg_of_edge: list[int] = []
    reversed_edge: list[bool] = []
    length: list[float] = []
    time: list[float] = []
    geom_ptr = [0]
    geom_lon: list[FloatArray] = []
    geom_lat: list[FloatArray] = []
    for way in ways:
        index = np.searchsorted(junction_ids, way.node_ids)
        is_junction = (index < len(junction_ids)) & (
            junction_ids[np.minimum(index, len(junction_ids) - 1)] == way.node_ids
        )
        cut = np.flatnonzero(is_junction)
        node_lon[index[cut]] = way.lon[cut]
        node_lat[index[cut]] = way.lat[cut]
        steps = haversine_m(way.lon[:-1], way.lat[:-1], lon2=way.lon[1:], lat2=way.lat[1:])
        speed_ms = way.speed_kmh / 3.6
        for start, stop in zip(cut[:-1].tolist(), cut[1:].tolist(), strict=True):
            u, v = int(index[start]), int(index[stop])
            if u == v:
                continue
            segment = len(geom_ptr) - 1
            metres = float(steps[start:stop].sum())
            geom_lon.append(way.lon[start : stop + 1])
            geom_lat.append(way.lat[start : stop + 1])
            geom_ptr.append(geom_ptr[-1] + stop + 1 - start)
            for forward, (a, b) in ((way.forward, (u, v)), (way.backward, (v, u))):
                if not forward:
                    continue
                tails.append(a)
                heads.append(b)
                seg_of_edge.append(segment)
                reversed_edge.append((a, b) == (v, u))
                length.append(metres)
                time.append(metres / speed_ms)
    return assemble_network(
        node_lon,
        node_lat,
        tails=np.asarray(tails, dtype=np.int64),
        heads=np.asarray(heads, dtype=np.int64),
        length_m=np.asarray(length),
        time_s=np.asarray(time),
        edge_geom=np.asarray(seg_of_edge, dtype=np.int64),
        edge_reversed=np.asarray(reversed_edge, dtype=bool),
        geom_ptr=np.asarray(geom_ptr, dtype=np.int64),
        geom_lon=np.concatenate(geom_lon) if geom_lon else np.zeros(0),
        geom_lat=np.concatenate(geom_lat) if geom_lat else np.zeros(0),
        name=name,
        sha256=sha256,
    )


def _largest_component(
    tails: IntArray, heads: IntArray, *, node_count: int
) -> npt.NDArray[np.bool_]:
    graph = csr_matrix(
        (np.ones(len(tails), dtype=np.int8), (tails, heads)), shape=(node_count, node_count)
    )
    _, labels = connected_components(graph, directed=True, connection="strong")
    largest = np.bincount(labels).argmax()
    keep: npt.NDArray[np.bool_] = labels == largest
    return keep


def assemble_network(  # noqa: PLR0913 - one parameter per array of the format
    lon: FloatArray,
    lat: FloatArray,
    *,
    tails: IntArray,
    heads: IntArray,
    length_m: FloatArray,
    time_s: FloatArray,
    edge_geom: IntArray,
    edge_reversed: npt.NDArray[np.bool_],
    geom_ptr: IntArray,
    geom_lon: FloatArray,
    geom_lat: FloatArray,
    name: str = "",
    sha256: str = "",
) -> RoadNetwork:
    """A network from raw edge lists: keep the largest strong component, sort to CSR, order.

    Also used by the benchmark to build a tiled network.
    """
    routingkit_cch = optional_routingkit()
    keep = _largest_component(tails, heads, node_count=len(lon))
    new_id = np.cumsum(keep) - 1
    kept_edges = keep[tails] & keep[heads]
    tails, heads = new_id[tails[kept_edges]], new_id[heads[kept_edges]]
    order_edges = np.lexsort((heads, tails))
    tails, heads = tails[order_edges], heads[order_edges]
    length_m = length_m[kept_edges][order_edges]
    time_s = time_s[kept_edges][order_edges]
    edge_geom = edge_geom[kept_edges][order_edges]
    edge_reversed = edge_reversed[kept_edges][order_edges]
    lon, lat = lon[keep], lat[keep]
    geom_ptr, geom_lon, geom_lat, edge_geom = _compact_geometry(
        geom_ptr, edge_geom, geom_lon=geom_lon, geom_lat=geom_lat
    )
    indptr = np.concatenate([[0], np.cumsum(np.bincount(tails, minlength=len(lon)))])
    weight_ds = np.maximum(1, np.rint(time_s * _DS_PER_S)).astype(np.int64)
    order = routingkit_cch.compute_order_inertial(
        len(lon), tails.tolist(), heads.tolist(), lat.tolist(), lon.tolist()
    )
    return RoadNetwork(
        lon=lon.astype(np.float64),
        lat=lat.astype(np.float64),
        indptr=indptr.astype(np.int64),
        tails=tails.astype(np.int64),
        heads=heads.astype(np.int64),
        length_m=length_m.astype(np.float64),
        time_s=time_s.astype(np.float64),
        weight_ds=weight_ds,
        edge_geom=edge_geom.astype(np.int64),
        edge_reversed=edge_reversed.astype(bool),
        geom_ptr=geom_ptr,
        geom_lon=geom_lon,
        geom_lat=geom_lat,
        order=np.asarray(order, dtype=np.int64),
        name=name,
        sha256=sha256,
    )


def _compact_geometry(
    geom_ptr: IntArray, edge_geom: IntArray, *, geom_lon: FloatArray, geom_lat: FloatArray
) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
    """Drop the shapes no kept edge uses and renumber the rest."""
    used = np.unique(edge_geom)
    sizes = geom_ptr[used + 1] - geom_ptr[used]
    new_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    take = np.repeat(geom_ptr[used] - new_ptr[:-1], sizes) + np.arange(int(new_ptr[-1]))
    renumber = np.searchsorted(used, edge_geom)
    return new_ptr, geom_lon[take], geom_lat[take], renumber.astype(np.int64)
