"""Two rules of the ledger as properties: spending is first-expiring-first, and partial
refunds claw back exactly in proportion, adding up to what the order earned."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from dangol.domain import Money, Rounding
from dangol.domain.commands import Earn, Redeem, Reverse
from dangol.domain.lots import fefo_key
from domain.support import T0, Counter, ledger, program


@given(lots=st.lists(st.tuples(st.integers(1, 1_000), st.integers(1, 400), st.integers(0, 5)), min_size=1, max_size=8),
       share=st.integers(1, 100))
def test_redemptions_empty_the_first_expiring_lots_first(lots: list[tuple[int, int, int]], share: int) -> None:
    lg = ledger(of=program(min_redemption=1))
    ids = Counter()
    for points, expires_in_days, earned_days_ago in lots:
        lg.earn(Earn("m1", points=points, expires_at=T0 + timedelta(days=expires_in_days)),
                T0 - timedelta(days=earned_days_ago), ids)
    total = sum(points for points, _, _ in lots)
    lg.redeem(Redeem("m1", max(1, total * share // 100)), T0, ids)
    in_spending_order = sorted(lg.lots.values(), key=fefo_key)
    spent = [lot.amount - lot.remaining for lot in in_spending_order]
    # Spent lots form a prefix: emptied lots, then at most one partly spent, then untouched ones.
    touched = [s > 0 for s in spent]
    assert touched == sorted(touched, reverse=True)
    partly = [lot for lot, s in zip(in_spending_order, spent) if 0 < s < lot.amount]
    assert len(partly) <= 1
    if partly:
        assert all(lot.remaining == 0 for lot in in_spending_order[:in_spending_order.index(partly[0])])


@given(data=st.data(), amount=st.integers(2, 10_000_000), refunds=st.integers(1, 8),
       rounding=st.sampled_from(list(Rounding)))
def test_partial_refunds_claw_back_in_proportion_and_add_up(data: st.DataObject, amount: int, refunds: int,
                                                            rounding: Rounding) -> None:
    lg = ledger(of=program(rounding=rounding))
    ids = Counter()
    lg.earn(Earn("m1", money=Money(amount, "KRW"), order_ref="o"), T0, ids)
    earned = lg.balances.available
    assume(earned > 0)
    cuts = sorted(data.draw(st.sets(st.integers(1, amount - 1), max_size=refunds - 1)) if amount > 1 else set())
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, amount])]
    refunded = clawed = 0
    for part in parts:
        refund = lg.reverse(Reverse("m1", "o", Money(part, "KRW")), T0, ids)
        refunded += part
        clawed += refund.clawed_back
        # after every refund, exactly floor(earned x refunded / amount) is back: no drift
        assert clawed == earned * refunded // amount
        assert refund.uncollected == 0
    assert clawed == earned and lg.balances.available == 0
