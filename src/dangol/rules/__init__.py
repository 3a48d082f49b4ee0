"""Earning rules as data (the pure core): a safe expression language, ruleset
documents and their validation, content addressing, and deterministic evaluation.

Everything here but `loader` (which reads YAML/JSON with PyYAML) uses only the standard
library and does no I/O. See docs/rules.md."""

from .canonical import canonical_json, ruleset_hash
from .errors import InvalidRuleset, RulesetProblem
from .evaluation import EvaluationError, cap_counter_keys, evaluate
from .expressions import Expression, ExpressionError, compile_expression
from .facts import BUILTIN_EVENT_TYPES, Event, MemberState, OrderFacts
from .model import (Action, AdvanceChallenge, AwardBadge, AwardPoints, Beneficiary, Cap, EarningRule, EventField,
                    IssueCoupon, Period, Rate, Rounding, Ruleset)
from .outcome import BadgeAward, ChallengeProgress, CouponIssue, CounterUse, Evaluation, PointsAward, Withheld
from .validation import build_ruleset

__all__ = [
    "BUILTIN_EVENT_TYPES", "Action", "AdvanceChallenge", "AwardBadge", "AwardPoints", "BadgeAward", "Beneficiary", "Cap",
    "ChallengeProgress", "CouponIssue", "CounterUse", "EarningRule", "Evaluation", "EvaluationError", "Event",
    "EventField",
    "Expression", "ExpressionError", "InvalidRuleset", "IssueCoupon", "MemberState", "OrderFacts", "Period", "PointsAward", "Rate",
    "Rounding", "Ruleset", "RulesetProblem", "Withheld", "build_ruleset", "canonical_json", "compile_expression",
    "cap_counter_keys", "evaluate", "ruleset_hash",
]
