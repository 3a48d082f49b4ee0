"""Coupons, leaderboard ranks and birthdays, pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from dangol.engagement import (Benefit, BenefitKind, CouponError, CouponState, CouponTemplate, IssuedCoupon,
                               birthday_event_id, is_birthday, rank)

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)


def test_what_a_coupon_takes_off() -> None:
    assert Benefit(BenefitKind.DISCOUNT, 3_000).discount_on(2_000) == 2_000  # never more than the order
    assert Benefit(BenefitKind.PERCENT, 10, cap=5_000).discount_on(34_567) == 3_456  # 3,456.7 rounds down
    assert Benefit(BenefitKind.PERCENT, 10, cap=5_000).discount_on(80_000) == 5_000  # 8,000 capped
    assert Benefit(BenefitKind.POINTS, 500).discount_on(10_000) == 0


def test_a_coupon_is_issued_redeemed_once_and_expires() -> None:
    template = CouponTemplate("t", "T", Benefit(BenefitKind.DISCOUNT, 1_000), valid_days=30, per_member=1)
    assert template.may_issue(0) and not template.may_issue(1)
    coupon = IssuedCoupon("C1", "t", "m1", template.gives, T0, template.expiry(T0), "rule")
    assert coupon.expires_at == datetime(2025, 3, 31, tzinfo=timezone.utc)
    assert coupon.state_at(T0) is CouponState.ISSUED
    assert coupon.state_at(coupon.expires_at) is CouponState.EXPIRED
    redeemed = coupon.redeem(T0 + timedelta(days=1))
    assert redeemed.state_at(T0 + timedelta(days=99)) is CouponState.REDEEMED
    with pytest.raises(CouponError) as twice:
        redeemed.redeem(T0 + timedelta(days=2))
    assert twice.value.reason == "redeemed"
    with pytest.raises(CouponError) as late:
        coupon.redeem(coupon.expires_at)
    assert late.value.reason == "expired"


def test_ranks_share_ties_and_skip() -> None:
    board = rank([("b", 300), ("a", 300), ("c", 500), ("d", 100), ("e", 0)], limit=10)
    assert [(s.rank, s.display_name, s.points) for s in board] == [(1, "c", 500), (2, "a", 300), (2, "b", 300),
                                                                   (4, "d", 100)]
    assert [s.display_name for s in rank([("b", 300), ("a", 300), ("c", 500)], limit=2)] == ["c", "a"]


def test_29_february_is_28_february_in_other_years() -> None:
    assert is_birthday(2, 29, date(2024, 2, 29))
    assert is_birthday(2, 29, date(2025, 2, 28)) and not is_birthday(2, 29, date(2025, 3, 1))
    assert not is_birthday(2, 29, date(2024, 2, 28))
    assert is_birthday(3, 14, date(2025, 3, 14)) and not is_birthday(3, 14, date(2025, 3, 15))
    assert birthday_event_id("m1", 2025) == birthday_event_id("m1", 2025) != birthday_event_id("m1", 2026)
