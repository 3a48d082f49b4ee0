"""A ledger that has done one of everything, for the log's tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dangol.domain import FixedClock, MemberStatus, Money
from dangol.domain.commands import (
    Adjust, CaptureHold, Earn, Enroll, PlaceHold, Redeem, Reverse, SetMemberStatus, Transfer, VoidHold,
)
from dangol.domain.program import ProgramPolicy
from dangol.service.container import Services
from dangol.service.ledger import Operation

PROGRAM = "market"


def every_kind(services: Services, clock: FixedClock) -> dict[str, Any]:
    """Writes transactions of every kind (earn, release, redeem, hold, capture, void, expire,
    reverse, adjust, transfer, and the forfeits of a closed member) and returns the
    receipts, by name."""
    from dangol.domain import EarnRate

    services.programs.create_program(PROGRAM, "Market", "KRW", ProgramPolicy(
        earn_rate=EarnRate(points=5, per_minor_units=100), allow_transfers=True, min_redemption=1))
    ledger = services.ledger
    run = lambda command, key=None: ledger.run(PROGRAM, command, key)  # noqa: E731
    alice = run(Enroll("alice"))["member"]["id"]
    bob = run(Enroll("bob"))["member"]["id"]
    start = clock.now()
    r: dict[str, Any] = {"alice": alice, "bob": bob}
    r["earn"] = run(Earn(alice, money=Money(100_000, "KRW"), order_ref="o-1", rule_id="base",
                         ruleset_hash="ab" * 32), "earn-1")
    r["earn_pending"] = run(Earn(alice, points=300, available_at=start + timedelta(days=2)))
    r["earn_short"] = run(Earn(bob, points=700, expires_at=start + timedelta(days=3)))
    r["redeem"] = run(Redeem(alice, 1_000, order_ref="r-1"), "redeem-1")
    r["hold"] = run(PlaceHold(alice, 500), "hold-1")
    r["capture"] = run(CaptureHold(r["hold"]["hold"]["id"], 200))
    r["hold2"] = run(PlaceHold(alice, 100))
    r["void"] = run(VoidHold(r["hold2"]["hold"]["id"]))
    r["reverse"] = run(Reverse(alice, "o-1", refund=Money(20_000, "KRW")))
    r["adjust"] = run(Adjust(alice, 50, "goodwill: Café visit"))
    r["transfer"] = run(Transfer(alice, bob, 100))
    clock.advance(days=4)
    r["expiry"] = services.expiry.run(PROGRAM)
    carol = run(Enroll("carol"))["member"]["id"]
    run(Earn(carol, points=40))
    r["close"] = run(SetMemberStatus(carol, MemberStatus.CLOSED, reason="asked"))
    r["carol"] = carol
    r["batch"] = ledger.execute(PROGRAM, [Operation(Earn(bob, points=5), "b-1"), Operation(Redeem(bob, 10**9)),
                                          Operation(Earn(bob, points=6), "b-2")])
    return r


def transaction_count(services: Services) -> int:
    with services.db.read() as conn:
        return int(conn.exec_driver_sql("SELECT COUNT(*) FROM transactions").scalar() or 0)
