"""Staff passwords: Argon2id through `argon2-cffi`, whose encoded hashes carry their own
parameters, so a hash made with older (weaker) parameters is noticed at the next sign-in
and replaced."""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..domain.errors import InvalidRequest


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    # Length is what makes a password strong; an upper bound keeps hashing cheap to refuse.
    min_length: int = 12
    max_length: int = 256

    def check(self, password: str, username: str) -> None:
        if len(password) < self.min_length:
            raise InvalidRequest(f"a password has at least {self.min_length} characters")
        if len(password) > self.max_length:
            raise InvalidRequest(f"a password has at most {self.max_length} characters")
        if password.casefold() == username.casefold():
            raise InvalidRequest("a password is not the account's username")


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    rehashed: str | None = None  # a new hash to store: the old one used other parameters


@dataclass(frozen=True)
class Passwords:
    hasher: PasswordHasher = field(default_factory=PasswordHasher)
    policy: PasswordPolicy = PasswordPolicy()

    def hash(self, password: str, username: str) -> str:
        self.policy.check(password, username)
        return self.hasher.hash(password)

    def check(self, encoded: str | None, password: str) -> Checked:
        """`encoded` None (no such account) still costs one hashing, so that an unknown
        username takes as long to refuse as a wrong password."""
        if encoded is None:
            self.hasher.hash(password[:self.policy.max_length])
            return Checked(False)
        try:
            self.hasher.verify(encoded, password[:self.policy.max_length + 1])
        except (VerificationError, InvalidHashError):
            return Checked(False)
        return Checked(True, self.hasher.hash(password) if self.hasher.check_needs_rehash(encoded) else None)
