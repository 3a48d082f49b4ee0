"""Ledger transactions: postings that balance, never edited once written."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from .accounts import Account
from .money import Money


class TransactionKind(StrEnum):
    EARN = "earn"
    RELEASE = "release"  # pending points become available
    REDEEM = "redeem"
    HOLD = "hold"
    CAPTURE = "capture"
    VOID = "void"  # a hold released, by request or because it timed out
    EXPIRE = "expire"
    REVERSE = "reverse"
    ADJUST = "adjust"
    TRANSFER = "transfer"


@dataclass(frozen=True, slots=True)
class Posting:
    account: Account
    amount: int
    member_id: str | None = None
    rule_id: str | None = None  # the earning rule these points came from, if a rule made them

    def __post_init__(self) -> None:
        if type(self.amount) is not int or self.amount == 0:
            raise ValueError("a posting moves a non-zero integer number of points")
        if self.account.is_member_account != (self.member_id is not None):
            raise ValueError(f"{self.account} posting must {'' if self.account.is_member_account else 'not '}name a member")


@dataclass(frozen=True, slots=True)
class Transaction:
    id: int
    program_id: str
    member_id: str
    kind: TransactionKind
    postings: tuple[Posting, ...]
    occurred_at: datetime
    order_ref: str | None = None
    money: Money | None = None
    reason: str | None = None
    hold_id: int | None = None
    counterparty_id: str | None = None
    rule_id: str | None = None
    ruleset_hash: str | None = None

    def __post_init__(self) -> None:
        if len(self.postings) < 2:
            raise ValueError("a transaction has at least two postings")
        if sum(p.amount for p in self.postings) != 0:
            raise ValueError(f"postings of transaction {self.id} do not balance")

    @property
    def points(self) -> int:
        """Points that moved: the sum of the positive postings."""
        return sum(p.amount for p in self.postings if p.amount > 0)

    def delta_of(self, account: Account) -> int:
        """Net movement of a program account in this transaction."""
        return sum(p.amount for p in self.postings if p.account is account)

    def delta(self, member_id: str, account: Account) -> int:
        return sum(p.amount for p in self.postings if p.account is account and p.member_id == member_id)


def transfer_postings(member_id: str, source: Account, target: Account, amount: int,
                      target_member: str | None = None, rule_id: str | None = None) -> tuple[Posting, Posting]:
    """Two postings moving `amount` from `source` to `target`. Member accounts are
    attributed to `member_id` (the target to `target_member` when it is another member);
    both name `rule_id` when a rule made the movement."""
    src_member = member_id if source.is_member_account else None
    dst_member = (target_member or member_id) if target.is_member_account else None
    return (Posting(source, -amount, src_member, rule_id), Posting(target, amount, dst_member, rule_id))
