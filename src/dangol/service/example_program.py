"""The example program of the product brief (seed 003, a talent marketplace), set up from
nothing in one step: the program and its policy, the rules policy (30 days' notice, members
in Asia/Seoul) and the example ruleset (src/dangol/rules/examples/market.yaml), published to
take effect at once.

The ruleset file is the program as it launched on 3 March 2025. A program made from it
today launches today: its double-points launch week is moved to the program's own first
seven days (Seoul dates), since rules are never retroactive and a week in 2025 would never
come round again."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from ..domain import EarnRate, ProgramPolicy
from .container import Services

EXAMPLE_ID = "market"
NAME = "Talent marketplace"
CURRENCY = "KRW"
TIME_ZONE = "Asia/Seoul"
NOTICE_DAYS = 30
LAUNCH_WEEK_DAYS = 7

# 5% of every purchase, points valid a year (first-expiring-first), redeemable from
# 1,000 points; transfers are allowed by the program and limited to 숲 members by the
# ruleset's tiers (`gifting: true`).
POLICY = ProgramPolicy(lot_validity_days=365, min_redemption=1_000, allow_transfers=True,
                       earn_rate=EarnRate(points=5, per_minor_units=100))


def ruleset_file() -> str:
    """The example ruleset as shipped: launched 3 March 2025."""
    return (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")


def launch_ruleset(program_id: str, launched_at: datetime) -> str:
    """The example ruleset for a program launching at `launched_at`: in force from then, its
    launch week the first seven Seoul dates from the launch's. Every other line is the file's."""
    launch = launched_at.astimezone(ZoneInfo(TIME_ZONE)).date()
    last = launch + timedelta(days=LAUNCH_WEEK_DAYS - 1)
    text = ruleset_file()
    for pattern, value in (
        (r'^program: market$', f"program: {program_id}"),
        (r'^version: "2025-03 launch"$', f'version: "{launch:%Y-%m-%d} launch"'),
        (r'^effective_from: "2025-03-01T00:00:00\+09:00"$', f'effective_from: "{launched_at.isoformat()}"'),
        (r'^    valid_from: 2025-03-03$', f"    valid_from: {launch.isoformat()}"),
        (r'^    valid_until: 2025-03-09$', f"    valid_until: {last.isoformat()}"),
        (r'\(3-9 March 2025,', f"({_span(launch, last)},"),
    ):
        text, found = re.subn(pattern, lambda _: value, text, count=1, flags=re.MULTILINE)
        if found != 1:  # the shipped file changed shape: fail loudly, never publish half-moved dates
            raise RuntimeError(f"the example ruleset no longer has {pattern!r}")
    return text


def _span(first: date, last: date) -> str:
    return f"{first:%-d %B %Y} to {last:%-d %B %Y}"


@dataclass(frozen=True, slots=True)
class ExampleProgram:
    program: dict[str, Any]
    rules_policy: dict[str, Any]
    ruleset: dict[str, Any]
    launch_week: tuple[date, date]


def create_example_program(services: Services, program_id: str = EXAMPLE_ID, name: str = NAME,
                           test_mode: bool = False) -> ExampleProgram:
    """Creates the example program, launching now (the services' clock; in test mode, the
    program's test clock, which starts then). Each step is idempotent by a key derived from
    the program id and launches at the program's creation time, so a run cut short can be run
    again and finishes what the first began."""
    program = services.programs.create_program(program_id, name, CURRENCY, POLICY,
                                               idempotency_key=f"example-program:{program_id}", test_mode=test_mode)
    launched_at = datetime.fromisoformat(program["created_at"])
    with services.clocks.scope(program_id):
        rules_policy = services.rulesets.set_policy(program_id, NOTICE_DAYS, TIME_ZONE)
        ruleset = services.rulesets.publish(program_id, launch_ruleset(program_id, launched_at),
                                            idempotency_key=f"example-ruleset:{program_id}")
    launch = launched_at.astimezone(ZoneInfo(TIME_ZONE)).date()
    return ExampleProgram(program, rules_policy, ruleset,
                          (launch, launch + timedelta(days=LAUNCH_WEEK_DAYS - 1)))
