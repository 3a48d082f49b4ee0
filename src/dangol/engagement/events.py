"""What engagement sees of an event: its type, amount and items, no more."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Item:
    """One line of an order, as the integration sent it: `amount` is the line's total in
    minor units (0 when it was not sent), whatever its `quantity`."""

    category: str
    amount: int = 0
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Occurrence:
    """An event as challenges count it. Categories are known only from the items: an
    order's money is split between categories only by what its items say."""

    type: str
    amount: int = 0
    items: tuple[Item, ...] = ()

    def amount_in(self, category: str | None) -> int:
        """The event's amount, or the amount of its items of `category`."""
        if category is None:
            return self.amount
        return sum(item.amount for item in self.items if item.category == category)

    def has_category(self, category: str) -> bool:
        return any(item.category == category for item in self.items)
