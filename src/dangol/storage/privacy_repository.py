"""The rows of members' own data: privacy policies, wrapped data keys, sealed personal data,
consents and their history, erasures; and the rewriting an erasure does
of the rows that named the member. One instance lives inside one transaction."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, insert, select, update

from ..privacy.consent import ConsentRecord, ConsentSource, Purpose
from ..privacy.erasure import erased_ref, scrub
from . import tables as t
from .bulk import fetch_rows, mark, update_rows
from .ledger_repository import chunked


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    fields: dict[str, str]
    erase_after_closed_days: int | None
    audit_log_days: int | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class WrappedKey:
    member_id: str
    program_id: str
    kek_id: str
    wrapped: bytes


class PrivacyRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ policies

    def policy(self, program_id: str) -> StoredPolicy | None:
        row = self.conn.execute(select(t.privacy_policies).where(
            t.privacy_policies.c.program_id == program_id)).first()
        if row is None:
            return None
        return StoredPolicy(json.loads(row.fields), row.erase_after_closed_days, row.audit_log_days, row.updated_at)

    def save_policy(self, program_id: str, policy: StoredPolicy) -> None:
        table = t.privacy_policies
        values = {"fields": json.dumps(policy.fields), "erase_after_closed_days": policy.erase_after_closed_days,
                  "audit_log_days": policy.audit_log_days, "updated_at": policy.updated_at}
        if not self.conn.execute(update(table).where(table.c.program_id == program_id).values(**values)).rowcount:
            self.conn.execute(insert(table).values(program_id=program_id, **values))

    def policies(self) -> dict[str, StoredPolicy]:
        return {row.program_id: StoredPolicy(json.loads(row.fields), row.erase_after_closed_days,
                                             row.audit_log_days, row.updated_at)
                for row in self.conn.execute(select(t.privacy_policies))}

    # ------------------------------------------------------------ data keys

    def wrapped_key(self, member_id: str) -> WrappedKey | None:
        table = t.member_data_keys
        row = self.conn.execute(select(table).where(table.c.member_id == member_id)).first()
        return None if row is None else WrappedKey(row.member_id, row.program_id, row.kek_id, bytes(row.wrapped_key))

    def add_wrapped_key(self, key: WrappedKey, at: datetime) -> None:
        self.conn.execute(insert(t.member_data_keys).values(
            member_id=key.member_id, program_id=key.program_id, kek_id=key.kek_id, wrapped_key=key.wrapped,
            created_at=at))

    def keys_not_wrapped_by(self, kek_id: str, after: str | None, limit: int, lock: bool = False) -> list[WrappedKey]:
        """Up to `limit` data keys wrapped by another key-encryption key than `kek_id`, of
        members after `after`, by member id."""
        table = t.member_data_keys
        query = select(table).where(table.c.kek_id != kek_id)
        if after is not None:
            query = query.where(table.c.member_id > after)
        query = query.order_by(table.c.member_id).limit(limit)
        if lock and self.conn.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return [WrappedKey(r.member_id, r.program_id, r.kek_id, bytes(r.wrapped_key))
                for r in self.conn.execute(query)]

    def rewrap(self, rows: Sequence[tuple[str, bytes, str]]) -> None:
        """Rows of (new kek id, new wrapped key, member id)."""
        table = t.member_data_keys
        for kek_id, wrapped, member_id in rows:
            self.conn.execute(update(table).where(table.c.member_id == member_id)
                              .values(kek_id=kek_id, wrapped_key=wrapped))

    def kek_usage(self) -> dict[str, int]:
        table = t.member_data_keys
        return {kek_id: int(count) for kek_id, count in self.conn.execute(
            select(table.c.kek_id, func.count()).group_by(table.c.kek_id))}

    # ------------------------------------------------------------ sealed personal data

    def sealed(self, member_id: str) -> bytes | None:
        table = t.member_personal_data
        value = self.conn.execute(select(table.c.sealed).where(table.c.member_id == member_id)).scalar()
        return None if value is None else bytes(value)

    def save_sealed(self, program_id: str, member_id: str, sealed: bytes | None, at: datetime) -> None:
        """Stores the member's sealed data; None (no field left) deletes the row."""
        table = t.member_personal_data
        if sealed is None:
            self.conn.execute(delete(table).where(table.c.member_id == member_id))
            return
        if not self.conn.execute(update(table).where(table.c.member_id == member_id)
                                 .values(sealed=sealed, updated_at=at)).rowcount:
            self.conn.execute(insert(table).values(member_id=member_id, program_id=program_id, sealed=sealed,
                                                   updated_at=at))

    def updated_at(self, member_id: str) -> datetime | None:
        table = t.member_personal_data
        value: datetime | None = self.conn.execute(
            select(table.c.updated_at).where(table.c.member_id == member_id)).scalar()
        return value

    # ------------------------------------------------------------ consents

    def consents(self, member_id: str) -> dict[Purpose, ConsentRecord]:
        table = t.member_consents
        rows = self.conn.execute(select(table).where(table.c.member_id == member_id))
        return {Purpose(r.purpose): ConsentRecord(Purpose(r.purpose), bool(r.granted), ConsentSource(r.source),
                                                  r.notice_version, r.occurred_at) for r in rows}

    def save_consents(self, program_id: str, member_id: str, records: Sequence[ConsentRecord],
                      recorded_at: datetime) -> None:
        table, history = t.member_consents, t.consent_history
        for record in records:
            values = {"granted": record.granted, "source": record.source.value,
                      "notice_version": record.notice_version, "occurred_at": record.occurred_at}
            if not self.conn.execute(update(table).where(table.c.member_id == member_id,
                                                         table.c.purpose == record.purpose.value)
                                     .values(**values)).rowcount:
                self.conn.execute(insert(table).values(member_id=member_id, purpose=record.purpose.value,
                                                       program_id=program_id, **values))
            self.conn.execute(insert(history).values(program_id=program_id, member_id=member_id,
                                                     purpose=record.purpose.value, recorded_at=recorded_at,
                                                     **values))

    def consent_history(self, member_id: str) -> list[ConsentRecord]:
        history = t.consent_history
        rows = self.conn.execute(select(history).where(history.c.member_id == member_id).order_by(history.c.id))
        return [ConsentRecord(Purpose(r.purpose), bool(r.granted), ConsentSource(r.source), r.notice_version,
                              r.occurred_at, r.recorded_at) for r in rows]

    def consenting(self, program_id: str, purpose: Purpose, after: str | None, limit: int) -> list[str]:
        """Members who granted `purpose`, by member id, after `after`."""
        table = t.member_consents
        query = select(table.c.member_id).where(table.c.program_id == program_id,
                                                table.c.purpose == purpose.value, table.c.granted.is_(True))
        if after is not None:
            query = query.where(table.c.member_id > after)
        return list(self.conn.execute(query.order_by(table.c.member_id).limit(limit)).scalars())

    def granted_among(self, program_id: str, purpose: Purpose, member_ids: Sequence[str]) -> set[str]:
        table = t.member_consents
        found: set[str] = set()
        for chunk in chunked(sorted(set(member_ids))):
            found.update(self.conn.execute(select(table.c.member_id).where(
                table.c.program_id == program_id, table.c.purpose == purpose.value, table.c.granted.is_(True),
                table.c.member_id.in_(chunk))).scalars())
        return found

    # ------------------------------------------------------------ erasures

    def erasure(self, member_id: str) -> dict[str, Any] | None:
        table = t.member_erasures
        receipt = self.conn.execute(select(table.c.receipt).where(table.c.member_id == member_id)).scalar()
        return None if receipt is None else dict(orjson.loads(receipt))

    def add_erasure(self, program_id: str, member_id: str, at: datetime, receipt: dict[str, Any]) -> None:
        self.conn.execute(insert(t.member_erasures).values(program_id=program_id, member_id=member_id, erased_at=at,
                                                           receipt=orjson.dumps(receipt).decode()))

    def erasures(self, program_id: str, after: int | None, limit: int) -> list[tuple[int, dict[str, Any]]]:
        table = t.member_erasures
        query = select(table.c.id, table.c.receipt).where(table.c.program_id == program_id)
        if after is not None:
            query = query.where(table.c.id > after)
        return [(int(row.id), dict(orjson.loads(row.receipt)))
                for row in self.conn.execute(query.order_by(table.c.id).limit(limit))]

    def closed_before(self, program_id: str, before: datetime) -> list[str]:
        """Members of the program closed (by the time their closure took effect) before
        `before` and not erased yet, by member id."""
        members, status, erasures = t.members, t.member_status_history, t.member_erasures
        closed = (select(status.c.member_id).where(status.c.program_id == program_id, status.c.status == "closed")
                  .group_by(status.c.member_id).having(func.max(status.c.occurred_at) < before).subquery())
        query = (select(members.c.id).select_from(members.join(closed, closed.c.member_id == members.c.id))
                 .where(members.c.program_id == program_id, members.c.status == "closed",
                        ~select(erasures.c.id).where(erasures.c.member_id == members.c.id).exists())
                 .order_by(members.c.id))
        return list(self.conn.execute(query).scalars())

    # ------------------------------------------------------------ what an erasure rewrites

    def secure_delete(self, on: bool) -> None:
        """SQLite: overwrite deleted content with zeros from now on in this transaction (or
        stop). Not the default: it costs every delete a write."""
        if self.conn.dialect.name == "sqlite":
            self.conn.exec_driver_sql(f"PRAGMA secure_delete = {'ON' if on else 'OFF'}")

    def shred(self, program_id: str, member_id: str, external_ref: str) -> dict[str, int]:
        """Deletes the member's personal rows and data key, profile and its history and
        consents in force; destroys their log key; replaces their customer
        reference everywhere dangol kept it and clears their transactions' free text.
        Returns how many rows of each kind it deleted or rewrote."""
        conn, member = self.conn, member_id
        counts: dict[str, int] = {}
        for name, table in (("personal_data", t.member_personal_data), ("data_keys", t.member_data_keys),
                            ("profile_history", t.member_profile_history), ("profiles", t.member_profiles),
                            ("consents", t.member_consents)):
            counts[name] = int(conn.execute(delete(table).where(table.c.member_id == member)).rowcount)
        counts["log_keys"] = int(conn.execute(update(t.member_log_keys).where(t.member_log_keys.c.member_id == member)
                                              .values(key=None)).rowcount)
        conn.execute(update(t.members).where(t.members.c.id == member).values(external_ref=erased_ref(member)))
        counts["transaction_reasons"] = int(conn.execute(
            update(t.transactions).where(t.transactions.c.member_id == member, t.transactions.c.reason.is_not(None))
            .values(reason=None)).rowcount)
        counts["events"] = self._scrub_events(member, external_ref)
        counts["stored_responses"] = self._scrub_responses(program_id, member, external_ref)
        return counts

    def _scrub_events(self, member_id: str, external_ref: str) -> int:
        events = t.events
        rows = self.conn.execute(select(events.c.id, events.c.body, events.c.result)
                                 .where(events.c.member_id == member_id)).all()
        changed: list[tuple[Any, ...]] = []
        for row_id, body, result in rows:
            new_body, body_changed = scrub(json.loads(body), member_id, external_ref)
            new_result, result_changed = scrub(json.loads(result), member_id, external_ref)
            if body_changed or result_changed:
                # The body as EventInput.canonical writes it, and its fingerprint: nothing
                # hashes the old reference any more.
                text = json.dumps(new_body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                changed.append((text, hashlib.sha256(text.encode("utf-8")).hexdigest(),
                                orjson.dumps(new_result).decode(), row_id))
        update_rows(self.conn, events, ("body", "fingerprint", "result"), "id", changed)
        return len(changed)

    def _scrub_responses(self, program_id: str, member_id: str, external_ref: str) -> int:
        """The stored answers of idempotent requests that name the member (enrolment, status
        changes, ledger receipts): a retry still gets the same answer, less the reference."""
        m = mark(self.conn)
        rows = fetch_rows(self.conn, f"SELECT key, response FROM idempotency_keys WHERE scope = {m} "
                                     f"AND response LIKE {m}", (program_id, f"%{member_id}%"))
        changed = []
        for key, response in rows:
            new, touched = scrub(orjson.loads(response), member_id, external_ref)
            if touched:
                changed.append((orjson.dumps(new).decode(), program_id, key))
        for chunk in chunked(changed):
            self.conn.exec_driver_sql(f"UPDATE idempotency_keys SET response = {m} WHERE scope = {m} AND key = {m}",
                                      list(chunk))
        return len(changed)
