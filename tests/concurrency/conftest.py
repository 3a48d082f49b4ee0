"""Fixtures of the concurrency tests: one `Services` that a test's threads share (its
engine's pool gives each thread its own connection), with the example program."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dangol.domain import EarnRate, FixedClock, ProgramPolicy
from dangol.service.container import Services

POLICY = ProgramPolicy(earn_rate=EarnRate(points=5, per_minor_units=100), allow_transfers=True)


@pytest.fixture
def shared(database_url: str, clock: FixedClock) -> Iterator[Services]:
    yield from _market(database_url, clock)


@pytest.fixture
def shared_on_postgres(postgres_url: str, clock: FixedClock) -> Iterator[Services]:
    """The same on PostgreSQL alone: for interleavings that SQLite's one writer rules out."""
    yield from _market(postgres_url, clock)


def _market(url: str, clock: FixedClock) -> Iterator[Services]:
    services = Services.open(url, clock, migrate=False)
    services.programs.create_program("market", "Talent market", "KRW", POLICY)
    yield services
    services.db.dispose()


def to_serve(backend: str, request: pytest.FixtureRequest, tmp_path: Path,
             workers: int) -> tuple[str, tuple[str, ...], int]:
    """A new, initialised database for `dangol serve` (cli/helpers.served): its URL, the
    options to serve it with and how many server processes that starts: `workers` on
    PostgreSQL, one on SQLite (its one writer)."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'dangol.db'}"
        Services.open(url).db.dispose()  # initialised
        return url, (), 1
    return request.getfixturevalue("postgres_url"), ("--workers", str(workers)), workers
