"""A member's export (GDPR Art. 15 and 20, PIPA's portability): everything dangol holds of
them, machine-readable, in one document or one archive (export.json and a CSV file per list).

Personal fields, profile and its history, consents and their history, the ledger (balances,
every transaction with its postings, every lot with its movements, holds, refunds), events,
tiers, coupons, badges, challenges, referrals, the transparency log's entries of their
transactions with inclusion proofs against the latest signed checkpoint (with the
member's log key, so that anyone can check them with `dangol verify`), and the audit log of
who read their data. The ledger's part is read in one transaction, so the postings add up
to the balances shown. The export itself is in the audit log before anything is read."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from ...domain.clock import Clock, SystemClock
from ...privacy.archive import build_archive
from ...storage.audit_repository import AuditFilter, AuditRepository
from ...storage.database import Database
from ...storage.export_reads import MemberRecords, with_times
from ...storage.facts_repository import FactsRepository
from ...storage.ledger_repository import LedgerRepository
from ...storage.log_repository import LogRepository
from ...storage.privacy_repository import PrivacyRepository
from ..log import LogService
from ..profiles import profile_json
from ..reads import LedgerReader, _check_member
from ..receipts import iso
from . import audit
from .consents import record_json, state_json
from .keys import DataKeys
from .personal_data import open_values

FORMAT = "dangol-member-export/v1"
MAX_ACCESS_LOG = 100_000

# The engagement and tier reads (their services): (program id, member id) -> JSON.
MemberRead = Callable[[str, str], Any]


def b64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(bytes(value)).decode()


class MemberExport:
    def __init__(self, db: Database, keys: DataKeys, reader: LedgerReader, log: LogService,
                 extras: dict[str, MemberRead], clock: Clock | None = None) -> None:
        self.db = db
        self.keys = keys
        self.reader = reader
        self.log = log
        self.extras = extras  # coupons, badges, challenges, tier: read by their own services
        self.clock = clock or SystemClock()

    def document(self, program_id: str, member_id: str, actor: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            AuditRepository(conn).record(program_id, member_id, audit.EXPORT, actor, now)
        with self.db.read() as conn:
            program = LedgerRepository(conn).get_program(program_id)
            records = MemberRecords(conn)
            privacy = PrivacyRepository(conn)
            member = with_times([records.member(member_id)], iso)[0]
            erasure = privacy.erasure(member_id)
            personal = None if erasure else open_values(self.keys, conn, program_id, member_id)
            profiles = FactsRepository(conn).profiles([member_id])
            body: dict[str, Any] = {
                "format": FORMAT, "exported_at": iso(now),
                "program": {"id": program.id, "name": program.name, "currency": program.currency},
                "member": {key: member[key] for key in ("id", "program_id", "external_ref", "status", "enrolled_at")},
                "erasure": erasure,
                "personal_data": personal or {},
                "profile": profile_json(profiles[member_id]) if member_id in profiles else None,
                "profile_history": with_times(records.profile_history(member_id), iso),
                "status_history": with_times(records.status_history(member_id), iso),
                "consents": {**state_json(member_id, privacy.consents(member_id)),
                             "history": [record_json(r) for r in privacy.consent_history(member_id)]},
                "balance": {key: member[key] for key in ("available", "pending", "held", "debt")},
                "transactions": [self._transaction(row) for row in with_times(records.transactions(member_id), iso)],
                "lots": with_times(records.lots(member_id), iso),
                "holds": with_times(records.holds(member_id), iso),
                "refunds": with_times(records.refunds(member_id), iso),
                "events": with_times(records.events(member_id), iso),
                "tier_history": with_times(records.tier_history(member_id), iso),
                "referrals": records.referrals(member_id),
                "log": self._log(conn, records, member_id),
                "access_log": [audit.entry_json(e) for e in AuditRepository(conn).entries(
                    AuditFilter(program_id, member_id, audit.PERSONAL_DATA_ACTIONS), None, MAX_ACCESS_LOG)],
            }
        body["balance_now"] = self.reader.balance(program_id, member_id)
        for name, read in self.extras.items():
            body[name] = read(program_id, member_id)
        return body

    def archive(self, program_id: str, member_id: str, actor: str) -> bytes:
        body = self.document(program_id, member_id, actor)
        postings = [{"transaction_id": txn["id"], "line": line, **posting}
                    for txn in body["transactions"] for line, posting in enumerate(txn["postings"])]
        movements = [{"lot_id": lot["id"], **move} for lot in body["lots"] for move in lot["movements"]]
        tables = {
            "personal_data": [{"field": name, "value": value} for name, value in sorted(body["personal_data"].items())],
            "transactions": [{k: v for k, v in txn.items() if k != "postings"} for txn in body["transactions"]],
            "postings": postings,
            "lots": [{k: v for k, v in lot.items() if k != "movements"} for lot in body["lots"]],
            "lot_movements": movements,
            "holds": body["holds"], "refunds": body["refunds"], "events": body["events"],
            "consent_history": body["consents"]["history"], "status_history": body["status_history"],
            "profile_history": body["profile_history"], "tier_history": body["tier_history"],
            "coupons": body.get("coupons") or [], "badges": body.get("badges") or [],
            "challenges": body.get("challenges") or [],
            "log_entries": body["log"]["entries"], "access_log": body["access_log"],
        }
        return build_archive(body, tables)

    @staticmethod
    def _transaction(row: dict[str, Any]) -> dict[str, Any]:
        currency = row.pop("currency")
        amount = row.pop("amount_minor")
        return {**row, "money": None if currency is None else {"amount": amount, "currency": currency}}

    def _log(self, conn: Any, records: MemberRecords, member_id: str) -> dict[str, Any]:
        repo = LogRepository(conn)
        keyed = repo.member_key(member_id)
        checkpoint = repo.latest_checkpoint()
        size = checkpoint.size if checkpoint else 0
        entries = records.log_entries(member_id)
        proofs = LogService.inclusion_proofs(conn, size, [e["leaf_index"] for e in entries
                                                          if e["leaf_index"] is not None])
        return {
            "origin": self.log.origin,
            "commitment": keyed[2] if keyed else None,
            "key": b64(keyed[1]) if keyed else None,
            "checkpoint": None if checkpoint is None else {
                "size": checkpoint.size, "note": checkpoint.note + "".join(repo.cosignature_lines(checkpoint.size))},
            "entries": [{"transaction_id": e["transaction_id"], "sequence": e["sequence"], "index": e["leaf_index"],
                         "leaf_hash": b64(e["leaf_hash"]), "entry": b64(e["entry"]),
                         "inclusion_proof": None if e["leaf_index"] not in proofs else {
                             "size": size, "hashes": [b64(h) for h in proofs[e["leaf_index"]]]}}
                        for e in entries],
        }
