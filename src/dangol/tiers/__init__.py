"""Tiers: a ladder of tiers qualified by a metric over a window, with immediate
upgrades and window-end downgrades. Pure: the standard library and the rules core's value
types, no I/O. The ladder is the `tiers:` section of a ruleset document (parsing.py).
See docs/rules.md, "Tiers"."""

from .ladder import Benefits, Ladder, Metric, Tier, WindowKind
from .policy import Activity, Progress, Reason, Standing, Transition, advance, metric_between, progress, tier_at
from .windows import Window

__all__ = ["Activity", "Benefits", "Ladder", "Metric", "Progress", "Reason", "Standing", "Tier", "Transition",
           "Window", "WindowKind", "advance", "metric_between", "progress", "tier_at"]
