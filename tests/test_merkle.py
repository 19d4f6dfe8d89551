"""RFC 9162 Merkle proofs: the published test vectors, and agreement with a reference."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from haven import merkle
from haven.custody_verifier import leaf_hash, node_hash, verify_consistency, verify_inclusion

# The reference leaves and roots of Certificate Transparency's Merkle tree tests (RFC 6962;
# RFC 9162 keeps the same hashing), as published with the CT and transparency-dev code.
DATA = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (0-based leaf index, tree size, path)
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (first size, second size, proof)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]

LEAVES = [leaf_hash(bytes.fromhex(d)) for d in DATA]


class Tree:
    """Builds a tree leaf by leaf as the custody log does, keeping every stored node."""

    def __init__(self, leaves: list[bytes]) -> None:
        self.frontier = merkle.Frontier(0, [])
        self.nodes: dict[merkle.NodeKey, bytes] = {}
        self.roots = [merkle.EMPTY_ROOT]
        for value in leaves:
            for level, index, digest in self.frontier.append(value):
                self.nodes[(level, index)] = digest
            self.roots.append(self.frontier.root())


def _reference_path(index: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) straight from RFC 9162, section 2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < k:
        return [*_reference_path(index, leaves[:k]), merkle.reference_root(leaves[k:])]
    return [*_reference_path(index - k, leaves[k:]), merkle.reference_root(leaves[:k])]


def _reference_subproof(m: int, leaves: list[bytes], *, whole: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) straight from RFC 9162, section 2.1.4.1."""
    n = len(leaves)
    if m == n:
        return [] if whole else [merkle.reference_root(leaves)]
    k = 1 << ((n - 1).bit_length() - 1)
    if m <= k:
        return [*_reference_subproof(m, leaves[:k], whole=whole), merkle.reference_root(leaves[k:])]
    return [
        *_reference_subproof(m - k, leaves[k:], whole=False),
        merkle.reference_root(leaves[:k]),
    ]


def test_roots_match_the_published_vectors() -> None:
    tree = Tree(LEAVES)
    assert tree.roots[0].hex() == hashlib.sha256(b"").hexdigest()
    for size, expected in enumerate(ROOTS, start=1):
        assert tree.roots[size].hex() == expected
        assert merkle.reference_root(LEAVES[:size]).hex() == expected


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(
    *, index: int, size: int, path: list[str]
) -> None:
    tree = Tree(LEAVES[:size])
    produced = merkle.inclusion_path(index, size, nodes=tree.nodes)
    assert [p.hex() for p in produced] == path
    root = bytes.fromhex(ROOTS[size - 1])
    assert verify_inclusion(LEAVES[index], produced, index=index, tree_size=size, root=root)


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(
    *, first: int, second: int, proof: list[str]
) -> None:
    tree = Tree(LEAVES[:second])
    produced = merkle.consistency_proof(first, second, nodes=tree.nodes)
    assert [p.hex() for p in produced] == proof
    old, new = bytes.fromhex(ROOTS[first - 1]), bytes.fromhex(ROOTS[second - 1])
    assert verify_consistency(old, new, first=first, second=second, proof=produced)


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(f"leaf {i}".encode()) for i in range(n)]


def test_every_proof_agrees_with_the_reference_up_to_70_leaves() -> None:
    leaves = _leaves(70)
    tree = Tree(leaves)
    for size in range(1, 71):
        assert tree.roots[size] == merkle.reference_root(leaves[:size])
        for index in range(size):
            path = merkle.inclusion_path(index, size, nodes=tree.nodes)
            assert path == _reference_path(index, leaves[:size])
            assert verify_inclusion(
                leaves[index], path, index=index, tree_size=size, root=tree.roots[size]
            )
        for first in range(1, size + 1):
            proof = merkle.consistency_proof(first, size, nodes=tree.nodes)
            assert proof == _reference_subproof(first, leaves[:size], whole=True)
            assert verify_consistency(
                tree.roots[first], tree.roots[size], first=first, second=size, proof=proof
            )


@settings(max_examples=200, deadline=None)
@given(
    size=st.integers(min_value=2, max_value=300),
    data=st.data(),
)
def test_a_changed_proof_or_root_never_verifies(size: int, data: st.DataObject) -> None:
    leaves = _leaves(size)
    tree = Tree(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    path = merkle.inclusion_path(index, size, nodes=tree.nodes)
    root = tree.roots[size]
    assert len(path) <= (size - 1).bit_length()  # O(log n)
    assert verify_inclusion(leaves[index], path, index=index, tree_size=size, root=root)
    assert not verify_inclusion(
        leaves[index], path, index=(index + 1) % size, tree_size=size, root=root
    )
    assert not verify_inclusion(
        leaves[(index + 1) % size], path, index=index, tree_size=size, root=root
    )
    assert not verify_inclusion(leaves[index], path[:-1], index=index, tree_size=size, root=root)
    assert not verify_inclusion(
        leaves[index], [*path, root], index=index, tree_size=size, root=root
    )
    flipped = bytearray(root)
    flipped[data.draw(st.integers(min_value=0, max_value=31))] ^= 1
    assert not verify_inclusion(
        leaves[index], path, index=index, tree_size=size, root=bytes(flipped)
    )
    first = data.draw(st.integers(min_value=1, max_value=size - 1))
    proof = merkle.consistency_proof(first, size, nodes=tree.nodes)
    assert verify_consistency(tree.roots[first], root, first=first, second=size, proof=proof)
    assert not verify_consistency(
        tree.roots[first], bytes(flipped), first=first, second=size, proof=proof
    )
    assert not verify_consistency(root, tree.roots[first], first=first, second=size, proof=proof)
    if proof:
        bent = [bytes(p) for p in proof]
        bent[data.draw(st.integers(min_value=0, max_value=len(bent) - 1))] = node_hash(root, root)
        assert not verify_consistency(tree.roots[first], root, first=first, second=size, proof=bent)
