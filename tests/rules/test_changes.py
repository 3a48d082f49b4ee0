"""Which changes worsen members' earning (and so need notice): decided conservatively."""

from __future__ import annotations

import pytest

from dangol.rules.changes import compare, worsens
from dangol.rules.loader import load_example, load_ruleset
from importlib import resources

MARKET = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")


def _changed(old: str, new: str) -> tuple[bool, list[str]]:
    changes = compare(load_example(), load_ruleset(MARKET.replace(old, new)))
    assert changes, "the edit changed nothing"
    return worsens(changes), [f"{c.rule}: {c.what}" for c in changes]


@pytest.mark.parametrize(("old", "new"), [
    ("{rate: {points: 5, per: 100}}", "{rate: {points: 49, per: 1000}}"),  # 4.9% < 5%
    ("award_points: {fixed: 1000}\n\n  - id: first-purchase", "award_points: {fixed: 999}\n\n  - id: first-purchase"),
    ("{multiplier: 2}", "{multiplier: 2}\n      - award_badge: {badge: x}\n    when: event.amount > 0"),  # a condition
    ("- {per: event, points: 20000}", "- {per: event, points: 19999}"),
    ("- {per: month, times: 5}", "- {per: month, times: 5}\n      - {per: day, times: 1}"),  # a new cap
    ("budget: 10000000", "budget: 9000000"),
    ("valid_until: 2025-03-09", "valid_until: 2025-03-08"),
    ("when: member.purchases_this_month >= 3", "when: member.purchases_this_month >= 4"),
    ("priority: 70", "priority: 1"),
    ("{rate: {points: 5, per: 100}}", "{rate: {points: 5, per: 100, of: event.amount - 100}}"),
])
def test_worsening_changes(old: str, new: str) -> None:
    worse, _ = _changed(old, new)
    assert worse


def test_a_removed_rule_worsens_an_added_one_does_not() -> None:
    base = load_example()
    without_review = load_ruleset(MARKET.replace("  - id: review\n", "  - id: review2\n"))
    described = [f"{c.rule}: {c.what} {c.worsens}" for c in compare(base, without_review)]
    assert described == ["review: rule removed True", "review2: rule added False"]


@pytest.mark.parametrize(("old", "new"), [
    ("{rate: {points: 5, per: 100}}", "{rate: {points: 51, per: 1000}}"),  # 5.1% > 5%
    ("{rate: {points: 5, per: 100}}", "{rate: {points: 5, per: 100, rounding: half_up}}"),
    ("budget: 10000000", "budget: 20000000"),
    ("- {per: event, points: 20000}", "- {per: event, points: 30000}"),
    ("valid_until: 2025-03-09", "valid_until: 2025-03-16"),
    ("    when: member.purchases_this_month >= 3\n", ""),  # a removed condition
    ("description: 1,000 welcome points on sign-up", "description: a warm welcome"),
])
def test_strict_improvements_do_not_worsen(old: str, new: str) -> None:
    worse, described = _changed(old, new)
    assert not worse, described
