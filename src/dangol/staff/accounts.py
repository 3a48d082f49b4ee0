"""A staff account: who signs in to the console, with which role."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..domain.errors import InvalidRequest
from .roles import PERMISSIONS, Role, needs_totp

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,62}")


def check_username(username: str) -> str:
    if not USERNAME.fullmatch(username):
        raise InvalidRequest("a username is 2 to 63 lower-case letters, digits, '.', '_' or '-', "
                             "starting with a letter or digit")
    return username


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidRequest(f"a role is one of {', '.join(r.value for r in Role)}") from None


@dataclass(frozen=True, slots=True)
class StaffAccount:
    id: str
    username: str
    role: Role
    password_hash: str = field(repr=False)
    totp_secret: str | None = field(repr=False)
    totp_last_step: int | None
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def actor(self) -> str:
        """How the audit log names this account."""
        return f"staff:{self.username}"

    @property
    def needs_totp(self) -> bool:
        return needs_totp(self.role) or self.totp_secret is not None

    def as_json(self) -> dict[str, Any]:
        """What may be shown: never the hash or the secret."""
        return {"id": self.id, "username": self.username, "role": self.role.value,
                "totp": self.totp_secret is not None, "created_at": self.created_at.isoformat(),
                "disabled_at": None if self.disabled_at is None else self.disabled_at.isoformat(),
                "permissions": sorted(p.value for p in PERMISSIONS[self.role])}
