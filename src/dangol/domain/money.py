"""Money and the conversion of money into points: integers only, rounding explicit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from .errors import CurrencyMismatch, InvalidRequest

_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in the currency's minor unit (cents for USD, won for KRW, which has none)."""

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not int:
            raise InvalidRequest("money amount must be an integer in minor units")
        if not _CURRENCY.match(self.currency):
            raise InvalidRequest(f"currency must be an ISO 4217 code, got {self.currency!r}")

    def require_currency(self, currency: str) -> None:
        if self.currency != currency:
            raise CurrencyMismatch(f"expected {currency}, got {self.currency}")


class Rounding(StrEnum):
    """How fractional points are rounded. FLOOR is the default: a member is never
    promised a point the arithmetic did not earn."""

    FLOOR = "floor"
    HALF_UP = "half_up"
    CEILING = "ceiling"

    def divide(self, numerator: int, denominator: int) -> int:
        if denominator <= 0:
            raise InvalidRequest("denominator must be positive")
        if self is Rounding.FLOOR:
            return numerator // denominator
        if self is Rounding.CEILING:
            return -((-numerator) // denominator)
        return (2 * numerator + denominator) // (2 * denominator)


@dataclass(frozen=True, slots=True)
class EarnRate:
    """`points` points for every `per_minor_units` of money: 5 per 100 KRW is 5%."""

    points: int = 0
    per_minor_units: int = 100

    def __post_init__(self) -> None:
        if type(self.points) is not int or self.points < 0:
            raise InvalidRequest("earn rate points must be a non-negative integer")
        if type(self.per_minor_units) is not int or self.per_minor_units <= 0:
            raise InvalidRequest("earn rate per_minor_units must be a positive integer")

    def points_for(self, amount_minor: int, rounding: Rounding) -> int:
        if amount_minor <= 0:
            return 0
        return rounding.divide(amount_minor * self.points, self.per_minor_units)


def proportion(total: int, part: int, whole: int, rounding: Rounding = Rounding.FLOOR) -> int:
    """`total * part / whole` in integers; used for partial refunds."""
    if whole <= 0:
        raise InvalidRequest("whole must be positive")
    return rounding.divide(total * part, whole)
