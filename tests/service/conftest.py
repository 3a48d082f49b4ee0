from __future__ import annotations

from collections.abc import Callable

import pytest

from dangol.domain.commands import Enroll
from dangol.service.container import Services


@pytest.fixture
def enroll(services: Services, program_id: str) -> Callable[..., str]:
    """Enrols a customer in a program (the example program unless told) and returns the member id."""

    def enroll(external_ref: str, program: str = program_id) -> str:
        return services.ledger.run(program, Enroll(external_ref))["member"]["id"]

    return enroll
