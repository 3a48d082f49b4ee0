"""The ruleset's `coupons:` and `challenges:` sections: parsed into values, every mistake
reported with its line and field path, every name an action uses checked."""

from __future__ import annotations

import pytest

from dangol.engagement import BenefitKind, Metric, PeriodKind, Repeat
from dangol.rules import InvalidRuleset, ruleset_hash
from dangol.rules.loader import load_example, load_ruleset

HEADER = 'program: p\nversion: v\neffective_from: "2025-03-01T00:00:00+09:00"\ncurrency: KRW\n'


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidRuleset) as raised:
        load_ruleset(text)
    return [str(p) for p in raised.value.problems]


def test_the_example_program_has_its_challenges_and_coupons() -> None:
    ruleset = load_example()
    assert [c.id for c in ruleset.coupons] == ["design-10", "thank-you-500"]
    design = ruleset.coupons[0]
    assert (design.gives.kind, design.gives.value, design.gives.cap, design.valid_days, design.per_member) == (
        BenefitKind.PERCENT, 10, 5_000, 30, 1)
    by_id = {c.id: c for c in ruleset.challenges}
    assert set(by_id) == {"design-quarter", "three-this-month", "weekly-streak"}
    assert (by_id["three-this-month"].goal.metric, by_id["three-this-month"].target) == (Metric.COUNT, 3)
    assert by_id["design-quarter"].goal.category == "design" and by_id["design-quarter"].period is PeriodKind.QUARTER
    streak = by_id["weekly-streak"]
    assert (streak.period, streak.weeks, streak.target, streak.repeat) == (PeriodKind.STREAK, 4, 4, Repeat.ONCE)


def test_the_sections_are_hashed_and_absent_sections_change_nothing() -> None:
    rules = "rules:\n  - {id: r, on: signup, actions: [{award_points: {fixed: 1}}]}\n"
    coupon = "coupons:\n  - {id: c, name: C, gives: {discount: 1000}, valid_days: 30}\n"
    plain = ruleset_hash(load_ruleset(HEADER + rules))
    assert ruleset_hash(load_ruleset(HEADER + rules + "coupons: []\n")) == plain
    with_coupon = ruleset_hash(load_ruleset(HEADER + rules + coupon))
    assert with_coupon != plain
    assert ruleset_hash(load_ruleset(HEADER + rules + coupon.replace("30", "31"))) != with_coupon


def test_every_mistake_with_its_line_and_path() -> None:
    text = HEADER + """rules:
  - id: r
    on: purchase
    actions:
      - issue_coupon: {template: nowhere}
      - advance_challenge: {challenge: missing}
coupons:
  - id: c1
    name: Ten off
    gives: {discount: 1000, percent: 10}
    valid_days: 0
  - id: c2
    name: Capped
    gives: {discount: 1000, cap: 10}
    valid_days: 30
  - id: c3
    name: Too much
    gives: {percent: 150}
    valid_days: 30
challenges:
  - id: ch1
    name: Three
    goal: {count: 2.5, on: lottery}
    period: fortnight
    rewards: {}
  - id: ch2
    name: Streak
    goal: {sum: 1000}
    period: {streak_weeks: 1}
    repeat: twice
    rewards: {coupon: unknown-template, points: 10}
"""
    assert problems(text) == [
        "line 14, coupons[0].gives: needs exactly one of discount (minor units), percent, points (has discount, percent)",
        "line 15, coupons[0].valid_days: must be a positive integer",
        "line 18, coupons[1].gives.cap: only a percent discount has a cap",
        "line 22, coupons[2].gives.percent: must be a positive integer (at most 100)",
        "line 27, challenges[0].goal.count: must be an integer, not a fraction (2.5) (no fractions: points and money are integers)",
        "line 27, challenges[0].goal.on: unknown event type 'lottery'; known: birthday, purchase, referral, refund, review, signup, social_share, survey",
        "line 28, challenges[0].period: must be month, quarter or {streak_weeks: N}, not 'fortnight'",
        "line 29, challenges[0].rewards: needs at least one of points, badge, coupon",
        "line 33, challenges[1].period.streak_weeks: must be an integer from 2 to 520",
        "line 34, challenges[1].repeat: must be one of per_period, once, not 'twice'",
        "line 9, rules[0].actions[0].issue_coupon.template: no coupon template 'nowhere' under coupons",
        "line 10, rules[0].actions[1].advance_challenge.challenge: no challenge 'missing' under challenges",
    ]


def test_a_challenge_reward_names_an_existing_template() -> None:
    text = HEADER + """rules: []
coupons:
  - {id: c, name: C, gives: {points: 500}, valid_days: 90}
challenges:
  - {id: x, name: X, goal: {count: 1}, period: month, rewards: {coupon: d}}
"""
    assert problems(text) == ["line 9, challenges[0].rewards.coupon: no coupon template 'd' under coupons (there: c)"]
    assert load_ruleset(text.replace("coupon: d", "coupon: c")).challenges[0].rewards.coupon == "c"


def test_duplicate_ids_are_refused() -> None:
    text = HEADER + """rules: []
challenges:
  - {id: x, name: X, goal: {count: 1}, period: month, rewards: {points: 1}}
  - {id: x, name: Y, goal: {count: 2}, period: quarter, rewards: {points: 1}}
"""
    assert problems(text) == ["line 8, challenges[1].id: duplicate challenge id 'x'"]
