"""Deterministic assignment of members to an experiment's variants.

A member's bucket is the first 8 bytes of SHA-256(experiment id, member id) read as an
integer in [0, 2^64): the same member in the same experiment always gets the same variant,
on any machine and in any process, and assignments of different experiments are
independent. Variants take shares of the buckets in proportion to their integer weights."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from ..domain.errors import InvalidRequest

BUCKETS = 2**64


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    weight: int  # a relative share: weights 1 and 1 split half and half

    def __post_init__(self) -> None:
        if not self.name:
            raise InvalidRequest("a variant has a name", field="variants")
        if self.weight < 1:
            raise InvalidRequest(f"variant {self.name!r}: the weight is a whole number of at least 1",
                                 field="variants")


def validate_variants(variants: Sequence[Variant]) -> None:
    if len(variants) < 2:
        raise InvalidRequest("an experiment has at least two variants (the first is the control)",
                             field="variants")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise InvalidRequest("variant names are distinct", field="variants")


def bucket(experiment: str, member: str) -> int:
    digest = hashlib.sha256(f"{experiment}\x00{member}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def assign(experiment: str, member: str, variants: Sequence[Variant]) -> str:
    """The variant `member` sees in `experiment`."""
    validate_variants(variants)
    total = sum(v.weight for v in variants)
    # Integer arithmetic: bucket * total < 2^64 * total, compared with cumulative weights * 2^64.
    position = bucket(experiment, member) * total
    cumulative = 0
    for variant in variants:
        cumulative += variant.weight
        if position < cumulative * BUCKETS:
            return variant.name
    return variants[-1].name  # unreachable: position < total * 2^64
