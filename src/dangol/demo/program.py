"""The example program of the product brief: a talent marketplace (seed 003)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.errors import UnknownProgram
from ..service.container import Services
from ..service.example_program import CURRENCY, EXAMPLE_ID, LAUNCH_WEEK_DAYS, NAME, NOTICE_DAYS, POLICY, TIME_ZONE

PROGRAM_ID = EXAMPLE_ID


@dataclass(frozen=True, slots=True)
class Bonuses:
    """What the generator's model of members' points counts of the example ruleset
    (src/dangol/rules/examples/market.yaml), which decides every point the demo earns."""

    welcome: int = 1_000
    first_purchase: int = 1_000
    launch_week_days: int = LAUNCH_WEEK_DAYS  # the program's first week pulls buyers in


BONUSES = Bonuses()


def ensure_program(services: Services) -> bool:
    """Creates the example program unless it exists; True when it was created."""
    try:
        services.programs.get_program(PROGRAM_ID)
        return False
    except UnknownProgram:
        services.programs.create_program(PROGRAM_ID, NAME, CURRENCY, POLICY)
        services.rulesets.set_policy(PROGRAM_ID, NOTICE_DAYS, TIME_ZONE)
        return True
