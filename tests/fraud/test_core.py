"""The pure core: rings are the connected components whatever the order of the links;
a velocity window counts this event and those within it, no others; a ruleset's fraud
section is validated with its line, and hashed only when present."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from dangol.fraud import Action, Kind, Measure, Per, Signal, VelocityRule, find_rings, velocity_findings
from dangol.rules import InvalidRuleset, build_ruleset, ruleset_hash
from dangol.rules.loader import load_ruleset as parse_document

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
links = st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from(["device:1", "device:2", "payment:x"])))


@given(links, st.randoms())
def test_rings_do_not_depend_on_the_order_of_links(found: list[tuple[str, str]], rng) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(found)
    rng.shuffle(shuffled)
    assert find_rings(found) == find_rings(shuffled)
    for member, ring in find_rings(found).items():
        assert member in ring and all(find_rings(found)[other] == ring for other in ring)


def test_a_chain_of_shared_fingerprints_is_one_ring() -> None:
    rings = find_rings([("a", "device:1"), ("b", "device:1"), ("b", "payment:x"), ("c", "payment:x"), ("d", "device:9")])
    assert rings["a"] == frozenset("abc") and "d" not in rings


def test_a_window_counts_this_event_and_those_inside_it() -> None:
    rule = VelocityRule("r", Kind.EARN, Per.DEVICE, Measure.COUNT, 2, 3_600, Action.HOLD)
    refs = {Per.DEVICE: "d"}
    history = [Signal(T0 - timedelta(minutes=m), f"m{m}", Kind.EARN, 10, refs) for m in (10, 70)]
    now = Signal(T0, "x", Kind.EARN, 10, refs)
    assert velocity_findings([rule], now, history) == []  # 2 within the hour: at the limit
    history.append(Signal(T0 - timedelta(minutes=5), "y", Kind.EARN, 10, refs))
    [finding] = velocity_findings([rule], now, history)
    assert finding.action is Action.HOLD and "3 earn events per device" in finding.reason


def _doc(fraud: str) -> str:
    return ("program: p\nversion: v1\neffective_from: '2025-03-01T00:00:00Z'\ncurrency: KRW\nrules: []\n" + fraud)


def test_the_fraud_section_is_validated_with_its_line_and_hashed_when_present() -> None:
    with pytest.raises(InvalidRuleset) as raised:
        parse_document(_doc("fraud:\n  velocity:\n    - {id: a, kind: earn, count: 3, window: {weeks: 1}, action: hold}\n"))
    [problem] = raised.value.problems
    assert problem.line == 8 and "minutes" in problem.message
    plain = parse_document(_doc(""))
    guarded = parse_document(_doc("fraud:\n  velocity:\n    - {id: a, kind: earn, count: 3, window: {hours: 1}, "
                                  "action: hold}\n"))
    assert guarded.fraud is not None and guarded.fraud.velocity[0].window_seconds == 3_600
    assert ruleset_hash(plain) == ruleset_hash(build_ruleset({"program": "p", "version": "v1", "rules": [],
                                                              "effective_from": "2025-03-01T00:00:00Z",
                                                              "currency": "KRW"}))
    assert ruleset_hash(plain) != ruleset_hash(guarded)
