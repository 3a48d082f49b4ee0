"""Two-factor codes: RFC 6238 TOTP through `pyotp` (30-second steps, 6 digits, what every
authenticator app reads from the provisioning URI). A code is accepted one step early or
late for clocks that drift, and only once: the step of the last accepted code is kept,
and a code of that step or an earlier one is refused (a code seen over a shoulder or
captured in transit cannot be replayed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyotp

DRIFT_STEPS = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str, issuer: str = "dangol") -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


@dataclass(frozen=True, slots=True)
class TotpCheck:
    ok: bool
    step: int | None = None  # the step of the accepted code, to remember


def check_code(secret: str, code: str, at: datetime, last_step: int | None) -> TotpCheck:
    totp = pyotp.TOTP(secret)
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == totp.digits):
        return TotpCheck(False)
    now_step = totp.timecode(at)
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if (last_step is None or step > last_step) and pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return TotpCheck(True, step)
    return TotpCheck(False)


def code_at(secret: str, at: datetime) -> str:
    """The code an authenticator shows at `at` (tests and the demo)."""
    return pyotp.TOTP(secret).at(at)
