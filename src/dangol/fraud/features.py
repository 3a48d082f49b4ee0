"""Behavioural features of a member, what the anomaly score reads: how fast they earn
and redeem for the age of their account, how many members they referred and gave points
to, how spread over the day their activity is, and their sharpest burst."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

FEATURES = ("earns_per_day", "earned_per_day", "redemptions_per_day", "redeemed_share", "referrals",
            "gift_fan_out", "hour_entropy", "account_age_days", "burst")
BURST_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Activity:
    """One ledger or event movement of a member: `kind` is earn, redemption, referral or gift."""

    at: datetime
    kind: str
    points: int = 0
    counterparty: str | None = None


@dataclass(frozen=True, slots=True)
class MemberActivity:
    member_id: str
    enrolled_at: datetime
    activities: tuple[Activity, ...]


def features(member: MemberActivity, now: datetime) -> tuple[float, ...]:
    """The member's features, in the order of FEATURES."""
    age = max((now - member.enrolled_at).total_seconds() / 86_400, 1.0)
    earns = [a for a in member.activities if a.kind == "earn"]
    redemptions = [a for a in member.activities if a.kind == "redemption"]
    earned = sum(a.points for a in earns)
    redeemed = sum(a.points for a in redemptions)
    gifts = {a.counterparty for a in member.activities if a.kind == "gift" and a.counterparty}
    return (len(earns) / age, earned / age, len(redemptions) / age, redeemed / earned if earned else 0.0,
            float(sum(1 for a in member.activities if a.kind == "referral")), float(len(gifts)),
            hour_entropy([a.at for a in member.activities]), age, float(burst([a.at for a in member.activities])))


def hour_entropy(moments: list[datetime]) -> float:
    """Shannon entropy (bits) of the hours of the day the moments fall in: 0 for activity
    always in the same hour, up to log2(24) for activity spread evenly over the day."""
    if not moments:
        return 0.0
    counts = Counter(m.hour for m in moments)
    total = len(moments)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def burst(moments: list[datetime], window: timedelta = BURST_WINDOW) -> int:
    """The most moments within any one window: a sudden run of activity."""
    ordered = sorted(moments)
    best, start = 0, 0
    for end, moment in enumerate(ordered):
        while moment - ordered[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best
