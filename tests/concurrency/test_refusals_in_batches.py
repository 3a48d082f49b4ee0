"""A batch of ledger operations in which one is refused is applied without it, and the
refusal is judged against the very state the batch's other answers are given against: a
redemption refused for lack of points quotes a balance the member had, one that an answer
of its own batch (or an earlier one) shows, even when another writer is waiting to add
points to the same member. The same for a batch of business events, whose refused event
runs the batch again without it. On both engines, with real concurrent connections."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import pytest

from dangol.domain import FixedClock, Money

from dangol.domain.commands import Earn, Redeem
from dangol.domain.errors import DomainError, InsufficientPoints, InvalidRequest
from dangol.service.container import Services
from dangol.service.events import EventInput, EventService
from dangol.service.ledger import Operation

from events.conftest import KST, MARKET

from .test_concurrent_writes import assert_books_balanced, member_with

WAIT_FOR_THE_OTHER_WRITER = 0.5  # seconds: ample for a commit that is not held up by a lock


def test_a_refusal_quotes_the_balance_its_batch_answers_with(shared: Services) -> None:
    member = member_with(shared, 5_000)
    other_writer: list[threading.Thread] = []

    def screen(failed: Mapping[int, DomainError]) -> Mapping[int, DomainError]:
        # Asked before each run of the batch: once a redemption has been refused, another
        # till earns points for the same member, which must wait for this batch.
        if failed and not other_writer:
            earn = threading.Thread(target=shared.ledger.run, args=("market", Earn(member, points=1_000)),
                                    kwargs={"idempotency_key": "other-till"})
            other_writer.append(earn)
            earn.start()
            earn.join(WAIT_FOR_THE_OTHER_WRITER)
        return {}

    redeemed, refused = shared.ledger.execute("market", [
        Operation(Redeem(member, 1_000), "redeem-some"),
        Operation(Redeem(member, 10_000_000), "redeem-too-many"),
    ], screen=screen)
    for writer in other_writer:
        writer.join()

    assert isinstance(redeemed, dict) and isinstance(refused, InsufficientPoints)
    # The refusal saw the redemption before it, and nothing the other till earned after.
    assert (refused.context["available"], redeemed["balance"]["available"]) == (4_000, 4_000), refused.detail
    assert shared.reader.balance("market", member)["available"] == 5_000
    assert_books_balanced(shared)


def test_a_refused_event_is_judged_with_its_batchs_answers(shared: Services, clock: FixedClock,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(datetime(2025, 2, 1, tzinfo=timezone.utc))
    shared.rulesets.set_policy("market", 30, KST)
    shared.rulesets.publish("market", MARKET)
    clock.set(datetime(2025, 6, 1, tzinfo=timezone.utc))
    member = member_with(shared, 5_000)
    other_till: list[dict[str, Any]] = []
    runs: list[int] = []
    run_batch = EventService._record_batch

    def earn_elsewhere() -> None:
        other_till.append(shared.ledger.run("market", Earn(member, points=1_000), idempotency_key="other-till"))

    def record_batch(self: EventService, *args: Any) -> Any:
        # Once the sign-up has been refused (after the batch enrolled in memory), the batch
        # runs again without it; before that run, another till earns points for the same
        # member, which must wait for this batch.
        runs.append(len(runs))
        if len(runs) == 2:
            earn = threading.Thread(target=earn_elsewhere)
            earn.start()
            earn.join(WAIT_FOR_THE_OTHER_WRITER)
            other_writer.append(earn)
        return run_batch(self, *args)

    other_writer: list[threading.Thread] = []
    monkeypatch.setattr(EventService, "_record_batch", record_batch)
    at = datetime(2025, 5, 20, tzinfo=timezone.utc)
    bought, refused = shared.events.record_many("market", [
        EventInput("till-1", "purchase", member, occurred_at=at, amount=Money(20_000, "KRW"), order_id="o-1"),
        EventInput("till-2", "signup", "not a valid id!", external_ref="c-bad", occurred_at=at),
    ])
    for writer in other_writer:
        writer.join()

    assert isinstance(bought, dict) and isinstance(refused, InvalidRequest), refused
    assert len(runs) == 2
    earned = bought["total_points"]
    assert earned > 0
    # The purchase's answer is that of the run the refusal was judged beside: nothing of the
    # other till's, which came after the batch.
    assert bought["balance"]["available"] == 5_000 + earned
    assert other_till[0]["balance"]["available"] == 5_000 + earned + 1_000
    assert shared.reader.balance("market", member)["available"] == 5_000 + earned + 1_000
    assert_books_balanced(shared)
