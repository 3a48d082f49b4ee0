"""Content addressing: the canonical JSON of a validated ruleset and its SHA-256.

Canonical JSON here is: the model (not the document) written with every default made
explicit, rules sorted by id, lists that are sets sorted, expressions in their canonical
text (`ast.unparse`), custom event fields as {type: {field: type}} (only when some are
declared) and their defaults as {type: {field: default}} (only when some have one), keys
sorted, no insignificant whitespace, UTF-8 (not \\u escapes), integers only (no floats
anywhere in the model). So YAML vs JSON, key order, rule order,
comments, quoting and spacing never change the hash, and every semantic field does."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timezone

from ..engagement.canonical import challenge_json, coupon_json
from .facts import FieldValue
from .model import Action, AdvanceChallenge, AwardBadge, AwardPoints, Cap, EarningRule, IssueCoupon, Ruleset


def canonical_json(ruleset: Ruleset) -> bytes:
    return json.dumps(_ruleset(ruleset), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def ruleset_hash(ruleset: Ruleset) -> str:
    """`sha256:<hex>` of the canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(ruleset)).hexdigest()


def _ruleset(r: Ruleset) -> dict[str, object]:
    document: dict[str, object] = {
        "program": r.program, "version": r.version, "currency": r.currency,
        # One instant has many spellings (+09:00 vs Z): the hash sees UTC.
        "effective_from": r.effective_from.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
        "event_types": list(r.event_types), "rules": [_rule(rule) for rule in r.rules],
        # Engagement sections only when present, so a ruleset without them keeps its hash.
        **({"challenges": [challenge_json(c) for c in r.challenges]} if r.challenges else {}),
        **({"coupons": [coupon_json(t) for t in r.coupons]} if r.coupons else {}),
        # Only when some custom type declares fields: every other ruleset keeps its hash.
        **({"event_fields": _event_fields(r)} if r.event_fields else {}),
        # Defaults beside them, only when some field has one: every other ruleset keeps its hash.
        **({"event_field_defaults": _field_defaults(r)} if any(f.default is not None for f in r.event_fields)
           else {})}
    if r.tiers is not None:  # only when present: rulesets without tiers keep their hashes
        document["tiers"] = r.tiers.canonical()
    if r.fraud is not None:  # likewise: rulesets without a fraud section keep their hashes
        document["fraud"] = r.fraud.canonical()
    return document


def _event_fields(r: Ruleset) -> dict[str, dict[str, str]]:
    """{event type: {field: type}}: the declarations, whatever their order in the document."""
    found: dict[str, dict[str, str]] = {}
    for declared in r.event_fields:
        found.setdefault(declared.event_type, {})[declared.name] = declared.type.value
    return found


def _field_defaults(r: Ruleset) -> dict[str, dict[str, FieldValue]]:
    """{event type: {field: default}}, for the fields declared with a default."""
    found: dict[str, dict[str, FieldValue]] = {}
    for declared in r.event_fields:
        if declared.default is not None:
            found.setdefault(declared.event_type, {})[declared.name] = declared.default
    return found


def _rule(rule: EarningRule) -> dict[str, object]:
    return {"id": rule.id, "description": rule.description, "on": list(rule.on),
            "when": rule.when.source if rule.when else None, "priority": rule.priority,
            "exclusive": rule.exclusive, "group": rule.group, "actions": [_action(a) for a in rule.actions],
            "caps": [_cap(c) for c in rule.caps], "budget": rule.budget,
            "valid_from": _day(rule.valid_from), "valid_until": _day(rule.valid_until)}


def _action(action: Action) -> dict[str, object]:
    if isinstance(action, AwardPoints):
        rate = action.rate
        return {"award_points": {
            "to": action.to.value, "fixed": action.fixed, "multiplier": action.multiplier,
            "rate": None if rate is None else {"points": rate.points, "per": rate.per, "rounding": rate.rounding.value,
                                               "of": rate.of.source if rate.of else None},
            # Only when not refundable: every ruleset published before the option keeps its hash.
            **({} if action.refundable else {"refundable": False})}}
    if isinstance(action, IssueCoupon):
        return {"issue_coupon": {"template": action.template}}
    if isinstance(action, AwardBadge):
        return {"award_badge": {"badge": action.badge}}
    assert isinstance(action, AdvanceChallenge)
    return {"advance_challenge": {"challenge": action.challenge, "amount": action.amount}}


def _cap(cap: Cap) -> dict[str, object]:
    return {"per": cap.per.value, "points": cap.points, "times": cap.times}


def _day(day: date | datetime | None) -> str | None:
    return None if day is None else day.isoformat()
