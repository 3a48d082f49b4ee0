"""The auditor's books, recomputed from the real log's entries alone, agree with the
ledger's own balances for every member, on both databases: the log carries everything
the books need (postings, lots, movements, debts) and nothing the books would trip on."""

from __future__ import annotations

import pytest

from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.transparency import VerifierKey, open_checkpoint
from dangol.transparency.audit import audit

from .records import records
from .support import PROGRAM, every_kind


def test_balances_recomputed_from_the_log_are_the_ledgers(services: Services, clock: FixedClock) -> None:
    r = every_kind(services, clock)
    services.log.integrate()
    services.log.sign()
    checkpoint = open_checkpoint(services.log.checkpoint_note(), VerifierKey.parse(services.log.verifier_key()))
    size = checkpoint.checkpoint.size
    assert size > 15
    result = audit(records(services, size), checkpoint.checkpoint)
    books = result.books.programs[PROGRAM]
    for name in ("alice", "bob", "carol"):
        commitment = services.log.member_key(PROGRAM, r[name])["commitment"]
        ledger = services.reader.balance(PROGRAM, r[name])  # every_kind leaves no debt: available as stored
        balance = books.members[commitment]
        assert {k: getattr(balance, k) for k in ("available", "pending", "held", "debt")} == {
            k: ledger[k] for k in ("available", "pending", "held", "debt")}, name
    assert books.transactions == size


def test_a_clawback_debt_and_its_repayment_are_recomputed(services: Services, clock: FixedClock) -> None:
    from dangol.domain import EarnRate, Money
    from dangol.domain.commands import Earn, Enroll, Redeem, Reverse
    from dangol.domain.program import ProgramPolicy

    services.programs.create_program("owing", "Owing", "KRW", ProgramPolicy(
        earn_rate=EarnRate(points=5, per_minor_units=100), allow_negative_balance=True, min_redemption=1))
    run = lambda command: services.ledger.run("owing", command, None)  # noqa: E731
    dana = run(Enroll("dana"))["member"]["id"]
    run(Earn(dana, money=Money(20_000, "KRW"), order_ref="o-1"))  # 1,000 points
    run(Redeem(dana, 1_000))
    run(Reverse(dana, "o-1"))  # claws back 1,000 the member no longer has: a debt
    run(Earn(dana, points=300))  # pays 300 of it back
    services.log.integrate()
    services.log.sign()
    checkpoint = open_checkpoint(services.log.checkpoint_note(), VerifierKey.parse(services.log.verifier_key()))
    books = audit(records(services, checkpoint.checkpoint.size), checkpoint.checkpoint).books.programs["owing"]
    balance = books.members[services.log.member_key("owing", dana)["commitment"]]
    ledger = services.reader.balance("owing", dana)
    # The account runs negative while a debt is owed; the API shows what can be spent (none).
    assert (balance.available, balance.debt) == (-700, 700)
    assert (ledger["available"], ledger["debt"]) == (max(0, balance.available), balance.debt)


def test_an_entry_committed_late_passes_the_audit(services: Services, clock: FixedClock) -> None:
    """PostgreSQL: sequence order is not leaf order when a transaction that took its
    sequence first commits last; the audit accepts the log all the same."""
    from dangol.domain.commands import Earn
    from dangol.service.ledger import Operation

    if services.db.is_sqlite:
        pytest.skip("SQLite commits in sequence order: one writer at a time")
    r = every_kind(services, clock)
    with services.db.write() as slow:
        services.ledger.apply_in(slow, PROGRAM, [Operation(Earn(r["alice"], points=1))])
        services.ledger.run(PROGRAM, Earn(r["bob"], points=2))  # commits first, with a higher sequence
        services.log.integrate()
    services.log.integrate()
    services.log.sign()
    checkpoint = open_checkpoint(services.log.checkpoint_note(), VerifierKey.parse(services.log.verifier_key()))
    found = records(services, checkpoint.checkpoint.size)
    assert [r.sequence for r in found] != sorted(r.sequence for r in found)
    assert audit(found, checkpoint.checkpoint).tree.size == checkpoint.checkpoint.size
