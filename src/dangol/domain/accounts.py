"""The chart of accounts. Member accounts carry a member id; program accounts do not.

Sign convention: a member account's balance is what the program owes the member, so it
is positive; the program's `issued` and `adjusted` accounts are where points come from
and run negative. Every transaction sums to zero, so all accounts together always do."""

from __future__ import annotations

from enum import StrEnum


class Account(StrEnum):
    AVAILABLE = "available"
    PENDING = "pending"
    HELD = "held"
    ISSUED = "issued"
    REDEEMED = "redeemed"
    EXPIRED = "expired"
    REVERSED = "reversed"
    ADJUSTED = "adjusted"

    @property
    def is_member_account(self) -> bool:
        return self in MEMBER_ACCOUNTS


MEMBER_ACCOUNTS = frozenset({Account.AVAILABLE, Account.PENDING, Account.HELD})
PROGRAM_ACCOUNTS = frozenset(set(Account) - MEMBER_ACCOUNTS)
