"""The write path under real concurrency: fifty tills (load.py) against `dangol serve`, four
server processes on PostgreSQL and one on SQLite, buying, reviewing, refunding and
redeeming for twelve members they all share, some requests sent twice at once. Then what
the tills were told must add up to the books:

- a redemption refused for lack of points was told a balance the member had;
- every copy of a request got the applied copy's answer (a refusal stores nothing, so a
  copy refused for lack of points may be followed by one that succeeds, never the other
  way round), and every later retry gets the same bytes again, or `idempotency-conflict`
  with another body;
- each member's balance is the sum of the points in the answers: earned (welcome,
  purchases, reviews, challenges, tier bonuses) minus redeemed minus clawed back; an
  `insufficient-points` refusal moves nothing;
- taken in the log's order, each answer's balance is the one before it plus its change:
  no answer saw another's write half done, or missed one;
- `dangol check` passes, and so does the audit of the served log (`dangol verify mirror`
  then `dangol verify audit`), whose balances are the members' own;
- PostgreSQL aborted no transaction in a deadlock."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import orjson
import pytest

from dangol.service.container import Services
from dangol.service.programs import Scope

from cli.helpers import dangol, served

from .conftest import POLICY, to_serve
from .load import CLIENTS, MEMBERS, REQUESTS, Sent, Till, ask, run_tills, signups
from .test_served_duplicates import MARKET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROGRAM = "market"


# ---------------------------------------------------------------- what the tills were told

def body(sent: Sent) -> dict[str, Any]:
    applied = sent.applied()
    assert applied is not None
    return dict(orjson.loads(applied.body))


def member_of(sent: Sent) -> str:
    return sent.request.member or str(body(sent)["member_id"])


def change(sent: Sent) -> dict[str, int]:
    """What an applied request did to each member's points, by its answer."""
    if sent.applied() is None:
        return {}
    answer = body(sent)
    if sent.request.kind == "redemption":
        points = sent.request.body["points"]
        assert answer["transaction"]["points"] == points, answer
        return {member_of(sent): -points}
    moved: Counter[str] = Counter()
    for effect in answer["effects"]["points"]:
        moved[effect["member_id"]] += effect["points"]
    if "reversal" in answer:
        moved[answer["member_id"]] -= answer["reversal"]["refund_receipt"]["refund"]["clawed_back"]
    return dict(moved)


def sequences(value: Any) -> Iterator[int]:
    """The log sequence numbers of every receipt in an answer."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "log":
                yield from (receipt["sequence"] for receipt in item)
            else:
                yield from sequences(item)
    elif isinstance(value, list):
        for item in value:
            yield from sequences(item)


def refusal(sent: Sent) -> list[dict[str, Any]]:
    return [orjson.loads(a.body) for a in sent.answers if not 200 <= a.status < 300]


class Write(NamedTuple):
    """An applied request that moved a member's points, as its answer told it."""

    sequence: int  # its first in the log
    change: int
    balance: dict[str, int]


Histories = dict[str, list[Write]]


def history(sent: list[Sent]) -> Histories:
    """Each member's writes, in the log's order. Writes to one member are serialised on it,
    so the log's order is the order they happened in."""
    by_member: Histories = defaultdict(list)
    for s in sent:
        if moved := change(s).get(member_of(s), 0):
            answer = body(s)
            by_member[member_of(s)].append(Write(min(sequences(answer)), moved, answer["balance"]))
    return {member: sorted(writes) for member, writes in by_member.items()}


# ---------------------------------------------------------------- what they must add up to

def assert_only_redemptions_refused(sent: list[Sent]) -> None:
    refused = [(s.request.kind, problem.get("type"), problem.get("detail")) for s in sent for problem in refusal(s)
               if not (s.request.kind == "redemption" and problem.get("type", "").endswith("/insufficient-points"))]
    assert not refused, refused


def assert_refusals_saw_a_balance_the_member_had(sent: list[Sent], histories: Histories) -> None:
    """A redemption refused for lack of points says how many there were: the member's balance
    at that moment, which some answer also gave, never points it could not see (earned while
    it waited for the member, say), nor a balance left by the redemptions judged before it in
    its group that were then answered from another (test_refusals_in_batches.py)."""
    unseen = []
    for s in sent:
        had = {write.balance["available"] for write in histories.get(member_of(s), [])}
        unseen += [(s.request, problem["detail"]) for problem in refusal(s) if problem["available"] not in had]
    assert not unseen, unseen


def assert_copies_answered_alike(sent: list[Sent], histories: Histories) -> None:
    differing = []
    for s in sent:
        applied = {(a.status, a.body) for a in s.answers if 200 <= a.status < 300}
        if len(applied) > 1:
            differing.append((s.request, sorted(applied)))
        elif applied and refusal(s):
            # The refused copy ran first and stored nothing, then the applied one: the refusal
            # saw a balance the member had before (since signing up), not the one it left.
            first = min(sequences(body(s)))
            earlier = {w.balance["available"] for w in histories[member_of(s)] if w.sequence < first}
            if not all(problem["available"] in earlier for problem in refusal(s)):
                differing.append((s.request, [(a.status, a.body) for a in s.answers]))
    assert not differing, differing


def assert_each_balance_follows_the_last(histories: Histories) -> None:
    for member, writes in histories.items():
        points = 0
        for write in writes:
            points += write.change
            assert write.balance == {"available": points, "pending": 0, "held": 0, "debt": 0}, (member, write, writes)


def assert_retries_answered_alike(base: str, token: str, sent: list[Sent]) -> None:
    """Retried later, an applied request gets the same bytes; another body under its key
    (or event id) is `idempotency-conflict`, and moves nothing."""
    applied = [s for s in sent if s.applied() is not None]
    with httpx.Client(base_url=base, timeout=60) as client:
        for s in applied[::10]:
            again, first = ask(client, token, s.request), s.applied()
            assert first is not None and (again.status, again.body) == (first.status, first.body), s.request
        for s in applied[5::20]:
            other = s.request.body | ({"points": s.request.body["points"] + 1} if s.request.kind == "redemption"
                                      else {"tags": ["changed"]})
            conflict = ask(client, token, replace(s.request, body=other))
            assert conflict.status == 409 and b"/problems/idempotency-conflict" in conflict.body, conflict


def assert_balances_add_up(base: str, token: str, sent: list[Sent], members: list[str]) -> dict[str, int]:
    expected: Counter[str] = Counter()
    for s in sent:
        expected.update(change(s))
    with httpx.Client(base_url=base, timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
        balances = {m: client.get(f"/v1/programs/{PROGRAM}/members/{m}/balance").json() for m in members}
    assert {m: (b["available"], b["pending"], b["held"], b["debt"]) for m, b in balances.items()} == {
        m: (expected[m], 0, 0, 0) for m in members}
    return {m: expected[m] for m in members}


def assert_the_audit_finds_the_balances(base: str, token: str, admin: str, url: str, points: dict[str, int],
                                        tmp_path: Path) -> None:
    """The served log, signed now, mirrored and audited from its entries alone."""
    signed = httpx.post(f"{base}/v1/log/checkpoints", headers={"Authorization": f"Bearer {admin}",
                                                               "Idempotency-Key": "audit-after-load"}, timeout=60)
    assert signed.status_code == 200, signed.text
    key = tmp_path / "log.vkey"
    key.write_text(httpx.get(f"{base}/v1/log/key").text)
    mirrored = dangol(url, "verify", "mirror", base, str(tmp_path / "mirror"), "--key", str(key))
    assert mirrored.exit_code == 0, mirrored.output
    audit = dangol(url, "verify", "audit", str(tmp_path / "mirror"), "--json")
    assert audit.exit_code == 0, audit.output
    audited = json.loads(audit.stdout)["programs"][PROGRAM]["members"]
    commitments = {m: httpx.get(f"{base}/v1/programs/{PROGRAM}/members/{m}/log-key",
                                headers={"Authorization": f"Bearer {token}"}).json()["commitment"] for m in points}
    assert {m: audited[c] for m, c in commitments.items()} == {
        m: {"available": p, "pending": 0, "held": 0, "debt": 0} for m, p in points.items()}


# ---------------------------------------------------------------- the test

@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_what_fifty_tills_were_told_adds_up_to_the_books(backend: str, request: pytest.FixtureRequest,
                                                          tmp_path: Path) -> None:
    url, options, processes = to_serve(backend, request, tmp_path, workers=4)
    services = Services.open(url, migrate=False)
    try:
        services.programs.create_program(PROGRAM, "Talent market", "KRW", POLICY)
        services.rulesets.publish(PROGRAM, MARKET, effective_from=services.clock.now())
        token = services.programs.create_api_key(PROGRAM, {Scope.READ, Scope.WRITE}, "tills")[1]
        admin = services.programs.create_api_key(None, {Scope.ADMIN}, "auditor")[1]
    finally:
        services.db.dispose()
    with served(url, tmp_path / "serve.log", *options, processes=processes) as server:
        sent = run_tills(server.url, token, [[signup] for signup in signups(MEMBERS)])
        members = [member_of(s) for s in sent]
        sent += run_tills(server.url, token, [Till(n, members).requests() for n in range(CLIENTS)])
        assert len(sent) == MEMBERS + CLIENTS * REQUESTS
        assert {s.request.kind for s in sent} == {"signup", "purchase", "review", "refund", "redemption"}
        assert sum(s.request.copies > 1 for s in sent) >= CLIENTS * REQUESTS // 20

        assert_only_redemptions_refused(sent)
        histories = history(sent)
        assert_refusals_saw_a_balance_the_member_had(sent, histories)
        assert_copies_answered_alike(sent, histories)
        assert_each_balance_follows_the_last(histories)
        assert_retries_answered_alike(server.url, token, sent)
        points = assert_balances_add_up(server.url, token, sent, members)
        assert_the_audit_finds_the_balances(server.url, token, admin, url, points, tmp_path)
    assert server.output().count("Started server process") == processes
    checked = dangol(url, "check")
    assert checked.exit_code == 0, checked.output
    assert_no_deadlocks(url)


def assert_no_deadlocks(url: str) -> None:
    """Writes lock members (and budgets) in one order, so PostgreSQL never had to abort one
    (a 503 to its till, retried, which the books could not tell from a full pool)."""
    if url.startswith("sqlite"):
        return
    services = Services.open(url, migrate=False)
    try:
        with services.db.read() as conn:
            deadlocks = conn.exec_driver_sql(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").scalar_one()
    finally:
        services.db.dispose()
    assert deadlocks == 0
