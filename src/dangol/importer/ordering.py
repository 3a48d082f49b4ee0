"""The chronological order of an import. An event may not be earlier than the events
accepted before it: the ledger applies events in the file's order, at their own times, and
a history applied out of order gives other balances than it describes. Only accepted
events count: a refused event, whatever its time (next year's, by a typo), holds back no
other."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from ..domain.errors import DomainError
from ..service.receipts import iso


class OutOfOrder(DomainError):
    code = "out-of-order"
    title = "Event out of chronological order"


def out_of_order(times: Sequence[datetime], latest: datetime | None, refused: Collection[int],
                 in_ledger: Collection[int]) -> dict[int, DomainError]:
    """Which of a batch's events (by their times, in the file's order) are out of order,
    given the latest time accepted before the batch and the events refused for other
    reasons. Events `in_ledger` (applied by an earlier import) are never out of order:
    they are part of the history already."""
    held: dict[int, DomainError] = {}
    for index, at in enumerate(times):
        if index in refused:
            continue
        if latest is not None and at < latest and index not in in_ledger:
            held[index] = OutOfOrder(f"occurred_at is earlier than {iso(latest)}, the time of an event imported "
                                     "before it; events must be in chronological order")
            continue
        latest = at if latest is None else max(latest, at)
    return held
