"""Referral rings: members linked by a shared fingerprint (a device, a payment
reference, an address), grouped by union-find: two members sharing nothing directly are
in one ring when a chain of shared fingerprints joins them."""

from __future__ import annotations

from collections.abc import Iterable


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, item: str) -> str:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            root = self.parent[root]
        while item != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the smaller root wins: the same rings in any order


def find_rings(links: Iterable[tuple[str, str]], min_members: int = 2) -> dict[str, frozenset[str]]:
    """Each member of a ring of at least `min_members` members, with the ring's members.
    `links` are (member id, fingerprint) pairs; fingerprints should name their kind
    ("device:…"), so a device and a payment that happen to hash alike never meet."""
    groups = _UnionFind()
    members: set[str] = set()
    for member_id, fingerprint in links:
        members.add(member_id)
        groups.union("m:" + member_id, "f:" + fingerprint)
    rings: dict[str, set[str]] = {}
    for member_id in members:
        rings.setdefault(groups.find("m:" + member_id), set()).add(member_id)
    return {m: frozenset(ring) for ring in rings.values() if len(ring) >= min_members for m in ring}
