"""The rows of the operator console's staff: accounts, sessions (token hashes) and failed
sign-ins. One instance lives inside one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from ..staff.accounts import StaffAccount
from ..staff.roles import Role
from . import tables as t


def _account(row: Any) -> StaffAccount:
    return StaffAccount(row.id, row.username, Role(row.role), row.password_hash, row.totp_secret,
                        row.totp_last_step, row.created_at, row.disabled_at)


class StaffRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ accounts

    def account(self, username: str) -> StaffAccount | None:
        row = self.conn.execute(select(t.staff_accounts).where(t.staff_accounts.c.username == username)).first()
        return None if row is None else _account(row)

    def account_by_id(self, staff_id: str) -> StaffAccount | None:
        row = self.conn.execute(select(t.staff_accounts).where(t.staff_accounts.c.id == staff_id)).first()
        return None if row is None else _account(row)

    def accounts(self) -> list[StaffAccount]:
        table = t.staff_accounts
        return [_account(row) for row in self.conn.execute(select(table).order_by(table.c.created_at, table.c.id))]

    def count_active(self, role: Role) -> int:
        table = t.staff_accounts
        return int(self.conn.execute(select(func.count()).select_from(table).where(
            table.c.role == role.value, table.c.disabled_at.is_(None))).scalar_one())

    def add(self, account: StaffAccount) -> None:
        self.conn.execute(insert(t.staff_accounts).values(
            id=account.id, username=account.username, role=account.role.value, password_hash=account.password_hash,
            totp_secret=account.totp_secret, totp_last_step=account.totp_last_step, created_at=account.created_at,
            disabled_at=account.disabled_at))

    def save(self, account: StaffAccount) -> None:
        """Writes what may change of an account: hash, role, second factor, disabling."""
        table = t.staff_accounts
        self.conn.execute(update(table).where(table.c.id == account.id).values(
            role=account.role.value, password_hash=account.password_hash, totp_secret=account.totp_secret,
            totp_last_step=account.totp_last_step, disabled_at=account.disabled_at))

    # ------------------------------------------------------------ sessions

    def add_session(self, token_hash: str, staff_id: str, at: datetime, address: str | None) -> None:
        self.conn.execute(insert(t.staff_sessions).values(token_hash=token_hash, staff_id=staff_id, created_at=at,
                                                          last_seen_at=at, address=address))

    def session(self, token_hash: str) -> tuple[StaffAccount, datetime, datetime] | None:
        """The session's account, when it began and when it was last used."""
        sessions, accounts = t.staff_sessions, t.staff_accounts
        row = self.conn.execute(
            select(accounts, sessions.c.created_at.label("session_created_at"), sessions.c.last_seen_at)
            .select_from(sessions.join(accounts, accounts.c.id == sessions.c.staff_id))
            .where(sessions.c.token_hash == token_hash)).first()
        return None if row is None else (_account(row), row.session_created_at, row.last_seen_at)

    def touch_session(self, token_hash: str, at: datetime) -> None:
        table = t.staff_sessions
        self.conn.execute(update(table).where(table.c.token_hash == token_hash).values(last_seen_at=at))

    def end_session(self, token_hash: str) -> int:
        table = t.staff_sessions
        return int(self.conn.execute(delete(table).where(table.c.token_hash == token_hash)).rowcount)

    def end_sessions_of(self, staff_id: str) -> int:
        table = t.staff_sessions
        return int(self.conn.execute(delete(table).where(table.c.staff_id == staff_id)).rowcount)

    # ------------------------------------------------------------ failed sign-ins

    def failures(self, username: str, address: str, since: datetime) -> tuple[Sequence[datetime], Sequence[datetime]]:
        """The failed sign-ins since `since`: for the username, and from the address."""
        table = t.staff_sign_in_failures
        by_name = self.conn.execute(select(table.c.at).where(table.c.username == username, table.c.at >= since))
        by_address = self.conn.execute(select(table.c.at).where(table.c.address == address, table.c.at >= since))
        return list(by_name.scalars()), list(by_address.scalars())

    def add_failure(self, username: str, address: str, at: datetime) -> None:
        self.conn.execute(insert(t.staff_sign_in_failures).values(username=username, address=address, at=at))

    def forget_failures(self, username: str, before: datetime) -> None:
        """Removes the username's failures (after a sign-in) and everyone's older than `before`."""
        table = t.staff_sign_in_failures
        self.conn.execute(delete(table).where(table.c.username == username))
        self.conn.execute(delete(table).where(table.c.at < before))
