"""What challenges count of an event, whichever form the events endpoint hands over: the
items with their own amounts, never the whole order for each category it names."""

from __future__ import annotations

from dangol.domain import Money
from dangol.engagement import Item, Occurrence
from dangol.service.engagement import occurrence_of
from dangol.service.events import EventInput


def test_an_events_api_body() -> None:
    body = {"event_id": "e1", "type": "purchase", "amount": {"amount": 40_000, "currency": "KRW"},
            "items": [{"category": "design", "amount": 25_000, "quantity": 2}, {"category": "writing", "amount": 15_000}]}
    occurrence = occurrence_of(body)
    assert occurrence == Occurrence("purchase", 40_000, (Item("design", 25_000, 2), Item("writing", 15_000, 1)))
    assert occurrence.amount_in("design") == 25_000 and occurrence.amount_in(None) == 40_000
    assert occurrence_of({"type": "review"}) == Occurrence("review")


def test_a_recorded_event_hands_over_its_items_with_their_amounts() -> None:
    # The docs' 10 March order: 40,000 KRW, of which 25,000 design and 15,000 writing.
    event = EventInput("p2", "purchase", "m1", amount=Money(40_000, "KRW"), order_id="o-2",
                       items=(Item("design", 25_000), Item("writing", 15_000)))
    occurrence = event.occurrence()
    assert occurrence.amount_in("design") == 25_000 and occurrence.amount_in("writing") == 15_000
    assert occurrence.amount_in("music") == 0 and occurrence.amount_in(None) == 40_000
    # An item sent without its amount names its category but adds nothing to a spend.
    bare = EventInput("p3", "purchase", "m1", amount=Money(30_000, "KRW"), order_id="o-3", items=(Item("design"),))
    assert bare.occurrence().has_category("design") and bare.occurrence().amount_in("design") == 0
