"""evaluate(ruleset, event, member, counters, now) -> Evaluation: pure and deterministic.

Order. The rules whose `on` lists the event's type run in two phases: first the base
rules (rate, fixed, coupons, badges, challenges), then the multiplier rules. Within a
phase rules run by priority (highest first), then by id; the document's order never
matters. A rule fires when it is valid on the member's local date, its `when` holds and
no `times` cap is exhausted. An exclusive rule that fires stops every later rule of the
same phase and the same group (rules without a group share the group "").

Points. rate: round(base * points / per) with the rule's rounding (floor by default),
base = event.amount or the rate's `of` expression; fixed: the number; multiplier k:
(k - 1) * the points the base phase granted the event's member. Each rule's points are
then limited by its caps (per event, order, day, week or month of the member's time
zone, or the member's lifetime, counted for the event's member) and its budget
(program-wide); what is held back is reported as Withheld, and the counters consumed as
CounterUse.

Custom fields. The fields of an event that its type declares (`Ruleset.fields_of`) must
hold the declared type or null, or the event is refused (EvaluationError); conditions read
them as `event.fields.<name>`, when not sent (or null) their declared default, or None
without one. Fields the type does not declare are never seen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

from .facts import (BUILTIN_EVENT_TYPES, NO_ORDER, Event, Facts, FieldValue, MemberState, Moment, OrderFacts,
                    ProgramFacts)
from .model import (AdvanceChallenge, AwardBadge, AwardPoints, Beneficiary, Cap, EarningRule, IssueCoupon, Period,
                    Rate, Rounding, Ruleset)
from .outcome import (BadgeAward, ChallengeProgress, CouponIssue, CounterUse, Evaluation, PointsAward, Withheld)
from .vocabulary import Type

_NO_VALUES: Mapping[str, FieldValue] = MappingProxyType({})
_PYTHON_TYPES = {Type.INT: int, Type.STR: str, Type.BOOL: bool}
_NAMES = {Type.INT: "an integer", Type.STR: "a string", Type.BOOL: "a boolean (true or false)"}


class EvaluationError(ValueError):
    """The inputs do not fit the ruleset (a caller's mistake, not a rule's outcome)."""


def evaluate(ruleset: Ruleset, event: Event, member: MemberState, counters: Mapping[str, int],
             now: datetime, order: OrderFacts = NO_ORDER) -> Evaluation:
    if now.tzinfo is None or now.utcoffset() is None:
        raise EvaluationError("now must be an aware datetime (with a time zone)")
    if event.type not in ruleset.event_types and event.type not in BUILTIN_EVENT_TYPES:
        raise EvaluationError(f"event type {event.type!r} is neither built in nor declared by the ruleset")
    declared = ruleset.fields_of(event.type)
    fields = _declared_values(event, declared, ruleset.defaults_of(event.type)) if declared else _NO_VALUES
    if event.currency is not None and event.currency != ruleset.currency:
        raise EvaluationError(f"the event is in {event.currency}; the ruleset counts in {ruleset.currency}")
    if now < ruleset.effective_from:
        raise EvaluationError(f"ruleset {ruleset.version!r} takes effect at {ruleset.effective_from.isoformat()}")
    base_rules, multiplier_rules = ruleset.phases(event.type)
    # The member's tier benefits (ruleset.tiers) on purchases: built-in rules `tier:<name>`.
    tier = ruleset.tiers.tier(member.tier) if ruleset.tiers is not None and event.type == "purchase" else None
    if not base_rules and not multiplier_rules and tier is None:
        return Evaluation()
    facts = Facts(event, member, Moment.of(now, member.time_zone), ProgramFacts(ruleset.program, ruleset.currency),
                  fields, order)
    run = _Run(facts, counters)
    run.phase(base_rules)
    if tier is not None and tier.benefits.earn_bonus is not None:  # last of the base phase
        run.grant(f"tier:{tier.name}", _apply(tier.benefits.earn_bonus, event.amount) if event.amount > 0 else 0)
    run.base_points = run.member_points  # what the multipliers multiply
    if multiplier_rules:
        run.phase(multiplier_rules)
    if tier is not None and tier.benefits.multiplier is not None:  # last of the multiplier phase
        run.grant(f"tier:{tier.name}", (tier.benefits.multiplier - 1) * run.base_points)
    return Evaluation(tuple(run.points), tuple(run.coupons), tuple(run.badges), tuple(run.challenges),
                      tuple(CounterUse(key, amount) for key, amount in run.used.items()), tuple(run.withheld))


def cap_window(rule: EarningRule, cap: Cap, moment: Moment, order_id: str | None) -> str | None:
    """The counter key prefix of a cap's current window (`<prefix>/points`, `<prefix>/times`);
    None for per-event caps."""
    per = cap.per
    if per is Period.EVENT:
        return None
    if per is Period.ORDER:
        return None if order_id is None else f"member/{rule.id}/order/{order_id}"
    if per is Period.LIFETIME:  # one window, never closed: the key has no period in it
        return f"member/{rule.id}/lifetime"
    if per is Period.DAY:
        return f"member/{rule.id}/day/{moment.date}"
    if per is Period.WEEK:
        year, week, _ = moment.local_date.isocalendar()
        return f"member/{rule.id}/week/{year}-W{week:02d}"
    return f"member/{rule.id}/month/{moment.year}-{moment.month:02d}"


def cap_counter_keys(ruleset: Ruleset, event_type: str, order_id: str | None, now: datetime,
                     time_zone: str) -> set[str]:
    """The member counters the caps of the rules for `event_type` may read at `now`: what a
    caller that loads counters ahead (a batch of events) loads for the event's member."""
    capped = [(rule, cap) for phase in ruleset.phases(event_type) for rule in phase for cap in rule.caps
              if cap.per is not Period.EVENT]
    if not capped:  # most events (the example's purchases): no window, no local time to work out
        return set()
    moment = Moment.of(now, time_zone)
    keys: set[str] = set()
    for rule, cap in capped:
        window = cap_window(rule, cap, moment, order_id)
        if window is not None:
            keys.update(f"{window}/{unit}" for unit, limit in (("points", cap.points), ("times", cap.times))
                        if limit is not None)
    return keys


def _declared_values(event: Event, declared: Mapping[str, Type],
                     defaults: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
    """The event's fields its type declares, by name, each checked against its declared type:
    what `event.fields.<name>` reads. Fields the type does not declare stay unseen (recorded
    with the event only); a null is a field not sent, and a field not sent reads its declared
    default, if it has one."""
    found: dict[str, FieldValue] = dict(defaults)
    for name, value in event.fields:
        kind = declared.get(name)
        if kind is None or value is None:
            continue
        if type(value) is not _PYTHON_TYPES[kind]:  # `type is`: True is an int to isinstance
            raise EvaluationError(f"field {name!r} of the {event.type!r} event must be {_NAMES[kind]} (or null), "
                                  f"not {value!r}")
        found[name] = value
    return found


class _Run:
    """The mutable state of one evaluation; never outlives it."""

    def __init__(self, facts: Facts, counters: Mapping[str, int]) -> None:
        self.facts = facts
        self.counters = counters
        self.used: dict[str, int] = {}  # insertion-ordered: the order rules consumed them
        self.points: list[PointsAward] = []
        self.coupons: list[CouponIssue] = []
        self.badges: list[BadgeAward] = []
        self.challenges: list[ChallengeProgress] = []
        self.withheld: list[Withheld] = []
        self.base_points = 0
        self.member_points = 0  # granted so far to the event's member

    def phase(self, rules: tuple[EarningRule, ...]) -> None:
        stopped: set[str] = set()
        today = self.facts.now.local_date
        for rule in rules:
            if rule.group in stopped:
                continue
            if rule.valid_from is not None or rule.valid_until is not None:
                if (rule.valid_from and today < rule.valid_from) or (rule.valid_until and today > rule.valid_until):
                    continue
            if rule.when is not None and not rule.when.evaluate(self.facts):
                continue
            if self.fire(rule) and rule.exclusive:
                stopped.add(rule.group)

    # ---- one rule

    def fire(self, rule: EarningRule) -> bool:
        windows = [(cap, self.window(rule, cap)) for cap in rule.caps] if rule.caps else []
        for cap, window in windows:
            if cap.times is not None and window is not None and self.count(window + "/times") >= cap.times:
                self.withheld.append(Withheld(rule.id, f"cap: {cap.times} time(s) {cap.per.phrase}"))
                return False
        for cap, window in windows:
            if cap.times is not None and window is not None:
                self.consume(window + "/times", 1)
        granted_total = 0
        for action in rule.actions:
            if isinstance(action, AwardPoints):
                granted_total += self.award(rule, action, windows, granted_total)
            elif isinstance(action, IssueCoupon):
                self.coupons.append(CouponIssue(rule.id, action.template))
            elif isinstance(action, AwardBadge):
                self.badges.append(BadgeAward(rule.id, action.badge))
            elif isinstance(action, AdvanceChallenge):
                self.challenges.append(ChallengeProgress(rule.id, action.challenge, action.amount))
        return True

    def award(self, rule: EarningRule, action: AwardPoints, windows: list[tuple[Cap, str | None]],
              granted_so_far: int) -> int:
        facts = self.facts
        wanted = self.points_of(action)
        if wanted <= 0:
            return 0
        recipient = facts.member.member_id
        if action.to is Beneficiary.REFERRER:
            recipient = facts.event.referrer or ""
            if not recipient or recipient == facts.member.member_id:
                self.withheld.append(Withheld(rule.id, "no referrer" if not recipient else "self-referral", wanted))
                return 0
        granted, reason = wanted, ""
        for cap, window in windows:
            if cap.points is None:
                continue
            # Per event (or an order-less event under a per-order cap): only this event counts.
            used = granted_so_far if window is None else self.count(window + "/points")
            if cap.points - used < granted:
                granted, reason = max(0, cap.points - used), f"cap: {cap.points} points {cap.per.phrase}"
        if rule.budget is not None:
            left = rule.budget - self.count(f"program/{rule.id}/budget/points")
            if left < granted:
                granted, reason = max(0, left), f"budget of {rule.budget} points spent"
        if granted < wanted:
            self.withheld.append(Withheld(rule.id, reason, wanted - granted))
        if granted <= 0:
            return 0
        for cap, window in windows:
            if cap.points is not None and window is not None:
                self.consume(window + "/points", granted)
        if rule.budget is not None:
            self.consume(f"program/{rule.id}/budget/points", granted)
        self.points.append(PointsAward(rule.id, granted, action.to, recipient, action.refundable))
        if action.to is Beneficiary.MEMBER:
            self.member_points += granted
        return granted

    def points_of(self, action: AwardPoints) -> int:
        if action.fixed is not None:
            return action.fixed
        if action.multiplier is not None:
            return (action.multiplier - 1) * self.base_points
        rate = action.rate
        assert rate is not None
        base = self.facts.event.amount if rate.of is None else rate.of.evaluate(self.facts)
        return _apply(rate, base) if base > 0 else 0

    def grant(self, rule_id: str, points: int) -> None:
        """Points to the event's member outside any rule's caps (a tier benefit)."""
        if points > 0:
            self.points.append(PointsAward(rule_id, points, Beneficiary.MEMBER, self.facts.member.member_id))
            self.member_points += points

    # ---- counters

    def window(self, rule: EarningRule, cap: Cap) -> str | None:
        return cap_window(rule, cap, self.facts.now, self.facts.event.order_id)

    def count(self, key: str) -> int:
        return self.counters.get(key, 0) + self.used.get(key, 0)

    def consume(self, key: str, amount: int) -> None:
        self.used[key] = self.used.get(key, 0) + amount


def _apply(rate: Rate, base: int) -> int:
    scaled = base * rate.points
    if rate.rounding is Rounding.FLOOR:
        return scaled // rate.per
    if rate.rounding is Rounding.CEILING:
        return -(-scaled // rate.per)
    return (2 * scaled + rate.per) // (2 * rate.per)  # half up: .5 rounds away from zero for positive bases
