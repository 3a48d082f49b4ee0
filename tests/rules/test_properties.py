"""Properties of the rules core: content hashes follow meaning, not formatting;
evaluation is deterministic; caps and budgets are never exceeded; outputs are integers."""

from __future__ import annotations

import copy
import json
import random
from datetime import datetime, timedelta, timezone

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from dangol.rules import Event, MemberState, build_ruleset, evaluate, ruleset_hash
from dangol.rules.loader import load_ruleset, read_document

from .test_example_program import RULES

EXAMPLE_TEXT = (__import__("importlib.resources").resources.files("dangol.rules") / "examples" / "market.yaml").read_text()
EXAMPLE_DATA, _ = read_document(EXAMPLE_TEXT)
HASH = ruleset_hash(RULES)


def shuffled(value: object, rnd: random.Random) -> object:
    """The same document with every mapping's keys and the rules list in another order."""
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: shuffled(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


@settings(max_examples=50, deadline=None)
@given(st.randoms(use_true_random=False), st.sampled_from(["yaml-block", "yaml-flow", "json", "json-indent"]))
def test_reformatting_and_reordering_keep_the_hash(rnd: random.Random, style: str) -> None:
    data = shuffled(copy.deepcopy(EXAMPLE_DATA), rnd)
    assert isinstance(data, dict)
    rnd.shuffle(data["rules"])
    if style.startswith("json"):
        text = json.dumps(data, ensure_ascii=rnd.random() < 0.5, indent=2 if style == "json-indent" else None)
        ruleset = load_ruleset(text, "json")
    else:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=style == "yaml-flow")
        ruleset = load_ruleset(text)
    assert ruleset_hash(ruleset) == HASH


def test_spelling_choices_keep_the_hash() -> None:
    data = copy.deepcopy(EXAMPLE_DATA)
    assert isinstance(data, dict)
    data["effective_from"] = "2025-02-28T15:00:00+00:00"  # the same instant
    rule = next(r for r in data["rules"] if r["id"] == "referral")
    rule["when"] = "member.first_purchase and (event.referrer != None) and event.referrer!=member.id"
    base = next(r for r in data["rules"] if r["id"] == "base-earn")
    base["actions"][0]["award_points"]["rate"]["rounding"] = "floor"  # the default, spelt out
    base["exclusive"] = False
    assert ruleset_hash(build_ruleset(data)) == HASH


def _changes() -> list[tuple[str, object]]:
    return [("program", "market2"), ("version", "2025-04"), ("currency", "USD"),
            ("effective_from", "2025-03-01T00:00:01+09:00")]


RULE_CHANGES = [
    ("priority", 7), ("exclusive", True), ("group", "g"), ("description", "changed"),
    ("valid_from", "2025-01-01"), ("valid_until", "2030-01-01"), ("budget", 123), ("when", "event.amount > 1"),
    ("on", ["purchase", "refund"]), ("caps", [{"per": "day", "points": 5}]),
]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10), st.integers(0, len(RULE_CHANGES) - 1), st.booleans())
def test_changing_any_semantic_field_changes_the_hash(rule_index: int, change: int, top: bool) -> None:
    data = copy.deepcopy(EXAMPLE_DATA)
    assert isinstance(data, dict)
    if top:
        key, value = _changes()[change % len(_changes())]
        data[key] = value
    else:
        rule = data["rules"][rule_index % len(data["rules"])]
        key, value = RULE_CHANGES[change]
        if rule.get(key) == value or (key == "on" and rule["on"] == "signup"):
            return
        rule[key] = value
    assert ruleset_hash(build_ruleset(data)) != HASH


def test_changing_an_action_value_changes_the_hash() -> None:
    data = copy.deepcopy(EXAMPLE_DATA)
    assert isinstance(data, dict)
    data["rules"][0]["actions"][0]["award_points"]["rate"]["points"] = 6
    assert ruleset_hash(build_ruleset(data)) != HASH


members = st.builds(
    MemberState, member_id=st.sampled_from(["m1", "m2"]),
    enrolled_at=st.just(datetime(2025, 1, 1, tzinfo=timezone.utc)),
    time_zone=st.sampled_from(["Asia/Seoul", "UTC", "America/New_York"]),
    tier=st.sampled_from([None, "새싹", "열매", "나무", "숲"]), purchases_this_month=st.integers(0, 6),
    purchases_total=st.integers(0, 20), first_purchase=st.booleans())
events = st.builds(Event, type=st.sampled_from(["purchase", "signup", "review", "refund"]),
                   amount=st.integers(0, 3_000_000), currency=st.just("KRW"),
                   order_id=st.sampled_from([None, "o1", "o2"]), referrer=st.sampled_from([None, "m1", "m2", "m9"]))
moments = st.datetimes(min_value=datetime(2025, 3, 1), max_value=datetime(2025, 3, 20),
                       timezones=st.just(timezone.utc))


@settings(max_examples=200, deadline=None)
@given(events, members, moments, st.randoms(use_true_random=False))
def test_evaluation_is_deterministic_and_ignores_the_documents_rule_order(
        event: Event, member: MemberState, now: datetime, rnd: random.Random) -> None:
    counters = {"program/launch-week/budget/points": 9_999_000}
    first = evaluate(RULES, event, member, counters, now)
    assert evaluate(RULES, event, member, dict(counters), now) == first
    data = shuffled(copy.deepcopy(EXAMPLE_DATA), rnd)
    assert isinstance(data, dict)
    rnd.shuffle(data["rules"])
    assert evaluate(build_ruleset(data), event, member, counters, now) == first
    for award in first.points:
        assert type(award.points) is int and award.points > 0
    for use in first.counters:
        assert type(use.amount) is int and use.amount > 0


CAPPED = build_ruleset({
    "program": "p", "version": "v", "effective_from": "2025-01-01T00:00:00Z", "currency": "KRW",
    "rules": [
        {"id": "earn", "on": "purchase", "actions": [{"award_points": {"rate": {"points": 7, "per": 100}}}],
         "caps": [{"per": "day", "points": 900}, {"per": "week", "points": 2500, "times": 9},
                  {"per": "month", "points": 6000}, {"per": "event", "points": 700}], "budget": 20_000},
        {"id": "bonus", "on": "purchase", "when": "event.amount >= 5000",
         "actions": [{"award_points": {"fixed": 300}}, {"award_points": {"fixed": 200, "to": "referrer"}}],
         "caps": [{"per": "order", "times": 1}, {"per": "day", "points": 800}], "budget": 3_000},
        {"id": "double", "on": "purchase", "actions": [{"award_points": {"multiplier": 3}}],
         "caps": [{"per": "month", "points": 1500}], "budget": 4_000},
    ]})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40_000), st.sampled_from(["o1", "o2", "o3", None]),
                          st.integers(0, 60 * 24 * 45)), min_size=1, max_size=60))
def test_caps_and_budgets_are_never_exceeded(purchases: list[tuple[int, str | None, int]]) -> None:
    member = MemberState("m1", datetime(2025, 1, 1, tzinfo=timezone.utc), "Asia/Seoul")
    counters: dict[str, int] = {}
    per_window: dict[tuple[str, str, str], int] = {}
    spent: dict[str, int] = {}
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    for amount, order, minutes in sorted(purchases, key=lambda p: p[2]):
        now = start + timedelta(minutes=minutes)
        result = evaluate(CAPPED, Event("purchase", amount, "KRW", order, referrer="m2"), member, counters, now)
        local = now.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Seoul"))
        year, week, _ = local.isocalendar()
        for rule_id in ("earn", "bonus", "double"):
            got = sum(a.points for a in result.points if a.rule_id == rule_id)
            spent[rule_id] = spent.get(rule_id, 0) + got
            for per, window in (("day", local.date().isoformat()), ("week", f"{year}-{week}"),
                                ("month", f"{local.year}-{local.month}")):
                key = (rule_id, per, window)
                per_window[key] = per_window.get(key, 0) + got
            if rule_id == "earn":
                assert got <= 700 and got == min(amount * 7 // 100, got)
        for use in result.counters:
            counters[use.key] = counters.get(use.key, 0) + use.amount
    assert spent["earn"] <= 20_000 and spent["bonus"] <= 3_000 and spent["double"] <= 4_000
    for (rule_id, per, _), total in per_window.items():
        limit = {("earn", "day"): 900, ("earn", "week"): 2500, ("earn", "month"): 6000, ("bonus", "day"): 800,
                 ("double", "month"): 1500}.get((rule_id, per))
        if limit is not None:
            assert total <= limit, (rule_id, per, total)
    assert all(v <= 9 for k, v in counters.items() if k.startswith("member/earn/week/") and k.endswith("/times"))
    assert all(v <= 1 for k, v in counters.items() if k.startswith("member/bonus/order/") and k.endswith("/times"))
