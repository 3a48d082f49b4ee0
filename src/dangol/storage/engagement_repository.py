"""Engagement rows: issued coupons, badges, challenge progress, and the profile fields
engagement reads. Used inside the caller's transaction (the events endpoint's, or the
engagement service's own)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, select, update

from ..engagement import Benefit, BenefitKind, IssuedCoupon, Profile, Progress
from . import tables as t

C, B, P, F = t.engagement_coupons, t.engagement_badges, t.engagement_progress, t.member_profiles

# The statements every event runs, built once: building and keying a statement costs more
# than running it on SQLite (measured: 3 ms per event before, most of it in SQLAlchemy).
_PROGRESS_FIELDS = ("value", "target", "streak", "week", "completions", "completed_at", "updated_at")
_PROGRESS_OF = select(P).where(P.c.program_id == bindparam("p"), P.c.member_id.in_(bindparam("members", expanding=True)),
                               P.c.challenge.in_(bindparam("challenges", expanding=True)))
_INSERT_PROGRESS = insert(P)
_UPDATE_PROGRESS = update(P).where(
    P.c.program_id == bindparam("p"), P.c.member_id == bindparam("m"), P.c.challenge == bindparam("c"),
    P.c.period == bindparam("period_")).values({name: bindparam(f"{name}_") for name in _PROGRESS_FIELDS})
_TIME_ZONES = select(F.c.member_id, F.c.time_zone).where(
    F.c.program_id == bindparam("p"), F.c.member_id.in_(bindparam("members", expanding=True)))


class EngagementRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ---------------------------------------------------------------- coupons

    def issued_count(self, program_id: str, member_id: str, template: str) -> int:
        return int(self.conn.execute(select(func.count()).select_from(C).where(
            C.c.program_id == program_id, C.c.member_id == member_id, C.c.template == template)).scalar_one())

    def add_coupon(self, program_id: str, coupon: IssuedCoupon, name: str) -> None:
        gives = coupon.gives
        self.conn.execute(insert(C).values(
            code=coupon.code, program_id=program_id, member_id=coupon.member_id, template=coupon.template, name=name,
            benefit=gives.kind.value, value=gives.value, cap=gives.cap, source=coupon.source,
            issued_at=coupon.issued_at, expires_at=coupon.expires_at, redeemed_at=None))

    def coupon(self, program_id: str, code: str, lock: bool = False) -> tuple[IssuedCoupon, str] | None:
        """The coupon and its template's name."""
        query = select(C).where(C.c.program_id == program_id, C.c.code == code)
        row = self.conn.execute(query.with_for_update() if lock else query).first()
        return None if row is None else (_coupon(row), row.name)

    def mark_redeemed(self, code: str, at: datetime) -> None:
        self.conn.execute(update(C).where(C.c.code == code).values(redeemed_at=at))

    def coupons(self, program_id: str, member_id: str) -> list[tuple[IssuedCoupon, str]]:
        rows = self.conn.execute(select(C).where(C.c.program_id == program_id, C.c.member_id == member_id)
                                 .order_by(C.c.issued_at, C.c.code))
        return [(_coupon(row), row.name) for row in rows]

    # ---------------------------------------------------------------- badges

    def has_badge(self, program_id: str, member_id: str, badge: str) -> bool:
        return self.conn.execute(select(B.c.badge).where(
            B.c.program_id == program_id, B.c.member_id == member_id, B.c.badge == badge)).first() is not None

    def award_badge(self, program_id: str, member_id: str, badge: str, source: str, at: datetime) -> bool:
        """True when the member did not have the badge yet (a badge is awarded once)."""
        if self.has_badge(program_id, member_id, badge):
            return False
        self.conn.execute(insert(B).values(program_id=program_id, member_id=member_id, badge=badge, source=source,
                                           awarded_at=at))
        return True

    def badges(self, program_id: str, member_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(B).where(B.c.program_id == program_id, B.c.member_id == member_id)
                                 .order_by(B.c.awarded_at, B.c.badge))
        return [{"badge": r.badge, "awarded_at": r.awarded_at, "source": r.source} for r in rows]

    # ---------------------------------------------------------------- challenges

    def progress_rows(self, program_id: str, member_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(P).where(P.c.program_id == program_id, P.c.member_id == member_id)
                                 .order_by(P.c.challenge, P.c.period))
        return [dict(row._mapping) for row in rows]

    # ---------------------------------------------------------------- profiles

    def profiles(self, program_id: str, member_ids: Sequence[str] | None = None,
                 with_birthday: bool = False) -> list[Profile]:
        """Profile data as engagement reads it (one writer: service/profiles.py)."""
        query = select(F).where(F.c.program_id == program_id)
        if member_ids is not None:
            query = query.where(F.c.member_id.in_(list(member_ids)))
        if with_birthday:
            query = query.where(F.c.birthday_month.is_not(None), F.c.birthday_day.is_not(None))
        return [Profile(r.member_id, r.display_name, bool(r.leaderboard_opt_in), r.birthday_month, r.birthday_day,
                        r.time_zone or "UTC") for r in self.conn.execute(query.order_by(F.c.member_id))]

    # ---------------------------------------------------------------- leaderboards

    def opted_in_earners(self, program_id: str, start: datetime, end: datetime) -> list[tuple[str, int]]:
        """(display name, points earned in [start, end)) of members who opted in, chose a name
        and have not closed their account; nobody else's row ever leaves the database."""
        tx, members = t.transactions, t.members
        earned = func.sum(tx.c.points)
        query = (select(F.c.display_name, earned)
                 .select_from(tx.join(F, and_(F.c.program_id == tx.c.program_id, F.c.member_id == tx.c.member_id))
                              .join(members, members.c.id == tx.c.member_id))
                 .where(tx.c.program_id == program_id, tx.c.kind == "earn", tx.c.occurred_at >= start,
                        tx.c.occurred_at < end, F.c.leaderboard_opt_in.is_(True), F.c.display_name.is_not(None),
                        members.c.status != "closed")
                 .group_by(F.c.member_id, F.c.display_name))
        return [(str(name), int(points)) for name, points in self.conn.execute(query)]


ProgressKey = tuple[str, str, str]  # member, challenge, period


class ProgressBook:
    """Challenge progress of the members of a batch of events: read in one query (with their
    time zones in another), changed in memory event after event, written with one insert
    and one update statement (executemany) at `flush`."""

    def __init__(self, conn: Connection, program_id: str) -> None:
        self.conn, self.program_id = conn, program_id
        self.rows: dict[ProgressKey, Progress] = {}
        self.stored: set[ProgressKey] = set()
        self.done: set[tuple[str, str]] = set()  # (member, challenge) completed in some period
        self.zones: dict[str, str] = {}
        self.dirty: dict[ProgressKey, tuple[int, datetime]] = {}

    def load(self, member_ids: set[str], challenge_ids: set[str]) -> None:
        if not member_ids or not challenge_ids:
            return
        members = sorted(member_ids)
        for row in self.conn.execute(_PROGRESS_OF, {"p": self.program_id, "members": members,
                                                    "challenges": sorted(challenge_ids)}):
            key = (row.member_id, row.challenge, row.period)
            self.rows[key] = Progress(row.period, row.value, row.streak, row.week, row.completions, row.completed_at)
            self.stored.add(key)
            if row.completions > 0:
                self.done.add((row.member_id, row.challenge))
        self.zones.update({m: z for m, z in self.conn.execute(_TIME_ZONES, {"p": self.program_id, "members": members})
                           if z})

    def time_zone(self, member_id: str) -> str:
        return self.zones.get(member_id, "UTC")

    def get(self, member_id: str, challenge: str, period: str) -> Progress | None:
        return self.rows.get((member_id, challenge, period))

    def completed(self, member_id: str, challenge: str) -> bool:
        return (member_id, challenge) in self.done

    def put(self, member_id: str, challenge: str, target: int, progress: Progress, at: datetime) -> None:
        key = (member_id, challenge, progress.period)
        self.rows[key] = progress
        self.dirty[key] = (target, at)
        if progress.completions > 0:
            self.done.add((member_id, challenge))

    def flush(self) -> None:
        inserts, updates = [], []
        for key, (target, at) in self.dirty.items():
            member_id, challenge, period = key
            p = self.rows[key]
            values = {"value": p.value, "target": target, "streak": p.streak, "week": p.week,
                      "completions": p.completions, "completed_at": p.completed_at, "updated_at": at}
            if key in self.stored:
                updates.append({"p": self.program_id, "m": member_id, "c": challenge, "period_": period,
                                **{f"{name}_": value for name, value in values.items()}})
            else:
                inserts.append({"program_id": self.program_id, "member_id": member_id, "challenge": challenge,
                                "period": period, **values})
        if inserts:
            self.conn.execute(_INSERT_PROGRESS, inserts)
        if updates:
            self.conn.execute(_UPDATE_PROGRESS, updates)
        self.stored.update(self.dirty)
        self.dirty.clear()


def _progress_key(program_id: str, member_id: str, challenge: str, period: str) -> tuple[object, ...]:
    return (P.c.program_id == program_id, P.c.member_id == member_id, P.c.challenge == challenge, P.c.period == period)


def _coupon(r: Any) -> IssuedCoupon:
    return IssuedCoupon(r.code, r.template, r.member_id, Benefit(BenefitKind(r.benefit), r.value, r.cap),
                        r.issued_at, r.expires_at, r.source, r.redeemed_at)
