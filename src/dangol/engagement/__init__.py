"""Engagement, the pure core: coupon templates and issued coupons, badges,
challenges and missions with their progress, leaderboards and birthdays.

Standard library only, no I/O, no clock: the service (service/engagement.py) hands in
times and stored state. See docs/rules.md, "Engagement"."""

from .birthdays import birthday_event_id, birthday_on, is_birthday
from .challenges import Challenge, Goal, Metric, PeriodKind, Progress, Repeat, Rewards, Step, advance, contribution
from .coupons import Benefit, BenefitKind, CouponError, CouponState, CouponTemplate, IssuedCoupon
from .events import Item, Occurrence
from .leaderboard import Standing, rank
from .profiles import Profile

__all__ = [
    "Benefit", "BenefitKind", "Challenge", "CouponError", "CouponState", "CouponTemplate", "Goal", "IssuedCoupon",
    "Item", "Metric", "Occurrence", "PeriodKind", "Profile", "Progress", "Repeat", "Rewards", "Standing", "Step", "advance",
    "birthday_event_id", "birthday_on", "contribution", "is_birthday", "rank",
]
