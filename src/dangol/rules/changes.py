"""What changed between two rulesets, and whether a change can worsen a member's earning.

"Worsens" is decided conservatively: a change counts as worsening unless it is plainly an
addition or a strict improvement for every member and every event. The notice policy
(service/rulesets.py) makes a worsening change wait out the program's notice period.

Not worsening: a new rule that is not exclusive; a removed condition (`when`); an event type
added to a rule's `on` or to the ruleset; a custom event field declared, or removed or
retyped, or its default added, changed or removed, while no rule on its event type reads
it; a higher rate (same base, same rounding or a more generous one), fixed amount or
multiplier; points made non-refundable (`refundable: false`); an added action; a raised or
removed cap or budget; a widened validity; a changed description or version label.

Worsening: a removed rule or action; a new exclusive rule (it may stop others); a changed or
added condition; a changed priority, group or exclusivity; a lower rate, fixed amount or
multiplier, a changed rate base (`of`) or a less generous rounding; points made refundable
again; an action that goes to someone else; a new or lower cap (of any window: a lifetime cap too) or budget; a narrowed
validity; a removed event type; a custom event field removed or given another type while a
rule on its event type reads it (`event.fields.<name>` in its condition or rate base), or
its default added, changed or removed while such a rule reads it (an event that omits the
field reads another value: more or fewer points, which is not ranked); another currency.

The `tiers:`, `coupons:` and `challenges:` sections are compared by section_changes.py, in
the same spirit (a tier's threshold raised, a coupon made less generous, a challenge made
harder: worsening)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from .facts import FieldValue
from .model import Action, AwardPoints, Cap, EarningRule, EventField, Rate, Rounding, Ruleset
from .section_changes import section_changes

_GENEROSITY = {Rounding.FLOOR: 0, Rounding.HALF_UP: 1, Rounding.CEILING: 2}


@dataclass(frozen=True, slots=True)
class Change:
    rule: str | None  # None: the ruleset as a whole
    what: str
    worsens: bool

    def as_json(self) -> dict[str, object]:
        return {"rule": self.rule, "change": self.what, "worsens": self.worsens}


def compare(old: Ruleset, new: Ruleset) -> tuple[Change, ...]:
    """Every difference that matters to members, in a stable order (ruleset, then rules by id)."""
    changes: list[Change] = []
    if new.currency != old.currency:
        changes.append(Change(None, f"currency {old.currency} -> {new.currency}", True))
    for kind in sorted(set(old.event_types) - set(new.event_types)):
        changes.append(Change(None, f"event type {kind!r} no longer declared", True))
    for kind in sorted(set(new.event_types) - set(old.event_types)):
        changes.append(Change(None, f"event type {kind!r} declared", False))
    if old.event_fields != new.event_fields:
        changes.extend(_field_changes(old, new))
    before = {rule.id: rule for rule in old.rules}
    after = {rule.id: rule for rule in new.rules}
    for rule_id in sorted(before.keys() | after.keys()):
        if rule_id not in after:
            changes.append(Change(rule_id, "rule removed", True))
        elif rule_id not in before:
            rule = after[rule_id]
            changes.append(Change(rule_id, "rule added" + (" (exclusive: it may stop other rules)"
                                                          if rule.exclusive else ""), rule.exclusive))
        elif before[rule_id] != after[rule_id]:
            changes.extend(_rule_changes(before[rule_id], after[rule_id]))
    changes.extend(Change(subject, what, worse) for subject, what, worse in section_changes(old, new, _rate_at_least))
    return tuple(changes)


def worsens(changes: tuple[Change, ...]) -> bool:
    return any(change.worsens for change in changes)


def _field_changes(old: Ruleset, new: Ruleset) -> list[Change]:
    """Field declarations of the custom event types both rulesets declare (a type removed is
    reported as such, and a type added brings its fields with it)."""
    both = set(old.event_types) & set(new.event_types)

    def by_key(fields: tuple[EventField, ...]) -> dict[tuple[str, str], EventField]:
        return {(f.event_type, f.name): f for f in fields if f.event_type in both}

    before, after = by_key(old.event_fields), by_key(new.event_fields)
    found: list[Change] = []
    for key in sorted(before.keys() | after.keys()):
        event_type, name = key
        label = f"field {name!r} of event type {event_type!r}"
        if key not in before:
            found.append(Change(None, f"{label} declared ({after[key].type.value})", False))
            continue
        # A rule that read it now sees None (removed), or its comparisons no longer fit (retyped).
        readers = [rule.id for rule in old.rules if event_type in rule.on and name in _fields_read(rule)]
        read = f" (read by {', '.join(readers)})" if readers else ""
        if key not in after:
            found.append(Change(None, f"{label} no longer declared{read}", bool(readers)))
        elif before[key].type is not after[key].type:
            found.append(Change(None, f"{label}: {before[key].type.value} -> {after[key].type.value}{read}",
                                bool(readers)))
        elif before[key].default != after[key].default:
            # What an event that omits the field reads: whether more or less pays depends on
            # each condition and rate base, so no ranking is attempted.
            found.append(Change(None, f"{label}: default {_value(before[key].default)} -> "
                                      f"{_value(after[key].default)}{read}", bool(readers)))
    return found


def _value(default: FieldValue) -> str:
    return "none" if default is None else json.dumps(default, ensure_ascii=False)


def _fields_read(rule: EarningRule) -> frozenset[str]:
    """The custom event fields a rule's condition and rate bases read."""
    read = rule.when.fields if rule.when is not None else frozenset()
    for action in rule.actions:
        if isinstance(action, AwardPoints) and action.rate is not None and action.rate.of is not None:
            read |= action.rate.of.fields
    return read


def _rule_changes(old: EarningRule, new: EarningRule) -> list[Change]:
    found: list[Change] = []

    def note(what: str, worse: bool) -> None:
        found.append(Change(new.id, what, worse))

    if set(old.on) - set(new.on):
        note(f"no longer on {', '.join(sorted(set(old.on) - set(new.on)))}", True)
    if set(new.on) - set(old.on):
        note(f"now also on {', '.join(sorted(set(new.on) - set(old.on)))}", False)
    if old.when != new.when:
        if new.when is None:
            note("condition removed", False)
        else:
            note(f"condition {'added' if old.when is None else 'changed'}: {new.when.source}", True)
    if (old.priority, old.group, old.exclusive) != (new.priority, new.group, new.exclusive):
        note("priority, group or exclusivity changed", True)
    found.extend(Change(new.id, what, worse) for what, worse in _action_changes(old.actions, new.actions))
    found.extend(Change(new.id, what, worse) for what, worse in _cap_changes(old.caps, new.caps))
    if old.budget != new.budget:
        lower = new.budget is not None and (old.budget is None or new.budget < old.budget)
        note(f"budget {old.budget or 'none'} -> {new.budget or 'none'}", lower)
    if old.valid_from != new.valid_from:
        later = new.valid_from is not None and (old.valid_from is None or new.valid_from > old.valid_from)
        note(f"valid from {old.valid_from or 'always'} -> {new.valid_from or 'always'}", later)
    if old.valid_until != new.valid_until:
        earlier = new.valid_until is not None and (old.valid_until is None or new.valid_until < old.valid_until)
        note(f"valid until {old.valid_until or 'always'} -> {new.valid_until or 'always'}", earlier)
    if old.description != new.description:
        note("description changed", False)
    return found


def _action_changes(old: tuple[Action, ...], new: tuple[Action, ...]) -> list[tuple[str, bool]]:
    """Actions are paired by position: the document's order within a rule is kept."""
    found: list[tuple[str, bool]] = []
    for index, before in enumerate(old):
        if index >= len(new):
            found.append((f"action {index + 1} removed", True))
            continue
        after = new[index]
        if before == after:
            continue
        if isinstance(before, AwardPoints) and isinstance(after, AwardPoints):
            found.append((f"action {index + 1}: {_describe(before)} -> {_describe(after)}",
                          not _at_least(before, after)))
        else:
            found.append((f"action {index + 1} replaced", True))
    found.extend((f"action {index + 1} added", False) for index in range(len(old), len(new)))
    return found


def _at_least(old: AwardPoints, new: AwardPoints) -> bool:
    """Whether `new` gives at least what `old` gave, to the same beneficiary, for every event."""
    if old.to != new.to or (new.refundable and not old.refundable):  # a refund would take back what it kept
        return False
    if old.fixed is not None:
        return new.fixed is not None and new.fixed >= old.fixed
    if old.multiplier is not None:
        return new.multiplier is not None and new.multiplier >= old.multiplier
    return old.rate is not None and new.rate is not None and _rate_at_least(old.rate, new.rate)


def _rate_at_least(old: Rate, new: Rate) -> bool:
    same_base = (old.of.source if old.of else None) == (new.of.source if new.of else None)
    return (same_base and _GENEROSITY[new.rounding] >= _GENEROSITY[old.rounding]
            and new.points * old.per >= old.points * new.per)


def _describe(action: AwardPoints) -> str:
    to = f" to {action.to.value}" if action.to.value != "member" else ""
    to += "" if action.refundable else " (kept on refund)"
    if action.fixed is not None:
        return f"{action.fixed} points{to}"
    if action.multiplier is not None:
        return f"x{action.multiplier}"
    rate = action.rate
    assert rate is not None
    return f"{rate.points} per {rate.per}{' of ' + rate.of.source if rate.of else ''} ({rate.rounding.value}){to}"


def _cap_changes(old: tuple[Cap, ...], new: tuple[Cap, ...]) -> list[tuple[str, bool]]:
    before = {cap.per: cap for cap in old}
    after = {cap.per: cap for cap in new}
    found: list[tuple[str, bool]] = []
    for per in [p for p in before if p not in after]:
        found.append((f"cap per {per.value} removed", False))
    for per, cap in after.items():
        previous = before.get(per)
        if previous == cap:
            continue
        tighter = previous is None or _lower(previous.points, cap.points) or _lower(previous.times, cap.times)
        found.append((f"cap per {per.value}: {_cap(previous)} -> {_cap(cap)}", tighter))
    return found


def _lower(old: int | None, new: int | None) -> bool:
    """A limit that is new, or lower than before."""
    return new is not None and (old is None or new < old)


def _cap(cap: Cap | None) -> str:
    if cap is None:
        return "none"
    parts = ([f"{cap.points} points"] if cap.points else []) + ([f"{cap.times} times"] if cap.times else [])
    return " and ".join(parts)
