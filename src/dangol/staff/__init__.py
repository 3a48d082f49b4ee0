"""The operator console's staff: accounts distinct from API keys, their roles and what each
role may do, passwords (Argon2), two-factor codes (TOTP), sign-in throttling and server-side
sessions. Pure decisions over values: the standard library, `argon2-cffi`, `pyotp`, the
domain and itself; storage and the clock are the service's."""

from .accounts import StaffAccount, check_username
from .passwords import PasswordPolicy, Passwords
from .roles import MONEY_LIKE, PERMISSIONS, Permission, Role, needs_totp
from .sessions import SessionPolicy, hash_token, new_token
from .throttle import Throttle
from .totp import TotpCheck, new_totp_secret, provisioning_uri

__all__ = ["MONEY_LIKE", "PERMISSIONS", "PasswordPolicy", "Passwords", "Permission", "Role", "SessionPolicy",
           "StaffAccount", "Throttle", "TotpCheck", "check_username", "hash_token", "needs_totp",
           "new_token", "new_totp_secret", "provisioning_uri"]
