"""Integers only: money in minor units, points computed with an explicit rounding rule."""

from __future__ import annotations

import pytest

from dangol.domain import EarnRate, Money, Program, ProgramPolicy, Rounding
from dangol.domain.errors import CurrencyMismatch, InvalidRequest
from dangol.domain.money import proportion

from .support import program


@pytest.mark.parametrize(("numerator", "denominator", "floor", "half_up", "ceiling"), [
    (200, 2, 100, 100, 100),   # exact: every rule agrees
    (199, 2, 99, 100, 100),    # 99.5
    (149, 100, 1, 1, 2),       # 1.49
    (150, 100, 1, 2, 2),       # 1.5 rounds half up
    (1, 3, 0, 0, 1),           # 0.33
    (0, 7, 0, 0, 0),
])
def test_rounding_rules(numerator: int, denominator: int, floor: int, half_up: int, ceiling: int) -> None:
    assert Rounding.FLOOR.divide(numerator, denominator) == floor
    assert Rounding.HALF_UP.divide(numerator, denominator) == half_up
    assert Rounding.CEILING.divide(numerator, denominator) == ceiling


def test_rounding_refuses_a_non_positive_denominator() -> None:
    with pytest.raises(InvalidRequest):
        Rounding.FLOOR.divide(10, 0)


@pytest.mark.parametrize(("krw", "floor", "half_up", "ceiling"), [
    (20_000, 1_000, 1_000, 1_000),  # 5% of 20,000 won
    (12_345, 617, 617, 618),        # 617.25
    (12_350, 617, 618, 618),        # 617.5
    (1_999, 99, 100, 100),          # 99.95
    (19, 0, 1, 1),                  # 0.95: floor promises nothing the arithmetic did not earn
    (0, 0, 0, 0),
    (-500, 0, 0, 0),                # a negative amount never earns (or costs) points
])
def test_earn_rate_points_for_money(krw: int, floor: int, half_up: int, ceiling: int) -> None:
    rate = EarnRate(points=5, per_minor_units=100)
    assert rate.points_for(krw, Rounding.FLOOR) == floor
    assert rate.points_for(krw, Rounding.HALF_UP) == half_up
    assert rate.points_for(krw, Rounding.CEILING) == ceiling


def test_an_earn_rate_on_cents() -> None:
    # 1 point per whole dollar: $12.99 is 1299 cents -> 12 points (floor), 13 (half up).
    rate = EarnRate(points=1, per_minor_units=100)
    assert rate.points_for(1_299, Rounding.FLOOR) == 12
    assert rate.points_for(1_299, Rounding.HALF_UP) == 13


@pytest.mark.parametrize("kwargs", [
    {"points": -1}, {"points": 1.5}, {"per_minor_units": 0}, {"per_minor_units": -100}, {"per_minor_units": 2.5},
])
def test_an_earn_rate_is_made_of_integers(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidRequest):
        EarnRate(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("amount", "currency"), [(10.5, "KRW"), ("100", "KRW"), (100, "krw"), (100, "KRWX"), (100, "")])
def test_money_is_an_integer_amount_with_an_iso_4217_code(amount: object, currency: str) -> None:
    with pytest.raises(InvalidRequest):
        Money(amount, currency)  # type: ignore[arg-type]


def test_program_points_for_money_uses_the_policy_and_the_currency() -> None:
    assert program().points_for(Money(12_345, "KRW")) == 617
    assert program(rounding=Rounding.CEILING).points_for(Money(12_345, "KRW")) == 618
    with pytest.raises(CurrencyMismatch):
        program().points_for(Money(1_000, "USD"))


def test_the_default_policy() -> None:
    policy = ProgramPolicy()
    assert (policy.lot_validity_days, policy.min_redemption, policy.rounding) == (365, 1_000, Rounding.FLOOR)
    assert not policy.allow_negative_balance and not policy.allow_transfers
    # A program with no earn rate earns nothing from money: points come explicitly.
    assert Program("plain", "Plain", "USD").points_for(Money(10_000, "USD")) == 0


def test_proportion_floors_by_default() -> None:
    # 500 points, 3,333 of 10,000 won refunded: 166.65 -> 166
    assert proportion(500, 3_333, 10_000) == 166
    assert proportion(500, 3_333, 10_000, Rounding.HALF_UP) == 167
    with pytest.raises(InvalidRequest):
        proportion(500, 1, 0)
