"""The `tiers:` section of a ruleset document: the example's ladder, every mistake reported
with line and field path like the rest of the document, and the section in the hash."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dangol.rules import InvalidRuleset, canonical_json, ruleset_hash
from dangol.rules.loader import load_example, load_ruleset
from dangol.tiers import Metric, WindowKind

HEADER = """\
program: market
version: v1
effective_from: "2025-03-01T00:00:00+09:00"
currency: KRW
rules:
  - {id: base, on: purchase, actions: [{award_points: {rate: {points: 5, per: 100}}}]}
"""

LADDER = HEADER + """\
tiers:
  window: {rolling_days: 90}
  metric: purchases
  ladder:
    - {name: bronze, threshold: 0}
    - {name: silver, threshold: 3, multiplier: 2, perks: [free shipping]}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidRuleset) as caught:
        load_ruleset(text)
    return [str(p) for p in caught.value.problems]


def test_the_example_ladder() -> None:
    ladder = load_example().tiers
    assert ladder is not None
    assert [(t.name, t.threshold) for t in ladder.tiers] == [
        ("새싹", 0), ("열매", 300_000), ("나무", 600_000), ("숲", 1_000_000)]
    assert (ladder.metric, ladder.window, ladder.time_zone, ladder.grace_days) == (
        Metric.SPEND, WindowKind.QUARTER, "Asia/Seoul", 14)
    forest = ladder.tier("숲").benefits
    assert forest.earn_bonus is not None and (forest.earn_bonus.points, forest.earn_bonus.per) == (3, 100)
    assert forest.badge == "forest" and "포인트 선물" in forest.perks and forest.gifting
    # The hand-written tier-* rules are gone: one mechanism for tier bonuses.
    assert not [r.id for r in load_example().rules if r.id.startswith("tier")]


def test_a_rolling_ladder_on_purchases() -> None:
    ladder = load_ruleset(LADDER).tiers
    assert ladder is not None and ladder.window is WindowKind.ROLLING and ladder.rolling_days == 90
    assert ladder.metric is Metric.PURCHASES and ladder.tier("silver").benefits.multiplier == 2


def test_every_mistake_in_the_section_is_reported_with_line_and_field() -> None:
    found = problems(HEADER + """\
tiers:
  metric: revenue
  window: month
  time_zone: Mars/Olympus
  grace_days: -1
  colour: green
  ladder:
    - {name: bronze, threshold: 10}
    - {name: silver, threshold: 5.5}
    - {name: gold, threshold: 100, earn_bonus: {points: 0, per: 100}}
    - {name: gold, threshold: 200}
    - {name: platinum, threshold: 150}
""")
    assert found == [
        "line 12, tiers.colour: unknown field; the fields here are: ladder, metric, window, time_zone, grace_days",
        "line 8, tiers.metric: must be one of spend, points, purchases, not 'revenue'",
        "line 9, tiers.window: must be quarter, year or {rolling_days: N}, not 'month'",
        "line 10, tiers.time_zone: unknown time zone 'Mars/Olympus'; use an IANA name such as Asia/Seoul",
        "line 11, tiers.grace_days: must be an integer from 0 to 366",
        "line 14, tiers.ladder[0].threshold: the first tier's threshold must be 0: every member has a tier",
        "line 15, tiers.ladder[1].threshold: must be an integer, not a fraction (5.5) (no fractions: points and money are integers)",
        "line 16, tiers.ladder[2].earn_bonus.points: must be a positive integer",
        "line 18, tiers.ladder[4].threshold: must be above the previous tier's (200): tiers are listed lowest first",
    ]


def test_a_missing_ladder_and_rule_problems_are_reported_together() -> None:
    found = problems(HEADER.replace("points: 5", "points: 0") + "tiers: {metric: spend}\n")
    assert found == ["line 6, rules[0].actions[0].award_points.rate.points: must be a positive integer",
                     "line 7, tiers.ladder: is required"]


def test_the_tiers_section_is_hashed_with_the_ruleset() -> None:
    with_tiers = load_ruleset(LADDER)
    assert ruleset_hash(load_ruleset(LADDER.replace("threshold: 3", "threshold: 4"))) != ruleset_hash(with_tiers)
    assert ruleset_hash(load_ruleset(HEADER)) != ruleset_hash(with_tiers)
    # Spelling does not matter, meaning does.
    assert ruleset_hash(load_ruleset(LADDER.replace("{name: bronze, threshold: 0}", "{threshold: 0, name: bronze}"))) \
        == ruleset_hash(with_tiers)


def test_gifting_is_a_benefit_of_the_tiers_that_declare_it() -> None:
    ladder = load_example().tiers
    assert ladder is not None and ladder.gifting_tiers == ("숲",)
    assert ladder.may_gift("숲") and not ladder.may_gift("나무") and not ladder.may_gift(None)
    # A ladder declaring it on no tier leaves transfers to the program's policy.
    plain = load_ruleset(LADDER).tiers
    assert plain is not None and plain.gifting_tiers == () and plain.may_gift("bronze")


def test_gifting_must_be_true_or_false() -> None:
    assert problems(LADDER.replace("perks: [free shipping]", "gifting: yes please")) == [
        "line 12, tiers.ladder[1].gifting: must be true or false, not a string ('yes please')"]


def test_gifting_is_hashed_only_when_declared() -> None:
    # A ladder without gifting keeps the hash it was published under before the field existed.
    plain = load_ruleset(LADDER)
    assert ruleset_hash(load_ruleset(LADDER.replace("free shipping]", "free shipping], gifting: false"))) \
        == ruleset_hash(plain) == "sha256:ce86e4e59e532ab13656defefdca11ddd04ebec83d2fb8da7668986b23a5eeef"
    assert b"gifting" not in canonical_json(plain)
    assert ruleset_hash(load_ruleset(LADDER.replace("free shipping]", "free shipping], gifting: true"))) \
        != ruleset_hash(plain)


def test_the_tiers_section_of_docs_rules_md_loads() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()
    section = next(b for b in re.findall(r"```yaml\n(.*?)```", doc, re.S) if b.startswith("tiers:"))
    ladder = load_ruleset(HEADER + section).tiers
    assert ladder is not None and [t.name for t in ladder.tiers] == ["새싹", "열매", "나무", "숲"]
    assert ladder.tier("숲").benefits.multiplier == 2
