"""What the staff tests share: password hashing with argon2's cheapest parameters (the only
difference from the default; a test checks that a hash's parameters are upgraded)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from dangol.domain.clock import Clock
from dangol.service.container import Services
from dangol.staff.passwords import Passwords

CHEAP = Passwords(PasswordHasher.from_parameters(CHEAPEST))


def staffed_services(database_url: str, clock: Clock | None = None, passwords: Passwords = CHEAP) -> Services:
    services = Services.open(database_url, clock, migrate=False)
    services.passwords = passwords
    services.__post_init__()
    return services
