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


# ---- the tiers:, coupons: and challenges: sections

@pytest.mark.parametrize(("old", "new", "subject"), [
    ("      threshold: 300000", "      threshold: 350000", "tier:열매"),
    ("earn_bonus: {points: 2, per: 100}", "earn_bonus: {points: 1, per: 100}", "tier:나무"),
    ("      earn_bonus: {points: 3, per: 100}\n", "", "tier:숲"),
    ("      perks: [수수료 3% 할인]", "      perks: []", "tier:열매"),
    ("    - name: 숲\n      threshold: 1000000\n      earn_bonus: {points: 3, per: 100}\n"
     "      perks: [수수료 10% 할인, 우선 고객 서비스, 포인트 선물]\n      badge: forest\n      gifting: true\n", "",
     "tier:숲"),
    ("      gifting: true\n", "", "tier:숲"),
    ("  window: quarter", "  window: year", "tiers"),
    ("  metric: spend", "  metric: purchases", "tiers"),
    ("  grace_days: 14", "  grace_days: 7", "tiers"),
    ("gives: {percent: 10, cap: 5000}", "gives: {percent: 10, cap: 3000}", "coupon:design-10"),
    ("gives: {percent: 10, cap: 5000}", "gives: {percent: 5, cap: 5000}", "coupon:design-10"),
    ("gives: {points: 500}\n    valid_days: 90", "gives: {points: 500}\n    valid_days: 30", "coupon:thank-you-500"),
    ("    valid_days: 90\n", "    valid_days: 90\n    per_member: 1\n", "coupon:thank-you-500"),
    ("goal: {count: 3, on: purchase}", "goal: {count: 4, on: purchase}", "challenge:three-this-month"),
    ("rewards: {points: 500, badge: regular}", "rewards: {points: 400, badge: regular}", "challenge:three-this-month"),
    ("rewards: {points: 500, badge: regular}", "rewards: {points: 500}", "challenge:three-this-month"),
    ("period: {streak_weeks: 4}", "period: {streak_weeks: 5}", "challenge:weekly-streak"),
    ("    period: month\n    repeat: per_period", "    period: month\n    repeat: once", "challenge:three-this-month"),
    ("  - id: three-this-month\n    name: 3 purchases in a calendar month\n    goal: {count: 3, on: purchase}\n"
     "    period: month\n    repeat: per_period\n    rewards: {points: 500, badge: regular}\n", "",
     "challenge:three-this-month"),
])
def test_worsening_changes_of_tiers_coupons_and_challenges(old: str, new: str, subject: str) -> None:
    changes = compare(load_example(), load_ruleset(MARKET.replace(old, new)))
    assert changes, "the edit changed nothing"
    assert any(c.rule == subject and c.worsens for c in changes), [c.as_json() for c in changes]


@pytest.mark.parametrize(("old", "new", "subject"), [
    ("      threshold: 300000", "      threshold: 250000", "tier:열매"),
    ("earn_bonus: {points: 2, per: 100}", "earn_bonus: {points: 25, per: 1000}", "tier:나무"),
    ("      perks: [수수료 3% 할인]", "      perks: [수수료 3% 할인, 무료 배송]", "tier:열매"),
    ("  grace_days: 14", "  grace_days: 30", "tiers"),
    ("      badge: tree\n", "      badge: tree\n      gifting: true\n", "tier:나무"),  # 숲 gifts already
    ("gives: {percent: 10, cap: 5000}", "gives: {percent: 15, cap: 8000}", "coupon:design-10"),
    ("gives: {points: 500}\n    valid_days: 90", "gives: {points: 700}\n    valid_days: 120", "coupon:thank-you-500"),
    ("goal: {count: 3, on: purchase}", "goal: {count: 2, on: purchase}", "challenge:three-this-month"),
    ("rewards: {points: 500, badge: regular}", "rewards: {points: 800, badge: regular, coupon: design-10}",
     "challenge:three-this-month"),
    ("period: {streak_weeks: 4}", "period: {streak_weeks: 3}", "challenge:weekly-streak"),
    ("name: 3 purchases in a calendar month", "name: Three in a month", "challenge:three-this-month"),
])
def test_more_generous_tiers_coupons_and_challenges_do_not_worsen(old: str, new: str, subject: str) -> None:
    changes = compare(load_example(), load_ruleset(MARKET.replace(old, new)))
    assert changes and all(c.rule == subject for c in changes), [c.as_json() for c in changes]
    assert not worsens(changes), [c.as_json() for c in changes]


def test_tiers_added_do_not_worsen_and_removed_do() -> None:
    without = MARKET[:MARKET.index("tiers:")]
    no_gifting = load_ruleset(MARKET.replace("      gifting: true\n", ""))
    assert [(c.rule, c.what, c.worsens) for c in compare(load_ruleset(without), no_gifting)] == [
        ("tiers", "tiers added", False)]
    assert [(c.rule, c.what, c.worsens) for c in compare(load_example(), load_ruleset(without))] == [
        ("tiers", "tiers removed", True)]


def test_the_first_tier_to_gift_worsens_for_the_others() -> None:
    # Before, the program's policy let every member transfer; now only 숲 members may.
    without = MARKET[:MARKET.index("tiers:")]
    limited = ("tiers", "transfers only from tiers with gifting: 숲", True)
    no_gifting = load_ruleset(MARKET.replace("      gifting: true\n", ""))
    assert [(c.rule, c.what, c.worsens) for c in compare(no_gifting, load_example())] == [
        limited, ("tier:숲", "gifting added", False)]
    assert [(c.rule, c.what, c.worsens) for c in compare(load_ruleset(without), load_example())] == [
        ("tiers", "tiers added", False), limited]
    assert worsens(compare(no_gifting, load_example()))
