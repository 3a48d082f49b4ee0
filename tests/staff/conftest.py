"""Fixtures of the staff tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dangol.domain import FixedClock
from dangol.service.container import Services

from .helpers import staffed_services


@pytest.fixture
def staffed(database_url: str, clock: FixedClock) -> Iterator[Services]:
    svc = staffed_services(database_url, clock)
    yield svc
    svc.db.dispose()
