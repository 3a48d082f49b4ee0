"""Domain errors. Each has a stable `code` that adapters map to their own vocabulary
(an RFC 9457 problem type in the API, a one-line message in the CLI)."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain-error"
    title = "Request cannot be applied"

    def __init__(self, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.context = context


class InvalidRequest(DomainError):
    code = "validation-error"
    title = "Invalid request"


class InsufficientPoints(DomainError):
    code = "insufficient-points"
    title = "Insufficient points"


class BelowMinimumRedemption(DomainError):
    code = "below-minimum-redemption"
    title = "Below the minimum redemption"


class UnknownProgram(DomainError):
    code = "unknown-program"
    title = "Unknown program"


class UnknownMember(DomainError):
    code = "unknown-member"
    title = "Unknown member"


class UnknownHold(DomainError):
    code = "unknown-hold"
    title = "Unknown hold"


class UnknownOrder(DomainError):
    code = "unknown-order"
    title = "Unknown order"


class UnknownSubscription(DomainError):
    code = "unknown-subscription"
    title = "Unknown webhook subscription"


class UnknownDelivery(DomainError):
    code = "unknown-delivery"
    title = "Unknown delivery"


class ProgramMismatch(DomainError):
    code = "program-mismatch"
    title = "Resource belongs to another program"


class CurrencyMismatch(DomainError):
    code = "currency-mismatch"
    title = "Currency does not match"


class MemberNotActive(DomainError):
    code = "member-not-active"
    title = "Member is not active"


class HoldNotActive(DomainError):
    code = "hold-not-active"
    title = "Hold is no longer active"


class TransfersNotAllowed(DomainError):
    code = "transfers-not-allowed"
    title = "Point transfers are not allowed in this program"


class RefundExceedsOrder(DomainError):
    code = "refund-exceeds-order"
    title = "Refund exceeds what remains of the order"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflicts with the current state"


class IdempotencyConflict(DomainError):
    code = "idempotency-conflict"
    title = "Idempotency key reused with a different request"


# ---- rulesets and events

class InvalidRulesetDocument(DomainError):
    """A ruleset document with mistakes; `errors` lists each with its line and field."""

    code = "invalid-ruleset"
    title = "The ruleset document is invalid"

    def __init__(self, detail: str, problems: list[dict[str, object]]) -> None:
        super().__init__(detail, problems=problems)
        self.problems = problems


class NoticeRequired(DomainError):
    code = "notice-required"
    title = "A change that worsens earning needs notice"


class UnknownRuleset(DomainError):
    code = "unknown-ruleset"
    title = "Unknown ruleset"


class NoRulesInForce(DomainError):
    code = "no-rules-in-force"
    title = "No ruleset is in force"


class ReferralRefused(DomainError):
    code = "referral-refused"
    title = "The referral is refused"
