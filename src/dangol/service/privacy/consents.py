"""Consent per purpose: recording a member's answers, and the questions every use of member
data must ask before it happens.

The questions, for the code that uses members' data for a purpose:
- `allows(program, member, purpose)`: may this member's data be used for it?
- `consenting(program, purpose)`: the members who allow it (a page at a time), for a
  sender that goes through a list (marketing messages);
- `allowed_among(conn, program, purpose, members)`: which of these members allow it, in
  the caller's transaction, for a job that already has its members (analytics, training).
Only a record that grants the purpose allows it: a member never asked is left out.

The `leaderboard` purpose is the leaderboard opt-in of the member's profile: changing one
changes the other, in the same transaction, and both paths are in the consent history."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ...domain.clock import Clock, SystemClock, as_utc
from ...domain.errors import InvalidRequest
from ...privacy.consent import ConsentChange, ConsentRecord, Purpose, granted
from ...privacy.erasure import MemberErased
from ...storage.database import Database
from ...storage.facts_repository import FactsRepository
from ...storage.ledger_repository import LedgerRepository
from ...storage.privacy_repository import PrivacyRepository
from ..ledger import CLOCK_SKEW, MEMBER_ID
from ..reads import Page, _check_member
from ..receipts import iso
from ..remembered import Remembered

MAX_PAGE = 1000


def record_json(record: ConsentRecord) -> dict[str, Any]:
    found: dict[str, Any] = {"purpose": record.purpose.value, "granted": record.granted,
                             "source": record.source.value, "notice_version": record.notice_version,
                             "occurred_at": iso(record.occurred_at)}
    if record.recorded_at is not None:
        found["recorded_at"] = iso(record.recorded_at)
    return found


def state_json(member_id: str, current: Mapping[Purpose, ConsentRecord],
               history: Sequence[ConsentRecord] | None = None) -> dict[str, Any]:
    """Every purpose, granted or not, with the record behind it (None: never answered)."""
    body: dict[str, Any] = {"member_id": member_id, "purposes": {
        purpose.value: {"granted": granted(current, purpose),
                        "record": None if purpose not in current else record_json(current[purpose])}
        for purpose in Purpose}}
    if history is not None:
        body["history"] = [record_json(r) for r in history]
    return body


def save_change(conn: Connection, program_id: str, member_id: str, change: ConsentChange,
                recorded_at: datetime) -> list[ConsentRecord]:
    """Records what `change` changes, in the caller's transaction (the profile's leaderboard
    opt-in calls it too)."""
    repo = PrivacyRepository(conn)
    records = change.records(repo.consents(member_id))
    repo.save_consents(program_id, member_id, records, recorded_at)
    return records


class ConsentService:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # ------------------------------------------------------------ a member's answers

    def state(self, program_id: str, member_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            repo = PrivacyRepository(conn)
            return state_json(member_id, repo.consents(member_id), repo.consent_history(member_id))

    def change(self, program_id: str, member_id: str, answers: Mapping[str, object], source: str,
               notice_version: str | None = None, occurred_at: datetime | None = None,
               idempotency_key: str | None = None) -> dict[str, Any]:
        """Records the member's answers (purpose -> granted) given through `source` under
        notice `notice_version` at `occurred_at` (now by default); answers the state after."""
        now = self.clock.now()
        at = as_utc(occurred_at) if occurred_at is not None else now
        if at > now + CLOCK_SKEW:
            raise InvalidRequest("a consent cannot be given in the future", field="occurred_at")
        change = ConsentChange.parse(answers, source, notice_version, at)
        request = {"consents": member_id, "answers": sorted((p.value, g) for p, g in change.answers.items()),
                   "source": change.source.value, "notice_version": notice_version,
                   "occurred_at": None if occurred_at is None else iso(at)}
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            facts = FactsRepository(conn)
            facts.lock_members([member_id])  # a retry racing its original waits here, then finds its answer
            remembered = Remembered(conn, program_id, idempotency_key, request)
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            repo = PrivacyRepository(conn)
            if repo.erasure(member_id) is not None:
                raise MemberErased(f"member {member_id} was erased: there is nothing of theirs to consent to")
            records = save_change(conn, program_id, member_id, change, now)
            board = next((r for r in records if r.purpose is Purpose.LEADERBOARD), None)
            if board is not None:
                profile = facts.profile(member_id)
                if board.granted and not profile.display_name:
                    raise InvalidRequest("leaderboard: a leaderboard shows only a display name: set the profile's "
                                         "display_name first", field="leaderboard")
                facts.save_profile(program_id, dataclasses.replace(profile, leaderboard_opt_in=board.granted), now)
            return dict(remembered.remember(state_json(member_id, repo.consents(member_id)), now))

    # ------------------------------------------------------------ the questions

    def allows(self, program_id: str, member_id: str, purpose: Purpose) -> bool:
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            return granted(PrivacyRepository(conn).consents(member_id), purpose)

    @staticmethod
    def allowed_among(conn: Connection, program_id: str, purpose: Purpose, member_ids: Sequence[str]) -> set[str]:
        return PrivacyRepository(conn).granted_among(program_id, purpose, member_ids)

    def consenting(self, program_id: str, purpose: str, *, cursor: str | None = None, limit: int = 100) -> Page:
        """The members who allow `purpose`, by member id, a page at a time."""
        try:
            wanted = Purpose(purpose)
        except ValueError:
            raise InvalidRequest(f"{purpose!r} is not a purpose ({', '.join(p.value for p in Purpose)})") from None
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidRequest(f"limit must be between 1 and {MAX_PAGE}")
        if not cursor:
            cursor = None
        elif not MEMBER_ID.match(cursor):
            raise InvalidRequest("invalid cursor")
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            found = PrivacyRepository(conn).consenting(program_id, wanted, cursor, limit + 1)
        return Page([{"member_id": m} for m in found[:limit]], found[limit - 1] if len(found) > limit else None)
