"""The portal's forms: read and checked on the server (the browser's checks are only a
convenience), each error shown at its field in the member's language, what was typed kept."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...domain.errors import (
    BelowMinimumRedemption, DomainError, IdempotencyConflict, InsufficientPoints, MemberNotActive,
    TransfersNotAllowed, UnknownMember,
)
from ...service.gifting import GiftingNotAllowed
from .views import N_

MAX_POINTS = 10**12
NUMBER_REQUIRED = N_("Enter a whole number of points.")
POSITIVE_REQUIRED = N_("Enter at least 1 point.")


@dataclass
class FormResult:
    """A form's outcome: errors by field (`_form` for the whole form), what was typed, and a
    message when it went through."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    done: str | None = None


def points_field(values: dict[str, str], errors: dict[str, str], name: str = "points") -> int | None:
    raw = values.get(name, "").strip().replace(",", "")
    if not raw.isdigit() or len(raw) > 13:
        errors[name] = NUMBER_REQUIRED
        return None
    points = int(raw)
    if not 1 <= points <= MAX_POINTS:
        errors[name] = POSITIVE_REQUIRED
        return None
    return points


def refusal(error: DomainError) -> tuple[str, str]:
    """The field a ledger refusal belongs at, and what to say there."""
    if isinstance(error, InsufficientPoints):
        return "points", N_("You do not have that many points available.")
    if isinstance(error, BelowMinimumRedemption):
        return "points", N_("That is below the minimum you can redeem.")
    if isinstance(error, UnknownMember):
        return "to_member", N_("No member with that member number.")
    if isinstance(error, GiftingNotAllowed | TransfersNotAllowed):
        return "_form", N_("Your tier does not allow gifting points.")
    if isinstance(error, MemberNotActive):
        return "_form", N_("This account is not active: it cannot redeem or gift.")
    if isinstance(error, IdempotencyConflict):
        return "_form", N_("This form was already sent with other values. Reload the page and retry.")
    return "_form", N_("This could not be done. Nothing was changed.")
