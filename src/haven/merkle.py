"""RFC 9162 Merkle tree arithmetic over stored perfect subtrees: append, roots and proofs.

The tree over leaves ``0 … n-1`` is never held in memory. What is stored are the
hashes of its *perfect* subtrees: node ``(level, index)`` covers leaves
``index·2^level … (index+1)·2^level - 1``; level 0 nodes are the leaf hashes.
Appending leaf ``n`` creates, on average, one new interior node. Every subtree
that RFC 9162's recursions (MTH, PATH, PROOF) ask for decomposes into at most
``log2 n`` perfect subtrees, so a root, an inclusion proof or a consistency
proof needs O(log n) stored nodes: the functions here first say *which* nodes
(``*_nodes``) so the caller can fetch them in one query, then compute.
Hashing and proof checking live in ``haven.custody_verifier`` (standard library
only, shipped to investigators).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from haven.custody_verifier import leaf_hash, node_hash

__all__ = [
    "EMPTY_ROOT",
    "Frontier",
    "NodeKey",
    "consistency_nodes",
    "consistency_proof",
    "inclusion_nodes",
    "inclusion_path",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "range_nodes",
    "reference_root",
    "root_nodes",
]

NodeKey = tuple[int, int]
"""``(level, index)``: the perfect subtree over leaves ``index·2^level`` to ``(index+1)·2^level-1``.
"""

EMPTY_ROOT = bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
"""The root of the empty tree: SHA-256 of nothing."""


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2): RFC 9162's split point."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(lo: int, hi: int) -> list[NodeKey]:
    """The perfect subtrees, left to right, that make up leaves ``lo … hi-1``.

    ``lo`` must be aligned as in RFC 9162's recursions (a multiple of the
    power of two at or above ``hi - lo``); each piece is then at most half the
    size of the one before it.
    """
    keys: list[NodeKey] = []
    while lo < hi:
        size = 1 << ((hi - lo).bit_length() - 1)
        level = size.bit_length() - 1
        keys.append((level, lo >> level))
        lo += size
    return keys


def range_hash(lo: int, hi: int, *, nodes: Mapping[NodeKey, bytes]) -> bytes:
    """MTH of leaves ``lo … hi-1`` from their perfect subtrees (see ``range_nodes``)."""
    pieces = [nodes[key] for key in range_nodes(lo, hi)]
    result = pieces[-1]
    for piece in reversed(pieces[:-1]):
        result = node_hash(piece, result)
    return result


def root_nodes(size: int) -> list[NodeKey]:
    """The stored nodes the root of a tree of ``size`` leaves is made of."""
    return range_nodes(0, size)


def _path_ranges(index: int, *, lo: int, hi: int) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    while hi - lo > 1:
        k = _split(hi - lo)
        if index - lo < k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()  # RFC order: the sibling nearest the leaf first
    return ranges


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    m, lo, hi, whole = first, 0, second, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            m -= k
            lo += k
            whole = False
    if not whole:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def _all_nodes(ranges: Sequence[tuple[int, int]]) -> list[NodeKey]:
    return [key for lo, hi in ranges for key in range_nodes(lo, hi)]


def inclusion_nodes(index: int, size: int) -> list[NodeKey]:
    """The stored nodes the inclusion proof of leaf ``index`` in a tree of ``size`` needs."""
    return _all_nodes(_path_ranges(index, lo=0, hi=size))


def inclusion_path(index: int, size: int, *, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    """RFC 9162 PATH(index, D[0:size]), from the nodes ``inclusion_nodes`` named."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size} leaves")
    return [range_hash(lo, hi, nodes=nodes) for lo, hi in _path_ranges(index, lo=0, hi=size)]


def consistency_nodes(first: int, second: int) -> list[NodeKey]:
    """The stored nodes the consistency proof from ``first`` to ``second`` leaves needs."""
    if not 0 < first < second:
        return []
    return _all_nodes(_consistency_ranges(first, second))


def consistency_proof(first: int, second: int, *, nodes: Mapping[NodeKey, bytes]) -> list[bytes]:
    """RFC 9162 PROOF(first, D[0:second]); empty when ``first`` is 0 or equals ``second``."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from {first} to {second} leaves")
    if first in (0, second):
        return []
    return [range_hash(lo, hi, nodes=nodes) for lo, hi in _consistency_ranges(first, second)]


class Frontier:
    """The perfect subtrees on the right edge of the tree: what an append needs.

    ``hashes[i]`` is the root of the i-th perfect subtree of ``range_nodes(0, size)``.
    ``append`` returns the new stored nodes ``(level, index, hash)`` it created
    (the leaf itself and every completed parent).
    """

    def __init__(self, size: int, hashes: Sequence[bytes]) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} frontier nodes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        created = [(0, self.size, leaf)]
        current, level, index = leaf, 0, self.size
        self.hashes.append(leaf)
        while index & 1:  # the new node completes a pair: fold it into its parent
            self.hashes.pop()
            left = self.hashes.pop()
            current = node_hash(left, current)
            level, index = level + 1, index >> 1
            created.append((level, index, current))
            self.hashes.append(current)
        self.size += 1
        return created

    def root(self) -> bytes:
        """The root of the tree so far."""
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for piece in reversed(self.hashes[:-1]):
            result = node_hash(piece, result)
        return result


def reference_root(leaves: Sequence[bytes]) -> bytes:
    """MTH straight from RFC 9162's recursive definition, over leaf hashes (for checks)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))
