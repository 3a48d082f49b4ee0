"""Evaluation semantics on small rulesets: order, exclusivity, rounding, refusals."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from dangol.rules import Event, EvaluationError, MemberState, build_ruleset, evaluate

NOW = datetime(2025, 3, 5, 3, 0, tzinfo=timezone.utc)
MEMBER = MemberState("m1", datetime(2025, 1, 1, tzinfo=timezone.utc), "Asia/Seoul", tier="숲")


def ruleset(*rules: dict[str, object], event_types: list[str] | None = None) -> object:
    return build_ruleset({"program": "p", "version": "v", "effective_from": "2025-03-01T00:00:00+09:00",
                          "currency": "KRW", "rules": list(rules), "event_types": event_types or []})


def fixed(rule_id: str, points: int, **extra: object) -> dict[str, object]:
    return {"id": rule_id, "on": "purchase", "actions": [{"award_points": {"fixed": points}}], **extra}


def fired(rules: object, event: Event | None = None) -> list[tuple[str, int]]:
    result = evaluate(rules, event or Event("purchase", 10_000, "KRW"), MEMBER, {}, NOW)  # type: ignore[arg-type]
    return [(a.rule_id, a.points) for a in result.points]


def test_an_exclusive_rule_stops_later_rules_of_its_group_only() -> None:
    rules = ruleset(fixed("a-low", 1, priority=1, group="g"), fixed("b-top", 100, priority=9, group="g", exclusive=True),
                    fixed("c-other", 10, priority=5, group="h"), fixed("d-same", 5, priority=9, group="g"))
    # Order: b-top (9), d-same (9, id after b-top), c-other (5), a-low (1). b-top fires and
    # stops d-same and a-low (group g), not c-other (group h).
    assert fired(rules) == [("b-top", 100), ("c-other", 10)]


def test_an_exclusive_rule_that_does_not_fire_stops_nothing() -> None:
    rules = ruleset(fixed("a", 1, priority=1), fixed("b", 100, priority=9, exclusive=True, when="event.amount > 99999"))
    assert fired(rules) == [("a", 1)]


def test_multipliers_add_up_and_apply_to_the_base_phase_only() -> None:
    # base 100 + 20 = 120; x2 adds 120, x3 adds 240 (each of the base, not compounding): 480.
    rules = ruleset(fixed("base", 100), fixed("bonus", 20),
                    {"id": "x2", "on": "purchase", "priority": 99, "actions": [{"award_points": {"multiplier": 2}}]},
                    {"id": "x3", "on": "purchase", "actions": [{"award_points": {"multiplier": 3}}]})
    assert fired(rules) == [("base", 100), ("bonus", 20), ("x2", 120), ("x3", 240)]


@pytest.mark.parametrize(("rounding", "points"), [("floor", 617), ("half_up", 617), ("ceiling", 618)])
def test_rounding(rounding: str, points: int) -> None:
    # 12,345 x 5 / 100 = 617.25
    rules = ruleset({"id": "r", "on": "purchase",
                     "actions": [{"award_points": {"rate": {"points": 5, "per": 100, "rounding": rounding}}}]})
    assert fired(rules, Event("purchase", 12_345, "KRW")) == [("r", points)]


def test_half_up_rounds_a_half_up() -> None:
    # 12,350 x 5 / 100 = 617.5 -> 618
    rules = ruleset({"id": "r", "on": "purchase",
                     "actions": [{"award_points": {"rate": {"points": 5, "per": 100, "rounding": "half_up"}}}]})
    assert fired(rules, Event("purchase", 12_350, "KRW")) == [("r", 618)]


def test_a_rate_of_a_computed_amount() -> None:
    # 10% of the amount above 10,000: (25,000 - 10,000) x 10 / 100 = 1,500
    rules = ruleset({"id": "r", "on": "purchase", "actions": [{"award_points": {
        "rate": {"points": 10, "per": 100, "of": "max(event.amount - 10000, 0)"}}}]})
    assert fired(rules, Event("purchase", 25_000, "KRW")) == [("r", 1_500)]
    assert fired(rules, Event("purchase", 5_000, "KRW")) == []


def test_coupons_badges_and_challenges() -> None:
    # The coupon template and the challenge an action names must exist in the document.
    rules = build_ruleset({
        "program": "p", "version": "v", "effective_from": "2025-03-01T00:00:00+09:00", "currency": "KRW",
        "coupons": [{"id": "free-shipping", "name": "Free shipping", "gives": {"discount": 3000}, "valid_days": 30}],
        "challenges": [{"id": "three-this-month", "name": "3 purchases", "goal": {"count": 3}, "period": "month",
                        "rewards": {"points": 500}}],
        "rules": [{"id": "r", "on": "purchase", "actions": [
            {"issue_coupon": {"template": "free-shipping"}}, {"award_badge": {"badge": "first-steps"}},
            {"advance_challenge": {"challenge": "three-this-month", "amount": 1}}]}]})
    result = evaluate(rules, Event("purchase", 1, "KRW"), MEMBER, {}, NOW)  # type: ignore[arg-type]
    assert [c.template for c in result.coupons] == ["free-shipping"]
    assert [b.badge for b in result.badges] == ["first-steps"]
    assert [(c.challenge, c.amount) for c in result.challenges] == [("three-this-month", 1)]
    assert result.fired == ("r",)


def test_referrer_awards_need_another_member() -> None:
    rules = ruleset({"id": "r", "on": "purchase", "actions": [{"award_points": {"fixed": 5, "to": "referrer"}}]})
    for referrer, reason in ((None, "no referrer"), ("m1", "self-referral")):
        result = evaluate(rules, Event("purchase", 1, "KRW", referrer=referrer), MEMBER, {}, NOW)  # type: ignore[arg-type]
        assert result.points == () and result.withheld[0].reason == reason


def test_custom_event_types() -> None:
    rules = ruleset({"id": "w", "on": "workshop", "actions": [{"award_points": {"fixed": 50}}]}, event_types=["workshop"])
    assert fired(rules, Event("workshop")) == [("w", 50)]


@pytest.mark.parametrize(("event", "now", "message"), [
    (Event("purchase", 1, "USD"), NOW, "in USD"),
    (Event("lottery"), NOW, "neither built in nor declared"),
    (Event("purchase", 1, "KRW"), datetime(2025, 2, 28, 14, 59, tzinfo=timezone.utc), "takes effect"),
    (Event("purchase", 1, "KRW"), datetime(2025, 3, 5), "aware datetime"),
])
def test_inputs_that_do_not_fit_are_refused(event: Event, now: datetime, message: str) -> None:
    with pytest.raises((EvaluationError, ValueError), match=message):
        evaluate(ruleset(fixed("a", 1)), event, MEMBER, {}, now)  # type: ignore[arg-type]
