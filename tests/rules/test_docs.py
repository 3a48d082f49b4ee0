"""docs/rules.md's examples run: its ruleset document loads, its expressions compile."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from dangol.rules import Event, EvaluationError, InvalidRuleset, MemberState, Ruleset, compile_expression, evaluate
from dangol.rules.facts import FieldValue
from dangol.rules.loader import load_ruleset
from dangol.rules.vocabulary import Type

DOC = (Path(__file__).parents[2] / "docs" / "rules.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.S)


def test_the_documents_ruleset_loads() -> None:
    documents = [b for b in blocks("yaml") if b.startswith("program:")]
    assert documents
    for document in documents:
        ruleset = load_ruleset(document)
        assert ruleset.event_types == ("workshop_attended",)


def test_the_documents_expressions_compile() -> None:
    examples = next(b for b in blocks("text") if "event.amount >= 30000" in b).strip().splitlines()
    for example in examples:
        compile_expression(example, Type.INT if example.startswith("max(") else Type.BOOL)


def test_the_documents_caps_are_valid() -> None:
    caps = next(b for b in blocks("yaml") if b.startswith("caps:"))
    header = 'program: p\nversion: v\neffective_from: "2025-01-01T00:00:00Z"\ncurrency: KRW\nrules:\n  - id: r\n    on: review\n    actions: [{award_points: {fixed: 1}}]\n'
    load_ruleset(header + "".join("    " + line + "\n" for line in caps.splitlines()))


def test_the_custom_fields_example_works_as_its_table_says() -> None:
    block = next(b for b in blocks("yaml") if b.startswith("event_types:"))
    header = 'program: p\nversion: v\neffective_from: "2025-03-01T00:00:00+09:00"\ncurrency: KRW\n'
    ruleset = load_ruleset(header + block)
    # The problems the page quotes, from the mistakes it names.
    quoted = next(b for b in blocks("text") if "event.fields.streek" in b).splitlines()
    with pytest.raises(InvalidRuleset) as caught:
        load_ruleset(header + block.replace("fields.streak", "fields.streek").replace("first_time == True",
                                                                                        'first_time == "yes"'))
    assert [str(p) for p in caught.value.problems] == quoted
    # The table: four check-ins in one ISO week, the counters carried from one to the next.
    member = MemberState("m1", datetime(2025, 3, 1, tzinfo=timezone.utc), "Asia/Seoul")
    counters: dict[str, int] = {}
    earned, withheld = [], []
    for day, fields in enumerate([{"streak": 7, "channel": "ios", "first_time": True},
                                  {"streak": 8, "channel": "web"}, {"mood": "happy"}]):
        event = Event("app_checkin", fields=tuple(sorted(fields.items())))  # type: ignore[arg-type]
        result = evaluate(ruleset, event, member, counters, datetime(2025, 3, 3 + day, 3, tzinfo=timezone.utc))
        for use in result.counters:
            counters[use.key] = counters.get(use.key, 0) + use.amount
        earned.append(sorted((a.rule_id, a.points) for a in result.points))
        withheld.append([(w.rule_id, w.reason) for w in result.withheld])
    assert earned == [[("checkin-streak", 700), ("first-phone-checkin", 100)], [], []]
    assert withheld == [[], [("checkin-streak", "cap: 1 time(s) per week")], []]
    refused = r"field 'streak' of the 'app_checkin' event must be an integer \(or null\), not '9'"
    with pytest.raises(EvaluationError, match=refused):
        evaluate(ruleset, Event("app_checkin", fields=(("streak", "9"),)), member, counters,
                 datetime(2025, 3, 6, 3, tzinfo=timezone.utc))


def _events_in_order(ruleset: Ruleset, events: list[tuple[Event, datetime]]) -> list[tuple[list[tuple[str, int]],
                                                                                       list[tuple[str, str, int]]]]:
    """Each event's (rule, points) and (rule, reason, points withheld), the counters carried
    from one to the next; rules by id (they share priority 0)."""
    member = MemberState("m1", datetime(2025, 3, 1, tzinfo=timezone.utc), "Asia/Seoul")
    counters: dict[str, int] = {}
    found = []
    for event, at in events:
        result = evaluate(ruleset, event, member, counters, at)
        for use in result.counters:
            counters[use.key] = counters.get(use.key, 0) + use.amount
        found.append(([(a.rule_id, a.points) for a in result.points],
                      [(w.rule_id, w.reason, w.points) for w in result.withheld]))
    return found


HEADER = 'program: p\nversion: v\neffective_from: "2025-03-01T00:00:00+09:00"\ncurrency: KRW\n'


def test_the_lifetime_caps_example_works_as_its_table_says() -> None:
    block = next(b for b in blocks("yaml") if "per: lifetime, points: 1000" in b)
    ruleset = load_ruleset(HEADER + block)
    kst = [(2025, 3, 2, "survey"), (2025, 3, 3, "review"), (2025, 3, 10, "review"), (2025, 3, 20, "review"),
           (2025, 4, 5, "review"), (2025, 6, 9, "review"), (2026, 1, 5, "review"), (2027, 8, 1, "review")]
    found = _events_in_order(ruleset, [(Event(kind), datetime(y, m, d, 1, tzinfo=timezone.utc))
                                       for y, m, d, kind in kst])
    voice = ("first-voice", "cap: 1 time(s) ever", 0)
    ever = ("review-reward", "cap: 1000 points ever", 300)
    assert found == [
        ([("first-voice", 500)], []),
        ([("review-reward", 300)], [voice]),
        ([("review-reward", 300)], [voice]),
        ([], [voice, ("review-reward", "cap: 2 time(s) per month", 0)]),
        ([("review-reward", 300)], [voice]),
        ([("review-reward", 100)], [voice, ("review-reward", "cap: 1000 points ever", 200)]),
        ([], [voice, ever]),
        ([], [voice, ever]),
    ]


def test_the_field_defaults_example_works_as_its_table_says() -> None:
    block = next(b for b in blocks("yaml") if "streak: {type: integer, default: 1}" in b)
    ruleset = load_ruleset(HEADER + block)
    at = datetime(2025, 3, 3, 3, tzinfo=timezone.utc)
    table: list[dict[str, FieldValue]] = [{}, {"streak": 7, "minutes": 95}, {"streak": None, "minutes": 4000},
                                          {"streak": 14, "channel": "ios"}]
    found = [points for points, _ in _events_in_order(ruleset, [
        (Event("app_checkin", fields=tuple(sorted(fields.items()))), at) for fields in table])]
    assert found == [[], [("time-spent", 9), ("weekly-streak", 700)], [("time-spent", 30)], [("weekly-streak", 700)]]
    # The problems the page quotes, from the mistakes it names.
    quoted = next(b for b in blocks("text") if "fields.streak.default" in b).splitlines()
    with pytest.raises(InvalidRuleset) as caught:
        load_ruleset(HEADER + block.replace("default: 1}", 'default: "1"}'))
    assert [str(p) for p in caught.value.problems] == quoted
    with pytest.raises(InvalidRuleset) as caught:
        load_ruleset(HEADER + block.replace("{type: integer, default: 1}", "integer"))
    assert [str(p) for p in caught.value.problems] == quoted[1:]
