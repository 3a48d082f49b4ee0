"""What rules need to know of members beyond the ledger: profiles (time zone, birthday,
tags, display name, leaderboard opt-in), per-member counters and program-wide counters.

Counters are changed by increments (`UPDATE … SET value = value + n`) inside the write
transaction of the event that consumed them. On PostgreSQL the rows an event will read are
locked first (members, then budget counters, each in key order), so two concurrent events
can never both spend the last of a budget; SQLite has one writer at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from . import tables as t
from .bulk import fetch_rows, mark
from .ledger_repository import chunked


@dataclass(frozen=True, slots=True)
class Profile:
    member_id: str
    time_zone: str | None = None
    birthday_month: int | None = None
    birthday_day: int | None = None
    tags: tuple[str, ...] = ()
    display_name: str | None = None
    leaderboard_opt_in: bool = False


def judged(profile: Profile) -> tuple[object, ...]:
    """What judging an event reads of a profile: its time zone, birthday and tags (the
    display name and the leaderboard opt-in only engagement's boards show)."""
    return profile.time_zone, profile.birthday_month, profile.birthday_day, profile.tags


@dataclass(frozen=True, slots=True)
class ProfileVersion:
    """What judging reads of a profile, in effect from `recorded_at` until the next version."""

    profile: Profile
    recorded_at: datetime


@dataclass(slots=True)
class LockedMember:
    id: str
    program_id: str
    status: str
    enrolled_at: datetime | None  # None: a quote's sign-up, someone not enrolled yet


class FactsRepository:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.lock_rows = conn.dialect.name == "postgresql"

    # ------------------------------------------------------------ profiles

    def profile(self, member_id: str) -> Profile:
        return self.profiles([member_id]).get(member_id) or Profile(member_id)

    def profiles(self, member_ids: Sequence[str]) -> dict[str, Profile]:
        """The profiles there are of these members (a member without one is absent)."""
        table = t.member_profiles
        rows = self.conn.execute(select(table).where(table.c.member_id.in_(member_ids))) if member_ids else ()
        return {row.member_id: Profile(row.member_id, row.time_zone, row.birthday_month, row.birthday_day,
                                       tuple(json.loads(row.tags)), row.display_name, row.leaderboard_opt_in)
                for row in rows}

    def save_profile(self, program_id: str, profile: Profile, at: datetime) -> None:
        """Writes the profile and, when what judging reads of it changed, a version of it in
        the history, in effect from `at`."""
        if judged(self.profile(profile.member_id)) != judged(profile):
            self.conn.execute(insert(t.member_profile_history).values(
                program_id=program_id, member_id=profile.member_id, time_zone=profile.time_zone,
                birthday_month=profile.birthday_month, birthday_day=profile.birthday_day,
                tags=json.dumps(list(profile.tags)), recorded_at=at))
        values = {"time_zone": profile.time_zone, "birthday_month": profile.birthday_month,
                  "birthday_day": profile.birthday_day, "tags": json.dumps(list(profile.tags)),
                  "display_name": profile.display_name, "leaderboard_opt_in": profile.leaderboard_opt_in,
                  "updated_at": at}
        table = t.member_profiles
        if not self.conn.execute(update(table).where(table.c.member_id == profile.member_id).values(**values)).rowcount:
            self.conn.execute(insert(table).values(member_id=profile.member_id, program_id=program_id, **values))

    def profile_history(self, program_id: str) -> list[ProfileVersion]:
        """Every version of the program's members' profiles, in the order they took effect."""
        h = t.member_profile_history
        return [ProfileVersion(Profile(row.member_id, row.time_zone, row.birthday_month, row.birthday_day,
                                       tuple(json.loads(row.tags))), row.recorded_at)
                for row in self.conn.execute(select(h).where(h.c.program_id == program_id)
                                             .order_by(h.c.recorded_at, h.c.id))]

    # ------------------------------------------------------------ locks

    def lock_members(self, member_ids: Iterable[str]) -> dict[str, LockedMember]:
        """The members, locked (PostgreSQL) in id order, as the ledger locks them."""
        ids = sorted(set(member_ids))
        if not ids:
            return {}
        table = t.members
        query = select(table.c.id, table.c.program_id, table.c.status, table.c.enrolled_at).where(
            table.c.id.in_(ids)).order_by(table.c.id)
        if self.lock_rows:
            query = query.with_for_update()
        return {row.id: LockedMember(row.id, row.program_id, row.status, row.enrolled_at)
                for row in self.conn.execute(query)}

    def lock_program_counters(self, program_id: str, keys: Iterable[str]) -> None:
        """Makes the rows exist and, on PostgreSQL, locks them in key order until commit."""
        wanted = sorted(set(keys))
        if not wanted:
            return
        m = mark(self.conn)
        for key in wanted:
            self.conn.exec_driver_sql(
                f"INSERT INTO program_counters (program_id, key, value) VALUES ({m}, {m}, 0) ON CONFLICT DO NOTHING",
                (program_id, key))
        if self.lock_rows:
            table = t.program_counters
            self.conn.execute(select(table.c.key).where(table.c.program_id == program_id, table.c.key.in_(wanted))
                              .order_by(table.c.key).with_for_update()).all()

    # ------------------------------------------------------------ counters

    # Driver-level SQL: an event reads and adds a handful of counters, and building the
    # SQLAlchemy statements cost more than running them (measured: half of an event's time).

    def member_counter(self, member_id: str, key: str) -> int:
        m = mark(self.conn)
        row = self.conn.exec_driver_sql(f"SELECT value FROM member_counters WHERE member_id = {m} AND key = {m}",
                                        (member_id, key)).first()
        return int(row[0]) if row else 0

    def program_counter(self, program_id: str, key: str) -> int:
        m = mark(self.conn)
        row = self.conn.exec_driver_sql(f"SELECT value FROM program_counters WHERE program_id = {m} AND key = {m}",
                                        (program_id, key)).first()
        return int(row[0]) if row else 0

    def member_counters(self, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """The stored counters among these (member id, key) pairs, in a query per few
        thousand pairs (a batch's): each pair a primary-key search. A member's keys differ
        (each order has its own), so members IN (...) AND keys IN (...) would search their
        cross product."""
        found: dict[tuple[str, str], int] = {}
        for chunk in chunked(list(pairs), 2_000):  # 4,000 parameters on SQLite
            if self.conn.dialect.name == "postgresql":
                wanted, join, params = "SELECT * FROM unnest(%s::text[], %s::text[])", "JOIN", (
                    [m for m, _ in chunk], [k for _, k in chunk])
            else:  # CROSS JOIN: SQLite's way to say "the pairs outside, the table's key inside"
                wanted, join = f"VALUES {', '.join(['(?, ?)'] * len(chunk))}", "CROSS JOIN"
                params = tuple(value for pair in chunk for value in pair)
            rows = fetch_rows(self.conn, f"WITH v(m, k) AS ({wanted}) SELECT c.member_id, c.key, c.value FROM v "
                              f"{join} member_counters c ON c.member_id = v.m AND c.key = v.k", params)
            found.update(((row[0], row[1]), int(row[2])) for row in rows)
        return found

    def add_member_counter_rows(self, rows: Sequence[tuple[str, str, int]]) -> None:
        """Adds each (member id, key, amount) to the member's counter."""
        self._add("member_counters", "member_id", rows)

    def add_program_counter_rows(self, rows: Sequence[tuple[str, str, int]]) -> None:
        """Adds each (program id, key, amount) to the program's counter."""
        self._add("program_counters", "program_id", rows)

    def _add(self, table: str, owner_column: str, rows: Sequence[tuple[str, str, int]]) -> None:
        if not rows:
            return
        # Callers give the rows in key order (the order rows are locked in on PostgreSQL), one per key.
        upsert = f"ON CONFLICT ({owner_column}, key) DO UPDATE SET value = {table}.value + excluded.value"
        if self.conn.dialect.name == "postgresql":  # one statement for them all, not one per row
            self.conn.exec_driver_sql(
                f"INSERT INTO {table} ({owner_column}, key, value) "
                f"SELECT * FROM unnest(%s::text[], %s::text[], %s::bigint[]) {upsert}",
                ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]))
            return
        self.conn.exec_driver_sql(f"INSERT INTO {table} ({owner_column}, key, value) VALUES (?, ?, ?) {upsert}", rows)
