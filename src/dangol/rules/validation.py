"""From plain data (dicts, lists, strings, integers, as any loader produces them) to a
validated `Ruleset`, reporting every mistake rather than the first: each problem names
the field path and, when the loader gave line marks, the line."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any, TypeVar

from ..engagement.challenges import Challenge
from ..engagement.coupons import CouponTemplate
from ..engagement.document import check_references, parse_challenges, parse_coupons
from .errors import InvalidRuleset, Path, RulesetProblem
from .expressions import MAX_INT, MAX_STR, NO_FIELDS, Expression, ExpressionError, compile_expression
from .facts import BUILTIN_EVENT_TYPES, FieldValue
from .model import (Action, AdvanceChallenge, AwardBadge, AwardPoints, Beneficiary, Cap, EarningRule, EventField,
                    IssueCoupon, Period, Rate, Rounding, Ruleset)
from .vocabulary import FIELD_TYPES, Type

IDENTIFIER = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
CURRENCY = re.compile(r"[A-Z]{3}")
FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")  # read as event.fields.<name>: a Python attribute name
MAX_FIELDS = 50  # per event type, as many as an event may carry
MAX_RULES = 10_000
MAX_POINTS = 10**12
MAX_PRIORITY = 1_000_000
T = TypeVar("T")


class _Missing:
    pass


MISSING = _Missing()


def build_ruleset(data: object, lines: Mapping[Path, int] | None = None) -> Ruleset:
    """The validated ruleset of `data`, or InvalidRuleset listing every problem."""
    return _Checker(lines or {}).ruleset(data)


class _Checker:
    def __init__(self, lines: Mapping[Path, int]) -> None:
        self.lines = lines
        self.problems: list[RulesetProblem] = []
        # The custom event fields the expressions being checked may read: those of the event
        # types of the rule at hand (set by `rule`, read by `expression`).
        self.event_fields: Mapping[str, Type] = NO_FIELDS
        self.defaulted: frozenset[str] = frozenset()  # those of them with a default in every one of the types

    # ---- reporting

    def problem(self, path: Path, message: str, column: int | None = None) -> None:
        self.problems.append(RulesetProblem(path, message, self.line(path), column))

    def line(self, path: Path) -> int | None:
        # A missing field is reported at the line of the mapping that should hold it.
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    # ---- typed fields

    def mapping(self, value: object, path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.problem(path, f"must be a mapping, not {_describe(value)}")
            return None
        for key in value:
            if key not in required and key not in optional:
                known = ", ".join((*required, *optional))
                self.problem((*path, str(key)), f"unknown field; the fields here are: {known}")
        for key in required:
            if key not in value:
                self.problem((*path, key), "is required")
        return value

    def integer(self, value: object, path: Path, low: int, high: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            hint = " (no fractions: points and money are integers)" if isinstance(value, float) else ""
            self.problem(path, f"must be an integer, not {_describe(value)}{hint}")
            return None
        if not low <= value <= high:
            what = "a positive integer" if low == 1 else f"an integer from {low:,} to {high:,}"
            self.problem(path, f"must be {what}" + (f" (at most {high:,})" if low == 1 and value > high else ""))
            return None
        return value

    def text(self, value: object, path: Path, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        if not isinstance(value, str):
            self.problem(path, f"must be a string, not {_describe(value)}")
            return None
        if pattern is not None and not pattern.fullmatch(value):
            self.problem(path, f"must be {what}, not {value!r}")
            return None
        return value

    def boolean(self, value: object, path: Path) -> bool | None:
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, not {_describe(value)}")
            return None
        return value

    def choice(self, value: object, path: Path, kind: Callable[[str], T], names: list[str]) -> T | None:
        if value not in names:
            self.problem(path, f"must be one of {', '.join(names)}, not {value!r}")
            return None
        return kind(str(value))  # one of `names`: a string

    def day(self, value: object, path: Path) -> date | None:
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        self.problem(path, f"must be a date, YYYY-MM-DD, not {value!r}")
        return None

    def expression(self, value: object, path: Path, expect: Type) -> Expression | None:
        try:
            return compile_expression(value, expect, self.event_fields, self.defaulted)
        except ExpressionError as error:
            self.problem(path, error.message, error.column)
            return None

    # ---- the document

    def ruleset(self, data: object) -> Ruleset:
        doc = self.mapping(data, (), ("program", "version", "effective_from", "currency", "rules"),
                           ("event_types", "tiers", "challenges", "coupons", "fraud"))
        if doc is None:
            raise InvalidRuleset(self.problems)
        program = self.text(doc.get("program", ""), ("program",), IDENTIFIER, "an identifier (a-z, 0-9, _ . -)")
        version = self.text(doc.get("version", ""), ("version",), re.compile(r"\S.{0,63}"), "a label of 1 to 64 characters")
        effective_from = self.instant(doc.get("effective_from", MISSING), ("effective_from",))
        currency = self.text(doc.get("currency", ""), ("currency",), CURRENCY, "an ISO 4217 code such as KRW")
        custom, declared = self.event_types(doc.get("event_types", []))
        known = set(BUILTIN_EVENT_TYPES) | set(custom)
        fields_by_type: dict[str, dict[str, EventField]] = {}
        for one in declared:
            fields_by_type.setdefault(one.event_type, {})[one.name] = one
        rules: list[EarningRule] = []
        raw_rules = doc.get("rules", [])
        if not isinstance(raw_rules, list):
            self.problem(("rules",), f"must be a list of rules, not {_describe(raw_rules)}")
            raw_rules = []
        elif len(raw_rules) > MAX_RULES:
            self.problem(("rules",), f"at most {MAX_RULES:,} rules")
            raw_rules = []
        seen: dict[str, int] = {}
        for index, raw in enumerate(raw_rules):
            rule = self.rule(raw, ("rules", index), known, fields_by_type)
            if rule is None:
                continue
            if rule.id in seen:
                self.problem(("rules", index, "id"), f"duplicate rule id {rule.id!r} (also rules[{seen[rule.id]}])")
                continue
            seen[rule.id] = index
            rules.append(rule)
        tiers = None
        if "tiers" in doc:  # the tiers core parses its own section (imported here: it imports rules.model)
            from ..tiers.parsing import parse_tiers
            tiers = parse_tiers(self, doc["tiers"], ("tiers",))
        engagement = self.engagement(doc, known, rules, seen)
        fraud = None
        if "fraud" in doc:  # the fraud core parses its own section, as the tiers core does
            from ..fraud.policy import parse_fraud
            fraud = parse_fraud(self, doc["fraud"], ("fraud",))
        if self.problems:
            raise InvalidRuleset(self.problems)
        assert program and version and effective_from and currency
        return Ruleset(program, version, effective_from, currency, tuple(sorted(rules, key=lambda r: r.id)),
                       tuple(sorted(custom)), tiers=tiers, challenges=engagement[0], coupons=engagement[1],
                       event_fields=tuple(declared), fraud=fraud)

    def engagement(self, doc: dict[str, Any], known: set[str], rules: list[EarningRule],
                   index: dict[str, int]) -> tuple[tuple[Challenge, ...], tuple[CouponTemplate, ...]]:
        """The challenges and coupon templates (dangol.engagement.document), and a check that
        every one a rule's action names exists."""
        coupons = parse_coupons(self, doc["coupons"], IDENTIFIER) if "coupons" in doc else []
        named: list[tuple[Path, str, str]] = []
        challenges = parse_challenges(self, doc["challenges"], IDENTIFIER, known, named) if "challenges" in doc else []
        for rule in rules:
            for i, action in enumerate(rule.actions):
                where: Path = ("rules", index[rule.id], "actions", i)
                if isinstance(action, IssueCoupon):
                    named.append(((*where, "issue_coupon", "template"), "coupon", action.template))
                elif isinstance(action, AdvanceChallenge):
                    named.append(((*where, "advance_challenge", "challenge"), "challenge", action.challenge))
        check_references(self, coupons, challenges, named)
        return tuple(challenges), tuple(coupons)

    def instant(self, value: object, path: Path) -> datetime | None:
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return moment
        self.problem(path, f"must be a time with its offset, e.g. 2025-03-01T00:00:00+09:00, not {value!r}")
        return None

    def event_types(self, value: object) -> tuple[list[str], list[EventField]]:
        """The custom event types (sorted, unique) and their declared fields (sorted by type,
        then name). An entry is a name, or {name: ..., fields: {field: integer|string|boolean}}; a
        field may also be {type: ..., default: ...}."""
        if not isinstance(value, list):
            self.problem(("event_types",), f"must be a list of event type names, not {_describe(value)}")
            return [], []
        names: list[str] = []
        fields: list[EventField] = []
        first: dict[str, tuple[int, bool]] = {}  # name -> (index of its first entry, whether a mapping)
        typed: dict[str, tuple[Type, str, int]] = {}  # field -> (type, event type, index) where first declared
        for index, entry in enumerate(value):
            path: Path = ("event_types", index)
            name, declared = self.event_type_entry(entry, path)
            if name is None:
                continue
            is_mapping = isinstance(entry, dict)
            if name in first and (is_mapping or first[name][1]):
                # A plain name repeated means nothing more; fields declared twice could disagree.
                self.problem((*path, "name") if is_mapping else path, f"event type {name!r} is declared twice "
                             f"(also event_types[{first[name][0]}]); declare it once, with its fields")
                continue
            first.setdefault(name, (index, is_mapping))
            names.append(name)
            for one in self.event_fields_of(declared, (*path, "fields"), name) if declared is not MISSING else []:
                earlier = typed.setdefault(one.name, (one.type, name, index))
                if earlier[0] is one.type:
                    fields.append(one)
                else:
                    self.problem((*path, "fields", one.name),
                                 f"is {one.type.value} here but {earlier[0].value} in event type {earlier[1]!r} "
                                 f"(event_types[{earlier[2]}]); a field has one type in every event type")
        return sorted(set(names)), sorted(fields, key=lambda f: (f.event_type, f.name))

    def event_type_entry(self, entry: object, path: Path) -> tuple[str | None, object]:
        """An entry's checked name (None if wrong) and its raw `fields` (MISSING if none)."""
        if isinstance(entry, str):
            return self.event_type_name(entry, path), MISSING
        if not isinstance(entry, dict):
            self.problem(path, f"must be an event type name or a mapping {{name: ..., fields: {{...}}}}, "
                               f"not {_describe(entry)}")
            return None, MISSING
        doc = self.mapping(entry, path, ("name",), ("fields",))
        assert doc is not None  # a dict
        name = self.event_type_name(doc["name"], (*path, "name")) if "name" in doc else None
        return name, doc.get("fields", MISSING)

    def event_type_name(self, value: object, path: Path) -> str | None:
        checked = self.text(value, path, IDENTIFIER, "an identifier (a-z, 0-9, _ . -)")
        if checked in BUILTIN_EVENT_TYPES:
            self.problem(path, f"{checked!r} is a built-in event type; declare only new ones")
            return None
        return checked

    def event_fields_of(self, value: object, path: Path, event_type: str) -> list[EventField]:
        if not isinstance(value, dict):
            self.problem(path, f"must be a mapping of field names to types ({', '.join(FIELD_TYPES)}), "
                               f"not {_describe(value)}")
            return []
        if len(value) > MAX_FIELDS:
            self.problem(path, f"at most {MAX_FIELDS} fields per event type")
            return []
        found = []
        for name, kind in value.items():
            where = (*path, str(name))
            if not FIELD_NAME.fullmatch(str(name)):
                self.problem(where, f"a field name is a-z, 0-9 and _, starting with a letter, not {name!r}")
            elif keyword.iskeyword(name):
                self.problem(where, f"{name!r} is a Python keyword: `event.fields.{name}` could not be read")
            elif (one := self.event_field(kind, where, event_type, name)) is not None:
                found.append(one)
        return found

    def event_field(self, value: object, path: Path, event_type: str, name: str) -> EventField | None:
        """A field's declaration: its type's name, or {type: ..., default: ...}."""
        if not isinstance(value, dict):
            kind = self.choice(value, path, FIELD_TYPES.__getitem__, list(FIELD_TYPES))
            return None if kind is None else EventField(event_type, name, kind)
        doc = self.mapping(value, path, ("type",), ("default",))
        assert doc is not None  # a dict
        if "type" not in doc:
            return None
        kind = self.choice(doc["type"], (*path, "type"), FIELD_TYPES.__getitem__, list(FIELD_TYPES))
        if kind is None:
            return None
        # A wrong default is reported; the field stays declared (without it), so that rules
        # reading it are told it may be missing rather than that it is not declared.
        default = self.field_default(doc["default"], (*path, "default"), kind) if "default" in doc else None
        return EventField(event_type, name, kind, default)

    def field_default(self, value: object, path: Path, kind: Type) -> FieldValue:
        """A default of the field's type, bounded as a literal in an expression is."""
        if value is None:
            self.problem(path, "must be a value of the field's type; leave `default` out for a field an event "
                               "may omit (it then reads None)")
            return None
        if kind is Type.INT:
            return self.integer(value, path, -MAX_INT, MAX_INT)
        if kind is Type.BOOL:
            return self.boolean(value, path)
        text = self.text(value, path)
        if text is not None and len(text) > MAX_STR:
            self.problem(path, f"must be at most {MAX_STR} characters (it has {len(text)})")
            return None
        return text

    def rule(self, raw: object, path: Path, known: set[str],
             fields_by_type: Mapping[str, Mapping[str, EventField]]) -> EarningRule | None:
        before = len(self.problems)
        doc = self.mapping(raw, path, ("id", "on", "actions"),
                           ("description", "when", "priority", "exclusive", "group", "caps", "budget",
                            "valid_from", "valid_until"))
        if doc is None:
            return None
        rule_id = self.text(doc.get("id", ""), (*path, "id"), IDENTIFIER, "an identifier (a-z, 0-9, _ . -)")
        on = self.on(doc.get("on", []), (*path, "on"), known)
        description = self.text(doc.get("description", ""), (*path, "description")) or ""
        # Conflicting declarations were reported already: one type per field name here. A
        # field may be computed with only if it holds a value on every type of the rule.
        declared = [fields_by_type.get(event_type, {}) for event_type in on]
        self.event_fields = {name: one.type for fields in declared for name, one in fields.items()}
        self.defaulted = frozenset(name for name in self.event_fields
                                   if all(name in fields and fields[name].default is not None for fields in declared))
        when = self.expression(doc["when"], (*path, "when"), Type.BOOL) if "when" in doc else None
        priority = self.integer(doc.get("priority", 0), (*path, "priority"), -MAX_PRIORITY, MAX_PRIORITY)
        exclusive = self.boolean(doc.get("exclusive", False), (*path, "exclusive"))
        group = self.text(doc.get("group", ""), (*path, "group"))
        actions = self.actions(doc.get("actions", []), (*path, "actions"))  # a rate's `of` is an expression
        self.event_fields, self.defaulted = NO_FIELDS, frozenset()
        caps = self.caps(doc.get("caps", []), (*path, "caps"))
        budget = self.integer(doc["budget"], (*path, "budget"), 1, MAX_POINTS) if "budget" in doc else None
        valid_from = self.day(doc["valid_from"], (*path, "valid_from")) if "valid_from" in doc else None
        valid_until = self.day(doc["valid_until"], (*path, "valid_until")) if "valid_until" in doc else None
        if valid_from and valid_until and valid_until < valid_from:
            self.problem((*path, "valid_until"), f"is before valid_from ({valid_from.isoformat()})")
        multipliers = [a for a in actions if isinstance(a, AwardPoints) and a.multiplier is not None]
        if multipliers and any(isinstance(a, AwardPoints) and a.multiplier is None for a in actions):
            self.problem((*path, "actions"), "a multiplier rule cannot also award rate or fixed points; "
                                             "make the multiplier a rule of its own")
        if len(multipliers) > 1:
            self.problem((*path, "actions"), "at most one multiplier per rule")
        if len(self.problems) > before:
            return None
        assert rule_id is not None and priority is not None and exclusive is not None and group is not None
        return EarningRule(rule_id, tuple(on), tuple(actions), description, when, priority, exclusive, group,
                           tuple(caps), budget, valid_from, valid_until)

    def on(self, value: object, path: Path, known: set[str]) -> list[str]:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names:
            self.problem(path, "must be an event type or a non-empty list of them")
            return []
        found = []
        for index, name in enumerate(names):
            where = path if isinstance(value, str) else (*path, index)
            if name not in known:
                self.problem(where, f"unknown event type {name!r}; known: {', '.join(sorted(known))} "
                                    "(declare custom ones under event_types)")
            else:
                found.append(name)
        return sorted(set(found))

    def actions(self, value: object, path: Path) -> list[Action]:
        if not isinstance(value, list) or not value:
            self.problem(path, "must be a non-empty list of actions")
            return []
        actions = []
        kinds = {"award_points": self.award_points, "issue_coupon": self.issue_coupon,
                 "award_badge": self.award_badge, "advance_challenge": self.advance_challenge}
        for index, raw in enumerate(value):
            where = (*path, index)
            if not isinstance(raw, dict) or len(raw) != 1 or next(iter(raw)) not in kinds:
                self.problem(where, f"must be a mapping with exactly one of: {', '.join(kinds)}")
                continue
            kind, body = next(iter(raw.items()))
            action = kinds[kind](body, (*where, kind))
            if action is not None:
                actions.append(action)
        return actions

    def award_points(self, value: object, path: Path) -> AwardPoints | None:
        doc = self.mapping(value, path, (), ("rate", "fixed", "multiplier", "to", "refundable"))
        if doc is None:
            return None
        refundable = doc.get("refundable", True)
        if not isinstance(refundable, bool):
            self.problem((*path, "refundable"), "must be true or false")
            return None
        given = [k for k in ("rate", "fixed", "multiplier") if k in doc]
        if len(given) != 1:
            self.problem(path, "needs exactly one of rate, fixed, multiplier" + (f" (has {', '.join(given)})" if given else ""))
            return None
        to = self.choice(doc.get("to", "member"), (*path, "to"), Beneficiary, [b.value for b in Beneficiary])
        if to is Beneficiary.REFERRER and "multiplier" in doc:
            self.problem((*path, "to"), "a multiplier multiplies the member's own points; it cannot go to the referrer")
            return None
        if "fixed" in doc:
            fixed = self.integer(doc["fixed"], (*path, "fixed"), 1, MAX_POINTS)
            return AwardPoints(fixed=fixed, to=to, refundable=refundable) if fixed is not None and to else None
        if "multiplier" in doc:
            factor = self.integer(doc["multiplier"], (*path, "multiplier"), 2, 100)
            return AwardPoints(multiplier=factor, refundable=refundable) if factor is not None and to else None
        rate = self.rate(doc["rate"], (*path, "rate"))
        return AwardPoints(rate=rate, to=to, refundable=refundable) if rate is not None and to else None

    def rate(self, value: object, path: Path) -> Rate | None:
        if isinstance(value, bool) or isinstance(value, (int, float)):
            self.problem(path, "must be a mapping such as {points: 5, per: 100} (5 points per 100 minor units)")
            return None
        doc = self.mapping(value, path, ("points", "per"), ("rounding", "of"))
        if doc is None:
            return None
        points = self.integer(doc.get("points", 0), (*path, "points"), 1, MAX_POINTS)
        per = self.integer(doc.get("per", 0), (*path, "per"), 1, MAX_POINTS)
        rounding = self.choice(doc.get("rounding", "floor"), (*path, "rounding"), Rounding, [r.value for r in Rounding])
        of = self.expression(doc["of"], (*path, "of"), Type.INT) if "of" in doc else None
        if points is None or per is None or rounding is None or ("of" in doc and of is None):
            return None
        return Rate(points, per, rounding, of)

    def issue_coupon(self, value: object, path: Path) -> IssueCoupon | None:
        doc = self.mapping(value, path, ("template",), ())
        template = self.text(doc.get("template", ""), (*path, "template"), IDENTIFIER, "an identifier") if doc else None
        return IssueCoupon(template) if template else None

    def award_badge(self, value: object, path: Path) -> AwardBadge | None:
        doc = self.mapping(value, path, ("badge",), ())
        badge = self.text(doc.get("badge", ""), (*path, "badge"), IDENTIFIER, "an identifier") if doc else None
        return AwardBadge(badge) if badge else None

    def advance_challenge(self, value: object, path: Path) -> AdvanceChallenge | None:
        doc = self.mapping(value, path, ("challenge",), ("amount",))
        if doc is None:
            return None
        challenge = self.text(doc.get("challenge", ""), (*path, "challenge"), IDENTIFIER, "an identifier")
        amount = self.integer(doc.get("amount", 1), (*path, "amount"), 1, MAX_POINTS)
        return AdvanceChallenge(challenge, amount) if challenge and amount else None

    def caps(self, value: object, path: Path) -> list[Cap]:
        if not isinstance(value, list):
            self.problem(path, f"must be a list of caps, not {_describe(value)}")
            return []
        caps: list[Cap] = []
        for index, raw in enumerate(value):
            where = (*path, index)
            doc = self.mapping(raw, where, ("per",), ("points", "times"))
            if doc is None:
                continue
            per = self.choice(doc.get("per"), (*where, "per"), Period, [p.value for p in Period]) if "per" in doc else None
            points = self.integer(doc["points"], (*where, "points"), 1, MAX_POINTS) if "points" in doc else None
            times = self.integer(doc["times"], (*where, "times"), 1, MAX_POINTS) if "times" in doc else None
            if "points" not in doc and "times" not in doc:
                self.problem(where, "needs points, times or both")
            elif per is not None and any(c.per is per for c in caps):
                self.problem((*where, "per"), f"a second cap per {per.value}; merge them into one")
            elif per is not None and (points or times):
                caps.append(Cap(per, points, times))
        return sorted(caps, key=lambda c: list(Period).index(c.per))


def _describe(value: object) -> str:
    if value is MISSING:
        return "nothing"
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a fraction", str: "a string", list: "a list", dict: "a mapping"}
    return names.get(type(value), type(value).__name__) + (f" ({value!r})" if isinstance(value, (int, float, str)) and len(repr(value)) < 40 else "")
