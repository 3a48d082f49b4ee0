"""The rows of fraud detection: screened signals (velocity history), fingerprint links
(rings), the review queue and anomaly scores. One instance lives inside one transaction."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select, update

from ..fraud import Kind, Per, Signal
from ..fraud.features import Activity, MemberActivity
from . import tables as t

REF_COLUMNS = {Per.DEVICE: "device_ref", Per.IP: "ip_ref", Per.PAYMENT: "payment_ref"}


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    program_id: str
    member_id: str
    event_id: str
    action: str
    status: str
    points: int
    findings: list[dict[str, Any]]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: dict[str, Any] | None


class FraudRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ------------------------------------------------------------ signals

    def signals(self, program_id: str, signal: Signal, pers: Iterable[Per], since: datetime) -> list[Signal]:
        """The program's signals since `since` that share a key of `pers` with `signal`."""
        s = t.fraud_signals
        keys = []
        for per in set(pers):
            key = signal.key(per)
            if key is not None:
                keys.append(s.c.member_id == key if per is Per.MEMBER else s.c[REF_COLUMNS[per]] == key)
        if not keys:
            return []
        rows = self.conn.execute(select(s).where(s.c.program_id == program_id, s.c.at > since, or_(*keys))).all()
        return [Signal(r.at, r.member_id, Kind(r.kind), r.points,
                       {per: r._mapping[column] for per, column in REF_COLUMNS.items() if r._mapping[column]})
                for r in rows]

    def add_signal(self, program_id: str, signal: Signal) -> None:
        self.conn.execute(insert(t.fraud_signals).values(
            program_id=program_id, member_id=signal.member_id, kind=signal.kind.value, points=signal.points,
            at=signal.at, **{column: signal.refs.get(per) for per, column in REF_COLUMNS.items()}))

    def spends(self, program_id: str, member_id: str, kind: str, since: datetime) -> list[tuple[datetime, int]]:
        """The member's ledger transactions of `kind` (redeem, transfer) after `since`: (time, points)."""
        x = t.transactions
        return [(r.occurred_at, r.points) for r in self.conn.execute(
            select(x.c.occurred_at, x.c.points).where(x.c.program_id == program_id, x.c.member_id == member_id,
                                                      x.c.kind == kind, x.c.occurred_at > since))]

    # ------------------------------------------------------------ rings

    def component(self, program_id: str, members: Iterable[str], fingerprints: Iterable[str],
                  kinds: Sequence[str]) -> list[tuple[str, str]]:
        """The (member, fingerprint) edges of the components that hold `members` or
        `fingerprints`, over fingerprints of `kinds` ("device:", ...) only: grown from them,
        a query per step, so a screening reads the few links near it, never the program's."""
        f = t.fraud_links
        of_kind = or_(*[f.c.fingerprint.startswith(kind) for kind in kinds])
        edges: set[tuple[str, str]] = set()
        seen_members, seen_prints = set(members), set(fingerprints)
        new_members, new_prints = set(seen_members), set(seen_prints)
        while new_members or new_prints:
            found: set[tuple[str, str]] = set()
            for column, values in ((f.c.member_id, new_members), (f.c.fingerprint, new_prints)):
                for chunk in _chunks(sorted(values)):
                    found.update((r.member_id, r.fingerprint) for r in self.conn.execute(
                        select(f.c.member_id, f.c.fingerprint).where(f.c.program_id == program_id, of_kind,
                                                                     column.in_(chunk))))
            edges |= found
            new_members = {m for m, _ in found} - seen_members
            new_prints = {p for _, p in found} - seen_prints
            seen_members |= new_members
            seen_prints |= new_prints
        return sorted(edges)

    def add_links(self, program_id: str, member_id: str, fingerprints: Sequence[str], at: datetime) -> None:
        f = t.fraud_links
        known = {r[0] for r in self.conn.execute(select(f.c.fingerprint).where(
            f.c.program_id == program_id, f.c.member_id == member_id, f.c.fingerprint.in_(fingerprints)))}
        new = [{"program_id": program_id, "fingerprint": p, "member_id": member_id, "first_seen": at}
               for p in sorted(set(fingerprints) - known)]
        if new:
            self.conn.execute(insert(f), new)

    def forget_member(self, program_id: str, member_id: str) -> int:
        """Erasure: the member's signals (their hashed devices, addresses and cards), their
        fingerprint links and their anomaly score go. Reviews stay: pseudonymous, like the
        ledger transactions they explain. Returns how many rows went."""
        gone = 0
        for table in (t.fraud_signals, t.fraud_links, t.fraud_scores):
            gone += self.conn.execute(delete(table).where(table.c.program_id == program_id,
                                                          table.c.member_id == member_id)).rowcount
        return gone

    # ------------------------------------------------------------ reviews

    def add_review(self, program_id: str, member_id: str, event_id: str, action: str, points: int,
                   findings: list[dict[str, Any]], at: datetime) -> int:
        return int(self.conn.execute(insert(t.fraud_reviews).values(
            program_id=program_id, member_id=member_id, event_id=event_id, action=action, status="open",
            points=points, findings=json.dumps(findings, sort_keys=True), created_at=at,
        ).returning(t.fraud_reviews.c.id)).scalar_one())

    def review(self, program_id: str, review_id: int, *, lock: bool = False) -> Review | None:
        r = t.fraud_reviews
        query = select(r).where(r.c.program_id == program_id, r.c.id == review_id)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else _review(row)

    def reviews(self, program_id: str, status: str | None, after: int | None, limit: int) -> list[Review]:
        r = t.fraud_reviews
        query = select(r).where(r.c.program_id == program_id)
        if status is not None:
            query = query.where(r.c.status == status)
        if after is not None:
            query = query.where(r.c.id > after)
        return [_review(row) for row in self.conn.execute(query.order_by(r.c.id).limit(limit))]

    def review_of_event(self, program_id: str, event_id: str) -> int | None:
        r = t.fraud_reviews
        return self.conn.execute(select(r.c.id).where(r.c.program_id == program_id,
                                                      r.c.event_id == event_id)).scalar_one_or_none()

    def settlements(self, program_id: str) -> list[tuple[str, str, tuple[int, ...]]]:
        """Each settled review's event, status and the transactions its settlement wrote."""
        r = t.fraud_reviews
        rows = self.conn.execute(select(r.c.event_id, r.c.status, r.c.resolution).where(
            r.c.program_id == program_id, r.c.status != "open").order_by(r.c.id))
        return [(row.event_id, row.status, tuple(int(x["id"]) for x in json.loads(row.resolution)["transactions"]))
                for row in rows]

    def resolve(self, review_id: int, status: str, at: datetime, by: str, resolution: dict[str, Any]) -> None:
        r = t.fraud_reviews
        self.conn.execute(update(r).where(and_(r.c.id == review_id, r.c.status == "open")).values(
            status=status, resolved_at=at, resolved_by=by, resolution=json.dumps(resolution, sort_keys=True)))

    # ------------------------------------------------------------ scores

    def activity(self, program_id: str) -> list[MemberActivity]:
        """What the anomaly score reads of every member not closed: their earns, redemptions
        and gifts (the ledger), and the referrals they made."""
        m, x, r = t.members, t.transactions, t.referrals
        found: dict[str, list[Activity]] = {}
        enrolled = {row.id: row.enrolled_at for row in self.conn.execute(
            select(m.c.id, m.c.enrolled_at).where(m.c.program_id == program_id, m.c.status != "closed"))}
        kinds = {"earn": "earn", "redeem": "redemption", "transfer": "gift"}
        for row in self.conn.execute(select(x.c.member_id, x.c.kind, x.c.occurred_at, x.c.points, x.c.counterparty_id)
                                     .where(x.c.program_id == program_id, x.c.kind.in_(kinds))):
            found.setdefault(row.member_id, []).append(
                Activity(row.occurred_at, kinds[row.kind], row.points, row.counterparty_id))
        for row in self.conn.execute(select(r.c.referrer_id, r.c.created_at).where(r.c.program_id == program_id)):
            found.setdefault(row.referrer_id, []).append(Activity(row.created_at, "referral"))
        return [MemberActivity(member, at, tuple(found.get(member, ()))) for member, at in sorted(enrolled.items())]

    def save_scores(self, program_id: str, rows: Sequence[tuple[str, int, dict[str, float], bool]],
                    at: datetime) -> None:
        s = t.fraud_scores
        self.conn.execute(s.delete().where(s.c.program_id == program_id))
        if rows:
            self.conn.execute(insert(s), [
                {"program_id": program_id, "member_id": m, "score": score, "trained": trained,
                 "features": json.dumps(features, sort_keys=True), "scored_at": at}
                for m, score, features, trained in rows])

    def scores(self, program_id: str, limit: int) -> list[dict[str, Any]]:
        s = t.fraud_scores
        rows = self.conn.execute(select(s).where(s.c.program_id == program_id)
                                 .order_by(s.c.score.desc(), s.c.member_id).limit(limit))
        return [{"member_id": r.member_id, "score": r.score, "trained": r.trained,
                 "features": json.loads(r.features), "scored_at": r.scored_at} for r in rows]


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    """IN lists of a bounded size (SQLite's bound parameters are limited)."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _review(row: Any) -> Review:
    return Review(row.id, row.program_id, row.member_id, row.event_id, row.action, row.status, row.points,
                  json.loads(row.findings), row.created_at, row.resolved_at, row.resolved_by,
                  None if row.resolution is None else json.loads(row.resolution))
