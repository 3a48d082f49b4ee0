"""Tills under load: CLIENTS clients, each a thread with its own HTTP connection, sending
REQUESTS requests to a served program: business events through the example rules
(purchases, reviews, refunds of their own earlier purchases) and redemptions, for members
that every client shares. Now and then a till sends a request twice at once, as one
retrying after a timeout does, under the same key (or event id). Every answer is kept, for
the test to add up against the books."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from .test_served_duplicates import Answer, is_in_flight_conflict

CLIENTS = 50
REQUESTS = 20  # per client: the load is bounded, so that the servers get the machine
MEMBERS = 12
DUPLICATED = 0.1  # the share of requests sent twice at once
API = "/v1/programs/market"


@dataclass(frozen=True)
class Request:
    kind: str  # signup, purchase, review, refund or redemption
    member: str | None  # None: a signup, which makes the member
    path: str
    body: dict[str, Any]
    key: str | None  # the Idempotency-Key; None for an event, idempotent by its event_id
    copies: int = 1

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}", **({"Idempotency-Key": self.key} if self.key else {})}


@dataclass
class Sent:
    request: Request
    answers: list[Answer]  # one per copy, once no copy is in flight any more

    def applied(self) -> Answer | None:
        """The answer of the copy that was applied; a refusal stores nothing."""
        done = [a for a in self.answers if 200 <= a.status < 300]
        return done[0] if done else None


@dataclass
class Till:
    """One client's script: which members it buys for, and its own orders, which it may
    review or refund later (never more than is left of them)."""

    number: int
    members: list[str]
    rng: random.Random = field(init=False)
    orders: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.number)

    def requests(self) -> list[Request]:
        return [self._next(n) for n in range(REQUESTS)]

    def _next(self, n: int) -> Request:
        rng, ref = self.rng, f"till-{self.number}/{n}"
        copies = 2 if rng.random() < DUPLICATED else 1
        roll = rng.random()
        refundable = [o for o in self.orders if o["left"] > 0]
        if roll < 0.15 and refundable:
            order = rng.choice(refundable)
            body: dict[str, Any] = {"event_id": ref, "type": "refund", "member_id": order["member"],
                                    "order_id": order["id"]}
            if order["left"] == order["amount"] and rng.random() < 0.5:  # half now, perhaps the rest later
                body["amount"] = {"amount": order["amount"] // 2, "currency": "KRW"}
                order["left"] -= order["amount"] // 2
            else:
                order["left"] = 0
            return Request("refund", order["member"], f"{API}/events", body, None, copies)
        if roll < 0.3 and self.orders:
            order = rng.choice(self.orders)  # a second review of an order earns nothing: a cap
            return Request("review", order["member"], f"{API}/events",
                           {"event_id": ref, "type": "review", "member_id": order["member"], "order_id": order["id"]},
                           None, copies)
        member = rng.choice(self.members)
        if roll < 0.6:
            points = rng.choice([1_000, 1_000, 2_000, 3_000, 10_000_000])  # the last is always refused
            return Request("redemption", member, f"{API}/members/{member}/redeem", {"points": points}, ref, copies)
        amount = rng.randrange(5_000, 90_000, 1_000)
        self.orders.append({"id": f"order-{self.number}-{n}", "member": member, "amount": amount, "left": amount})
        category = rng.choice(["design", "development", "writing"])
        return Request("purchase", member, f"{API}/events",
                       {"event_id": ref, "type": "purchase", "member_id": member, "order_id": f"order-{self.number}-{n}",
                        "amount": {"amount": amount, "currency": "KRW"},
                        "items": [{"category": category, "amount": amount, "quantity": 1}]}, None, copies)


def signups(count: int) -> list[Request]:
    """The shared members, each signing up twice at once (a till retrying)."""
    return [Request("signup", None, f"{API}/events",
                    {"event_id": f"signup-{n}", "type": "signup", "external_ref": f"customer-{n}"}, None, 2)
            for n in range(count)]


def send(client: httpx.Client, token: str, request: Request) -> Sent:
    """Every copy of the request at once; a copy told another is still in flight (409
    `conflict`, Retry-After) asks again, as a till would, until it gets an answer."""
    answers: list[Answer | BaseException | None] = [None] * request.copies
    start = threading.Barrier(request.copies)

    def one(index: int) -> None:
        start.wait()
        try:
            answers[index] = ask(client, token, request)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            answers[index] = error

    helpers = [threading.Thread(target=one, args=(i,)) for i in range(1, request.copies)]
    for helper in helpers:
        helper.start()
    one(0)
    for helper in helpers:
        helper.join()
    failed = [a for a in answers if not isinstance(a, Answer)]
    assert not failed, f"{request}: {failed}"
    return Sent(request, answers)  # type: ignore[arg-type]


def ask(client: httpx.Client, token: str, request: Request) -> Answer:
    """The request's answer, asked again after Retry-After, as a till does, while another
    copy is in flight or the database is unavailable (503: on a PostgreSQL server shared with
    other clients, all its connections may be taken for a moment)."""
    for _ in range(30):
        response = client.post(request.path, content=orjson.dumps(request.body),
                               headers={**request.headers(token), "Content-Type": "application/json"})
        answer = Answer(response.status_code, response.content, response.headers.get("retry-after"))
        if not (is_in_flight_conflict(answer) or (answer.status == 503 and answer.retry_after)):
            return answer
        time.sleep(float(answer.retry_after or 1))
    raise AssertionError(f"{request} got no answer in 30 tries")


def run_tills(base: str, token: str, scripts: list[list[Request]]) -> list[Sent]:
    """Each script on a thread of its own, with its own connection, all released at once."""
    sent: list[list[Sent] | BaseException | None] = [None] * len(scripts)
    start = threading.Barrier(len(scripts))

    def till(index: int) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            start.wait()
            try:
                sent[index] = [send(client, token, request) for request in scripts[index]]
            except BaseException as error:  # noqa: BLE001 - reported by the test
                sent[index] = error

    threads = [threading.Thread(target=till, args=(i,)) for i in range(len(scripts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    failed = [s for s in sent if not isinstance(s, list)]
    assert not failed, failed
    return [s for script in sent for s in script]  # type: ignore[union-attr]
