"""A batch of ledger operations in which one is refused is applied without it, and the
refusal is judged against the very state the batch's other answers are given against: a
redemption refused for lack of points quotes a balance the member had, one that an answer
of its own batch (or an earlier one) shows, even when another writer is waiting to add
points to the same member. On both engines, with real concurrent connections."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from dangol.domain.commands import Earn, Redeem
from dangol.domain.errors import DomainError, InsufficientPoints
from dangol.service.container import Services
from dangol.service.ledger import Operation

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
