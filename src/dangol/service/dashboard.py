"""The console dashboard's figures: members, active members (30 and 90 days), and points
issued, redeemed, expired and outstanding (the liability) per UTC day (the last 30) and
month (the last 12). One read transaction of aggregate queries (storage/dashboard_reads.py);
the folding into days and months is plain Python below.

What counts, from the ledger's double entry (postings): issued = points out of the program's
`issued` account (earning); redeemed = into `redeemed` (redemptions, captured holds);
expired = into `expired`; outstanding at the end of a day = the liability now (members'
available, pending and held points) minus what members' accounts gained since. Adjustments
and refund clawbacks are in outstanding, not in the three flows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from ..domain.accounts import Account
from ..domain.clock import Clock
from ..storage import dashboard_reads as reads
from ..storage.database import Database

DAYS = 30
MONTHS = 12
MEMBER_ACCOUNTS = {a.value for a in Account if a.is_member_account}
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True, slots=True)
class Figures:
    """One day's or month's points (`start`: its first day)."""
    start: date
    issued: int
    redeemed: int
    expired: int
    outstanding: int  # at its end


@dataclass(frozen=True, slots=True)
class Overview:
    program_id: str
    at: datetime
    members: int
    by_status: dict[str, int]
    active_30: int
    active_90: int
    outstanding: int
    days: list[Figures]
    months: list[Figures]


class Dashboard:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def overview(self, program_id: str) -> Overview:
        now = self.clock.now().astimezone(timezone.utc)
        today = now.date()
        first_month = _add_months(today.replace(day=1), -(MONTHS - 1))
        since = datetime.combine(min(first_month, today - timedelta(days=DAYS - 1)), datetime.min.time(),
                                 timezone.utc)
        with self.db.read() as conn:
            by_status = reads.member_counts(conn, program_id)
            liability = reads.outstanding(conn, program_id)
            active_30 = reads.active_members(conn, program_id, now - timedelta(days=30))
            active_90 = reads.active_members(conn, program_id, now - timedelta(days=90))
            rows = reads.daily_postings(conn, program_id, since)
        daily = fold_days(rows, today, (today - since.date()).days + 1, liability)
        return Overview(program_id, now, sum(by_status.values()), by_status, active_30, active_90, liability,
                        daily[-DAYS:], fold_months(daily))


def fold_days(rows: list[tuple[int, str, int]], today: date, days: int, liability: int) -> list[Figures]:
    """Every day of the `days` up to `today`, oldest first, from (day number, account, net
    amount) rows; outstanding walks back from the liability now."""
    net: dict[tuple[int, str], int] = defaultdict(int)
    change: dict[int, int] = defaultdict(int)
    for day, account, amount in rows:
        net[day, account] += amount
        if account in MEMBER_ACCOUNTS:
            change[day] += amount
    last = (today - EPOCH).days
    figures, after = [], liability
    for day in range(last, last - days, -1):
        figures.append(Figures(EPOCH + timedelta(days=day), -net[day, Account.ISSUED.value],
                               net[day, Account.REDEEMED.value], net[day, Account.EXPIRED.value], after))
        after -= change[day]
    return figures[::-1]


def fold_months(days: list[Figures]) -> list[Figures]:
    """Calendar months of the days (the first may be partial), oldest first."""
    months: dict[date, list[Figures]] = {}
    for figures in days:
        months.setdefault(figures.start.replace(day=1), []).append(figures)
    return [Figures(start, sum(d.issued for d in ds), sum(d.redeemed for d in ds), sum(d.expired for d in ds),
                    ds[-1].outstanding) for start, ds in months.items()][-MONTHS:]


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)
