"""What an order has earned and what has been refunded of it, for proportional clawback."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class OrderHistory:
    order_ref: str
    currency: str | None = None
    amount: int = 0  # money the order was worth, in minor units
    earned_points: int = 0
    refunded_amount: int = 0
    clawed_back_points: int = 0

    @property
    def refundable_amount(self) -> int:
        return self.amount - self.refunded_amount

    def with_earn(self, points: int, amount: int, currency: str | None) -> OrderHistory:
        return replace(self, earned_points=self.earned_points + points, amount=self.amount + amount,
                       currency=self.currency or currency)

    def with_refund(self, amount: int, clawed_back: int) -> OrderHistory:
        return replace(self, refunded_amount=self.refunded_amount + amount,
                       clawed_back_points=self.clawed_back_points + clawed_back)
