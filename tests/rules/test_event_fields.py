"""Custom event fields: declared with a custom event type (`event_types`), read by rules as
`event.fields.<name>` with the declared type, checked when an event is judged, hashed only
when declared, and compared when a ruleset changes."""

from __future__ import annotations

from datetime import datetime, timezone
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dangol.rules import (Event, EvaluationError, InvalidRuleset, MemberState, Ruleset, canonical_json, evaluate,
                          ruleset_hash)
from dangol.rules.changes import compare, worsens
from dangol.rules.expressions import ExpressionError, compile_expression
from dangol.rules.facts import Facts, FieldValue, Moment, ProgramFacts
from dangol.rules.loader import load_example, load_ruleset
from dangol.rules.vocabulary import Type

HEADER = """\
program: app
version: v1
effective_from: "2025-03-01T00:00:00+09:00"
currency: KRW
"""
TYPES = """\
event_types:
  - workshop
  - name: app_checkin
    fields: {streak: integer, channel: string, first_time: boolean}
"""
STREAK_RULE = """\
rules:
  - id: streak
    on: app_checkin
    when: event.fields.streak >= 7
    actions: [{award_points: {fixed: 500}}]
"""
NOW = datetime(2025, 3, 5, 3, 0, tzinfo=timezone.utc)
MEMBER = MemberState("m1", datetime(2025, 1, 1, tzinfo=timezone.utc), "Asia/Seoul")


def load(text: str) -> Ruleset:
    return load_ruleset(HEADER + text)


def problems(text: str) -> list[str]:
    with pytest.raises(InvalidRuleset) as caught:
        load(text)
    return [str(p) for p in caught.value.problems]


def points(ruleset: Ruleset, event: Event) -> list[tuple[str, int]]:
    return [(a.rule_id, a.points) for a in evaluate(ruleset, event, MEMBER, {}, NOW).points]


def checkin(*fields: tuple[str, FieldValue], kind: str = "app_checkin") -> Event:
    return Event(kind, fields=tuple(sorted(fields, key=lambda field: field[0])))


# ---------------------------------------------------------------- declaring

def test_declared_fields_are_part_of_the_ruleset() -> None:
    ruleset = load(TYPES + STREAK_RULE)
    assert ruleset.event_types == ("app_checkin", "workshop")
    assert ruleset.fields_of("app_checkin") == {"channel": Type.STR, "first_time": Type.BOOL, "streak": Type.INT}
    assert ruleset.fields_of("workshop") == {} and ruleset.fields_of("purchase") == {}


def test_every_mistake_in_a_declaration_is_reported_with_line_and_field() -> None:
    found = problems("""\
event_types:
  - name: app_checkin
    fields: {streak: integer, Streak2: integer, class: string, mood: text}
  - {name: web_visit, fields: {streak: string}}
  - {name: app_checkin}
  - {fields: {x: integer}}
  - {name: quiz, fields: [score]}
  - {name: purchase, fields: {x: integer}}
  - 7
rules: []
""")
    expected = [
        "line 7, event_types[0].fields.Streak2: a field name is a-z, 0-9 and _, starting with a letter",
        "line 7, event_types[0].fields.class: 'class' is a Python keyword",
        "line 7, event_types[0].fields.mood: must be one of integer, string, boolean, not 'text'",
        "line 8, event_types[1].fields.streak: is string here but integer in event type 'app_checkin' "
        "(event_types[0]); a field has one type in every event type",
        "line 9, event_types[2].name: event type 'app_checkin' is declared twice (also event_types[0])",
        "line 10, event_types[3].name: is required",
        "line 11, event_types[4].fields: must be a mapping of field names to types (integer, string, boolean)",
        "line 12, event_types[5].name: 'purchase' is a built-in event type; declare only new ones",
        "line 13, event_types[6]: must be an event type name or a mapping {name: ..., fields: {...}}",
    ]
    assert len(found) == len(expected), found
    for message in expected:
        assert any(problem.startswith(message) for problem in found), (message, found)


def test_a_plain_name_repeated_is_still_accepted() -> None:
    # Published rulesets may repeat a name; only a declaration with fields must be unique.
    assert load("event_types: [workshop, workshop]\nrules: []\n").event_types == ("workshop",)


def test_an_unknown_key_in_a_declaration_is_reported() -> None:
    assert problems("event_types: [{name: quiz, feilds: {x: integer}}]\nrules: []\n") == [
        "line 5, event_types[0].feilds: unknown field; the fields here are: name, fields"]


# ---------------------------------------------------------------- reading them in rules

@pytest.mark.parametrize(("when", "message"), [
    ("event.fields.streaks >= 7", "line 12, rules[0].when: `event.fields.streaks` is not declared for the rule's "
                                  "event types; they declare: channel, first_time, streak (column 14"),
    ('event.fields.streak >= "7"', "line 12, rules[0].when: < <= > >= compare two integers or two strings"),
    ('event.fields.streak == "7"', "line 12, rules[0].when: comparing a integer with a string is always false"),
    ("event.fields.channel == 1", "line 12, rules[0].when: comparing a string with a integer is always false"),
    ("event.fields.first_time", "line 12, rules[0].when: the expression may be missing (None)"),
    ("not event.fields.first_time", "line 12, rules[0].when: `and`, `or`, `not` and `if` need a boolean that is "
                                    "always there"),
    ("event.fields.streak + 1 > 7", "line 12, rules[0].when: arithmetic needs integers, not a possibly missing"),
    ("event.fields == None", "line 12, rules[0].when: `event.fields` holds the event's custom fields; read one"),
    ("member.fields.streak == 1", "line 12, rules[0].when: fields are read only as root.field"),
    ("event.fields.streak.real == 1", "line 12, rules[0].when: fields are read only as root.field"),
    ("event.fields.__class__ == None", "underscore"),
    ("event.fields._x == None", "underscore"),
    ("event.fields.streak(1) == 1", "not a function you can call"),
    ("event.fields['streak'] == 1", "indexing"),
    ("fields.streak == 1", "fields are read only as root.field"),
])
def test_undeclared_or_mistyped_fields_are_refused_with_line_and_field(when: str, message: str) -> None:
    rule = STREAK_RULE.replace("event.fields.streak >= 7", when.replace("'", "''").join("''"))
    found = problems(TYPES + rule)
    assert len(found) == 1 and message in found[0], found


def test_a_rule_reads_only_the_fields_of_its_own_event_types() -> None:
    found = problems(TYPES + STREAK_RULE.replace("on: app_checkin", "on: [purchase, workshop]"))
    assert found == ["line 12, rules[0].when: `event.fields.streak` is not declared for the rule's event types; "
                     "they declare none (see event_types) (column 14 of the expression)"]


def test_a_rate_base_may_read_fields_too() -> None:
    ruleset = load(TYPES + """\
rules:
  - id: bonus
    on: app_checkin
    actions: [{award_points: {rate: {points: 1, per: 1, of: "100 if event.fields.first_time == True else 10"}}}]
""")
    assert points(ruleset, checkin(("first_time", True))) == [("bonus", 100)]
    assert points(ruleset, checkin()) == [("bonus", 10)]


# ---------------------------------------------------------------- evaluation

RULES = TYPES + """\
  - {name: web_visit, fields: {channel: string}}
rules:
  - id: streak
    on: [app_checkin, web_visit]
    when: event.fields.streak >= 7
    actions: [{award_points: {fixed: 500}}]
  - id: first-on-phone
    on: [app_checkin, web_visit]
    when: event.fields.first_time == True and event.fields.channel in ("ios", "android")
    actions: [{award_points: {fixed: 100}}]
  - id: not-from-web
    on: [app_checkin, web_visit]
    when: event.fields.channel != "web" and "o" not in event.fields.channel
    actions: [{award_points: {fixed: 1}}]
"""


@pytest.mark.parametrize(("event", "expected"), [
    (checkin(("streak", 7), ("channel", "ios"), ("first_time", True)), [("first-on-phone", 100), ("streak", 500)]),
    (checkin(("streak", 6), ("channel", "android")), []),  # "o" in "android"
    (checkin(("streak", 30), ("channel", "web")), [("streak", 500)]),
    # Absent, or sent as null: None, which no ordered comparison and no `in` holds.
    (checkin(), [("not-from-web", 1)]),
    (checkin(("streak", None), ("channel", None), ("first_time", None)), [("not-from-web", 1)]),
    # Fields no declaration names are recorded with the event but unseen by rules.
    (checkin(("mood", 1.5), ("streak", 7)), [("not-from-web", 1), ("streak", 500)]),
    # web_visit declares channel only: its streak is not the rules' to read.
    (checkin(("streak", 7), ("channel", "android"), ("first_time", True), kind="web_visit"), []),
    (checkin(("channel", "ie"), kind="web_visit"), [("not-from-web", 1)]),
])
def test_rules_read_the_declared_fields_present_or_absent(event: Event, expected: list[tuple[str, int]]) -> None:
    assert sorted(points(load(RULES), event)) == sorted(expected)


@pytest.mark.parametrize(("event", "message"), [
    (checkin(("streak", "7")), "field 'streak' of the 'app_checkin' event must be an integer (or null), not '7'"),
    (checkin(("streak", True)), "field 'streak' of the 'app_checkin' event must be an integer (or null), not True"),
    (checkin(("streak", 7.0)), "must be an integer (or null), not 7.0"),
    (checkin(("first_time", 1)), "field 'first_time' of the 'app_checkin' event must be a boolean"),
    (checkin(("channel", 3), kind="web_visit"), "field 'channel' of the 'web_visit' event must be a string"),
])
def test_a_field_of_the_wrong_type_is_refused(event: Event, message: str) -> None:
    with pytest.raises(EvaluationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(load(RULES), event, MEMBER, {}, NOW)


def test_a_wrongly_typed_field_is_refused_even_when_no_rule_is_on_its_type() -> None:
    ruleset = load(TYPES + "rules: []\n")
    with pytest.raises(EvaluationError, match="must be an integer"):
        evaluate(ruleset, checkin(("streak", "seven")), MEMBER, {}, NOW)


def test_built_in_events_carry_no_readable_fields() -> None:
    # A purchase may send a field of a declared name and any value: it is not the rules' to see.
    ruleset = load(TYPES + STREAK_RULE)
    assert points(ruleset, Event("purchase", 1000, "KRW", "o1", fields=(("streak", "x"),))) == []


# ---------------------------------------------------------------- hashes

# Changed deliberately when the example's review rule came to read the order's facts and keep
# its bonus on refund (`refundable: false`).
EXAMPLE_HASH = "sha256:2ea32eec2c67428d520613ada864472e8078cfda67441ab130b61d809d2c6279"
# The example's review rule as published before that change, and that document's hash.
PREVIOUS_REVIEW_RULE = """\
  - id: review
    description: 100 points for a review, once per order and at most 5 times a month
    on: review
    when: event.order_id != None
    actions:
      - award_points: {fixed: 100}
"""
PREVIOUS_EXAMPLE_HASH = "sha256:9aeac077856d39d861c581403a8703c9091c00f1bc51a71c2cf3a30e85d4c3c5"


def test_the_example_rulesets_hash_is_unchanged() -> None:
    # Published rulesets name their hash; a ruleset without field declarations must keep it.
    assert ruleset_hash(load_example()) == EXAMPLE_HASH


def test_the_previous_example_keeps_its_hash() -> None:
    # Order facts and `refundable` are new: a published ruleset that uses neither keeps its hash.
    text = (resources.files("dangol.rules") / "examples" / "market.yaml").read_text(encoding="utf-8")
    start, end = text.index("  - id: review\n"), text.index("    caps:\n      - {per: order, times: 1}")
    assert ruleset_hash(load_ruleset(text[:start] + PREVIOUS_REVIEW_RULE + text[end:])) == PREVIOUS_EXAMPLE_HASH


def test_plain_event_types_hash_as_before() -> None:
    # The hash of this document before event fields existed.
    text = ("event_types: [workshop_attended, app_checkin]\nrules:\n  - {id: w, on: workshop_attended, "
            "when: 'event.amount >= 0', actions: [{award_points: {fixed: 50}}]}\n")
    before = "sha256:0a7bd860c5826f077724e406998bcf03161eb9b0ead3e46d2cbd99a15c109d44"
    assert ruleset_hash(load(text)) == before
    # A mapping without fields, or with none, is the same declaration.
    for spelling in ("[workshop_attended, {name: app_checkin}]",
                     "[workshop_attended, {name: app_checkin, fields: {}}]"):
        assert ruleset_hash(load(text.replace("[workshop_attended, app_checkin]", spelling))) == before
    assert b"event_fields" not in canonical_json(load(text))


def test_declared_fields_change_the_hash_but_not_their_order() -> None:
    a = load(TYPES + STREAK_RULE)
    b = load(TYPES.replace("{streak: integer, channel: string, first_time: boolean}",
                           "{first_time: boolean, channel: string, streak: integer}") + STREAK_RULE)
    c = load(TYPES.replace("channel: string", "channel: integer") + STREAK_RULE)
    plain = load(TYPES.replace("fields: {streak: integer, channel: string, first_time: boolean}",
                               "fields: {}") + STREAK_RULE.replace("event.fields.streak >= 7", "event.amount >= 0"))
    assert ruleset_hash(a) == ruleset_hash(b)
    assert len({ruleset_hash(a), ruleset_hash(c), ruleset_hash(plain)}) == 3
    assert b'"event_fields":{"app_checkin":{"channel":"string","first_time":"boolean","streak":"integer"}}' \
        in canonical_json(a)


# ---------------------------------------------------------------- changes

def described(old: str, new: str) -> list[tuple[str | None, str, bool]]:
    return [(c.rule, c.what, c.worsens) for c in compare(load(old), load(new))]


def test_removing_a_field_a_rule_reads_worsens() -> None:
    # The rule's condition is kept, on a type that still declares the field; web_visit no
    # longer does, so its streak is None there: the rule no longer fires for web visits.
    old = RULES.replace("{channel: string}", "{channel: string, streak: integer}")
    assert described(old, RULES) == [
        (None, "field 'streak' of event type 'web_visit' no longer declared (read by streak)", True)]


def test_retyping_a_field_a_rule_reads_worsens() -> None:
    old = TYPES + STREAK_RULE.replace("event.fields.streak >= 7", "event.fields.channel == None")
    new = old.replace("channel: string", "channel: integer")
    assert described(old, new) == [
        (None, "field 'channel' of event type 'app_checkin': string -> integer (read by streak)", True)]


def test_field_changes_no_rule_reads_do_not_worsen() -> None:
    old = TYPES + STREAK_RULE
    fewer = old.replace("channel: string, ", "")
    retyped = old.replace("first_time: boolean", "first_time: string")
    more = old.replace("first_time: boolean", "first_time: boolean, level: integer")
    assert described(old, fewer) == [(None, "field 'channel' of event type 'app_checkin' no longer declared", False)]
    assert described(old, retyped) == [(None, "field 'first_time' of event type 'app_checkin': boolean -> string",
                                        False)]
    assert described(old, more) == [(None, "field 'level' of event type 'app_checkin' declared (integer)", False)]
    assert not worsens(compare(load(old), load(more)))


def test_a_removed_event_type_is_reported_once_with_its_fields() -> None:
    old = TYPES + "rules: []\n"
    new = "event_types: [workshop]\nrules: []\n"
    assert described(old, new) == [(None, "event type 'app_checkin' no longer declared", True)]


# ---------------------------------------------------------------- hostile and random text

def facts(fields: dict[str, object]) -> Facts:
    return Facts(Event("app_checkin"), MEMBER, Moment.of(NOW, MEMBER.time_zone), ProgramFacts("app", "KRW"),
                 fields)  # type: ignore[arg-type]


DECLARED = {"streak": Type.INT, "channel": Type.STR, "first_time": Type.BOOL}
# Comparisons of every kind with fields on either side, and a few the checker must refuse.
COMPARISONS = st.sampled_from([
    "event.fields.streak >= 7", "7 < event.fields.streak", "event.fields.streak == event.fields.streak",
    "event.fields.streak != None", "event.fields.streak in (1, 7)", "event.fields.streak not in (1, 7)",
    "0 <= event.fields.streak < 9", "event.fields.channel == 'ios'", "event.fields.channel in ('ios', 'web')",
    "'a' in event.fields.channel", "'a' not in event.fields.channel", "event.fields.channel in event.fields.channel",
    "event.fields.channel not in member.tier", "member.tier in event.fields.channel", "event.fields.channel >= 'a'",
    "event.fields.channel < member.tier", "event.fields.first_time == True", "event.fields.first_time != None",
    "event.fields.first_time != event.fields.first_time", "event.fields.channel in event.type",
    "event.fields.first_time", "event.fields.streak + 1 > 0", "event.fields.channel == 7"])
CONDITIONS = st.recursive(COMPARISONS, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    inner.map(lambda text: f"not ({text})"),
    st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})")), max_leaves=6)
FIELD_VALUES = st.fixed_dictionaries({}, optional={"streak": st.integers(-10**6, 10**6),
                                                   "channel": st.sampled_from(["", "a", "ios", "web"]),
                                                   "first_time": st.booleans()})


@settings(max_examples=500, deadline=None)
@given(CONDITIONS, FIELD_VALUES)
def test_random_conditions_over_fields_are_refused_or_evaluate_to_a_boolean(text: str,
                                                                             values: dict[str, object]) -> None:
    # Whatever the event carries, every field present or absent (None, as `member.tier` of a
    # member without a tier), a condition that validates never raises when it runs.
    try:
        expression = compile_expression(text, Type.BOOL, DECLARED)
    except ExpressionError:
        return
    assert type(expression(facts(values))) is bool
    assert type(expression(facts({}))) is bool


def test_an_expression_names_the_fields_it_reads() -> None:
    expression = compile_expression("event.fields.streak > 3 or event.fields.channel == 'x'", Type.BOOL, DECLARED)
    assert expression.fields == {"streak", "channel"}
    assert compile_expression("event.amount > 0").fields == frozenset()
