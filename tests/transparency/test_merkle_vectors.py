"""The RFC 6962 / RFC 9162 reference vectors of the Certificate Transparency
implementations, byte for byte.

Source: github.com/transparency-dev/merkle (the successor of the Merkle code of
google/certificate-transparency-go and google/trillian):
- testonly/constants.go: LeafInputs, NodeHashes (every complete subtree of the 8-leaf
  tree, by level and index) and RootHashes (sizes 0 to 8);
- proof/verify_test.go: inclusionProofs and consistencyProofs (there the leaf numbers of
  inclusionProofs count from 1; below they count from 0).
"""

from __future__ import annotations

import pytest

from dangol.transparency.merkle import MemoryNodeStore, MerkleTree
from dangol.transparency.proofs import (
    EMPTY_ROOT, ProofError, leaf_hash, mth, verify_consistency, verify_inclusion,
)

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")]

NODES = [[bytes.fromhex(h) for h in level] for level in (
    ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
     "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
     "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
     "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
     "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
     "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
     "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
     "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1"],
    ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
     "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
     "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
     "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"],
    ["d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
     "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"],
    ["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
)]

ROOTS = [bytes.fromhex(h) for h in (
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]

H = bytes.fromhex
INCLUSION = [  # (leaf index from 0, tree size, proof)
    (0, 1, []),
    (0, 8, [H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (5, 8, [H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 3, [H("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")]),
    (1, 5, [H("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
]

CONSISTENCY = [  # (size1, size2, proof)
    (1, 1, []),
    (1, 8, [H("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
            H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4")]),
    (6, 8, [H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
    (2, 5, [H("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            H("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b")]),
    (6, 7, [H("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            H("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            H("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7")]),
]


def tree_of(count: int) -> MerkleTree:
    tree = MerkleTree(MemoryNodeStore())
    tree.append([leaf_hash(entry) for entry in LEAVES[:count]])
    return tree


def test_leaf_hashes() -> None:
    assert [leaf_hash(entry) for entry in LEAVES] == NODES[0]


def test_empty_root_is_the_hash_of_nothing() -> None:
    assert EMPTY_ROOT == ROOTS[0] == tree_of(0).root()


@pytest.mark.parametrize("size", range(9))
def test_roots_of_every_size(size: int) -> None:
    assert mth(NODES[0][:size]) == ROOTS[size]
    assert tree_of(size).root() == ROOTS[size]  # appended all at once
    assert tree_of(8).root(size) == ROOTS[size]  # a past size of a larger tree


def test_roots_when_appended_one_leaf_at_a_time() -> None:
    tree = MerkleTree(MemoryNodeStore())
    for size in range(1, 9):
        tree.append([leaf_hash(LEAVES[size - 1])])
        assert tree.root() == ROOTS[size]


def test_every_complete_subtree_is_stored_at_its_address() -> None:
    store = tree_of(8).store
    for level, hashes in enumerate(NODES):
        for index, expected in enumerate(hashes):
            assert store.get(level, index) == expected


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[bytes]) -> None:
    assert tree_of(8).inclusion_proof(index, size) == proof
    verify_inclusion(index, size, NODES[0][index], proof, ROOTS[size])


@pytest.mark.parametrize(("size1", "size2", "proof"), CONSISTENCY)
def test_reference_consistency_proofs(size1: int, size2: int, proof: list[bytes]) -> None:
    assert tree_of(8).consistency_proof(size1, size2) == proof
    verify_consistency(size1, size2, ROOTS[size1], ROOTS[size2], proof)


def test_edge_cases_of_verification() -> None:
    """From verify_test.go: what no proof can make true."""
    some = H("abacaba000000000000000000000000000000000000000000060061e00123456")
    for index, size in ((0, 0), (1, 0), (2, 1)):
        with pytest.raises(ProofError):
            verify_inclusion(index, size, some, [], EMPTY_ROOT)
    with pytest.raises(ProofError):  # time travel
        verify_consistency(2, 1, ROOTS[2], ROOTS[1], [])
    with pytest.raises(ProofError):  # an empty proof between different sizes
        verify_consistency(1, 2, ROOTS[1], ROOTS[2], [])
    with pytest.raises(ProofError):  # equal sizes, different roots
        verify_consistency(1, 1, ROOTS[1], ROOTS[2], [])
    with pytest.raises(ProofError):  # equal sizes need an empty proof
        verify_consistency(1, 1, ROOTS[1], ROOTS[1], [EMPTY_ROOT])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    with pytest.raises(ProofError):  # only one tree has size 0
        verify_consistency(0, 5, some, ROOTS[5], [])
    with pytest.raises(ProofError):  # a hash of the wrong length
        verify_inclusion(0, 1, NODES[0][0][:31], [], ROOTS[1])
