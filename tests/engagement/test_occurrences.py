"""What challenges count of an event, whichever form the events endpoint hands over."""

from __future__ import annotations

from dangol.engagement import Item, Occurrence
from dangol.rules import Event
from dangol.service.engagement import occurrence_of


def test_an_events_api_body() -> None:
    body = {"event_id": "e1", "type": "purchase", "amount": {"amount": 40_000, "currency": "KRW"},
            "items": [{"category": "design", "amount": 25_000, "quantity": 2}, {"category": "writing", "amount": 15_000}]}
    occurrence = occurrence_of(body)
    assert occurrence == Occurrence("purchase", 40_000, (Item("design", 25_000, 2), Item("writing", 15_000, 1)))
    assert occurrence.amount_in("design") == 25_000 and occurrence.amount_in(None) == 40_000
    assert occurrence_of({"type": "review"}) == Occurrence("review")


def test_a_rules_event_counts_whole_for_each_category_it_names() -> None:
    occurrence = occurrence_of(Event("purchase", 12_000, "KRW", "o1", ("design", "writing")))
    assert occurrence.amount_in("design") == occurrence.amount_in("writing") == 12_000
    assert occurrence.amount_in("music") == 0 and occurrence.has_category("design")
