"""`dangol replay --check` accounts for every way points enter or leave the ledger: a year
of the example program with all of them (movements.py) replays clean, on SQLite and
PostgreSQL; and each of them edited in the database, once, makes it fail naming what was
edited. The year is made once per engine; each tampering test edits a copy of it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, select, update

from dangol.api import create_app
from dangol.domain import FixedClock
from dangol.service.container import Services
from dangol.storage import tables as t
from dangol.storage.database import Database
from dangol.storage.migrate import upgrade

from cli.helpers import dangol
from conftest import BACKENDS, drop_postgres, fresh_postgres_url

from .movements import a_year_of_every_movement

T = t.transactions


@dataclass(frozen=True)
class Year:
    backend: str
    url: str  # the database the year was made in: never changed after
    members: dict[str, str]


@pytest.fixture(scope="module", params=BACKENDS)
def year(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Year]:
    directory = tmp_path_factory.mktemp(f"year-{request.param}")
    name = None
    if request.param == "sqlite":
        url = f"sqlite:///{directory / 'year.db'}"
        db = Database(url)
        upgrade(db)
        db.dispose()
    else:
        url, name = fresh_postgres_url(request.getfixturevalue("postgres_template"))
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DANGOL_LOG_KEY", str(directory / "dangol-log.key"))
        services = Services.open(url, FixedClock(), migrate=False)
        try:
            assert isinstance(services.clock, FixedClock)
            with TestClient(create_app(services)) as client:
                members = a_year_of_every_movement(services, services.clock, client, directory)
        finally:
            services.db.dispose()
    yield Year(request.param, url, members)
    if name is not None:
        drop_postgres(name)


@pytest.fixture
def copy(year: Year, tmp_path: Path) -> Iterator[str]:
    """A copy of the year's database, to tamper with."""
    if year.backend == "sqlite":
        source = Path(year.url.removeprefix("sqlite:///"))
        shutil.copy(source, tmp_path / "copy.db")
        yield f"sqlite:///{tmp_path / 'copy.db'}"
        return
    url, name = fresh_postgres_url(year.url.rsplit("/", 1)[1])
    yield url
    drop_postgres(name)


def test_a_year_with_every_kind_of_movement_replays_clean(year: Year) -> None:
    db = Database(year.url)
    with db.read() as conn:
        kinds = set(conn.execute(select(T.c.kind).where(T.c.program_id == "market")).scalars())
        coupons = {(row.benefit, row.redeemed_at is not None) for row in conn.execute(select(t.engagement_coupons))}
    db.dispose()
    assert kinds == {"earn", "release", "redeem", "hold", "capture", "void", "expire", "reverse", "adjust",
                     "transfer"}
    assert {("percent", True), ("points", True), ("discount", True)} <= coupons
    result = dangol(year.url, "replay", "--check", "--program", "market")
    assert result.exit_code == 0, result.output
    # Events: one earn per event and member (every rule's points, tier bonuses with them), two
    # challenge rewards and the refund (16).
    # Requests: the 8 imported and the gift imported in May, the shop's earn and its reversal,
    # Mina's gift, 3 adjustments, 6 holds and a capture and a void, the pending earn, the
    # redemption, and the settlements they made first (Lee's expired points, Mina's timed-out
    # hold, the points Kim was given, expired) (27). Coupon redemptions: the points coupon's earn
    # (the others credit nothing) (1). Closures: Kim's open hold voided and his points forfeited
    # (2). Expiry runs: 5 March (2), 20 April (Lee's timed-out hold, Alice's released points),
    # 10 March 2026 (Mina's and Alice's) (6).
    assert result.stdout == (
        "OK: 14 events of market replayed; 52 ledger transactions follow from them, the recorded requests and the "
        "published rules (16 by events, 27 by requests, 1 by coupon redemptions, 2 by closures, 6 by expiry runs).\n")


def _one(conn: Connection, *where: object) -> int:
    """The id of the one transaction of the program that matches."""
    found = list(conn.execute(select(T.c.id).where(T.c.program_id == "market", *where)).scalars())
    assert len(found) == 1, found
    return int(found[0])


def _shift(conn: Connection, txn_id: int, points: int) -> None:
    """Adds `points` to the transaction's points and to both its postings, keeping it balanced
    (a careful forger): only what follows it can tell."""
    P = t.postings
    conn.execute(update(T).where(T.c.id == txn_id).values(points=T.c.points + points))
    rows = conn.execute(select(P.c.line, P.c.amount).where(P.c.transaction_id == txn_id)).all()
    assert len(rows) == 2, rows
    for line, amount in rows:
        conn.execute(update(P).where(P.c.transaction_id == txn_id, P.c.line == line)
                     .values(amount=amount + (points if amount > 0 else -points)))


Tamper = Callable[[Connection, dict[str, str]], int | str]  # edits; returns the transaction id or coupon code


def _coupon_earn(conn: Connection, members: dict[str, str]) -> int:
    txn_id = _one(conn, T.c.rule_id == "coupon:thank-you-500")
    _shift(conn, txn_id, 4_500)
    return txn_id


def _coupon_value(template: str, value: int) -> Tamper:
    def tamper(conn: Connection, members: dict[str, str]) -> str:
        C = t.engagement_coupons
        code = str(conn.execute(select(C.c.code).where(C.c.template == template, C.c.redeemed_at.isnot(None)))
                   .scalar_one())
        conn.execute(update(C).where(C.c.code == code).values(value=value))
        return code
    return tamper


def _shifted(*where: Callable[[dict[str, str]], object], points: int = 1_000) -> Tamper:
    def tamper(conn: Connection, members: dict[str, str]) -> int:
        txn_id = _one(conn, *(condition(members) for condition in where))
        _shift(conn, txn_id, points)
        return txn_id
    return tamper


def _capture(conn: Connection, members: dict[str, str]) -> int:
    txn_id = _one(conn, T.c.kind == "capture", T.c.member_id == members["mina"])
    conn.execute(update(T).where(T.c.id == txn_id).values(points=T.c.points + 500))
    return txn_id


TAMPERED: dict[str, Tamper] = {
    "points coupon redeemed": _coupon_earn,
    "percent coupon redeemed": _coupon_value("design-10", 50),
    "discount coupon redeemed": _coupon_value("thanks-3000", 30_000),
    "challenge reward": _shifted(lambda m: T.c.rule_id == "challenge:weekly-streak", points=9_000),
    "gift": _shifted(lambda m: T.c.kind == "transfer", lambda m: T.c.member_id == m["mina"]),
    "operator adjustment": _shifted(lambda m: T.c.kind == "adjust", lambda m: T.c.member_id == m["alice"]),
    "refund event": _shifted(lambda m: T.c.kind == "reverse", lambda m: T.c.member_id == m["mina"], points=-1_000),
    "requested reversal": _shifted(lambda m: T.c.kind == "reverse", lambda m: T.c.member_id == m["alice"],
                                   points=100),
    "plain earn": _shifted(lambda m: T.c.reason == "in-store purchase"),
    "hold placed": _shifted(lambda m: T.c.kind == "hold", lambda m: T.c.member_id == m["alice"], points=200),
    "hold captured": _capture,
    "hold voided": _shifted(lambda m: T.c.kind == "void", lambda m: T.c.member_id == m["alice"], points=200),
    "hold timed out": _shifted(lambda m: T.c.kind == "void", lambda m: T.c.member_id == m["lee"], points=200),
    "redemption": _shifted(lambda m: T.c.kind == "redeem", lambda m: T.c.order_ref == "o-redeem"),
    "pending points released": _shifted(lambda m: T.c.kind == "release", points=100),
    "expiry": _shifted(lambda m: T.c.kind == "expire", lambda m: T.c.member_id == m["mina"], points=-100),
    "closure": _shifted(lambda m: T.c.kind == "expire", lambda m: T.c.reason == "moved abroad", points=-100),
    "imported earn": _shifted(lambda m: T.c.kind == "earn", lambda m: T.c.member_id == m["lee"],
                              lambda m: T.c.reason == "opening bonus"),
    "imported gift": _shifted(lambda m: T.c.kind == "transfer", lambda m: T.c.member_id == m["lee"], points=-100),
}


@pytest.mark.parametrize("kind", list(TAMPERED))
def test_each_kind_of_movement_tampered_with_is_named(year: Year, copy: str, kind: str) -> None:
    db = Database(copy)
    with db.write() as conn:
        edited = TAMPERED[kind](conn, year.members)
    db.dispose()
    result = dangol(copy, "replay", "--check", "--program", "market")
    assert result.exit_code == 1, result.output
    first = result.stdout.splitlines()[0]
    if isinstance(edited, str):
        assert first.startswith(f"DIFFERENT: coupon {edited} (") and "replaying the events gives" in first, first
    else:
        assert first.startswith(f"DIFFERENT: transaction {edited} (") or \
            first.startswith("DIFFERENT: event ") and f"ledger transaction {edited} is" in first, first
        assert "replaying the ledger gives" in first or "the rules give" in first, first
