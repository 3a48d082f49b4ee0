"""`dangol programs create ID --example market`: the brief's example program from an empty
database in one command, launching now, its double-points week the program's first."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from dangol.domain import FixedClock, Money
from dangol.service.container import Services
from dangol.service.events import EventInput
from dangol.service.example_program import create_example_program, launch_ruleset, ruleset_file

from .helpers import dangol, one_error_line

SEOUL = ZoneInfo("Asia/Seoul")


def test_one_command_sets_up_the_example_program_launching_today(database_url: str) -> None:
    made = dangol(database_url, "programs", "create", "market", "--example", "market")
    assert made.exit_code == 0, made.output
    today = datetime.now(SEOUL).date()
    week = f"launch week {today} to {today + timedelta(days=6)} (Asia/Seoul)"
    assert made.stdout.startswith("Created program market (Talent marketplace, KRW) from the example: ruleset #1")
    assert week in made.stdout

    services = Services.open(database_url, migrate=False)
    try:
        program = services.programs.get_program("market")
        assert (program.policy.earn_rate.points, program.policy.earn_rate.per_minor_units) == (5, 100)
        assert program.policy.allow_transfers and program.policy.min_redemption == 1_000
        assert services.rulesets.policy("market") == {"notice_days": 30,
                                                     "default_time_zone": "Asia/Seoul"}
        # A purchase now is in the launch week: the base 5% is doubled (and the first purchase's
        # 1,000 with it), the example's figures in docs/rules.md.
        member = services.events.record("market", EventInput("s-1", "signup", external_ref="first-customer"))
        bought = services.events.record("market", EventInput(
            "p-1", "purchase", member_id=member["member_id"], amount=Money(100_000, "KRW"), order_id="o-1"))
        paid = {effect["rule_id"]: effect["points"] for effect in bought["effects"]["points"]}
        assert paid["base-earn"] == 5_000 and paid["first-purchase"] == 1_000
        assert paid["launch-week"] == 6_000
    finally:
        services.db.dispose()

    again = dangol(database_url, "programs", "create", "market", "--example", "market")
    assert again.exit_code == 0, again.output  # a run cut short can be run again: same program, same ruleset
    assert "ruleset #1" in again.stdout


def test_the_launch_week_moves_with_the_launch_and_nothing_else_does() -> None:
    launched = datetime(2026, 12, 6, 16, 30, tzinfo=timezone.utc)  # 7 December in Seoul
    moved = launch_ruleset("shop", launched)
    changed = [(a, b) for a, b in zip(ruleset_file().splitlines(), moved.splitlines()) if a != b]
    assert [b.strip() for _, b in changed] == [
        "program: shop", 'version: "2026-12-07 launch"', 'effective_from: "2026-12-06T16:30:00+00:00"',
        "Double points in the launch week (7 December 2026 to 13 December 2026, member's local dates): everything a",
        "valid_from: 2026-12-07", "valid_until: 2026-12-13",
    ]


@pytest.mark.parametrize("args, says", [
    (("--example", "bakery"), "unknown example 'bakery': the example program is 'market'"),
    (("--example", "market", "--currency", "USD"), "the example program counts in KRW"),
    ((), "a program needs --name and --currency (or --example market for the example program)"),
])
def test_what_a_wrong_example_gets(database_url: str, args: tuple[str, ...], says: str) -> None:
    result = dangol(database_url, "programs", "create", "market", *args)
    assert result.exit_code == 2 and one_error_line(result) == f"error: {says}"


def test_an_existing_program_is_not_overwritten(database_url: str) -> None:
    assert dangol(database_url, "programs", "create", "market", "--name", "Mine", "--currency", "KRW").exit_code == 0
    result = dangol(database_url, "programs", "create", "market", "--example", "market")
    assert result.exit_code == 2 and one_error_line(result) == "error: program 'market' already exists"


def test_the_launch_follows_the_services_clock(services: Services, clock: FixedClock) -> None:
    clock.set(datetime(2027, 1, 1, 0, 0, tzinfo=timezone.utc))
    made = create_example_program(services, "shop", "A shop")
    assert made.launch_week == (datetime(2027, 1, 1).date(), datetime(2027, 1, 7).date())
    assert made.ruleset["effective_from"] == "2027-01-01T00:00:00Z"
