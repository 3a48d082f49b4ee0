"""Rules that read the order an event names (`order.*`), and points a refund of that order
keeps (`award_points: {..., refundable: false}`)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dangol.rules import (Event, InvalidRuleset, MemberState, OrderFacts, Ruleset, canonical_json, evaluate,
                          ruleset_hash)
from dangol.rules.changes import compare, worsens
from dangol.rules.loader import load_ruleset

HEADER = """\
program: shop
version: "1"
effective_from: "2025-03-01T00:00:00+09:00"
currency: KRW
"""
NOW = datetime(2025, 3, 5, 3, 0, tzinfo=timezone.utc)
MEMBER = MemberState("m1", datetime(2025, 1, 1, tzinfo=timezone.utc), "Asia/Seoul")


def rule(when: str, award: str = "{fixed: 100}") -> str:
    return f"rules:\n  - id: review\n    on: review\n    when: '{when}'\n    actions: [{{award_points: {award}}}]\n"


def load(text: str) -> Ruleset:
    return load_ruleset(HEADER + text)


def paid(ruleset: Ruleset, order: OrderFacts) -> int:
    return sum(a.points for a in evaluate(ruleset, Event("review", order_id="o1"), MEMBER, {}, NOW, order).points)


@pytest.mark.parametrize(("when", "order", "expected"), [
    ("order.exists", OrderFacts(exists=True), 100),
    ("order.exists", OrderFacts(), 0),
    ("order.mine", OrderFacts(exists=True), 0),
    ("order.mine and not order.refunded", OrderFacts(exists=True, mine=True, amount=5000), 100),
    ("order.mine and not order.refunded", OrderFacts(exists=True, mine=True, refunded=True, amount=5000), 0),
    ("order.amount >= 10000", OrderFacts(exists=True, mine=True, amount=12000), 100),
    ("order.amount >= 10000", OrderFacts(exists=True, mine=True, amount=9999), 0),
])
def test_rules_read_the_orders_facts(when: str, order: OrderFacts, expected: int) -> None:
    assert paid(load(rule(when)), order) == expected


def test_an_event_without_facts_sees_no_order() -> None:
    assert evaluate(load(rule("order.exists")), Event("review"), MEMBER, {}, NOW).points == ()


def test_unknown_order_facts_and_wrong_types_are_refused() -> None:
    with pytest.raises(InvalidRuleset, match="order"):
        load(rule("order.customer == 1"))
    with pytest.raises(InvalidRuleset):
        load(rule("order.amount == True"))


def test_refundable_is_a_boolean_and_defaults_to_true() -> None:
    assert evaluate(load(rule("True")), Event("review", order_id="o1"), MEMBER, {}, NOW).points[0].refundable
    kept = load(rule("True", "{fixed: 100, refundable: false}"))
    assert not evaluate(kept, Event("review", order_id="o1"), MEMBER, {}, NOW).points[0].refundable
    with pytest.raises(InvalidRuleset, match="true or false"):
        load(rule("True", "{fixed: 100, refundable: 'no'}"))


def test_refundable_changes_the_hash_only_when_false() -> None:
    plain, explicit = load(rule("True")), load(rule("True", "{fixed: 100, refundable: true}"))
    assert ruleset_hash(plain) == ruleset_hash(explicit) and b"refundable" not in canonical_json(plain)
    assert ruleset_hash(load(rule("True", "{fixed: 100, refundable: false}"))) != ruleset_hash(plain)


def test_making_points_refundable_again_worsens() -> None:
    refundable, kept = load(rule("True")), load(rule("True", "{fixed: 100, refundable: false}"))
    assert not worsens(compare(refundable, kept))
    assert worsens(compare(kept, refundable))
