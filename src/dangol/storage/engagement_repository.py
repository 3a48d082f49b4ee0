"""Engagement rows: issued coupons, badges, challenge progress, and the profile fields
engagement reads. Used inside the caller's transaction (the events endpoint's, or the
engagement service's own). What events change goes through an `EngagementBook`: read per
batch, changed in memory, written in bulk."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select, update

from ..engagement import Benefit, BenefitKind, IssuedCoupon, Profile, Progress
from . import tables as t
from .bulk import fetch_rows, insert_rows, mark, one_of
from .types import from_micros, to_micros

C, B, P, F = t.engagement_coupons, t.engagement_badges, t.engagement_progress, t.member_profiles

# The statements every event runs, built once: building and keying a statement costs more
# than running it on SQLite (measured: 3 ms per event before, most of it in SQLAlchemy).
_PROGRESS_FIELDS = ("value", "target", "streak", "week", "completions", "completed_at", "updated_at")
_PROGRESS_KEY = ("program_id", "member_id", "challenge", "period")
_COUPON_COLUMNS = ("code", "program_id", "member_id", "template", "name", "benefit", "value", "cap", "source",
                   "issued_at", "expires_at", "redeemed_at")
_BADGE_COLUMNS = ("program_id", "member_id", "badge", "source", "awarded_at")
_TIME_ZONES = select(F.c.member_id, F.c.time_zone).where(
    F.c.program_id == bindparam("p"), F.c.member_id.in_(bindparam("members", expanding=True)))
_BADGES_OF = select(B.c.member_id, B.c.badge).where(
    B.c.program_id == bindparam("p"), B.c.member_id.in_(bindparam("members", expanding=True)))
_ISSUED_OF = (select(C.c.member_id, C.c.template, func.count())
              .where(C.c.program_id == bindparam("p"), C.c.member_id.in_(bindparam("members", expanding=True)))
              .group_by(C.c.member_id, C.c.template))


class EngagementRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # ---------------------------------------------------------------- coupons

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

# Members per IN list: SQLite builds older than 3.32 allow 999 parameters a statement.
_CHUNK = 500


def _chunks(items: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield list(items[start:start + _CHUNK])


class EngagementBook:
    """What engagement knows of the members of one transaction's events: their challenge
    progress, badges, issued coupons per template and time zones. Read a few queries per
    batch (`load`), or per member and kind on first need; changed in memory event after
    event; the new rows written in bulk at `flush`. With `write=False` (a quote) the changes
    stay in memory and `flush` writes nothing.

    A row already read is never read again: a later load would overwrite changes not yet
    flushed."""

    def __init__(self, conn: Connection, program_id: str, *, write: bool = True) -> None:
        self.conn, self.program_id, self.write = conn, program_id, write
        self.rows: dict[ProgressKey, Progress] = {}
        self.stored: set[ProgressKey] = set()
        self.done: set[tuple[str, str]] = set()  # (member, challenge) completed in some period
        self.progress_read: set[tuple[str, str]] = set()  # (member, challenge) pairs read
        self.held_badges: dict[str, set[str]] = {}  # a member's key: read
        self.issued: dict[str, dict[str, int]] = {}  # member -> template -> coupons ever issued
        self.zones: dict[str, str] = {}
        self.dirty: dict[ProgressKey, tuple[int, datetime]] = {}
        # The rows `flush` inserts, as the driver takes them (`_COUPON_COLUMNS`, `_BADGE_COLUMNS`).
        self.new_coupons: list[tuple[Any, ...]] = []
        self.new_badges: list[tuple[Any, ...]] = []

    # ---------------------------------------------------------------- reading

    def load(self, member_ids: Collection[str], challenge_ids: Collection[str]) -> None:
        """Everything engagement reads of these members, for these challenges."""
        self.load_progress(member_ids, challenge_ids)
        self.load_badges(member_ids)
        self.load_issued(member_ids)
        self.load_zones(member_ids)

    def load_progress(self, member_ids: Collection[str], challenge_ids: Collection[str]) -> None:
        read = self.progress_read
        wanted = {(m, c) for m in member_ids for c in challenge_ids if (m, c) not in read}
        if not wanted:
            return
        conn = self.conn
        challenges, challenge_params = one_of(conn, "challenge", sorted({c for _, c in wanted}))
        for chunk in _chunks(sorted({m for m, _ in wanted})):
            # Driver-level, columns by position: a batch's preload reads thousands of rows, and
            # SQLAlchemy's processing of each cost more than the query (as tier activity does).
            members, member_params = one_of(conn, "member_id", chunk)
            sql = (f"SELECT member_id, challenge, period, value, streak, week, completions, completed_at "
                   f"FROM {P.name} WHERE program_id = {mark(conn)} AND {members} AND {challenges}")
            for member_id, challenge, period, value, streak, week, completions, completed_at in fetch_rows(
                    conn, sql, (self.program_id, *member_params, *challenge_params)):
                if (member_id, challenge) not in wanted:
                    continue
                key = (member_id, challenge, period)
                self.rows[key] = Progress(period, value, streak, week, completions,
                                          None if completed_at is None else from_micros(completed_at))
                self.stored.add(key)
                if completions > 0:
                    self.done.add((member_id, challenge))
        self.progress_read |= wanted

    def load_badges(self, member_ids: Collection[str]) -> None:
        for members in _chunks(sorted(set(member_ids) - self.held_badges.keys())):
            self.held_badges.update({m: set() for m in members})
            for member_id, badge in self.conn.execute(_BADGES_OF, {"p": self.program_id, "members": members}):
                self.held_badges[member_id].add(badge)

    def load_issued(self, member_ids: Collection[str]) -> None:
        for members in _chunks(sorted(set(member_ids) - self.issued.keys())):
            self.issued.update({m: {} for m in members})
            for member_id, template, number in self.conn.execute(_ISSUED_OF, {"p": self.program_id,
                                                                              "members": members}):
                self.issued[member_id][template] = int(number)

    def load_zones(self, member_ids: Collection[str]) -> None:
        for members in _chunks(sorted(set(member_ids) - self.zones.keys())):
            self.zones.update({m: "UTC" for m in members})  # no profile, or none chosen: UTC
            self.zones.update({m: z for m, z in self.conn.execute(_TIME_ZONES, {"p": self.program_id,
                                                                                "members": members}) if z})

    # ---------------------------------------------------------------- the view, read on first need

    def time_zone(self, member_id: str) -> str:
        if member_id not in self.zones:
            self.load_zones([member_id])
        return self.zones[member_id]

    # Asked for every challenge an event moves: a pair already read skips `load_progress`.
    def get(self, member_id: str, challenge: str, period: str) -> Progress | None:
        if (member_id, challenge) not in self.progress_read:
            self.load_progress([member_id], [challenge])
        return self.rows.get((member_id, challenge, period))

    def completed(self, member_id: str, challenge: str) -> bool:
        if (member_id, challenge) not in self.progress_read:
            self.load_progress([member_id], [challenge])
        return (member_id, challenge) in self.done

    def issued_count(self, member_id: str, template: str) -> int:
        if member_id not in self.issued:
            self.load_issued([member_id])
        return self.issued[member_id].get(template, 0)

    def has_badge(self, member_id: str, badge: str) -> bool:
        if member_id not in self.held_badges:
            self.load_badges([member_id])
        return badge in self.held_badges[member_id]

    # ---------------------------------------------------------------- changing

    def put(self, member_id: str, challenge: str, target: int, progress: Progress, at: datetime) -> None:
        key = (member_id, challenge, progress.period)
        self.rows[key] = progress
        if self.write:
            self.dirty[key] = (target, at)
        if progress.completions > 0:
            self.done.add((member_id, challenge))

    def add_coupon(self, coupon: IssuedCoupon, name: str) -> None:
        if coupon.member_id not in self.issued:
            self.load_issued([coupon.member_id])
        counts = self.issued[coupon.member_id]
        counts[coupon.template] = counts.get(coupon.template, 0) + 1
        if self.write:
            gives = coupon.gives
            self.new_coupons.append((
                coupon.code, self.program_id, coupon.member_id, coupon.template, name, gives.kind.value, gives.value,
                gives.cap, coupon.source, to_micros(coupon.issued_at), to_micros(coupon.expires_at),
                _micros(coupon.redeemed_at)))

    def award_badge(self, member_id: str, badge: str, source: str, at: datetime) -> bool:
        """True when the member did not have the badge yet (a badge is awarded once)."""
        if self.has_badge(member_id, badge):
            return False
        self.held_badges[member_id].add(badge)
        if self.write:
            self.new_badges.append((self.program_id, member_id, badge, source, to_micros(at)))
        return True

    # ---------------------------------------------------------------- writing

    def flush(self) -> None:
        """Writes the coupons, badges and progress changed since the last flush: one
        statement each, two for progress (new rows, changed rows). At the driver, with
        plain tuples (bulk.py): SQLAlchemy's processing of each row's parameters cost more
        than the database's work."""
        conn, program_id = self.conn, self.program_id
        insert_rows(conn, C, _COUPON_COLUMNS, self.new_coupons)
        insert_rows(conn, B, _BADGE_COLUMNS, self.new_badges)
        inserts, updates = [], []
        for key, (target, at) in self.dirty.items():
            member_id, challenge, period = key
            p = self.rows[key]
            values = (p.value, target, p.streak, p.week, p.completions, _micros(p.completed_at), to_micros(at))
            if key in self.stored:
                updates.append((*values, program_id, member_id, challenge, period))
            else:
                inserts.append((program_id, member_id, challenge, period, *values))
        insert_rows(conn, P, (*_PROGRESS_KEY, *_PROGRESS_FIELDS), inserts)
        if updates:
            # An executemany (bulk.update_rows takes one key column; this key is four).
            m = mark(conn)
            conn.exec_driver_sql(f"UPDATE {P.name} SET {', '.join(f'{name} = {m}' for name in _PROGRESS_FIELDS)} "
                                 f"WHERE {' AND '.join(f'{name} = {m}' for name in _PROGRESS_KEY)}", updates)
        self.stored.update(self.dirty)
        self.dirty.clear()
        self.new_coupons, self.new_badges = [], []


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else to_micros(moment)


def _coupon(r: Any) -> IssuedCoupon:
    return IssuedCoupon(r.code, r.template, r.member_id, Benefit(BenefitKind(r.benefit), r.value, r.cap),
                        r.issued_at, r.expires_at, r.source, r.redeemed_at)
