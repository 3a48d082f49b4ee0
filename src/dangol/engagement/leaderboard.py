"""Monthly leaderboards: standings from (display name, points) pairs. Who may appear is
decided before this (opt-in); here only the order and the ranks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Standing:
    rank: int
    display_name: str
    points: int


def rank(earners: Iterable[tuple[str, int]], limit: int) -> list[Standing]:
    """Most points first; equal points share a rank (1, 2, 2, 4) and are listed by name.
    Members who earned nothing are not on the board."""
    ordered = sorted(((name, points) for name, points in earners if points > 0), key=lambda e: (-e[1], e[0]))
    standings: list[Standing] = []
    for position, (name, points) in enumerate(ordered[:limit], start=1):
        same = standings and standings[-1].points == points
        standings.append(Standing(standings[-1].rank if same else position, name, points))
    return standings
