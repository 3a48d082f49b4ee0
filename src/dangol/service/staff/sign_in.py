"""Signing staff in and out, and finding who a session belongs to. A sign-in loads the
account and the recent failures, decides (dangol.staff.sign_in), then writes: a failure
row, or a new session (ending any session the browser came with: a token known before
sign-in is never the one after), the account's new hash or code step, and an audit entry."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from ...domain.clock import Clock
from ...staff.accounts import StaffAccount
from ...staff.passwords import Passwords
from ...staff.sessions import SessionPolicy, hash_token, new_token
from ...staff.sign_in import Accepted, Attempt, Refused, decide
from ...staff.throttle import Throttle
from ...storage.database import Database
from ...storage.staff_repository import StaffRepository
from . import audit
from .audit import Actor, Change
from .totp_vault import TotpVault


@dataclass(frozen=True, slots=True)
class SignedIn:
    account: StaffAccount
    token: str  # for the cookie; the database keeps its hash


@dataclass(frozen=True, slots=True)
class Session:
    account: StaffAccount
    token: str
    started_at: datetime


class StaffSignIn:
    def __init__(self, db: Database, clock: Clock, passwords: Passwords, vault: TotpVault,
                 throttle: Throttle | None = None, sessions: SessionPolicy | None = None) -> None:
        self.db = db
        self.vault = vault
        self.clock = clock
        self.passwords = passwords
        self.throttle = throttle or Throttle()
        self.policy = sessions or SessionPolicy()

    def sign_in(self, username: str, password: str, code: str, address: str,
                previous_token: str | None = None) -> SignedIn | Refused:
        now = self.clock.now()
        attempt = Attempt(username.strip().lower(), password, code, address, now)
        with self.db.read() as conn:
            repo = StaffRepository(conn)
            account = repo.account(attempt.username)
            by_name, by_address = repo.failures(attempt.username, address, self.throttle.since(now))
        # The secret is opened only to check the code; the account is compared and saved sealed.
        opened = None if account is None else self.vault.opened(account)
        decision = decide(opened, attempt, by_name, by_address, self.passwords, self.throttle)
        with self.db.write() as conn:
            repo = StaffRepository(conn)
            if previous_token:
                repo.end_session(hash_token(previous_token))
            if isinstance(decision, Refused):
                if decision.locked_until is None:
                    repo.add_failure(attempt.username, address, now)
                return decision
            assert account is not None  # accepted: it exists
            return self._accept(repo, account, decision, address, now)

    def _accept(self, repo: StaffRepository, account: StaffAccount, decision: Accepted, address: str,
                now: datetime) -> SignedIn | Refused:
        current = repo.account_by_id(account.id)
        if current is None or current != account:
            # Changed since it was loaded: another sign-in used this code, or the account
            # was disabled or reset. Refused, and the browser tries again.
            return Refused()
        changed = replace(account, password_hash=decision.rehashed or account.password_hash,
                          totp_last_step=decision.totp_step if decision.totp_step is not None
                          else account.totp_last_step)
        if changed != account:
            repo.save(changed)
        token = new_token()
        repo.add_session(hash_token(token), account.id, now, address)
        repo.forget_failures(account.username, self.throttle.since(now))
        audit.record(repo.conn, Actor(account.actor, address),
                     Change(audit.STAFF_SIGN_IN, detail={"rehashed": decision.rehashed is not None}), now)
        return SignedIn(changed, token)

    def session(self, token: str) -> Session | None:
        """The signed-in account behind `token`, or None when it is unknown, expired or its
        account disabled (an expired session is removed)."""
        now = self.clock.now()
        hashed = hash_token(token)
        with self.db.read() as conn:
            found = StaffRepository(conn).session(hashed)
        if found is None:
            return None
        account, started, last_seen = found
        if not account.active or now >= self.policy.expires(started, last_seen):
            with self.db.write() as conn:
                StaffRepository(conn).end_session(hashed)
            return None
        if self.policy.needs_touch(last_seen, now):
            with self.db.write() as conn:
                StaffRepository(conn).touch_session(hashed, now)
        return Session(account, token, started)

    def sign_out(self, token: str) -> None:
        with self.db.write() as conn:
            StaffRepository(conn).end_session(hash_token(token))
