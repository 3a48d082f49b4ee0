"""Tier storage: members' standings, tier history, recalculation cursors, and the qualifying
activity read from the ledger's transactions.

The activity query reads earn and reverse transactions of a set of members through the
transactions' member index (`ix_transactions_member_id_id`): a member's lookup and a batch
of a whole program's recalculation (`member_id IN (...)`) are index searches, and no index
is added to the ledger's hottest table. tests/tiers/test_queries.py checks the plan. The
reads and writes of a batch (service/tiers.py's `TierSession`) are each one statement per
2,000 members."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from ..tiers import Activity, Standing, Transition, Window
from . import tables as t
from .bulk import fetch_rows, insert_rows, mark, one_of
from .ledger_repository import chunked
from .types import from_micros, to_micros

EARN, REVERSE = "earn", "reverse"
QUALIFYING = (EARN, REVERSE)  # the ledger's transaction kinds that move the tier metric


def activity_of(kind: str, at: datetime, points: int, amount: int | None) -> Activity:
    """A ledger transaction as tier activity: an earn carrying money is a purchase (spend =
    its amount); a reversal (a refund) takes back its money and its points (both stored
    positive on the reversal). Shared by the loader and callers holding transactions that
    are not in the database yet."""
    # Positional (at, spend, points, purchases): keywords cost more, once per row read.
    if kind == EARN:
        return Activity(at, amount or 0, points, 0 if amount is None else 1)
    if kind == REVERSE:
        return Activity(at, -(amount or 0), -points)
    raise ValueError(f"a {kind!r} transaction is not tier activity (only {', '.join(QUALIFYING)})")


def load_activities(conn: Connection, program_id: str, member_ids: Sequence[str], since: datetime,
                    until: datetime) -> dict[str, list[Activity]]:
    """Each member's qualifying activity in [since, until] (`activity_of`)."""
    found: dict[str, list[Activity]] = {m: [] for m in member_ids}
    m = mark(conn)
    for chunk in chunked(list(found)):
        # Driver-level: a batch of events or of a recalculation reads thousands of rows.
        members, params = one_of(conn, "member_id", chunk)
        sql = (f"SELECT member_id, kind, occurred_at, points, amount_minor FROM transactions "
               f"WHERE {members} AND program_id = {m} AND kind IN ('{EARN}', '{REVERSE}') "
               f"AND occurred_at >= {m} AND occurred_at <= {m}")
        rows = fetch_rows(conn, sql, (*params, program_id, to_micros(since), to_micros(until)))
        for member_id, kind, at, points, amount in rows:
            found[member_id].append(activity_of(kind, from_micros(at), points, amount))
    return found


def load_standings(conn: Connection, program_id: str, member_ids: Sequence[str]) -> dict[str, Standing]:
    """The stored standings of those of `member_ids` that have one."""
    found: dict[str, Standing] = {}
    m = mark(conn)
    for chunk in chunked(list(dict.fromkeys(member_ids))):
        members, params = one_of(conn, "member_id", chunk)
        sql = (f"SELECT member_id, tier, since, window_start, window_end, evaluated_at, grace_until "
               f"FROM member_tiers WHERE program_id = {m} AND {members}")
        for member_id, tier, since, start, end, evaluated, grace in fetch_rows(conn, sql, (program_id, *params)):
            found[member_id] = Standing(tier, from_micros(since), Window(from_micros(start), from_micros(end)),
                                        from_micros(evaluated), None if grace is None else from_micros(grace))
    return found


def tier_names(conn: Connection, program_id: str, member_ids: Sequence[str]) -> dict[str, str]:
    """The stored tier of each member that has one (one primary-key query)."""
    mt = t.member_tiers
    rows = conn.execute(select(mt.c.member_id, mt.c.tier)
                        .where(mt.c.program_id == program_id, mt.c.member_id.in_(list(member_ids))))
    return {member_id: tier for member_id, tier in rows}


STANDING_COLUMNS = ("tier", "since", "window_start", "window_end", "grace_until", "evaluated_at")
HISTORY_COLUMNS = ("program_id", "member_id", "from_tier", "to_tier", "reason", "metric", "at", "window_start",
                   "window_end", "recorded_at")


def save_standings(conn: Connection, program_id: str, new: Sequence[tuple[str, Standing]],
                   changed: Sequence[tuple[str, Standing]]) -> None:
    """Inserts the standings of members without a row (`new`) and updates the others'
    (`changed`), each in one multi-row statement or executemany."""
    insert_rows(conn, t.member_tiers, ("program_id", "member_id", *STANDING_COLUMNS),
                [(program_id, member_id, *_standing_row(s)) for member_id, s in new])
    if changed:
        # An executemany (bulk.update_rows takes one key column; this key is two).
        m = mark(conn)
        assignments = ", ".join(f"{column} = {m}" for column in STANDING_COLUMNS)
        conn.exec_driver_sql(f"UPDATE member_tiers SET {assignments} WHERE program_id = {m} AND member_id = {m}",
                             [(*_standing_row(s), program_id, member_id) for member_id, s in changed])


def add_history(conn: Connection, program_id: str, changes: Iterable[tuple[str, Transition, datetime]]) -> None:
    """Each (member, transition, recorded at), in one multi-row insert, in order."""
    insert_rows(conn, t.tier_history, HISTORY_COLUMNS, [
        (program_id, member_id, c.from_tier, c.to_tier, c.reason.value, c.metric, to_micros(c.at),
         to_micros(c.window.start), to_micros(c.window.end), to_micros(recorded_at))
        for member_id, c, recorded_at in changes])


def _standing_row(standing: Standing) -> tuple[Any, ...]:
    """`STANDING_COLUMNS` as the driver takes them (instants as integer microseconds)."""
    grace = standing.grace_until
    return (standing.tier, to_micros(standing.since), to_micros(standing.window.start),
            to_micros(standing.window.end), None if grace is None else to_micros(grace),
            to_micros(standing.evaluated_at))


def history(conn: Connection, program_id: str, member_id: str, before: int | None, limit: int) -> list[Any]:
    th = t.tier_history
    query = select(th).where(th.c.member_id == member_id, th.c.program_id == program_id)
    if before is not None:
        query = query.where(th.c.id < before)
    return list(conn.execute(query.order_by(th.c.id.desc()).limit(limit)))


def member_page(conn: Connection, program_id: str, after: str | None, limit: int) -> list[str]:
    """The next members of a recalculation, locked on PostgreSQL (in id order, as the ledger
    locks them) so that an event's tier check cannot interleave with the batch's."""
    m = t.members
    query = select(m.c.id).where(m.c.program_id == program_id)
    if after is not None:
        query = query.where(m.c.id > after)
    return list(conn.execute(query.order_by(m.c.id).limit(limit).with_for_update()).scalars())


def count_members(conn: Connection, program_id: str) -> int:
    return conn.execute(select(func.count()).select_from(t.members).where(t.members.c.program_id == program_id)).scalar_one()


# ---- recalculation runs

def run_state(conn: Connection, program_id: str, at: datetime) -> Any:
    r = t.tier_recalculations
    return conn.execute(select(r).where(r.c.program_id == program_id, r.c.at == at)).first()


def unfinished_run(conn: Connection, program_id: str) -> datetime | None:
    """The instant of the program's latest run that did not finish, if any."""
    r = t.tier_recalculations
    at: datetime | None = conn.execute(select(func.max(r.c.at)).where(r.c.program_id == program_id,
                                                                      r.c.finished_at.is_(None))).scalar_one()
    return at


def start_run(conn: Connection, program_id: str, at: datetime, now: datetime) -> None:
    conn.execute(insert(t.tier_recalculations).values(program_id=program_id, at=at, after_member=None, members=0,
                                                       changes=0, started_at=now, finished_at=None))


def restart_run(conn: Connection, program_id: str, at: datetime, now: datetime) -> None:
    """A finished run for the same instant is done again from the first member."""
    r = t.tier_recalculations
    conn.execute(update(r).where(r.c.program_id == program_id, r.c.at == at)
                 .values(after_member=None, members=0, changes=0, started_at=now, finished_at=None))


def advance_run(conn: Connection, program_id: str, at: datetime, after_member: str, members: int, changes: int) -> None:
    r = t.tier_recalculations
    conn.execute(update(r).where(and_(r.c.program_id == program_id, r.c.at == at))
                 .values(after_member=after_member, members=r.c.members + members, changes=r.c.changes + changes))


def finish_run(conn: Connection, program_id: str, at: datetime, now: datetime) -> None:
    r = t.tier_recalculations
    conn.execute(update(r).where(r.c.program_id == program_id, r.c.at == at).values(finished_at=now))


def stored_tiers(conn: Connection, program_id: str) -> dict[str, int]:
    """Members per stored tier (members never upgraded have no row)."""
    mt = t.member_tiers
    rows = conn.execute(select(mt.c.tier, func.count()).where(mt.c.program_id == program_id).group_by(mt.c.tier))
    return {tier: number for tier, number in rows}
