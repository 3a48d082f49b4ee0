"""Tier storage: members' standings, tier history, recalculation cursors, and the qualifying
activity read from the ledger's transactions.

The activity query reads earn and reverse transactions of a set of members through the
transactions' member index (`ix_transactions_member_id_id`): a member's lookup and a batch
of a whole program's recalculation (`member_id IN (...)`) are index searches, and no index
is added to the ledger's hottest table. tests/storage/test_tier_queries.py checks the plan."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, select, update

from ..tiers import Activity, Standing, Transition, Window
from . import tables as t

EARN, REVERSE = "earn", "reverse"


def activity_query(program_id: str, member_ids: Sequence[str], since: datetime, until: datetime) -> Any:
    tx = t.transactions
    return (select(tx.c.member_id, tx.c.kind, tx.c.occurred_at, tx.c.points, tx.c.amount_minor)
            .where(tx.c.member_id.in_(list(member_ids)), tx.c.program_id == program_id,
                   tx.c.kind.in_((EARN, REVERSE)), tx.c.occurred_at >= since, tx.c.occurred_at <= until))


def load_activities(conn: Connection, program_id: str, member_ids: Sequence[str], since: datetime,
                    until: datetime) -> dict[str, list[Activity]]:
    """Each member's qualifying activity in [since, until]: an earn carrying money is a
    purchase (spend = its amount); a reversal (refund) takes back its money and points."""
    found: dict[str, list[Activity]] = {m: [] for m in member_ids}
    if not member_ids:
        return found
    for member_id, kind, at, points, amount in conn.execute(activity_query(program_id, member_ids, since, until)):
        if kind == EARN:
            activity = Activity(at, spend=amount or 0, points=points, purchases=0 if amount is None else 1)
        else:
            activity = Activity(at, spend=-(amount or 0), points=-points)
        found[member_id].append(activity)
    return found


def load_standings(conn: Connection, program_id: str, member_ids: Sequence[str]) -> dict[str, Standing]:
    mt = t.member_tiers
    rows = conn.execute(select(mt).where(mt.c.program_id == program_id, mt.c.member_id.in_(list(member_ids))))
    return {row.member_id: Standing(row.tier, row.since, Window(row.window_start, row.window_end),
                                    row.evaluated_at, row.grace_until) for row in rows}


def tier_names(conn: Connection, program_id: str, member_ids: Sequence[str]) -> dict[str, str]:
    """The stored tier of each member that has one (one primary-key query)."""
    mt = t.member_tiers
    rows = conn.execute(select(mt.c.member_id, mt.c.tier)
                        .where(mt.c.program_id == program_id, mt.c.member_id.in_(list(member_ids))))
    return {member_id: tier for member_id, tier in rows}


def save_standing(conn: Connection, program_id: str, member_id: str, standing: Standing, exists: bool) -> None:
    values = {"tier": standing.tier, "since": standing.since, "window_start": standing.window.start,
              "window_end": standing.window.end, "grace_until": standing.grace_until,
              "evaluated_at": standing.evaluated_at}
    mt = t.member_tiers
    if exists:
        conn.execute(update(mt).where(mt.c.program_id == program_id, mt.c.member_id == member_id).values(**values))
    else:
        conn.execute(insert(mt).values(program_id=program_id, member_id=member_id, **values))


def add_history(conn: Connection, program_id: str, member_id: str, changes: Iterable[Transition],
                recorded_at: datetime) -> None:
    rows = [{"program_id": program_id, "member_id": member_id, "from_tier": c.from_tier, "to_tier": c.to_tier,
             "reason": c.reason.value, "metric": c.metric, "at": c.at, "window_start": c.window.start,
             "window_end": c.window.end, "recorded_at": recorded_at} for c in changes]
    if rows:
        conn.execute(insert(t.tier_history), rows)


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
    return conn.execute(select(func.max(r.c.at)).where(r.c.program_id == program_id,
                                                       r.c.finished_at.is_(None))).scalar_one()


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
