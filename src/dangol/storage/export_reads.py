"""Everything the ledger and its neighbours hold of one member, read for their export: a
few queries per kind of row, whatever the length of the member's history (a member with
10,000 transactions is read in well under a second). One instance lives inside one read
transaction, so the parts agree with each other (the postings with the balances)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from . import tables as t
from .bulk import mark, one_of
from .ledger_repository import chunked
from .types import from_micros


class MemberRecords:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.m = mark(conn)

    def _rows(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        result = self.conn.exec_driver_sql(sql, tuple(params))
        names = list(result.keys())
        return [dict(zip(names, row)) for row in result.fetchall()]

    def member(self, member_id: str) -> dict[str, Any]:
        [row] = self._rows(f"SELECT id, program_id, external_ref, status, enrolled_at, available, pending, held, debt "
                           f"FROM members WHERE id = {self.m}", (member_id,))
        return row

    def transactions(self, member_id: str) -> list[dict[str, Any]]:
        """Every transaction that moved the member's points (their own, and transfers they
        received), oldest first, each with its postings."""
        m = self.m
        rows = self._rows(f"SELECT id, kind, points, occurred_at, recorded_at, order_ref, amount_minor, currency, "
                          f"reason, hold_id, counterparty_id, rule_id, ruleset_hash FROM transactions "
                          f"WHERE member_id = {m} UNION SELECT id, kind, points, occurred_at, recorded_at, order_ref, "
                          f"amount_minor, currency, reason, hold_id, counterparty_id, rule_id, ruleset_hash "
                          f"FROM transactions WHERE counterparty_id = {m} ORDER BY id", (member_id, member_id))
        postings = self._children("SELECT transaction_id, account, member_id, amount, rule_id FROM postings",
                                  "transaction_id", [row["id"] for row in rows], "transaction_id, line")
        for row in rows:
            row["postings"] = postings[row["id"]]
        return rows

    def lots(self, member_id: str) -> list[dict[str, Any]]:
        """The member's lots, oldest first, each with its movements."""
        lots = self._rows(f"SELECT id, transaction_id, source, amount, remaining, earned_at, available_at, expires_at, "
                          f"released, order_ref FROM lots WHERE member_id = {self.m} ORDER BY id", (member_id,))
        movements = self._children("SELECT lot_id, transaction_id, kind, amount FROM lot_movements", "lot_id",
                                   [lot["id"] for lot in lots], "id")
        for lot in lots:
            lot["released"] = bool(lot["released"])
            lot["movements"] = movements[lot["id"]]
        return lots

    def _children(self, select_sql: str, parent: str, parent_ids: Sequence[int],
                  order: str) -> dict[int, list[dict[str, Any]]]:
        """Rows of `select_sql` whose `parent` column is one of `parent_ids`, by parent id,
        each without that column (a few queries of many ids, not one per parent)."""
        found: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for chunk in chunked(list(parent_ids)):
            condition, params = one_of(self.conn, parent, chunk)
            result = self.conn.exec_driver_sql(f"{select_sql} WHERE {condition} ORDER BY {order}", params)
            names = list(result.keys())[1:]
            for row in result.fetchall():
                found[row[0]].append(dict(zip(names, row[1:])))
        return found

    def holds(self, member_id: str) -> list[dict[str, Any]]:
        return self._rows(f"SELECT id, amount, status, created_at, expires_at, transaction_id, captured, closed_at, "
                          f"order_ref FROM holds WHERE member_id = {self.m} ORDER BY id", (member_id,))

    def refunds(self, member_id: str) -> list[dict[str, Any]]:
        return self._rows(f"SELECT order_ref, amount_minor, currency, clawed_back, uncollected, transaction_id, "
                          f"recorded_at FROM refunds WHERE member_id = {self.m} ORDER BY id", (member_id,))

    def events(self, member_id: str) -> list[dict[str, Any]]:
        rows = self._rows(f"SELECT event_id, type, occurred_at, recorded_at, ruleset_hash, body, result FROM events "
                          f"WHERE member_id = {self.m} ORDER BY id", (member_id,))
        for row in rows:
            row["body"], row["result"] = json.loads(row["body"]), json.loads(row["result"])
        return rows

    def status_history(self, member_id: str) -> list[dict[str, Any]]:
        return self._rows(f"SELECT status, occurred_at, recorded_at FROM member_status_history "
                          f"WHERE member_id = {self.m} ORDER BY recorded_at, id", (member_id,))

    def profile_history(self, member_id: str) -> list[dict[str, Any]]:
        rows = self._rows(f"SELECT time_zone, birthday_month, birthday_day, tags, recorded_at "
                          f"FROM member_profile_history WHERE member_id = {self.m} ORDER BY recorded_at, id",
                          (member_id,))
        for row in rows:
            row["tags"] = json.loads(row["tags"])
        return rows

    def tier_history(self, member_id: str) -> list[dict[str, Any]]:
        return self._rows(f"SELECT from_tier, to_tier, reason, metric, at, window_start, window_end, recorded_at "
                          f"FROM tier_history WHERE member_id = {self.m} ORDER BY id", (member_id,))

    def referrals(self, member_id: str) -> dict[str, Any]:
        m = self.m
        code = self.conn.execute(select(t.referral_codes.c.code).where(t.referral_codes.c.member_id == member_id)
                                 ).scalar()
        referred_by = self.conn.execute(select(t.referrals.c.referrer_id).where(
            t.referrals.c.referee_id == member_id)).scalar()
        referred = [row["referee_id"] for row in self._rows(
            f"SELECT referee_id FROM referrals WHERE referrer_id = {m} ORDER BY created_at, referee_id", (member_id,))]
        return {"code": code, "referred_by": referred_by, "referred": referred}

    def log_entries(self, member_id: str) -> list[dict[str, Any]]:
        """The log entries of the member's transactions, by sequence."""
        m = self.m
        return self._rows(f"SELECT e.transaction_id, e.sequence, e.leaf_index, e.leaf_hash, e.entry FROM log_entries e "
                          f"WHERE e.transaction_id IN (SELECT id FROM transactions WHERE member_id = {m} UNION "
                          f"SELECT id FROM transactions WHERE counterparty_id = {m}) ORDER BY e.sequence",
                          (member_id, member_id))


TIMESTAMPS = frozenset({"occurred_at", "recorded_at", "enrolled_at", "earned_at", "available_at", "expires_at",
                        "created_at", "closed_at", "at", "window_start", "window_end"})


def with_times(rows: list[dict[str, Any]], iso: Any) -> list[dict[str, Any]]:
    """The rows with their integer-microsecond times as ISO 8601 text (`iso` formats one)."""
    for row in rows:
        for name in TIMESTAMPS & row.keys():
            if row[name] is not None:
                row[name] = iso(from_micros(int(row[name])))
    return rows
