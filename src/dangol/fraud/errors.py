"""The refusals of fraud detection, as domain errors (adapters map their codes)."""

from __future__ import annotations

from ..domain.errors import DomainError


class FraudRefused(DomainError):
    code = "fraud-refused"
    title = "Refused by the program's fraud rules"


class UnknownReview(DomainError):
    code = "unknown-review"
    title = "Unknown fraud review"


class ReviewSettled(DomainError):
    code = "review-settled"
    title = "The review was settled otherwise"
