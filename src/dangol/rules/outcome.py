"""What an evaluation produces: every effect with the rule that caused it, the counters
it consumed (for the service to persist), and what caps, budgets or refusals held back."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Beneficiary


@dataclass(frozen=True, slots=True)
class PointsAward:
    rule_id: str
    points: int
    to: Beneficiary
    member_id: str  # who receives them: the event's member, or the referrer
    # False: the points are for the event itself, not the order it names; a refund of the
    # order does not take them back (the earn carries no order reference).
    refundable: bool = True


@dataclass(frozen=True, slots=True)
class CouponIssue:
    rule_id: str
    template: str


@dataclass(frozen=True, slots=True)
class BadgeAward:
    rule_id: str
    badge: str


@dataclass(frozen=True, slots=True)
class ChallengeProgress:
    rule_id: str
    challenge: str
    amount: int


@dataclass(frozen=True, slots=True)
class CounterUse:
    """Add `amount` to counter `key`. Keys name their scope: `member/<rule>/<per>/<window>/<unit>`
    (and `member/<rule>/lifetime/<unit>`, a window that never closes) belongs to the event's
    member, `program/<rule>/budget/points` to the whole program."""

    key: str
    amount: int


@dataclass(frozen=True, slots=True)
class Withheld:
    """Points (or a firing) a rule would have given but for a cap, a budget or a refusal."""

    rule_id: str
    reason: str
    points: int = 0


@dataclass(frozen=True, slots=True)
class Evaluation:
    points: tuple[PointsAward, ...] = ()
    coupons: tuple[CouponIssue, ...] = ()
    badges: tuple[BadgeAward, ...] = ()
    challenges: tuple[ChallengeProgress, ...] = ()
    counters: tuple[CounterUse, ...] = ()
    withheld: tuple[Withheld, ...] = ()

    def points_for(self, member_id: str) -> int:
        return sum(award.points for award in self.points if award.member_id == member_id)

    @property
    def fired(self) -> tuple[str, ...]:
        """Ids of the rules that produced an effect, in evaluation order, once each."""
        seen: dict[str, None] = {}
        effects: tuple[PointsAward | CouponIssue | BadgeAward | ChallengeProgress, ...] = (
            *self.points, *self.coupons, *self.badges, *self.challenges)
        for effect in effects:
            seen.setdefault(effect.rule_id)
        return tuple(seen)
