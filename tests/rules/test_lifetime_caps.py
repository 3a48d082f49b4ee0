"""Lifetime caps (`caps: [{per: lifetime, ...}]`): a rule's points or firings per member,
ever. Validated like the other caps, hashed, counted under a member counter key without a
period, and compared when a ruleset changes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangol.rules import Cap, Event, InvalidRuleset, MemberState, Period, Ruleset, canonical_json, evaluate, ruleset_hash
from dangol.rules.changes import compare, worsens
from dangol.rules.loader import load_ruleset

HEADER = """\
program: shop
version: v1
effective_from: "2025-03-01T00:00:00+09:00"
currency: KRW
"""
REVIEWS = HEADER + """\
rules:
  - id: review-reward
    description: 300 points a review, at most 1,000 points ever
    on: review
    actions: [{award_points: {fixed: 300}}]
    caps: [{per: lifetime, points: 1000}]
"""
ONCE_EVER = HEADER + """\
rules:
  - id: first-voice
    description: 500 points for the first review, survey or share, whichever comes first
    on: [review, survey, social_share]
    actions: [{award_points: {fixed: 500}}, {award_badge: {badge: first-voice}}]
    caps: [{per: lifetime, times: 1}]
"""
START = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)
MEMBER = MemberState("m1", datetime(2025, 1, 1, tzinfo=timezone.utc), "Asia/Seoul")


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidRuleset) as caught:
        load_ruleset(text)
    return [str(p) for p in caught.value.problems]


def run(ruleset: Ruleset, events: list[tuple[Event, datetime]], member: MemberState = MEMBER,
        counters: Mapping[str, int] | None = None) -> tuple[list[int], list[list[str]], dict[str, int]]:
    """Each event's points and withheld reasons, the counters carried from one to the next,
    as the events service carries them."""
    carried = dict(counters or {})
    earned, withheld = [], []
    for event, at in events:
        result = evaluate(ruleset, event, member, carried, at)
        for use in result.counters:
            carried[use.key] = carried.get(use.key, 0) + use.amount
        earned.append(sum(a.points for a in result.points))
        withheld.append([w.reason for w in result.withheld])
    return earned, withheld, carried


# ---------------------------------------------------------------- the document

def test_a_lifetime_cap_is_a_cap_like_the_others() -> None:
    rule = load_ruleset(REVIEWS.replace("[{per: lifetime, points: 1000}]",
                                        "[{per: lifetime, points: 1000, times: 4}, {per: month, times: 2}]")).rules[0]
    # Kept in the order of Period, whatever the document's order: lifetime last.
    assert rule.caps == (Cap(Period.MONTH, None, 2), Cap(Period.LIFETIME, 1000, 4))


def test_mistakes_in_a_lifetime_cap_are_reported_with_line_and_field() -> None:
    text = REVIEWS.replace("caps: [{per: lifetime, points: 1000}]", """\
caps:
      - {per: lifetime}
      - {per: lifetime, points: 0}
      - {per: lifetime, times: 1.5}
      - {per: lifetime, times: 1}
      - {per: lifetime, points: 5}
      - {per: forever, times: 1}""")
    assert problems(text) == [
        "line 11, rules[0].caps[0]: needs points, times or both",
        "line 12, rules[0].caps[1].points: must be a positive integer",
        "line 13, rules[0].caps[2].times: must be an integer, not a fraction (1.5) "
        "(no fractions: points and money are integers)",
        "line 15, rules[0].caps[4].per: a second cap per lifetime; merge them into one",
        "line 16, rules[0].caps[5].per: must be one of event, order, day, week, month, lifetime, not 'forever'",
    ]


def test_a_lifetime_cap_is_part_of_the_hash() -> None:
    capped = load_ruleset(REVIEWS)
    monthly = load_ruleset(REVIEWS.replace("per: lifetime", "per: month"))
    uncapped = load_ruleset(REVIEWS.replace("    caps: [{per: lifetime, points: 1000}]\n", ""))
    respelled = load_ruleset(REVIEWS.replace("{per: lifetime, points: 1000}", "{points: 1000, per: 'lifetime'}"))
    assert len({ruleset_hash(capped), ruleset_hash(monthly), ruleset_hash(uncapped)}) == 3
    assert ruleset_hash(respelled) == ruleset_hash(capped)
    assert b'"caps":[{"per":"lifetime","points":1000,"times":null}]' in canonical_json(capped)


# ---------------------------------------------------------------- evaluation

def test_a_review_reward_stops_at_its_lifetime_points_across_months_and_years() -> None:
    # 300 a review: 300, 600, 900, then 100 of 300 (1,000 reached), then nothing, ever.
    times = [START, START + timedelta(days=40), START + timedelta(days=200), START + timedelta(days=400),
             START + timedelta(days=800)]
    earned, withheld, counters = run(load_ruleset(REVIEWS), [(Event("review"), at) for at in times])
    assert earned == [300, 300, 300, 100, 0]
    assert withheld == [[], [], [], ["cap: 1000 points ever"], ["cap: 1000 points ever"]]
    # One counter, with no period in its key: a window that never closes.
    assert counters == {"member/review-reward/lifetime/points": 1000}


def test_a_once_ever_bonus_fires_once_whatever_the_event_type() -> None:
    ruleset = load_ruleset(ONCE_EVER)
    events = [(Event("survey"), START), (Event("review"), START + timedelta(days=1)),
              (Event("social_share"), START + timedelta(days=365 * 3))]
    earned, withheld, counters = run(ruleset, events)
    assert earned == [500, 0, 0]
    assert withheld == [[], ["cap: 1 time(s) ever"], ["cap: 1 time(s) ever"]]
    assert counters == {"member/first-voice/lifetime/times": 1}
    # A times cap stops the whole rule: no second badge either.
    again = evaluate(ruleset, Event("review"), MEMBER, counters, START + timedelta(days=2))
    assert again.badges == () and again.points == ()
    # Another member's counters are their own: the service keeps them per member.
    other = MemberState("m2", datetime(2025, 1, 1, tzinfo=timezone.utc), "Asia/Seoul")
    assert [a.points for a in evaluate(ruleset, Event("review"), other, {}, START).points] == [500]


def test_a_lifetime_cap_and_a_monthly_cap_both_hold() -> None:
    ruleset = load_ruleset(REVIEWS.replace("[{per: lifetime, points: 1000}]",
                                           "[{per: month, points: 500}, {per: lifetime, points: 1000}]"))
    march, april, may = START, START + timedelta(days=31), START + timedelta(days=61)
    events = [(Event("review"), at) for at in (march, march, april, april, may)]
    earned, withheld, counters = run(ruleset, events)
    # March: 300 + 200 (500 a month); April: 300 + 200 (1,000 ever); May: nothing.
    assert earned == [300, 200, 300, 200, 0]
    assert withheld[1] == ["cap: 500 points per month"] and withheld[4] == ["cap: 1000 points ever"]
    assert counters["member/review-reward/lifetime/points"] == 1000
    assert counters["member/review-reward/month/2025-04/points"] == 500


def test_points_to_a_referrer_count_against_the_event_members_lifetime_cap() -> None:
    ruleset = load_ruleset(HEADER + """\
rules:
  - id: referral-reward
    on: purchase
    when: event.referrer != None
    actions: [{award_points: {fixed: 1000, to: referrer}}]
    caps: [{per: lifetime, points: 1500}]
""")
    purchase = Event("purchase", 10_000, "KRW", "o1", referrer="m_alice")
    earned, _, counters = run(ruleset, [(purchase, START), (purchase, START + timedelta(days=90))])
    assert earned == [1000, 500]
    assert counters == {"member/referral-reward/lifetime/points": 1500}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5000), st.integers(0, 3 * 365 * 24)), min_size=1, max_size=30),
       st.integers(1, 20_000), st.integers(1, 10))
def test_a_lifetime_cap_is_never_exceeded_and_never_withholds_early(purchases: list[tuple[int, int]], cap: int,
                                                                    times: int) -> None:
    # 1% of each purchase, at most `cap` points and `times` firings ever, whenever they come.
    ruleset = load_ruleset(HEADER + f"""\
rules:
  - id: one-percent
    on: purchase
    actions: [{{award_points: {{rate: {{points: 1, per: 100}}}}}}]
    caps: [{{per: lifetime, points: {cap}, times: {times}}}]
""")
    events = [(Event("purchase", amount * 100, "KRW"), START + timedelta(hours=hours)) for amount, hours in purchases]
    earned, _, _ = run(ruleset, sorted(events, key=lambda e: e[1]))
    wanted = [e.amount // 100 for e, _ in sorted(events, key=lambda e: e[1])]
    # Exactly what a running total gives: each firing its wish, until the points or the firings run out.
    expected, given_so_far = [], 0
    for index, wish in enumerate(wanted):
        share = 0 if index >= times else min(wish, cap - given_so_far)
        expected.append(share)
        given_so_far += share
    assert earned == expected
    # Deterministic: the same inputs, the same answers.
    assert run(ruleset, sorted(events, key=lambda e: e[1]))[0] == earned


# ---------------------------------------------------------------- changes (publishing with notice)

@pytest.mark.parametrize(("caps", "worse", "described"), [
    ("", True, "cap per lifetime: none -> 1000 points"),  # added
    ("[{per: lifetime, points: 2000}]", True, "cap per lifetime: 2000 points -> 1000 points"),  # lowered
    ("[{per: lifetime, points: 500}]", False, "cap per lifetime: 500 points -> 1000 points"),  # raised
    ("[{per: lifetime, points: 1000, times: 3}]", False, "cap per lifetime: 1000 points and 3 times -> 1000 points"),
    ("[{per: month, points: 1000}]", True, "cap per lifetime: none -> 1000 points"),  # a month became a lifetime
])
def test_a_new_or_lower_lifetime_cap_worsens(caps: str, worse: bool, described: str) -> None:
    old = REVIEWS.replace("[{per: lifetime, points: 1000}]", caps) if caps else \
        REVIEWS.replace("    caps: [{per: lifetime, points: 1000}]\n", "")
    changes = compare(load_ruleset(old), load_ruleset(REVIEWS))
    assert worsens(changes) is worse
    assert described in [c.what for c in changes]


def test_a_removed_lifetime_cap_does_not_worsen() -> None:
    changes = compare(load_ruleset(REVIEWS), load_ruleset(REVIEWS.replace("per: lifetime", "per: order")))
    assert [(c.what, c.worsens) for c in changes] == [("cap per lifetime removed", False),
                                                      ("cap per order: none -> 1000 points", True)]
    removed = compare(load_ruleset(REVIEWS), load_ruleset(REVIEWS.replace("    caps: [{per: lifetime, points: 1000}]\n",
                                                                         "")))
    assert [(c.what, c.worsens) for c in removed] == [("cap per lifetime removed", False)]
