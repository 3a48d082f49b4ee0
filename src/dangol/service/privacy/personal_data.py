"""Members' personal data (name, e-mail, phone, birthday, address: the program's fields),
kept apart from the ledger and sealed with each member's data key; and each program's
privacy policy (its fields, how long it keeps data).

Every read and change is written to the audit log in the same transaction. A change's
answer names the fields the member now has, never their values, so that nothing personal
is kept in the stored answers of idempotent requests; its fingerprint is keyed by the
member's data key, so that after an erasure it says nothing of what was sent either."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest
from ...privacy.envelope import SealError, open_sealed, record_context, seal
from ...privacy.erasure import MemberErased
from ...privacy.fields import DEFAULT_FIELDS, PersonalFields
from ...storage.audit_repository import AuditRepository
from ...storage.database import Database
from ...storage.facts_repository import FactsRepository
from ...storage.ledger_repository import LedgerRepository
from ...storage.privacy_repository import PrivacyRepository, StoredPolicy
from ..reads import _check_member
from ..receipts import iso
from ..remembered import Remembered
from . import audit
from .keys import DataKeys, DataKeysUnavailable, request_digest

# A date is "in the future" only once it has begun nowhere on Earth yet (UTC+14 is the
# earliest zone): a member born today in Seoul is not refused in UTC's yesterday.
EARLIEST_ZONE = timedelta(hours=14)
MAX_RETENTION_DAYS = 36_500


def policy_json(program_id: str, policy: StoredPolicy | None) -> dict[str, Any]:
    if policy is None:
        return {"program_id": program_id, "fields": {k: v.value for k, v in DEFAULT_FIELDS.items()},
                "erase_after_closed_days": None, "audit_log_days": None, "updated_at": None}
    return {"program_id": program_id, "fields": policy.fields, "erase_after_closed_days": policy.erase_after_closed_days,
            "audit_log_days": policy.audit_log_days, "updated_at": iso(policy.updated_at)}


def open_values(keys: DataKeys, conn: Connection, program_id: str, member_id: str) -> dict[str, str] | None:
    """The member's personal values (None: they have none), opened in the caller's transaction."""
    repo = PrivacyRepository(conn)
    sealed = repo.sealed(member_id)
    if sealed is None:
        return None
    key = keys.member_key(conn, program_id, member_id)
    if key is None:
        raise DataKeysUnavailable(f"member {member_id}'s personal data has no data key")
    try:
        values: dict[str, str] = json.loads(open_sealed(key, sealed, record_context(program_id, member_id)))
    except SealError as error:
        raise DataKeysUnavailable(f"member {member_id}'s personal data: {error}") from None
    return values


class PersonalDataService:
    def __init__(self, db: Database, keys: DataKeys, clock: Clock | None = None) -> None:
        self.db = db
        self.keys = keys
        self.clock = clock or SystemClock()

    # ------------------------------------------------------------ the policy

    def policy(self, program_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            return policy_json(program_id, PrivacyRepository(conn).policy(program_id))

    def set_policy(self, program_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Sets the fields given (`fields`: {name: kind}; `erase_after_closed_days`,
        `audit_log_days`: days or None); the others stay. Setting the same again changes
        nothing (and answers the same)."""
        unknown = sorted(set(changes) - {"fields", "erase_after_closed_days", "audit_log_days"})
        if unknown:
            raise InvalidRequest(f"unknown policy setting(s): {', '.join(unknown)}")
        for name in ("erase_after_closed_days", "audit_log_days"):
            days = changes.get(name)
            if days is not None and (not isinstance(days, int) or isinstance(days, bool)
                                     or not 0 <= days <= MAX_RETENTION_DAYS):
                raise InvalidRequest(f"{name} is a number of days from 0 to {MAX_RETENTION_DAYS}, or null", field=name)
        fields = PersonalFields.from_json(changes["fields"]).as_json() if changes.get("fields") is not None else None
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = PrivacyRepository(conn)
            current = repo.policy(program_id)
            merged = StoredPolicy(
                fields if fields is not None else (current.fields if current else PersonalFields().as_json()),
                changes.get("erase_after_closed_days", current.erase_after_closed_days if current else None),
                changes.get("audit_log_days", current.audit_log_days if current else None),
                self.clock.now())
            if current is not None and (merged.fields, merged.erase_after_closed_days, merged.audit_log_days) == (
                    current.fields, current.erase_after_closed_days, current.audit_log_days):
                return policy_json(program_id, current)
            repo.save_policy(program_id, merged)
            return policy_json(program_id, merged)

    # ------------------------------------------------------------ a member's data

    def read(self, program_id: str, member_id: str, actor: str) -> dict[str, Any]:
        """The member's personal values; the read is in the audit log before they are returned."""
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            repo = PrivacyRepository(conn)
            erased = repo.erasure(member_id) is not None
            values = None if erased else open_values(self.keys, conn, program_id, member_id)
            AuditRepository(conn).record(program_id, member_id, audit.READ, actor, self.clock.now(),
                       {"fields": sorted(values or {})})
            return {"member_id": member_id, "fields": values or {}, "updated_at": iso(repo.updated_at(member_id)),
                    "erased": erased}

    def update(self, program_id: str, member_id: str, changes: Mapping[str, Any], actor: str,
               idempotency_key: str | None = None) -> dict[str, Any]:
        """Sets the fields in `changes` (None clears one); the others stay. Answers the fields
        the member now has, by name."""
        if not changes:
            raise InvalidRequest("send at least one personal field (null clears one)")
        canonical = json.dumps(dict(changes), sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            FactsRepository(conn).lock_members([member_id])  # one change of a member's data at a time
            repo = PrivacyRepository(conn)
            if repo.erasure(member_id) is not None:
                raise MemberErased(f"member {member_id} was erased: their personal data cannot be set again")
            now = self.clock.now()
            key = self.keys.member_key(conn, program_id, member_id, create_at=now)
            assert key is not None
            remembered = Remembered(conn, program_id, idempotency_key,
                                    {"personal_data": member_id, "digest": request_digest(key, canonical)})
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            fields = self._fields(repo, program_id)
            current = open_values(self.keys, conn, program_id, member_id) or {}
            values = fields.apply(current, changes, (now + EARLIEST_ZONE).date())
            sealed = seal(key, json.dumps(values, sort_keys=True, ensure_ascii=False).encode(),
                          record_context(program_id, member_id)) if values else None
            repo.save_sealed(program_id, member_id, sealed, now)
            AuditRepository(conn).record(program_id, member_id, audit.UPDATE, actor, now, {"fields": sorted(changes)})
            return dict(remembered.remember({"member_id": member_id, "fields": sorted(values),
                                             "updated_at": iso(now) if values else None}, now))

    @staticmethod
    def _fields(repo: PrivacyRepository, program_id: str) -> PersonalFields:
        policy = repo.policy(program_id)
        return PersonalFields() if policy is None else PersonalFields.from_json(policy.fields)

