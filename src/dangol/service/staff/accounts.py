"""Staff accounts: create (with a second factor when the role needs one), list, disable,
reset the second factor. The last active owner cannot be disabled: the console would have
no one left to manage it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace

from ...domain.clock import Clock
from ...domain.errors import Conflict, DomainError, InvalidRequest
from ...staff.accounts import StaffAccount, check_username, parse_role
from ...staff.passwords import Passwords
from ...staff.roles import Role, needs_totp
from ...staff.totp import new_totp_secret, provisioning_uri
from ...storage.database import Database
from ...storage.staff_repository import StaffRepository
from . import audit
from .audit import Actor, Change
from .totp_vault import TotpVault


class UnknownStaff(DomainError):
    code = "unknown-staff"
    title = "Unknown staff account"


@dataclass(frozen=True, slots=True)
class Enrolled:
    """A new or reset second factor, shown once: the secret and the URI an authenticator
    app reads (as a QR code or typed in)."""
    account: StaffAccount
    totp_secret: str | None
    totp_uri: str | None


class StaffAccounts:
    def __init__(self, db: Database, clock: Clock, passwords: Passwords, vault: TotpVault) -> None:
        self.db = db
        self.clock = clock
        self.passwords = passwords
        self.vault = vault  # seals second-factor secrets: never stored in plain text

    def create(self, username: str, role: str, password: str, actor: Actor, *, totp: bool = True) -> Enrolled:
        check_username(username)
        chosen = parse_role(role)
        if not totp and needs_totp(chosen):
            raise InvalidRequest(f"the {chosen.value} role changes points or who may: it needs a second factor")
        hashed = self.passwords.hash(password, username)  # before the transaction: hashing is slow on purpose
        secret = new_totp_secret() if totp else None
        now = self.clock.now()
        account = StaffAccount(f"st_{secrets.token_hex(8)}", username, chosen, hashed, secret, None, now)
        with self.db.write() as conn:
            repo = StaffRepository(conn)
            if repo.account(username) is not None:
                raise Conflict(f"there is already a staff account {username!r}")
            repo.add(self.vault.sealed(account))
            audit.record(conn, actor, Change(audit.STAFF_CREATE, after=_state(account)), now)
        return Enrolled(account, secret, None if secret is None else provisioning_uri(secret, username))

    def list(self) -> list[StaffAccount]:
        with self.db.read() as conn:
            return StaffRepository(conn).accounts()

    def get(self, username: str) -> StaffAccount:
        with self.db.read() as conn:
            return _existing(StaffRepository(conn), username)

    def disable(self, username: str, actor: Actor) -> StaffAccount:
        """Disables the account and ends its sessions; disabling it again changes nothing."""
        now = self.clock.now()
        with self.db.write() as conn:
            repo = StaffRepository(conn)
            account = _existing(repo, username)
            if not account.active:
                return account
            if account.role is Role.OWNER and repo.count_active(Role.OWNER) == 1:
                raise Conflict(f"{username} is the last active owner: create another owner first")
            disabled = replace(account, disabled_at=now)
            repo.save(disabled)
            sessions = repo.end_sessions_of(account.id)
            audit.record(conn, actor, Change(audit.STAFF_DISABLE, before=_state(account), after=_state(disabled),
                                             detail={"sessions_ended": sessions}), now)
            return disabled

    def reset_totp(self, username: str, actor: Actor) -> Enrolled:
        """A new second-factor secret (the old one stops working) and the account's sessions
        end: for a lost phone."""
        secret = new_totp_secret()
        now = self.clock.now()
        with self.db.write() as conn:
            repo = StaffRepository(conn)
            account = _existing(repo, username)
            reset = replace(account, totp_secret=secret, totp_last_step=None)
            repo.save(self.vault.sealed(reset))
            sessions = repo.end_sessions_of(account.id)
            audit.record(conn, actor, Change(audit.STAFF_RESET_TOTP, before=_state(account), after=_state(reset),
                                             detail={"sessions_ended": sessions}), now)
        return Enrolled(reset, secret, provisioning_uri(secret, username))


def _existing(repo: StaffRepository, username: str) -> StaffAccount:
    account = repo.account(username)
    if account is None:
        raise UnknownStaff(f"there is no staff account {username!r}")
    return account


def _state(account: StaffAccount) -> dict[str, object]:
    """What the audit log keeps of an account: never its hash or secret."""
    return {"username": account.username, "role": account.role.value, "totp": account.totp_secret is not None,
            "disabled": not account.active}
