"""A program's ladder: ordered tiers, the metric that qualifies for them, the window it is
counted over, and the grace before a downgrade. Plain frozen values."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ..rules.model import Rate


class Metric(Enum):
    """What qualifies: money spent (minor units; refunds count against it), points earned
    (reversals count against them), or the number of purchases."""

    SPEND = "spend"
    POINTS = "points"
    PURCHASES = "purchases"


class WindowKind(Enum):
    QUARTER = "quarter"  # calendar quarters in the ladder's time zone
    YEAR = "year"  # calendar years in the ladder's time zone
    ROLLING = "rolling"  # the last N days


@dataclass(frozen=True, slots=True)
class Benefits:
    """What a tier gives: an earn bonus as a rate on purchases (on top of the rules), a
    multiplier on the points the base rules granted, named perks (e.g. a fee discount,
    applied by the integration), a badge, and `gifting`: the tier's members may transfer
    points (enforced by dangol, unlike a perk; see `Ladder.may_gift`)."""

    earn_bonus: Rate | None = None
    multiplier: int | None = None
    perks: tuple[str, ...] = ()
    badge: str | None = None
    gifting: bool = False


@dataclass(frozen=True, slots=True)
class Tier:
    name: str
    threshold: int  # the metric's value from which a window qualifies for the tier
    benefits: Benefits = Benefits()


@dataclass(frozen=True, slots=True)
class Ladder:
    """Tiers in rising order of threshold; the first has threshold 0, so every member has a
    tier. `rolling_days` only for WindowKind.ROLLING."""

    tiers: tuple[Tier, ...]
    metric: Metric = Metric.SPEND
    window: WindowKind = WindowKind.QUARTER
    rolling_days: int = 0
    time_zone: str = "UTC"
    grace_days: int = 0

    @property
    def lowest(self) -> Tier:
        return self.tiers[0]

    def tier(self, name: str | None) -> Tier:
        """The tier called `name`; the lowest for None or a name the ladder no longer has
        (a tier removed by a newer ruleset)."""
        for tier in self.tiers:
            if tier.name == name:
                return tier
        return self.lowest

    def rank(self, name: str | None) -> int:
        return self.tiers.index(self.tier(name))

    def qualifying(self, metric: int) -> Tier:
        """The highest tier whose threshold `metric` reaches."""
        found = self.lowest
        for tier in self.tiers:
            if metric >= tier.threshold:
                found = tier
        return found

    def above(self, name: str | None) -> Tier | None:
        index = self.rank(name) + 1
        return self.tiers[index] if index < len(self.tiers) else None

    @property
    def gifting_tiers(self) -> tuple[str, ...]:
        """The names of the tiers whose members may gift points, lowest first."""
        return tuple(t.name for t in self.tiers if t.benefits.gifting)

    def may_gift(self, name: str | None) -> bool:
        """Whether a member of tier `name` may transfer points, as far as tiers decide: a
        ladder that declares gifting on no tier leaves transfers to the program's policy."""
        return not self.gifting_tiers or self.tier(name).benefits.gifting

    def canonical(self) -> dict[str, object]:
        """The ladder as it is hashed with its ruleset (see rules/canonical.py)."""
        return {"metric": self.metric.value, "window": self.window.value, "rolling_days": self.rolling_days,
                "time_zone": self.time_zone, "grace_days": self.grace_days,
                "ladder": [_tier(t) for t in self.tiers]}


def _tier(tier: Tier) -> dict[str, object]:
    b = tier.benefits
    bonus = b.earn_bonus
    return {"name": tier.name, "threshold": tier.threshold, "multiplier": b.multiplier, "perks": list(b.perks),
            "badge": b.badge, "earn_bonus": None if bonus is None else
            {"points": bonus.points, "per": bonus.per, "rounding": bonus.rounding.value},
            # Only when declared: a ladder without gifting keeps the hash it was published under.
            **({"gifting": True} if b.gifting else {})}
