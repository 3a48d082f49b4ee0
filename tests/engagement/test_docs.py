"""docs/rules.md's engagement examples are valid sections of a ruleset."""

from __future__ import annotations

import re
from pathlib import Path

from dangol.rules.loader import load_ruleset

DOC = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()
HEADER = 'program: p\nversion: v\neffective_from: "2025-03-01T00:00:00+09:00"\ncurrency: KRW\nrules: []\n'


def test_the_engagement_examples_load() -> None:
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if b.startswith("# engagement")]
    assert len(blocks) == 2
    coupons = blocks[0]
    # The challenges name design-10 and thank-you-500: load them with the coupons they need.
    extra = "  - {id: thank-you-500, name: T, gives: {points: 500}, valid_days: 90}\n"
    ruleset = load_ruleset(HEADER + coupons + extra + blocks[1])
    assert [c.id for c in ruleset.challenges] == ["design-quarter", "three-this-month", "weekly-streak"]
    assert [t.id for t in ruleset.coupons] == ["design-10", "thank-you-500"]
