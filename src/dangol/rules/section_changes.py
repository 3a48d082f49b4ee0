"""What changed in a ruleset's `tiers:`, `coupons:` and `challenges:` sections, and whether
it can worsen what a member gets: decided conservatively, like the rules' changes
(changes.py). Each change is named by its subject: `tiers`, `tier:<name>`,
`coupon:<id>` or `challenge:<id>`.

Not worsening: a ladder, tier, coupon template or challenge added; a lower threshold; a
higher earn bonus or multiplier; a perk or badge added; gifting added to a tier when
another has it already; a longer grace; a more generous coupon (more off, a higher or no
cap, valid longer, a higher or no per-member limit); an easier or more rewarding challenge
(a lower target, fewer weeks, more event types, no category, repeatable again, more
points, a badge or coupon added); a changed name.

Worsening: a ladder, tier, coupon template or challenge removed; a higher threshold; a
lower or removed earn bonus or multiplier; a perk or badge removed or changed; gifting
removed from a tier, or declared by the first (transfers become those tiers' benefit);
another metric, window or time zone; a shorter grace; a coupon that gives another kind of
benefit, less, a lower or new cap, for fewer days or fewer times; a challenge with another
metric or period, a higher target, more weeks, fewer event types, a new or other category,
once instead of every period, fewer points, a badge or coupon removed or changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .model import Rate

if TYPE_CHECKING:  # the tiers and engagement cores import rules.model: no cycle at run time
    from ..engagement.challenges import Challenge
    from ..engagement.coupons import CouponTemplate
    from ..tiers.ladder import Ladder, Tier

Found = list[tuple[str, str, bool]]  # (subject, what, worsens)
RateAtLeast = Callable[[Rate, Rate], bool]


class Identified(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=Identified)


def section_changes(old: Any, new: Any, rate_at_least: RateAtLeast) -> Found:
    """The changes of rulesets `old` to `new` in their tiers, coupons and challenges."""
    found: Found = []
    found += _ladder_changes(old.tiers, new.tiers, rate_at_least)
    found += _by_id(old.coupons, new.coupons, "coupon", _coupon_changes)
    found += _by_id(old.challenges, new.challenges, "challenge", _challenge_changes)
    return found


def _by_id(old: Sequence[T], new: Sequence[T], kind: str, changes: Callable[[T, T], list[tuple[str, bool]]]) -> Found:
    before = {item.id: item for item in old}
    after = {item.id: item for item in new}
    found: Found = []
    for key in sorted(before.keys() | after.keys()):
        subject = f"{kind}:{key}"
        if key not in after:
            found.append((subject, f"{kind} removed", True))
        elif key not in before:
            found.append((subject, f"{kind} added", False))
        elif before[key] != after[key]:
            found += [(subject, what, worse) for what, worse in changes(before[key], after[key])]
    return found


# ---------------------------------------------------------------- tiers

def _ladder_changes(old: Ladder | None, new: Ladder | None, rate_at_least: RateAtLeast) -> Found:
    if old == new:
        return []
    limited = _transfers_limited(old, new)
    if old is None:
        return [("tiers", "tiers added", False), *limited]
    if new is None:
        return [("tiers", "tiers removed", True)]
    found: Found = list(limited)
    if old.metric != new.metric:
        found.append(("tiers", f"metric {old.metric.value} -> {new.metric.value}", True))
    if (old.window, old.rolling_days) != (new.window, new.rolling_days):
        found.append(("tiers", f"window {_window(old)} -> {_window(new)}", True))
    if old.time_zone != new.time_zone:
        found.append(("tiers", f"time zone {old.time_zone} -> {new.time_zone}", True))
    if old.grace_days != new.grace_days:
        found.append(("tiers", f"grace {old.grace_days} -> {new.grace_days} days", new.grace_days < old.grace_days))
    before = {tier.name: tier for tier in old.tiers}
    after = {tier.name: tier for tier in new.tiers}
    for name in [t.name for t in old.tiers] + [t.name for t in new.tiers if t.name not in before]:
        subject = f"tier:{name}"
        if name not in after:
            found.append((subject, "tier removed", True))
        elif name not in before:
            found.append((subject, "tier added", False))
        elif before[name] != after[name]:
            found += [(subject, what, worse) for what, worse in _tier_changes(before[name], after[name], rate_at_least)]
    return found


def _transfers_limited(old: Ladder | None, new: Ladder | None) -> Found:
    """The first tier to declare gifting worsens the other tiers' lot: transfers, which the
    program's policy alone allowed to every member, become that tier's benefit."""
    if new is None or not new.gifting_tiers or (old is not None and old.gifting_tiers):
        return []
    return [("tiers", f"transfers only from tiers with gifting: {', '.join(new.gifting_tiers)}", True)]


def _window(ladder: Ladder) -> str:
    return f"rolling {ladder.rolling_days} days" if ladder.rolling_days else ladder.window.value


def _tier_changes(old: Tier, new: Tier, rate_at_least: RateAtLeast) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    if old.threshold != new.threshold:
        found.append((f"threshold {old.threshold} -> {new.threshold}", new.threshold > old.threshold))
    a, b = old.benefits, new.benefits
    if a.earn_bonus != b.earn_bonus:
        better = a.earn_bonus is None or (b.earn_bonus is not None and rate_at_least(a.earn_bonus, b.earn_bonus))
        found.append((f"earn bonus {_rate(a.earn_bonus)} -> {_rate(b.earn_bonus)}", not better))
    if a.multiplier != b.multiplier:
        better = a.multiplier is None or (b.multiplier is not None and b.multiplier >= a.multiplier)
        found.append((f"multiplier {a.multiplier or 'none'} -> {b.multiplier or 'none'}", not better))
    if set(a.perks) - set(b.perks):
        found.append((f"perks removed: {', '.join(sorted(set(a.perks) - set(b.perks)))}", True))
    if set(b.perks) - set(a.perks):
        found.append((f"perks added: {', '.join(sorted(set(b.perks) - set(a.perks)))}", False))
    if a.badge != b.badge:
        found.append((f"badge {a.badge or 'none'} -> {b.badge or 'none'}", a.badge is not None))
    if a.gifting != b.gifting:
        found.append(("gifting added" if b.gifting else "gifting removed", a.gifting))
    return found


def _rate(rate: Rate | None) -> str:
    return "none" if rate is None else f"{rate.points} per {rate.per}"


# ---------------------------------------------------------------- coupons

def _coupon_changes(old: CouponTemplate, new: CouponTemplate) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    a, b = old.gives, new.gives
    if a != b:
        less = (a.kind != b.kind or b.value < a.value
                or (b.cap is not None and (a.cap is None or b.cap < a.cap)))
        found.append((f"gives {a.as_json()} -> {b.as_json()}", less))
    if old.valid_days != new.valid_days:
        found.append((f"valid {old.valid_days} -> {new.valid_days} days", new.valid_days < old.valid_days))
    if old.per_member != new.per_member:
        fewer = new.per_member is not None and (old.per_member is None or new.per_member < old.per_member)
        found.append((f"per member {old.per_member or 'unlimited'} -> {new.per_member or 'unlimited'}", fewer))
    if old.name != new.name:
        found.append(("name changed", False))
    return found


# ---------------------------------------------------------------- challenges

def _challenge_changes(old: Challenge, new: Challenge) -> list[tuple[str, bool]]:
    found: list[tuple[str, bool]] = []
    a, b = old.goal, new.goal
    if a.metric != b.metric:
        found.append((f"goal metric {a.metric.value} -> {b.metric.value}", True))
    if a.target != b.target:
        found.append((f"goal {a.target} -> {b.target}", b.target > a.target))
    if set(a.on) - set(b.on):
        found.append((f"no longer counts {', '.join(sorted(set(a.on) - set(b.on)))}", True))
    if set(b.on) - set(a.on):
        found.append((f"now also counts {', '.join(sorted(set(b.on) - set(a.on)))}", False))
    if a.category != b.category:
        found.append((f"category {a.category or 'any'} -> {b.category or 'any'}", b.category is not None))
    if old.period != new.period:
        found.append((f"period {old.period.value} -> {new.period.value}", True))
    elif old.weeks != new.weeks:
        found.append((f"streak {old.weeks} -> {new.weeks} weeks", new.weeks > old.weeks))
    if old.repeat != new.repeat:
        found.append((f"repeat {old.repeat.value} -> {new.repeat.value}", new.repeat.value == "once"))
    r, s = old.rewards, new.rewards
    if r.points != s.points:
        found.append((f"reward {r.points} -> {s.points} points", s.points < r.points))
    if r.badge != s.badge:
        found.append((f"reward badge {r.badge or 'none'} -> {s.badge or 'none'}", r.badge is not None))
    if r.coupon != s.coupon:
        found.append((f"reward coupon {r.coupon or 'none'} -> {s.coupon or 'none'}", r.coupon is not None))
    if old.name != new.name:
        found.append(("name changed", False))
    return found
