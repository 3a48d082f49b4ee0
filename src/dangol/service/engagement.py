"""Engagement use cases: what an event's evaluation means for coupons, badges and
challenges (`apply`, called by the events endpoint inside its transaction), redeeming a
coupon, and a member's coupons, badges and challenges.

Challenges progress from their own goals (every event `apply` sees is offered to every
challenge of the ruleset) plus what rules' `advance_challenge` actions add; see
engagement/challenges.py. A completed challenge's points go through the ledger in the
same transaction, as an earn with rule id `challenge:<id>` and the ruleset's hash.

`EngagementSession` is the one implementation: the events of one transaction on the
members' state in memory, written at its `flush`, the rewards' earns through the caller's
`earn` (the events service defers its ledger writes to the end of a batch); `apply` and
`apply_many` are a session each."""

from __future__ import annotations

import hashlib
import secrets
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date, datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from ..domain import commands as cmd
from ..domain.clock import Clock, SystemClock
from ..domain.errors import Conflict, DomainError, IdempotencyConflict, InvalidRequest
from ..engagement import (BenefitKind, Challenge, CouponError, CouponTemplate, IssuedCoupon, Item, Occurrence,
                          PeriodKind, Profile, advance, contribution)
from ..rules import Evaluation, Ruleset, ruleset_hash
from ..storage.database import Database
from ..storage.engagement_repository import EngagementBook, EngagementRepository
from ..storage.ledger_repository import LedgerRepository
from .ledger import LedgerService, Operation
from .notifications import outbox
from .receipts import iso

Effects = dict[str, list[dict[str, Any]]]
Earn = Callable[[Operation], dict[str, Any]]  # applies one ledger Operation, returns its receipt
RulesetSource = Callable[[str, datetime], Ruleset | None]
EventSeen = Occurrence | Mapping[str, Any]  # what `occurrence_of` reads an event from


class UnknownCoupon(DomainError):
    code = "unknown-coupon"
    title = "Unknown coupon"


_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# A random byte's value modulo 32 is uniform over the 32 letters (256 = 8 x 32): one call
# to the system's randomness per code, rather than one `secrets.choice` per character.
_CODE_LETTERS = bytes(ord(_CODE_ALPHABET[b % len(_CODE_ALPHABET)]) for b in range(256))


def new_coupon_code() -> str:
    """12 characters from an alphabet without look-alikes (0/O, 1/I): read aloud at a till."""
    return secrets.token_bytes(12).translate(_CODE_LETTERS).decode("ascii")


class EngagementService:
    def __init__(self, db: Database, ledger: LedgerService, clock: Clock | None = None,
                 codes: Callable[[], str] = new_coupon_code, rulesets: RulesetSource | None = None) -> None:
        self.db = db
        self.ledger = ledger
        self.clock = clock or SystemClock()
        self.codes = codes
        self.rulesets = rulesets or (lambda program_id, at: None)

    # ------------------------------------------------------------ the events endpoint's hook

    def apply(self, conn: Connection, program: Any, member_id: str, event: EventSeen, evaluation: Evaluation,
              at: datetime, ruleset: Ruleset | None = None, *, write: bool = True) -> Effects:
        """Issues the evaluation's coupons, awards its badges, advances every challenge the
        event counts for and grants the rewards of those it completes, in `conn`'s
        transaction. `program` is a program id or a Program; `event` an Occurrence or an
        events API body (a mapping), whose items say what a category challenge counts;
        `ruleset` the one that evaluated it (looked up by `rulesets` when not given). With
        `write=False` (a quote) nothing is written: the effects are what would happen
        (coupons without a code, rewards without a transaction)."""
        return self.apply_many(conn, program, [(member_id, event, evaluation, at)], ruleset, write=write)[0]

    def apply_many(self, conn: Connection, program: Any,
                   items: Sequence[tuple[str, EventSeen, Evaluation, datetime]], ruleset: Ruleset | None = None,
                   *, write: bool = True) -> list[Effects]:
        """`apply` for a batch of events (member id, event, evaluation, time), in order, with
        the same effects as one call each: one `EngagementSession`, its members read in a few
        queries and its rows written in a few statements (an import, a replay)."""
        if not items:
            return []
        program_id = program if isinstance(program, str) else str(program.id)
        ruleset = ruleset or self.rulesets(program_id, items[0][3])
        if ruleset is None:
            raise InvalidRequest(f"no ruleset in force for program {program_id}")
        session = EngagementSession(self, conn, program_id, write=write)
        if len(items) > 1:  # one event: reading on first need reads only what it needs
            session.preload({member_id for member_id, *_ in items}, ruleset)
        results = [session.apply(member_id, event, evaluation, at, ruleset)
                   for member_id, event, evaluation, at in items]
        session.flush()
        return results

    # ------------------------------------------------------------ coupons

    def redeem_coupon(self, program_id: str, code: str, idempotency_key: str, order_amount: int | None = None) -> dict[str, Any]:
        """Marks the coupon redeemed (a points coupon credits its points through the ledger,
        in the same transaction). The same key and request again get the same answer, even
        when the two arrive at once."""
        if order_amount is not None and order_amount < 0:
            raise InvalidRequest("order_amount must not be negative")
        request = hashlib.sha256(repr(("redeem-coupon", code, order_amount)).encode()).hexdigest()[:32]
        # A concurrent request with the same key, for another coupon, may store it first
        # (PostgreSQL): run again and answer from its row.
        return self.db.retrying_races(
            lambda: self._redeem_coupon(program_id, code, idempotency_key, order_amount, request))

    def _redeem_coupon(self, program_id: str, code: str, idempotency_key: str, order_amount: int | None,
                       request: str) -> dict[str, Any]:
        now = self.clock.now()
        with self.db.write() as conn:
            ledger_repo = LedgerRepository(conn)
            ledger_repo.get_program(program_id)
            repo = EngagementRepository(conn)
            found = repo.coupon(program_id, code, lock=True)
            # The key is looked up only with the coupon locked: a retry that raced the original
            # waited for it on the lock and now sees its answer, not a coupon "already redeemed".
            stored = ledger_repo.idempotent_responses(program_id, [idempotency_key]).get(idempotency_key)
            if stored is not None:
                if stored[0] != request:
                    raise IdempotencyConflict(f"idempotency key {idempotency_key!r} was used for a different request")
                return dict(stored[1])
            if found is None:
                raise UnknownCoupon(f"no coupon {code!r} in program {program_id}")
            coupon, name = found
            try:
                redeemed = coupon.redeem(now)
            except CouponError as refused:
                raise Conflict(str(refused), reason=refused.reason) from None
            repo.mark_redeemed(code, now)
            receipt: dict[str, Any] = {"coupon": coupon_json(redeemed, name, now), "discount": None, "points": None}
            if coupon.gives.kind is BenefitKind.POINTS:
                earn = cmd.Earn(coupon.member_id, points=coupon.gives.value, reason=f"coupon {code}",
                                rule_id=f"coupon:{coupon.template}")
                receipt["points"] = self.ledger.apply_in(conn, program_id, [Operation(earn, f"coupon:{code}", now)])[0]
            elif order_amount is not None:
                receipt["discount"] = coupon.gives.discount_on(order_amount)
            ledger_repo.remember_responses(program_id, [(idempotency_key, request, receipt)], now)
        return receipt

    # ------------------------------------------------------------ reads

    def coupons(self, program_id: str, member_id: str) -> list[dict[str, Any]]:
        now = self.clock.now()
        with self.db.read() as conn:
            return [coupon_json(c, name, now) for c, name in EngagementRepository(conn).coupons(program_id, member_id)]

    def badges(self, program_id: str, member_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = EngagementRepository(conn).badges(program_id, member_id)
        return [{**row, "awarded_at": iso(row["awarded_at"])} for row in rows]

    def challenges(self, program_id: str, member_id: str) -> list[dict[str, Any]]:
        with self.db.read() as conn:
            rows = EngagementRepository(conn).progress_rows(program_id, member_id)
        return [{"challenge": r["challenge"], "period": r["period"],
                 "progress": r["streak"] if r["period"] == "streak" else r["value"], "target": r["target"],
                 "completions": r["completions"], "completed_at": iso(r["completed_at"]),
                 **({"week": r["week"], "week_progress": r["value"]} if r["period"] == "streak" else {})}
                for r in rows]

    def profile(self, program_id: str, member_id: str) -> Profile:
        with self.db.read() as conn:
            found = EngagementRepository(conn).profiles(program_id, [member_id])
        return found[0] if found else Profile(member_id)


class EngagementSession:
    """Engagement for the events of one transaction (a batch of the events service): what
    it reads of a member is read once (`preload` for the batch, or on first need), what the
    events change is kept in memory, so that each event sees the ones before it, and
    written at `flush`. A challenge's points go through `earn`, which applies one ledger
    Operation and returns its receipt; by default `ledger.apply_in` in `conn`, at once."""

    def __init__(self, service: EngagementService, conn: Connection, program_id: str, *, write: bool,
                 earn: Earn | None = None) -> None:
        self.service, self.conn, self.program_id, self.write = service, conn, program_id, write
        self.earn: Earn = earn or self._apply_in
        self.book = EngagementBook(conn, program_id, write=write)
        self._rulesets: dict[int, _RulesetView] = {}
        self.notices: list[outbox.Notice] = []  # coupons issued, challenges completed: written at `flush`

    def preload(self, member_ids: Collection[str], ruleset: Ruleset) -> None:
        """Reads the members' progress in the ruleset's challenges, their badges, coupons
        issued and time zones: a few queries for all of them."""
        self.book.load(member_ids, [c.id for c in ruleset.challenges])

    def apply(self, member_id: str, event: EventSeen, evaluation: Evaluation, at: datetime,
              ruleset: Ruleset) -> Effects:
        """`EngagementService.apply` of one event, on the session's memory."""
        view = self._view(ruleset)
        moved = view.moves(event, evaluation)
        if moved:  # the member's progress in all of them in one query, when not read yet
            self.book.load_progress([member_id], [c.id for c, _ in moved])
        run = _Run(self, member_id, view, at)
        for coupon in evaluation.coupons:
            run.issue(coupon.template, coupon.rule_id)
        for badge in evaluation.badges:
            run.badge(badge.badge, badge.rule_id)
        for challenge, amount in moved:
            run.challenge(challenge, amount)
        return run.effects

    def flush(self) -> None:
        """Writes the coupons, badges and progress of the events applied since the last
        flush (nothing with `write=False`)."""
        if self.write:
            self.book.flush()
            outbox.write(self.conn, self.notices)
        self.notices = []

    def _view(self, ruleset: Ruleset) -> _RulesetView:
        view = self._rulesets.get(id(ruleset))  # a view holds its ruleset: the id is not reused meanwhile
        if view is None:
            view = self._rulesets[id(ruleset)] = _RulesetView(ruleset)
        return view

    def _apply_in(self, operation: Operation) -> dict[str, Any]:
        outcome = self.service.ledger.apply_in(self.conn, self.program_id, [operation])[0]
        if isinstance(outcome, DomainError):  # apply_in raises its failures; this keeps the type honest
            raise outcome
        return outcome


class _RulesetView:
    """What events read of a ruleset, worked out once per session."""

    def __init__(self, ruleset: Ruleset) -> None:
        self.ruleset = ruleset
        self.templates: dict[str, CouponTemplate] = {t.id: t for t in ruleset.coupons}
        # The challenges whose goal counts each event type, in the ruleset's order: an event
        # is offered only to those (the others' goals would count 0 of it).
        self.counting: dict[str, list[Challenge]] = defaultdict(list)
        for challenge in ruleset.challenges:
            for event_type in set(challenge.goal.on):
                self.counting[event_type].append(challenge)

    def moves(self, event: EventSeen, evaluation: Evaluation) -> list[tuple[Challenge, int]]:
        """The challenges an event moves and by how much: its goal's count plus rules' advances."""
        if not self.ruleset.challenges:
            return []
        occurrence = occurrence_of(event)
        extra: dict[str, int] = {}
        for progress in evaluation.challenges:
            extra[progress.challenge] = extra.get(progress.challenge, 0) + progress.amount
        # Without rules' advances (the usual case) only goals counting the event's type move.
        candidates = self.ruleset.challenges if extra else self.counting.get(occurrence.type, ())
        return [(c, amount) for c in candidates
                if (amount := contribution(c.goal, occurrence) + extra.get(c.id, 0)) > 0]

    @cached_property
    def hash(self) -> str:
        return ruleset_hash(self.ruleset)


class _Run:
    """One event's engagement: the effects gathered as they happen."""

    def __init__(self, session: EngagementSession, member_id: str, view: _RulesetView, at: datetime) -> None:
        self.session, self.book, self.write = session, session.book, session.write
        self.member_id, self.view, self.at = member_id, view, at
        self.effects: Effects = {"coupons": [], "badges": [], "challenges": [], "points": [], "withheld": []}
        self._day: date | None = None

    @property
    def day(self) -> date:
        """The member's local date: what calendar periods are counted in. Worked out on first
        need (not a `cached_property`: in Python 3.11 that takes a lock, once per event here)."""
        if self._day is None:
            self._day = self.at.astimezone(ZoneInfo(self.book.time_zone(self.member_id))).date()
        return self._day

    def issue(self, template_id: str, source: str) -> str | None:
        template: CouponTemplate | None = self.view.templates.get(template_id)
        if template is None:  # validation refuses this; an evaluation from another ruleset would not
            self.effects["withheld"].append({"rule_id": source, "reason": f"no coupon template {template_id}"})
            return None
        if not template.may_issue(self.book.issued_count(self.member_id, template_id)):
            self.effects["withheld"].append({"rule_id": source, "reason": f"coupon {template_id}: at most "
                                             f"{template.per_member} per member"})
            return None
        coupon = IssuedCoupon(self.session.service.codes() if self.write else "", template.id, self.member_id,
                              template.gives, self.at, template.expiry(self.at), source)
        self.book.add_coupon(coupon, template.name)  # a quote's counts too: its next events see it
        if not self.write:  # a quote: the coupon it would issue, without a code
            self.effects["coupons"].append({**coupon_json(coupon, template.name, self.at), "code": None})
            return None
        self.effects["coupons"].append(coupon_json(coupon, template.name, self.at))
        self.session.notices.append(outbox.coupon_notice(self.book.program_id, self.member_id, coupon.code,
                                                         template.id, template.name, self.at, coupon.expires_at))
        return coupon.code

    def badge(self, badge: str, source: str) -> bool:
        if not self.book.award_badge(self.member_id, badge, source, self.at):
            return False  # once per member: already has it
        self.effects["badges"].append({"badge": badge, "source": source, "awarded_at": iso(self.at)})
        return True

    def challenge(self, challenge: Challenge, amount: int) -> None:
        book, member, day = self.book, self.member_id, self.day
        step = advance(challenge, book.get(member, challenge.id, challenge.period_key(day)), amount, day,
                       self.at, book.completed(member, challenge.id))
        if step is None:
            return
        progress = step.progress
        book.put(member, challenge.id, challenge.target, progress, self.at)
        entry: dict[str, Any] = {"challenge": challenge.id, "name": challenge.name, "period": progress.period,
                                 "progress": step.shown(challenge), "target": challenge.target,
                                 "completed": step.completed}
        if challenge.period is PeriodKind.STREAK:
            entry.update(week=progress.week, week_progress=progress.value)
        self.effects["challenges"].append(entry)
        if step.completed:
            self.session.notices.append(outbox.challenge_notice(self.book.program_id, member, challenge.id,
                                                                progress.period, self.at))
            entry["rewards"] = self.reward(challenge, f"{progress.period}#{progress.completions}")

    def reward(self, challenge: Challenge, occasion: str) -> dict[str, Any]:
        rewards, source = challenge.rewards, f"challenge:{challenge.id}"
        granted: dict[str, Any] = {"points": 0, "badge": None, "coupon": None}
        if rewards.points:
            earn = cmd.Earn(self.member_id, points=rewards.points, reason=f"challenge {challenge.id} completed",
                            rule_id=source, ruleset_hash=self.view.hash)
            # The key makes the reward once per member, challenge and completion, whatever happens.
            key = f"{source}:{self.member_id}:{occasion}"
            receipt = self.session.earn(Operation(earn, key, self.at)) if self.write else {}
            self.effects["points"].append({"rule_id": source, "points": rewards.points, "member_id": self.member_id,
                                           "to": "member", "transaction": receipt.get("transaction"),
                                           "log": receipt.get("log", [])})
            granted["points"] = rewards.points
        if rewards.badge and self.badge(rewards.badge, source):
            granted["badge"] = rewards.badge
        if rewards.coupon:
            granted["coupon"] = self.issue(rewards.coupon, source)
        return granted


def coupon_json(coupon: IssuedCoupon, name: str, now: datetime) -> dict[str, Any]:
    return {"code": coupon.code, "template": coupon.template, "name": name, "gives": coupon.gives.as_json(),
            "member_id": coupon.member_id, "state": coupon.state_at(now).value, "source": coupon.source,
            "issued_at": iso(coupon.issued_at), "expires_at": iso(coupon.expires_at),
            "redeemed_at": iso(coupon.redeemed_at)}


def occurrence_of(event: EventSeen) -> Occurrence:
    """What challenges count of an event: an Occurrence as it is, or an events API body (a
    mapping) with its items. Never a rules Event: it names the order's categories but not
    what each was worth, so a category challenge would count the whole order."""
    if isinstance(event, Occurrence):
        return event
    amount = event.get("amount") or 0
    items = tuple(Item(str(i.get("category", "")), int(i.get("amount", 0)), int(i.get("quantity", 1)))
                  for i in event.get("items") or ())
    return Occurrence(str(event["type"]), int(amount["amount"] if isinstance(amount, Mapping) else amount), items)
