"""Fixtures of the CLI tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dangol.service.container import Services


@pytest.fixture
def live(database_url: str) -> Iterator[Services]:
    """Services on the real clock, like the CLI's, with the example program."""
    services = Services.open(database_url, migrate=False)
    services.programs.create_program("market", "Talent marketplace", "KRW")
    yield services
    services.db.dispose()
