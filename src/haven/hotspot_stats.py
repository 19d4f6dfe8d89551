"""Hotspot statistics: H3 weights, Getis-Ord Gi*, permutation inference, FDR, Mann-Kendall.

Pure numpy / scipy.sparse, vectorised over cells: the only per-cell calls go
into H3's C core while building weights (``cell_to_local_ij``, ``grid_disk`` near
base-cell edges, ``cell_to_latlng`` for distance bands). Cells are H3 indexes as
unsigned 64-bit integers; coordinates, where they appear, are longitude first
(GeoJSON order), WGS84.

References: Getis & Ord (1992, 1995) for Gi*; Benjamini & Hochberg (1995) for
the false-discovery rate; Mann (1945), Kendall (1975) for the trend test. The
formulas reproduce PySAL ``esda.G_Local(star=True, transform="B")``.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import h3.api.basic_int as h3i
import numpy as np
import numpy.typing as npt
from scipy import sparse, stats
from scipy.spatial import cKDTree

__all__ = [
    "GiStar",
    "MannKendall",
    "benjamini_hochberg",
    "cells_to_int",
    "distance_band_weights",
    "gi_star",
    "kring_weights",
    "mann_kendall",
    "neighbourhood",
    "permutation_p",
    "space_time_gi_star",
    "space_time_weights",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
CellArray = npt.NDArray[np.uint64]

EARTH_RADIUS_KM = 6371.0088
_CHUNK = 20_000_000
"""Largest number of array elements one permutation chunk holds (about 160 MB of float64)."""


def cells_to_int(cells: list[str]) -> CellArray:
    """H3 string ids as a ``uint64`` array (the order is kept)."""
    return np.fromiter((int(c, 16) for c in cells), dtype=np.uint64, count=len(cells))


def _disks(cells: CellArray, k: int) -> tuple[IntArray, CellArray]:
    """Row position and cell of every member of each cell's k-ring (the cell itself included)."""
    disk = h3i.grid_disk
    disks = [disk(c, k) for c in cells.tolist()]  # per cell: into H3's C core
    sizes = np.fromiter(map(len, disks), dtype=np.int64, count=len(disks))
    total = int(sizes.sum())
    members = np.fromiter(itertools.chain.from_iterable(disks), dtype=np.uint64, count=total)
    return np.repeat(np.arange(len(cells), dtype=np.int64), sizes), members


def neighbourhood(cells: CellArray, *, k: int) -> CellArray:
    """The sorted union of the k-rings around ``cells``: the cells and every cell within k steps."""
    _, members = _disks(np.unique(cells), k)
    return np.unique(members)


def kring_weights(cells: CellArray, *, k: int = 1) -> sparse.csr_array:
    """Binary k-ring weights among ``cells``: w_ij = 1 when j is within k H3 steps of i.

    The diagonal is 1 (Gi*, "star": each cell is its own neighbour). Neighbours
    outside ``cells`` are left out, so edge cells have fewer neighbours.

    Inside one base cell (H3's 122 resolution-0 cells) H3's local IJ coordinates
    form a regular hexagonal lattice, so neighbours are found by lattice offsets
    with numpy: one ``cell_to_local_ij`` call per cell instead of one
    ``grid_disk``. A cell whose k-ring may leave its base cell (its ancestor two
    resolutions up has a k-ring touching another base cell), or that lies in one
    of the 12 pentagon base cells, gets its neighbours from ``h3.grid_disk``.

    Parameters
    ----------
    cells
        Distinct H3 cells of one resolution, as ``uint64``, in the row order wanted.
    k
        Ring distance, 1 or more (1: the six touching hexagons).
    """
    if k < 1:
        raise ValueError("k must be 1 or more")
    n = len(cells)
    if n == 0:
        return sparse.csr_array((0, 0))
    res = int((cells[0] >> np.uint64(52)) & np.uint64(0xF))
    if bool(np.any((cells >> np.uint64(52)) & np.uint64(0xF) != res)):
        raise ValueError("cells must all have the same resolution")
    lattice = _lattice_cells(cells, res=res, k=k)
    rows_a, cols_a = _lattice_pairs(cells, lattice, k=k)
    fallback = np.flatnonzero(~lattice)
    rows_b, cols_b = _disk_pairs(cells, fallback, k=k)
    rows = np.concatenate([rows_a, rows_b])
    cols = np.concatenate([cols_a, cols_b])
    if len(rows_b):  # both parts come sorted by row: merge them
        order = np.argsort(rows, kind="stable")
        rows, cols = rows[order], cols[order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return sparse.csr_array((np.ones(len(cols)), cols, indptr), shape=(n, n))


_RES_SHIFT, _BASE_SHIFT = np.uint64(52), np.uint64(45)


def _base_cells(cells: CellArray) -> IntArray:
    return ((cells >> _BASE_SHIFT) & np.uint64(0x7F)).astype(np.int64)


def _ancestors(cells: CellArray, res: int) -> CellArray:
    """The parent of each cell at ``res``, by setting the index's resolution and digit bits."""
    fill = sum(7 << ((15 - d) * 3) for d in range(res + 1, 16))
    cleared = cells & ~(np.uint64(0xF) << _RES_SHIFT)
    return cleared | (np.uint64(res) << _RES_SHIFT) | np.uint64(fill)


@functools.cache
def _pentagon_bases() -> npt.NDArray[np.int64]:
    return np.array(sorted(h3i.get_base_cell_number(p) for p in h3i.get_pentagons(0)))


def _lattice_cells(cells: CellArray, *, res: int, k: int) -> npt.NDArray[np.bool_]:
    """Cells whose whole k-ring lies in their own (hexagonal) base cell."""
    lift = min(2, res)
    if lift == 0:
        return np.zeros(len(cells), dtype=bool)
    ancestors, inverse = np.unique(_ancestors(cells, res - lift), return_inverse=True)
    rows, members = _disks(ancestors, k)
    member_base = _base_cells(members)
    other = (member_base != _base_cells(ancestors)[rows]) | np.isin(member_base, _pentagon_bases())
    crossing = np.bincount(rows, weights=other, minlength=len(ancestors)) > 0
    return ~crossing[inverse.reshape(-1)]


def _lattice_pairs(
    cells: CellArray, lattice: npt.NDArray[np.bool_], *, k: int
) -> tuple[IntArray, IntArray]:
    """(row, column) of every neighbour pair of the lattice cells, from local IJ offsets."""
    base = _base_cells(cells)
    placed = np.flatnonzero(~np.isin(base, _pentagon_bases()))
    if not lattice.any():
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    res = int((cells[0] >> _RES_SHIFT) & np.uint64(0xF))
    origins = {b: h3i.cell_to_center_child(_res0(b), res) for b in np.unique(base[placed]).tolist()}
    local = h3i.cell_to_local_ij
    ij = np.array(
        [
            local(origins[b], c)
            for b, c in zip(base[placed].tolist(), cells[placed].tolist(), strict=True)
        ],
        dtype=np.int64,
    ).reshape(-1, 2)
    keys = (base[placed] << 46) + ((ij[:, 0] + (1 << 22)) << 23) + (ij[:, 1] + (1 << 22))
    order = np.argsort(keys)
    sorted_keys = keys[order]
    within = lattice[placed]
    di, dj = np.meshgrid(np.arange(-k, k + 1), np.arange(-k, k + 1), indexing="ij")
    near = np.maximum(np.maximum(abs(di), abs(dj)), abs(di - dj)) <= k
    offsets = (di[near] << 23) + dj[near]
    wanted = keys[within][:, None] + offsets[None, :]
    pos = np.minimum(np.searchsorted(sorted_keys, wanted), len(sorted_keys) - 1)
    found = sorted_keys[pos] == wanted
    rows = np.repeat(placed[within], found.sum(axis=1))
    return rows, placed[order[pos[found]]]


def _res0(base: int) -> int:
    """The resolution-0 cell of a base cell number."""
    return (1 << 59) | (base << 45) | ((1 << 45) - 1)


def _disk_pairs(cells: CellArray, which: IntArray, *, k: int) -> tuple[IntArray, IntArray]:
    """(row, column) of every neighbour pair of the cells ``which``, from ``h3.grid_disk``."""
    n = len(cells)
    if len(which) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    ascending = bool(np.all(cells[1:] > cells[:-1]))
    order = np.arange(n) if ascending else np.argsort(cells)
    sorted_cells = cells if ascending else cells[order]
    rows, members = _disks(cells[which], k)
    pos = np.minimum(np.searchsorted(sorted_cells, members), n - 1)
    found = sorted_cells[pos] == members
    return which[rows[found]], order[pos[found]]


def _unit_vectors(cells: CellArray) -> FloatArray:
    latlng = np.array([h3i.cell_to_latlng(int(c)) for c in cells], dtype=np.float64)
    lat, lon = np.radians(latlng[:, 0]), np.radians(latlng[:, 1])
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def distance_band_weights(cells: CellArray, *, distance_km: float) -> sparse.csr_array:
    """Binary distance-band weights: w_ij = 1 when the cell centres are within ``distance_km``.

    Great-circle distance on a sphere of radius ``EARTH_RADIUS_KM``; the diagonal is 1.
    """
    if not distance_km > 0:
        raise ValueError("distance_km must be positive")
    xyz = _unit_vectors(cells)
    chord = 2.0 * np.sin(min(distance_km / EARTH_RADIUS_KM, np.pi) / 2.0)
    tree = cKDTree(xyz)
    pairs = tree.query_pairs(chord, output_type="ndarray")
    n = len(cells)
    rows = np.concatenate([pairs[:, 0], pairs[:, 1], np.arange(n)])
    cols = np.concatenate([pairs[:, 1], pairs[:, 0], np.arange(n)])
    data = np.ones(len(rows), dtype=np.float64)
    return sparse.csr_array((data, (rows, cols)), shape=(n, n))


def space_time_weights(
    spatial: sparse.csr_array, *, periods: int, time_lag: int
) -> sparse.csr_array:
    """Weights of a space-time cube, bins ordered period-major (bin = period × cells + cell).

    Bin (i, t) neighbours bin (j, s) when w_ij = 1 and t - ``time_lag`` <= s <= t:
    the spatial neighbours in the same period and the ``time_lag`` periods before
    (the time-lag neighbours of emerging hot spot analysis).
    """
    if time_lag < 0:
        raise ValueError("time_lag must be 0 or more")
    lag = sparse.diags_array(
        [np.ones(periods - d) for d in range(min(time_lag, periods - 1) + 1)],
        offsets=[-d for d in range(min(time_lag, periods - 1) + 1)],
        shape=(periods, periods),
    )
    return sparse.csr_array(sparse.kron(lag, spatial, format="csr"))


@dataclass(frozen=True, slots=True)
class GiStar:
    """Gi* of every cell: statistic, its expectation and variance, z, and p-values.

    ``p_norm`` is the one-sided normal tail ``1 - Φ(|z|)`` that esda reports;
    ``p`` is the two-sided ``2 (1 - Φ(|z|))`` used for significance.
    """

    g: FloatArray
    expected: FloatArray
    variance: FloatArray
    z: FloatArray
    p_norm: FloatArray
    p: FloatArray


def gi_star(y: npt.ArrayLike, w: sparse.csr_array | sparse.csr_matrix) -> GiStar:
    """Getis-Ord Gi* of ``y`` (non-negative) under weights ``w`` whose diagonal is the self-weight.

    G*_i = Σ_j w_ij y_j / Σ_j y_j, with E = W_i / n and
    Var = W_i (n - W_i) / (n - 1) / n² · s² / ȳ², where W_i = Σ_j w_ij and s² is
    the population variance of ``y`` (Getis & Ord 1995; esda's ``G_Local``).
    Cells where ``y`` has no variance get z = 0, p = 1.
    """
    values = np.asarray(y, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != w.shape[0]:
        raise ValueError("y must be one value per row of w")
    return _gi_star(values, w @ values, card=np.asarray(w.sum(axis=1)).ravel())


def space_time_gi_star(cube: npt.ArrayLike, spatial: sparse.csr_array, *, time_lag: int) -> GiStar:
    """Gi* of a (periods × cells) cube under ``space_time_weights(spatial, ...)``, bins flattened
    period-major, without building the cube's weights (one sparse product per lag)."""
    values = np.asarray(cube, dtype=np.float64)
    periods = values.shape[0]
    spatial_sums = np.asarray(spatial @ values.T).T  # (periods, cells)
    card_spatial = np.asarray(spatial.sum(axis=1)).ravel()
    sums = spatial_sums.copy()
    lags = np.ones(periods)
    for lag in range(1, min(time_lag, periods - 1) + 1):  # loop over lags, never over cells
        sums[lag:] += spatial_sums[:-lag]
        lags[lag:] += 1
    card = (lags[:, None] * card_spatial[None, :]).ravel()
    return _gi_star(values.ravel(), sums.ravel(), card=card)


def _gi_star(values: FloatArray, wy: FloatArray, *, card: FloatArray) -> GiStar:
    if (values < 0).any():
        raise ValueError("Gi* needs non-negative values (counts)")
    n = values.shape[0]
    total = values.sum()
    mean = total / n
    variance_y = (values**2).sum() / n - mean**2
    g = wy / total if total > 0 else np.zeros(n)
    expected = card / n
    var_g = card * (n - card) / (n - 1) / n**2 * (variance_y / mean**2) if total > 0 else card * 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_g > 0, (g - expected) / np.sqrt(var_g), 0.0)
    p_norm = stats.norm.sf(np.abs(z))
    return GiStar(g, expected, var_g, z, p_norm, np.minimum(1.0, 2.0 * p_norm))


def _draws(n: int, k: int, *, permutations: int, seed: int) -> IntArray:
    """``permutations`` rows of ``k`` distinct positions in 0..n-2 (the others of a cell)."""
    rng = np.random.default_rng(seed)
    out = np.empty((permutations, k), dtype=np.int64)
    for row in range(permutations):  # loop over permutations, never over cells
        out[row] = rng.choice(n - 1, size=k, replace=False)
    return out


def permutation_p(
    y: npt.ArrayLike,
    w: sparse.csr_array | sparse.csr_matrix,
    *,
    permutations: int = 999,
    seed: int = 0,
) -> FloatArray:
    """Conditional-randomisation pseudo p-values of Gi* for binary weights (esda's "directed").

    Each cell keeps its own value; the values of its m other neighbours are
    replaced by m values drawn without replacement from all the other cells. The
    pseudo p-value is (min(#{sim >= obs}, #{sim < obs}) + 1) / (permutations + 1).

    The null distribution of a cell depends only on m and on its own value
    (which is left out of the pool), so one set of draws is simulated per distinct
    (value, m) pair and every cell is answered by a binary search: the cost grows
    with the number of distinct values, not of cells.
    """
    values = np.asarray(y, dtype=np.float64)
    n = values.shape[0]
    if permutations < 1:
        raise ValueError("permutations must be 1 or more")
    if not np.all(np.isin(w.data, (0.0, 1.0))):
        raise ValueError("permutation inference needs binary weights")
    diag = w.diagonal()
    others_sum = (w @ values) - diag * values
    m = np.asarray(w.sum(axis=1)).ravel().astype(np.int64) - (diag != 0).astype(np.int64)
    kmax = int(m.max()) if n else 0
    if n < 2 or kmax == 0:
        return np.ones(n)
    draws = _draws(n, kmax, permutations=permutations, seed=seed)
    distinct, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    shift = np.max(values) * kmax + 1.0  # larger than any simulated sum
    keys = np.empty((len(distinct), kmax + 1, permutations), dtype=np.float64)
    per_chunk = max(1, _CHUNK // (permutations * kmax))
    for start in range(0, len(distinct), per_chunk):  # chunks of distinct values
        own = first[start : start + per_chunk]
        idx = draws[None, :, :] + (draws[None, :, :] >= own[:, None, None])
        sums = np.cumsum(values[idx], axis=2)  # (values, permutations, m)
        keys[start : start + per_chunk, 0, :] = 0.0
        keys[start : start + per_chunk, 1:, :] = np.transpose(sums, (0, 2, 1))
    keys.sort(axis=2)
    group = inverse.reshape(-1) * (kmax + 1) + m
    offsets = np.arange(len(distinct) * (kmax + 1), dtype=np.float64) * shift
    flat = (keys.reshape(-1, permutations) + offsets[:, None]).ravel()
    below = np.searchsorted(flat, others_sum + group * shift, side="left") - group * permutations
    larger = permutations - below
    p: FloatArray = (np.minimum(larger, permutations - larger) + 1.0) / (permutations + 1.0)
    return p


def benjamini_hochberg(p: npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (q-values), same order as ``p``.

    A cell is significant at false-discovery rate α when its q <= α.
    """
    values = np.asarray(p, dtype=np.float64)
    m = values.shape[0]
    if m == 0:
        return values.copy()
    order = np.argsort(values)
    ranked = values[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(ranked, 1.0)
    return q


@dataclass(frozen=True, slots=True)
class MannKendall:
    """Mann-Kendall trend test of each row: S, Var(S) with tie correction, z, two-sided p, tau.

    ``tau`` is S / (n(n-1)/2) (Kendall's tau-a, as pymannkendall reports it);
    ``z`` carries the usual continuity correction (S ∓ 1).
    """

    s: FloatArray
    var_s: FloatArray
    z: FloatArray
    p: FloatArray
    tau: FloatArray


def mann_kendall(series: npt.ArrayLike) -> MannKendall:
    """The Mann-Kendall test of every row of a (rows × periods) array, vectorised over rows."""
    x = np.atleast_2d(np.asarray(series, dtype=np.float64))
    rows, n = x.shape
    s = np.zeros(rows)
    for lag in range(1, n):  # loop over time lags, never over rows
        s += np.sign(x[:, lag:] - x[:, :-lag]).sum(axis=1)
    ordered = np.sort(x, axis=1).ravel()
    new_run = np.ones(ordered.shape[0], dtype=bool)
    new_run[1:] = ordered[1:] != ordered[:-1]
    new_run[::n] = True  # every row starts a run
    starts = np.flatnonzero(new_run)
    lengths = np.diff(np.append(starts, ordered.shape[0])).astype(np.float64)
    ties = np.bincount(
        starts // n, weights=lengths * (lengths - 1) * (2 * lengths + 5), minlength=rows
    )
    var_s = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(var_s > 0, (s - np.sign(s)) / np.sqrt(var_s), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    tau = s / (n * (n - 1) / 2.0) if n > 1 else np.zeros(rows)
    return MannKendall(s, var_s, z, p, tau)
