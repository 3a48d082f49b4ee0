"""The example program of the product brief: a talent marketplace (seed 003)."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain import EarnRate, ProgramPolicy
from ..domain.errors import UnknownProgram
from ..service.container import Services

PROGRAM_ID = "market"
PROGRAM_NAME = "Talent marketplace"
CURRENCY = "KRW"

# 5% of every purchase, points valid a year (first-expiring-first), redeemable from
# 1,000 points, and VIP members may gift points (the demo only lets VIPs do it).
POLICY = ProgramPolicy(lot_validity_days=365, min_redemption=1_000, allow_transfers=True,
                       earn_rate=EarnRate(points=5, per_minor_units=100))


@dataclass(frozen=True, slots=True)
class Bonuses:
    """What the generator's model of members' points counts of the example ruleset
    (src/dangol/rules/examples/market.yaml), which decides every point the demo earns."""

    welcome: int = 1_000
    first_purchase: int = 1_000
    launch_week_days: int = 7  # the program's first week pulls buyers in


BONUSES = Bonuses()


def ensure_program(services: Services) -> bool:
    """Creates the example program unless it exists; True when it was created."""
    try:
        services.programs.get_program(PROGRAM_ID)
        return False
    except UnknownProgram:
        services.programs.create_program(PROGRAM_ID, PROGRAM_NAME, CURRENCY, POLICY)
        return True
