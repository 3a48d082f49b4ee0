"""Fixtures for the events pipeline: the example program, its ruleset published, a clock in
the example's launch month, and an API client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from importlib import resources

import pytest
from fastapi.testclient import TestClient

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.service.programs import Scope

from api.helpers import Api
from conftest import EXAMPLE_POLICY

MARKET = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")
KST = "Asia/Seoul"


@pytest.fixture
def clock() -> FixedClock:
    # A month before the example ruleset takes effect (2025-03-01T00:00+09:00).
    return FixedClock(datetime(2025, 2, 1, 0, 0, tzinfo=timezone.utc))


@pytest.fixture
def market(services: Services) -> str:
    services.programs.create_program("market", "Talent market", "KRW", EXAMPLE_POLICY)
    return "market"


@pytest.fixture
def published(services: Services, market: str, clock: FixedClock) -> str:
    """The example ruleset published, members in Seoul by default, the clock at its start."""
    services.rulesets.set_policy(market, 30, KST)
    result = services.rulesets.publish(market, MARKET)
    clock.set(datetime(2025, 3, 1, 0, 0, tzinfo=timezone.utc))
    return str(result["hash"])


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services)) as test_client:
        yield test_client


@pytest.fixture
def admin(client: TestClient, services: Services) -> Api:
    return Api(client, services.programs.create_api_key(None, {Scope.ADMIN}, "test admin")[1])


@pytest.fixture
def writer(client: TestClient, services: Services, market: str) -> Api:
    return Api(client, services.programs.create_api_key(market, {Scope.WRITE}, "pos")[1])
