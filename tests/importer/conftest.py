"""The importer tests' program: the demo's (5% of KRW, transfers allowed)."""

from __future__ import annotations

import pytest

from dangol.demo import ensure_program
from dangol.service.container import Services


@pytest.fixture
def market(services: Services) -> str:
    ensure_program(services)
    return "market"
