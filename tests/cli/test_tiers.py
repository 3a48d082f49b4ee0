"""`dangol tiers recalculate` and `dangol tiers show`, on the example ladder (market.yaml:
나무 from 600,000 KRW a quarter, 숲 from 1,000,000; Asia/Seoul quarters; 14 days' grace)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest

from dangol.domain import FixedClock, Money
from dangol.domain import commands as cmd
from dangol.service.container import Services
from tests.conftest import EXAMPLE_POLICY

from .helpers import dangol, one_error_line

KST = timezone(timedelta(hours=9))
RULESET = str(resources.files("dangol.rules") / "examples" / "market.yaml")


@pytest.fixture
def shopper(database_url: str) -> Iterator[str]:
    """A member who bought for 650,000 KRW on 5 May 2025, recorded then."""
    clock = FixedClock(datetime(2025, 5, 1, tzinfo=KST))
    services = Services.open(database_url, clock, migrate=False)
    services.programs.create_program("market", "Talent marketplace", "KRW", EXAMPLE_POLICY)  # 5% earn
    member = services.ledger.run("market", cmd.Enroll("alice"))["member"]["id"]
    clock.set(datetime(2025, 5, 5, tzinfo=KST))
    services.ledger.run("market", cmd.Earn(member, money=Money(650_000, "KRW"), order_ref="o1"))
    services.db.dispose()
    yield str(member)


def rows(output: str) -> dict[str, str]:
    """The two-column table a command printed, as a mapping."""
    found = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃").split("│")]
        if len(cells) == 2 and cells[0]:
            found.setdefault(cells[0], cells[1])
    return found


def test_recalculate_then_show(database_url: str, shopper: str) -> None:
    # 1 June: the May purchase (650,000 >= 600,000) makes her 나무.
    june = dangol(database_url, "tiers", "recalculate", "--program", "market", "--ruleset", RULESET,
                  "--at", "2025-06-01T00:00:00+09:00")
    assert june.exit_code == 0, june.output
    assert (rows(june.stdout)["members"], rows(june.stdout)["upgrades"]) == ("1", "1")
    # 5 October: Q3 ended with nothing spent: 나무 kept in grace until 15 October.
    october = ["tiers", "recalculate", "--program", "market", "--ruleset", RULESET, "--at", "2025-10-05T00:00:00+09:00"]
    first = dangol(database_url, *october)
    assert (rows(first.stdout)["changes"], rows(first.stdout)["grace"]) == ("1", "1")
    again = dangol(database_url, *october)
    assert rows(again.stdout)["changes"] == "0"  # idempotent
    shown = dangol(database_url, "tiers", "show", "--program", "market", "--member", shopper, "--ruleset", "market",
                   "--at", "2025-10-05T00:00:00+09:00")
    assert shown.exit_code == 0, shown.output
    table = rows(shown.stdout)
    assert table["tier"].startswith("나무") and table["badge"] == "tree"
    assert table["next tier"] == "숲: 1,000,000 to go"  # nothing spent yet in Q4
    assert table["drops"] == "to 새싹 at 2025-10-14T15:00:00Z unless it qualifies again"
    assert "gifting" not in table  # a benefit of 숲 only


def test_show_names_gifting_for_a_tier_that_has_it(database_url: str) -> None:
    clock = FixedClock(datetime(2025, 5, 1, tzinfo=KST))
    services = Services.open(database_url, clock, migrate=False)
    services.programs.create_program("market", "Talent marketplace", "KRW", EXAMPLE_POLICY)
    member = services.ledger.run("market", cmd.Enroll("bora"))["member"]["id"]
    clock.set(datetime(2025, 5, 5, tzinfo=KST))
    services.ledger.run("market", cmd.Earn(member, money=Money(1_100_000, "KRW"), order_ref="o1"))
    services.db.dispose()
    # 1,100,000 KRW in Q2 >= 숲's 1,000,000: the top tier, whose benefits include gifting.
    assert dangol(database_url, "tiers", "recalculate", "--program", "market", "--ruleset", RULESET,
                  "--at", "2025-06-01T00:00:00+09:00").exit_code == 0
    shown = dangol(database_url, "tiers", "show", "--program", "market", "--member", str(member), "--ruleset",
                   "market", "--at", "2025-06-01T00:00:00+09:00")
    assert shown.exit_code == 0, shown.output
    table = rows(shown.stdout)
    assert table["tier"].startswith("숲") and table["gifting"] == "may transfer points to other members"


def test_errors_are_one_line(database_url: str, shopper: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "broken.yaml"
    broken.write_text(Path(RULESET).read_text(encoding="utf-8").replace("threshold: 300000", "threshold: 3.5"),
                      encoding="utf-8")
    bad_ladder = dangol(database_url, "tiers", "show", "--program", "market", "--member", shopper,
                        "--ruleset", str(broken))
    assert "tiers.ladder[1].threshold: must be an integer, not a fraction" in one_error_line(bad_ladder)
    no_ladder = dangol(database_url, "tiers", "recalculate", "--program", "market")
    assert no_ladder.exit_code == 2 and "has no tier ladder" in one_error_line(no_ladder)
    bad_time = dangol(database_url, "tiers", "show", "--program", "market", "--member", shopper,
                      "--ruleset", RULESET, "--at", "tomorrow")
    assert "--at must be an ISO 8601 time" in one_error_line(bad_time)
    unknown = dangol(database_url, "tiers", "show", "--program", "market", "--member", "m_nobody",
                     "--ruleset", RULESET)
    assert "no member 'm_nobody'" in one_error_line(unknown)
