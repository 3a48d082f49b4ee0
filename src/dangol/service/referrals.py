"""Referral codes (one per member, made on first ask) and the checks on a referral: no
self-referral, one referrer per member for ever, no loops (A referred B, B refers A; or any
longer cycle), and only before the referee's first purchase, which is what pays both sides."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection

from ..domain.clock import Clock, SystemClock
from ..domain.errors import InvalidRequest, ReferralRefused
from ..storage.database import Database
from ..storage.events_repository import EventsRepository
from ..storage.ledger_repository import LedgerRepository
from .reads import _check_member

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud and typed
CODE_LENGTH = 8
MAX_CHAIN = 100_000  # a referral chain longer than this is refused rather than walked


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


class ReferralService:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    def code_for(self, program_id: str, member_id: str) -> dict[str, str]:
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            code = EventsRepository(conn).referral_code_of(member_id)
        if code is None:
            # Two first asks at once (PostgreSQL) both find no code and both add one: the
            # loser's insert breaks the unique member id and runs again, to find the winner's
            # code. So does a new code that happens to be taken already: it draws another.
            code = self.db.retrying_races(lambda: self._make_code(program_id, member_id))
        return {"member_id": member_id, "referral_code": code}

    def _make_code(self, program_id: str, member_id: str) -> str:
        with self.db.write() as conn:
            repo = EventsRepository(conn)
            code = repo.referral_code_of(member_id)  # a concurrent first ask may have made it
            if code is None:
                code = new_code()
                repo.add_referral_code(program_id, member_id, code, self.clock.now())
            return code


def referrer_for(conn: Connection, program_id: str, referee_id: str, code: str | None,
                 purchases_so_far: int) -> tuple[str, bool]:
    """(referrer, is_new) for a referral event, or the refusal."""
    if not code:
        raise InvalidRequest("a referral event needs the referrer's referral_code")
    repo = EventsRepository(conn)
    referrer = repo.member_of_code(program_id, code.strip().upper())
    if referrer is None:
        raise InvalidRequest(f"no member of program {program_id} has referral code {code!r}")
    if referrer == referee_id:
        raise ReferralRefused("a member cannot refer themselves")
    existing = repo.referrer_of(referee_id)
    if existing is not None:
        if existing != referrer:
            raise ReferralRefused(f"member {referee_id} was already referred by another member",
                                  referrer=existing)
        return referrer, False
    if purchases_so_far:
        raise ReferralRefused(f"member {referee_id} has already made a purchase: a referral counts only "
                              "before the referee's first purchase")
    # Walk up from the referrer: meeting the referee means the new link would close a loop.
    step: str | None = referrer
    seen = 0
    while step is not None:
        if step == referee_id:
            raise ReferralRefused(f"a referral loop: member {referee_id} is already up the referral chain "
                                  f"of member {referrer}")
        seen += 1
        if seen > MAX_CHAIN:
            raise ReferralRefused("the referral chain is too long")
        step = repo.referrer_of(step)
    return referrer, True


def record_referral(conn: Connection, program_id: str, referrer: str, referee: str, event_id: str,
                    at: datetime) -> None:
    EventsRepository(conn).add_referral(program_id, referrer, referee, event_id, at)
