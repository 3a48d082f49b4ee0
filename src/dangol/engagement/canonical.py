"""Challenges and coupon templates as plain JSON values, every default explicit: part of
the ruleset's canonical JSON (rules/canonical.py), so they are hashed and published with it."""

from __future__ import annotations

from .challenges import Challenge
from .coupons import CouponTemplate


def coupon_json(template: CouponTemplate) -> dict[str, object]:
    return {"id": template.id, "name": template.name, "gives": template.gives.as_json(),
            "valid_days": template.valid_days, "per_member": template.per_member}


def challenge_json(challenge: Challenge) -> dict[str, object]:
    goal = challenge.goal
    return {"id": challenge.id, "name": challenge.name, "repeat": challenge.repeat.value,
            "goal": {"metric": goal.metric.value, "target": goal.target, "on": list(goal.on), "category": goal.category},
            "period": {"kind": challenge.period.value, "weeks": challenge.weeks},
            "rewards": {"points": challenge.rewards.points, "badge": challenge.rewards.badge,
                        "coupon": challenge.rewards.coupon}}
