"""Defaults of custom event fields (`fields: {streak: {type: integer, default: 0}}`): validated
against the field's type, read when an event omits the field (or sends null), so that rules
may compute with it; hashed only when declared; a change of one that a rule reads worsens."""

from __future__ import annotations

import pytest

from dangol.rules import EvaluationError, Ruleset, canonical_json, ruleset_hash
from dangol.rules.changes import compare, worsens
from dangol.rules.facts import FieldValue
from dangol.rules.model import EventField
from dangol.rules.vocabulary import Type

from . import test_event_fields as event_fields
from .test_event_fields import checkin, load, problems  # the same document header and helpers

TYPES = """\
event_types:
  - name: app_checkin
    fields:
      streak: {type: integer, default: 1}
      channel: {type: string, default: web}
      first_time: {type: boolean, default: false}
      note: string
"""
RULES = """\
rules:
  - id: weekly
    description: 700 points on every seventh day of a streak
    on: app_checkin
    when: event.fields.streak % 7 == 0
    actions: [{award_points: {fixed: 700}}]
  - id: per-day
    description: 10 points a day of the streak, at most 100
    on: app_checkin
    actions: [{award_points: {rate: {points: 10, per: 1, of: "min(event.fields.streak, 10)"}}}]
  - id: returning
    on: app_checkin
    when: not event.fields.first_time and event.fields.channel != "web"
    actions: [{award_points: {fixed: 5}}]
"""


def points(ruleset: Ruleset, *fields: tuple[str, FieldValue], kind: str = "app_checkin") -> list[tuple[str, int]]:
    return event_fields.points(ruleset, checkin(*fields, kind=kind))


# ---------------------------------------------------------------- declaring

def test_a_default_is_part_of_the_declaration() -> None:
    ruleset = load(TYPES + RULES)
    assert ruleset.event_fields == (EventField("app_checkin", "channel", Type.STR, "web"),
                                    EventField("app_checkin", "first_time", Type.BOOL, False),
                                    EventField("app_checkin", "note", Type.STR),
                                    EventField("app_checkin", "streak", Type.INT, 1))
    assert ruleset.defaults_of("app_checkin") == {"channel": "web", "first_time": False, "streak": 1}
    assert ruleset.defaults_of("purchase") == {}


def test_every_mistake_in_a_default_is_reported_with_line_and_field() -> None:
    found = problems("""\
event_types:
  - name: quiz
    fields:
      a: {type: integer, default: "0"}
      b: {type: integer, default: 1.5}
      c: {type: integer, default: true}
      d: {type: string, default: 5}
      e: {type: boolean, default: "yes"}
      f: {type: integer, default: null}
      g: {type: integer, defualt: 0}
      h: {default: 0}
      i: {type: text, default: 0}
      j: {type: integer, default: 10000000000000000}
rules: []
""")
    assert found == [
        "line 8, event_types[0].fields.a.default: must be an integer, not a string ('0')",
        "line 9, event_types[0].fields.b.default: must be an integer, not a fraction (1.5) "
        "(no fractions: points and money are integers)",
        "line 10, event_types[0].fields.c.default: must be an integer, not a boolean (True)",
        "line 11, event_types[0].fields.d.default: must be a string, not an integer (5)",
        "line 12, event_types[0].fields.e.default: must be true or false, not a string ('yes')",
        "line 13, event_types[0].fields.f.default: must be a value of the field's type; leave `default` out for "
        "a field an event may omit (it then reads None)",
        "line 14, event_types[0].fields.g.defualt: unknown field; the fields here are: type, default",
        "line 15, event_types[0].fields.h.type: is required",
        "line 16, event_types[0].fields.i.type: must be one of integer, string, boolean, not 'text'",
        "line 17, event_types[0].fields.j.default: must be an integer from -1,000,000,000,000,000 to "
        "1,000,000,000,000,000",
    ]


def test_a_long_string_default_is_refused() -> None:
    found = problems(f"event_types: [{{name: quiz, fields: {{a: {{type: string, default: {'x' * 201}}}}}}}]\n"
                     "rules: []\n")
    assert found == ["line 5, event_types[0].fields.a.default: must be at most 200 characters (it has 201)"]


# ---------------------------------------------------------------- computing with them

def test_a_field_with_a_default_may_be_computed_with() -> None:
    ruleset = load(TYPES + RULES)
    assert [r.when.source for r in ruleset.rules if r.when] == ["not event.fields.first_time and "
                                                               "event.fields.channel != 'web'",
                                                               "event.fields.streak % 7 == 0"]


@pytest.mark.parametrize(("when", "message"), [
    # note has no default: it may be missing, so it is compared, not computed with.
    ("len(event.fields.note) > 3", "len() does not accept a missing string"),
    ("event.fields.streak + event.fields.missing > 0", "`event.fields.missing` is not declared"),
])
def test_a_field_without_a_default_is_still_compared_only(when: str, message: str) -> None:
    found = problems(TYPES + RULES.replace("event.fields.streak % 7 == 0", when))
    assert len(found) == 1 and message in found[0], found


def test_a_rule_on_a_type_without_the_default_cannot_compute_with_it() -> None:
    # web_visit declares streak without a default: on it, the rule's streak may be missing.
    text = TYPES + "  - {name: web_visit, fields: {streak: integer}}\n" + RULES.replace(
        "    on: app_checkin\n    when: event.fields.streak % 7", "    on: [app_checkin, web_visit]\n    when: "
        "event.fields.streak % 7")
    assert problems(text) == [
        "line 17, rules[0].when: arithmetic needs integers, not a possibly missing integer (or declare a default "
        "for `streak` under event_types, in every event type of the rule, to compute with it) "
        "(column 1 of the expression)"]
    # Declared with a default on both types (each its own), it may.
    both = text.replace("{streak: integer}", "{streak: {type: integer, default: 7}}")
    assert points(load(both), kind="web_visit") == [("weekly", 700)]  # per-day is on app_checkin only
    assert points(load(both)) == [("per-day", 10)]


# ---------------------------------------------------------------- evaluation

@pytest.mark.parametrize(("fields", "expected"), [
    # Omitted: streak 1 (10 points a day), channel "web", first_time false.
    ((), [("per-day", 10)]),
    # Sent as null: the same as omitted.
    ((("streak", None), ("channel", None), ("first_time", None)), [("per-day", 10)]),
    # Sent: the event's values.
    ((("streak", 14), ("channel", "ios")), [("per-day", 100), ("returning", 5), ("weekly", 700)]),
    ((("streak", 7), ("channel", "ios"), ("first_time", True)), [("per-day", 70), ("weekly", 700)]),
    ((("streak", 0),), [("weekly", 700)]),  # 0 % 7 == 0; a rate on 0 gives nothing
])
def test_an_omitted_field_reads_its_default(fields: tuple[tuple[str, object], ...],
                                            expected: list[tuple[str, int]]) -> None:
    assert points(load(TYPES + RULES), *fields) == expected


def test_a_default_does_not_excuse_a_value_of_the_wrong_type() -> None:
    with pytest.raises(EvaluationError, match="field 'streak' of the 'app_checkin' event must be an integer"):
        points(load(TYPES + RULES), ("streak", "7"))


# ---------------------------------------------------------------- hashes

def test_defaults_change_the_hash_and_only_they() -> None:
    plain = load(TYPES.replace("{type: integer, default: 1}", "integer") + "rules: []\n")
    spelled = load(TYPES.replace("{type: integer, default: 1}", "{type: integer}") + "rules: []\n")
    one = load(TYPES + "rules: []\n")
    two = load(TYPES.replace("default: 1}", "default: 2}") + "rules: []\n")
    # A mapping without a default is the plain declaration, hash and all.
    assert ruleset_hash(plain) == ruleset_hash(spelled)
    assert len({ruleset_hash(plain), ruleset_hash(one), ruleset_hash(two)}) == 3
    assert (b'"event_field_defaults":{"app_checkin":{"channel":"web","first_time":false,"streak":1}}'
            in canonical_json(one))
    nothing = load(TYPES.replace("{type: integer, default: 1}", "integer").replace("{type: string, default: web}",
                                                                                    "string")
                   .replace("{type: boolean, default: false}", "boolean") + "rules: []\n")
    assert b"event_field_defaults" not in canonical_json(nothing)


# ---------------------------------------------------------------- changes

def described(old: str, new: str) -> list[tuple[str | None, str, bool]]:
    return [(c.rule, c.what, c.worsens) for c in compare(load(old), load(new))]


@pytest.mark.parametrize(("old", "new", "what", "readers"), [
    ("default: 1}", "default: 2}", "default 1 -> 2", "per-day, weekly"),
    ("default: web}", 'default: "ios"}', 'default "web" -> "ios"', "returning"),
])
def test_a_changed_default_a_rule_reads_worsens(old: str, new: str, what: str, readers: str) -> None:
    # A default can add points to some events and take them from others: never ranked.
    field = "channel" if "web" in old else "streak"
    assert described(TYPES + RULES, TYPES.replace(old, new) + RULES) == [
        (None, f"field '{field}' of event type 'app_checkin': {what} (read by {readers})", True)]


def test_a_removed_default_a_rule_compares_worsens() -> None:
    # Without the default the rule may only compare streak, and reads None for events without it.
    rules = RULES.replace("event.fields.streak % 7 == 0", "event.fields.streak == 1").replace(
        'of: "min(event.fields.streak, 10)"', "of: event.amount")
    new = TYPES.replace("{type: integer, default: 1}", "integer")
    assert described(TYPES + rules, new + rules) == [
        (None, "field 'streak' of event type 'app_checkin': default 1 -> none (read by weekly)", True)]


def test_a_default_added_to_a_field_a_rule_compares_worsens() -> None:
    old = TYPES.replace("note: string", "level: integer") + RULES.replace("event.fields.streak % 7 == 0",
                                                                         "event.fields.level == None")
    new = old.replace("level: integer", "level: {type: integer, default: 0}")
    # `level == None` held for events without a level; with the default it no longer does.
    assert described(old, new) == [
        (None, "field 'level' of event type 'app_checkin': default none -> 0 (read by weekly)", True)]


def test_a_changed_default_no_rule_reads_does_not_worsen() -> None:
    old = TYPES + "rules: []\n"
    new = TYPES.replace("default: 1}", "default: 3}") + "rules: []\n"
    assert described(old, new) == [(None, "field 'streak' of event type 'app_checkin': default 1 -> 3", False)]
    assert not worsens(compare(load(old), load(new)))
