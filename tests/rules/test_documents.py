"""Ruleset documents: loading YAML and JSON, and every mistake reported with its line and
field path, all of them at once."""

from __future__ import annotations

import json

import pytest

from dangol.rules import InvalidRuleset
from dangol.rules.loader import load_example, load_ruleset, read_document

HEADER = """\
program: market
version: v1
effective_from: "2025-03-01T00:00:00+09:00"
currency: KRW
rules:
"""


def problems(text: str, format: str = "yaml") -> list[str]:
    with pytest.raises(InvalidRuleset) as caught:
        load_ruleset(text, format)
    return [str(p) for p in caught.value.problems]


def test_the_example_loads() -> None:
    ruleset = load_example()
    assert ruleset.program == "market" and ruleset.currency == "KRW"
    assert "base-earn" in [r.id for r in ruleset.rules]


def test_many_mistakes_are_all_reported_with_line_and_field() -> None:
    text = HEADER + """\
  - id: base
    on: purchase
    actions:
      - award_points: {rate: {points: 0, per: 100}}
  - id: bonus
    on: [purchase, lottery]
    when: event.amount >= 30000 and member.tierz == "숲"
    priority: 1.5
    actions:
      - award_points: {fixed: 2.5}
      - issue_coupon: {template: "Bad Template"}
    caps:
      - {per: fortnight, points: 10}
  - id: base
    on: signup
    actions: []
  - id: launch
    on: purchase
    valid_from: 2025-03-09
    valid_until: 2025-03-03
    colour: red
    actions:
      - award_points: {multiplier: 1}
      - award_points: {fixed: 10}
"""
    found = problems(text)
    expected = [
        "line 9, rules[0].actions[0].award_points.rate.points: must be a positive integer",
        "line 11, rules[1].on[1]: unknown event type 'lottery'",
        "line 12, rules[1].when: `member` has no field `tierz`",
        "line 13, rules[1].priority: must be an integer, not a fraction (1.5) (no fractions",
        "line 15, rules[1].actions[0].award_points.fixed: must be an integer",
        "line 16, rules[1].actions[1].issue_coupon.template: must be an identifier, not 'Bad Template'",
        "line 18, rules[1].caps[0].per: must be one of event, order, day, week, month, lifetime, not 'fortnight'",
        "line 21, rules[2].actions: must be a non-empty list of actions",
        "line 26, rules[3].colour: unknown field",
        "line 25, rules[3].valid_until: is before valid_from (2025-03-09)",
        "line 28, rules[3].actions[0].award_points.multiplier: must be an integer from 2 to 100",
    ]
    for message in expected:
        assert any(problem.startswith(message) for problem in found), (message, found)
    assert "column 34 of the expression" in next(p for p in found if "tierz" in p)


def test_a_duplicate_rule_id_is_reported() -> None:
    text = HEADER + """\
  - {id: a, on: signup, actions: [{award_points: {fixed: 1}}]}
  - {id: a, on: signup, actions: [{award_points: {fixed: 2}}]}
"""
    assert problems(text) == ["line 7, rules[1].id: duplicate rule id 'a' (also rules[0])"]


@pytest.mark.parametrize(("document", "expected"), [
    ("program: market\n", ["line 1, version: is required", "line 1, effective_from: is required"]),
    ("- a list\n", ["line 1, (document): must be a mapping, not a list"]),
    (HEADER.replace("KRW", "krw") + "  []\n", ["line 4, currency: must be an ISO 4217 code such as KRW, not 'krw'"]),
    (HEADER.replace('"2025-03-01T00:00:00+09:00"', "2025-03-01"), ["line 3, effective_from: must be a time with its offset"]),
    (HEADER + "  - {id: x, on: signup, actions: [{award_points: {}}]}\n",
     ["line 6, rules[0].actions[0].award_points: needs exactly one of rate, fixed, multiplier"]),
    (HEADER + "  - {id: x, on: signup, actions: [{award_points: {fixed: 1, rate: {points: 1, per: 1}}}]}\n",
     ["line 6, rules[0].actions[0].award_points: needs exactly one of rate, fixed, multiplier (has rate, fixed)"]),
    (HEADER + "  - {id: x, on: signup, actions: [{award_points: {rate: 5}}]}\n",
     ["line 6, rules[0].actions[0].award_points.rate: must be a mapping such as {points: 5, per: 100}"]),
    (HEADER + "  - {id: x, on: signup, actions: [{send_email: {}}]}\n",
     ["line 6, rules[0].actions[0]: must be a mapping with exactly one of"]),
    (HEADER + "  - {id: x, on: signup, actions: [{award_points: {multiplier: 2, to: referrer}}]}\n",
     ["line 6, rules[0].actions[0].award_points.to: a multiplier multiplies"]),
    (HEADER + "  - {id: x, on: signup, actions: [{award_points: {multiplier: 2}}, {award_points: {fixed: 1}}]}\n",
     ["line 6, rules[0].actions: a multiplier rule cannot also award"]),
    (HEADER + "  - {id: x, on: signup, when: 'event.amount / 2 > 1', actions: [{award_badge: {badge: b}}]}\n",
     ["line 6, rules[0].when: true division"]),
    (HEADER + "  - {id: x, on: signup, when: '__import__(\"os\")', actions: [{award_badge: {badge: b}}]}\n",
     ["line 6, rules[0].when: `__import__` is not a function you can call"]),
    (HEADER + "  - {id: x, on: signup, budget: 0, actions: [{award_badge: {badge: b}}]}\n",
     ["line 6, rules[0].budget: must be a positive integer"]),
    (HEADER + "  - {id: x, on: signup, caps: [{per: day}], actions: [{award_badge: {badge: b}}]}\n",
     ["line 6, rules[0].caps[0]: needs points, times or both"]),
    (HEADER + "  - {id: x, on: signup, caps: [{per: day, times: 1}, {per: day, points: 1}], actions: [{award_badge: {badge: b}}]}\n",
     ["line 6, rules[0].caps[1].per: a second cap per day"]),
    (HEADER + "  - {id: x, on: signup, valid_from: 2025-02-30, actions: [{award_badge: {badge: b}}]}\n",
     ["line 6, rules[0].valid_from: must be a date, YYYY-MM-DD"]),
    (HEADER + "  - {id: x, on: signup, exclusive: yes please, actions: [{award_badge: {badge: b}}]}\n",
     ["line 6, rules[0].exclusive: must be true or false"]),
    (HEADER + "  - {id: x, on: signup, actions: [{advance_challenge: {challenge: c, amount: -1}}]}\n",
     ["line 6, rules[0].actions[0].advance_challenge.amount: must be a positive integer"]),
    ("event_types: [purchase]\n" + HEADER + "  []\n", ["line 1, event_types[0]: 'purchase' is a built-in event type"]),
    (HEADER + "  - id: a\n    id: b\n", ["line 7, rules[0].id: duplicate key"]),
    ("program: [unclosed\n", ["line 2, (document): not valid YAML"]),
])
def test_each_mistake_is_named(document: str, expected: list[str]) -> None:
    found = problems(document)
    for message in expected:
        assert any(problem.startswith(message) for problem in found), (message, found)


def test_json_documents_have_lines_too() -> None:
    document = {"program": "market", "version": "v1", "effective_from": "2025-03-01T00:00:00+09:00",
                "currency": "KRW", "rules": [{"id": "x", "on": "signup", "actions": [{"award_points": {"fixed": -5}}]}]}
    found = problems(json.dumps(document, indent=2), "json")
    assert found == ["line 13, rules[0].actions[0].award_points.fixed: must be a positive integer"]
    assert problems('{"program": "market",}', "json")[0].startswith("line 1, (document): not valid JSON")


def test_custom_event_types_are_declared() -> None:
    text = "event_types: [workshop_attended]\n" + HEADER + \
        "  - {id: w, on: workshop_attended, actions: [{award_badge: {badge: artisan}}]}\n"
    assert load_ruleset(text).event_types == ("workshop_attended",)


def test_reading_keeps_dates_as_text_for_validation() -> None:
    data, lines = read_document("a: 2025-03-01\nb: [1, 2]\n")
    assert data == {"a": "2025-03-01", "b": [1, 2]}
    assert lines[("b", 1)] == 2


def test_a_yaml_value_no_safe_constructor_takes_is_a_problem_not_a_crash() -> None:
    from dangol.rules.loader import load_ruleset

    with pytest.raises(InvalidRuleset) as raised:
        load_ruleset("=")
    assert raised.value.problems[0].message.startswith("not valid YAML: could not determine a constructor")
    assert raised.value.problems[0].line == 1
