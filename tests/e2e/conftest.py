"""Fixtures for the end-to-end walk: a clock a month before the example program starts
(the walk advances it), and an API client on the `services` of each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.service.container import Services


@pytest.fixture
def clock() -> FixedClock:
    # 1 February 2025: the example ruleset is published a month before it takes effect.
    return FixedClock(datetime(2025, 2, 1, 0, 0, tzinfo=timezone.utc))


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as test_client:
        yield test_client
