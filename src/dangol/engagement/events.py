"""What engagement sees of an event: its type, amount and items, no more."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Item:
    """One line of a purchase: `amount` is the line's total in minor units."""

    category: str
    amount: int
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Occurrence:
    """An event as challenges count it. `categories` without `items` (an event that only
    names its categories) makes the whole amount count for each category it names."""

    type: str
    amount: int = 0
    items: tuple[Item, ...] = ()
    categories: tuple[str, ...] = ()

    def amount_in(self, category: str | None) -> int:
        if category is None:
            return self.amount
        if self.items:
            return sum(item.amount for item in self.items if item.category == category)
        return self.amount if category in self.categories else 0

    def has_category(self, category: str) -> bool:
        return any(item.category == category for item in self.items) or category in self.categories
