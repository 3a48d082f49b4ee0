"""A synthetic but bookkeeping-correct log: members earning, redeeming (first-expiring-
first, as the ledger does), holding and capturing or voiding, expiring, and a ruleset
now and then, encoded as canonical entries (the format of dangol.transparency.entry).
For the audit benchmark and for the verifier's tests, which need logs of any size fast,
without a database."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
YEAR = timedelta(days=365)


def _time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _posting(account: str, amount: int, member: str | None) -> dict[str, object]:
    return {"account": account, "amount": amount, "member": member}


def entries(count: int, *, members: int = 1000, program: str = "market", seed: int = 1) -> Iterator[bytes]:
    """`count` entry bytes, in log order."""
    for made, entry in enumerate(_stream(members, program, seed)):
        if made == count:
            return
        yield entry


def _stream(members: int, program: str, seed: int) -> Iterator[bytes]:
    rng = random.Random(seed)
    commitments = [hashlib.sha256(b"member %d" % i).hexdigest() for i in range(members)]
    lots: list[list[list[int]]] = [[] for _ in range(members)]  # member -> [[lot id, remaining, expires (days)]]
    next_id = 1
    at = START
    n = -1
    while True:
        n += 1
        at += timedelta(seconds=rng.randint(1, 60))
        day = (at - START).days
        m = rng.randrange(members)
        who = commitments[m]
        own = lots[m]
        txn = {"v": 1, "type": "transaction", "program": program, "id": next_id, "occurred_at": _time(at),
               "lots": [], "movements": [], "order_ref": None, "money": None, "rule": None, "ruleset": None,
               "idempotency_key": f"k-{n}", "hold": None}
        next_id += 1
        balance = sum(lot[1] for lot in own)
        roll = rng.random()
        if n % 5000 == 4999:
            yield _canonical({"v": 1, "type": "ruleset", "program": program, "hash": f"sha256:{n:064x}",
                              "version": n // 5000 + 1, "effective_from": _time(at), "published_at": _time(at),
                              "urgent": False, "document": {"rules": [{"id": "base", "points": "5%"}]}})
            continue
        due = []
        for lot in own:  # in expiry order: the expired ones are a prefix
            if lot[2] > day:
                break
            if lot[1] > 0:
                due.append(lot)
        if due:
            points = sum(lot[1] for lot in due)
            txn.update(kind="expire", postings=[_posting("expired", points, None),
                                                _posting("available", -points, who)],
                       movements=sorted(({"lot": lot[0], "kind": "expired", "amount": lot[1]} for lot in due),
                                        key=lambda mv: mv["lot"]))
            for lot in due:
                lot[1] = 0
            own[:] = [lot for lot in own if lot[1] > 0]
        elif roll < 0.3 and balance >= 1000:
            points = rng.randint(1000, balance)
            taken = _take(own, points)
            kind = rng.choice(("redeem", "hold"))
            while kind == "redeem" and own and own[0][1] == 0:
                own.pop(0)  # spent for good (a hold's lots may get points back: kept)
            target = "redeemed" if kind == "redeem" else "held"
            txn.update(kind=kind, postings=[_posting("available", -points, who),
                                            _posting(target, points, who if kind == "hold" else None)],
                       movements=[{"lot": lot_id, "kind": target, "amount": a} for lot_id, a in taken])
            if kind == "hold":
                txn["hold"] = txn["id"]
                yield _canonical(txn)
                # the hold is voided at once (gives the points back to the same lots)
                back = {"v": 1, "type": "transaction", "program": program, "id": next_id, "kind": "void",
                        "occurred_at": _time(at), "lots": [], "order_ref": None, "money": None, "rule": None,
                        "ruleset": None, "idempotency_key": None, "hold": txn["id"],
                        "postings": [_posting("held", -points, who), _posting("available", points, who)],
                        "movements": [{"lot": lot_id, "kind": "held", "amount": -a} for lot_id, a in taken]}
                next_id += 1
                _give_back(own, taken)
                txn = back
        else:
            money = rng.randint(1, 2000) * 100
            points = money // 20 or 1
            expires = START + timedelta(days=day + 365)
            txn.update(kind="earn", postings=[_posting("issued", -points, None), _posting("available", points, who)],
                       lots=[{"id": next_id, "amount": points, "available_at": _time(at), "expires_at": _time(expires)}],
                       money={"amount": money, "currency": "KRW"}, order_ref=f"o-{n}", rule="base",
                       ruleset="sha256:" + "0" * 64)
            own.append([next_id, points, day + 365])
            next_id += 1
        yield _canonical(txn)


def _take(own: list[list[int]], points: int) -> list[tuple[int, int]]:
    taken = []
    for lot in own:  # lots are appended in expiry order: first-expiring-first
        if points == 0:
            break
        a = min(lot[1], points)
        if a:
            lot[1] -= a
            points -= a
            taken.append((lot[0], a))
    return taken


def _give_back(own: list[list[int]], taken: list[tuple[int, int]]) -> None:
    by_id = {lot[0]: lot for lot in own}
    for lot_id, a in taken:
        by_id[lot_id][1] += a
