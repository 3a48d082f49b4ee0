"""Deciding a sign-in from what was loaded: the account (if any), its recent failures and
the address's. Refusals never say which of username, password or code was wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from .accounts import StaffAccount
from .passwords import Passwords
from .throttle import Throttle
from .totp import check_code


@dataclass(frozen=True, slots=True)
class Attempt:
    username: str
    password: str
    code: str
    address: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Accepted:
    account: StaffAccount
    rehashed: str | None  # the password's new hash, when its parameters changed
    totp_step: int | None  # the accepted code's step, never accepted again


@dataclass(frozen=True, slots=True)
class Refused:
    locked_until: datetime | None = None  # None: wrong credentials

    @property
    def message(self) -> str:
        if self.locked_until is not None:
            return ("too many failed sign-ins: try again after "
                    f"{self.locked_until.strftime('%Y-%m-%d %H:%M')} UTC")
        return "wrong username, password or code"


def decide(account: StaffAccount | None, attempt: Attempt, account_failures: Sequence[datetime],
           address_failures: Sequence[datetime], passwords: Passwords, throttle: Throttle) -> Accepted | Refused:
    locked = throttle.locked_until(account_failures, address_failures, attempt.at)
    if locked is not None:
        return Refused(locked)
    checked = passwords.check(account.password_hash if account is not None else None, attempt.password)
    if account is None or not checked.ok or not account.active:
        return Refused()
    step = None
    if account.needs_totp:
        if account.totp_secret is None:
            return Refused()
        totp = check_code(account.totp_secret, attempt.code, attempt.at, account.totp_last_step)
        if not totp.ok:
            return Refused()
        step = totp.step
    return Accepted(account, checked.rehashed, step)
