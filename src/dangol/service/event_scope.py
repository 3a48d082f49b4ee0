"""What the events service reads about a program and its members, remembered for the
length of one write (or read) transaction: the program, its rule policy and its ruleset
timeline are read once per transaction instead of once per event; a batch
(`EventService.record_many`) also loads its members, profiles, referrers and the counters
its events will read in a few queries up front.

Everything remembered while an event is judged is journalled: when the event fails, what
it read is forgotten, so the next event reads the database again. Counter increments of
an event are added to what is remembered, and to what the transaction writes at its end,
only once the event has succeeded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from ..domain import Program
from ..rules import Ruleset
from ..storage import tables as t
from ..storage.events_repository import EventsRepository
from ..storage.facts_repository import FactsRepository, LockedMember, Profile
from ..storage.ledger_repository import LedgerRepository
from ..storage.rulesets_repository import RulePolicy, RulesetRepository
from .rulesets import parsed

_MISSING = object()


@dataclass
class EventScope:
    conn: Connection
    program: Program
    policy: RulePolicy
    # (effective_from, number, hash) of every ruleset of the program, newest first.
    timeline: list[tuple[datetime, int, str]]
    members: dict[str, LockedMember | None] = field(default_factory=dict)
    profiles: dict[str, Profile] = field(default_factory=dict)
    referrers: dict[str, str | None] = field(default_factory=dict)
    # Order ids some purchase of the program names: loaded for a batch, and the batch's own purchases.
    orders: set[str] = field(default_factory=set)
    _orders_looked_up: set[str] = field(default_factory=set)
    # (owner, key) -> value; owner is the member id, or the program id for program/… keys.
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    # What the transaction's events added and the database does not have yet (written at the end).
    increments: dict[tuple[str, str], int] = field(default_factory=dict)
    _journal: list[tuple[dict[Any, Any], Any]] = field(default_factory=list)

    @classmethod
    def open(cls, conn: Connection, program_id: str, programs: dict[str, Program]) -> EventScope:
        program = LedgerRepository(conn, programs).get_program(program_id)
        table = t.rulesets
        rows = conn.execute(select(table.c.effective_from, table.c.number, table.c.hash)
                            .where(table.c.program_id == program_id)).all()
        timeline = sorted(((row[0], row[1], row[2]) for row in rows), reverse=True)
        return cls(conn, program, RulesetRepository(conn).policy(program_id), timeline)

    # ------------------------------------------------------------ rulesets

    def in_force(self, at: datetime) -> tuple[str, Ruleset] | None:
        """As RulesetService.in_force: the latest effective by `at`, the last published of a tie."""
        for effective_from, _, digest in self.timeline:
            if effective_from <= at:
                return digest, parsed(self.conn, self.program.id, digest)
        return None

    # ------------------------------------------------------------ members

    def member(self, member_id: str) -> LockedMember | None:
        found = self.members.get(member_id, _MISSING)
        if found is _MISSING:
            row = self.conn.execute(select(t.members.c.id, t.members.c.program_id, t.members.c.status,
                                           t.members.c.enrolled_at).where(t.members.c.id == member_id)).first()
            found = None if row is None else LockedMember(row.id, row.program_id, row.status, row.enrolled_at)
            self._remember(self.members, member_id, found)
        return found  # type: ignore[return-value]

    def profile(self, member_id: str) -> Profile:
        found = self.profiles.get(member_id)
        if found is None:
            found = FactsRepository(self.conn).profile(member_id)
            self._remember(self.profiles, member_id, found)
        return found

    def referrer_of(self, member_id: str) -> str | None:
        found = self.referrers.get(member_id, _MISSING)
        if found is _MISSING:
            found = EventsRepository(self.conn).referrer_of(member_id)
            self._remember(self.referrers, member_id, found)
        return found  # type: ignore[return-value]

    def counter(self, owner: str, key: str) -> int:
        found = self.counters.get((owner, key))
        if found is None:
            facts = FactsRepository(self.conn)
            found = (facts.program_counter(owner, key) if key.startswith("program/")
                     else facts.member_counter(owner, key)) + self.increments.get((owner, key), 0)
            self._remember(self.counters, (owner, key), found)
        return found

    def order_exists(self, order_id: str) -> bool:
        """Whether some purchase of the program names the order (recorded, or earlier in this batch)."""
        if order_id not in self._orders_looked_up:
            self.load_orders([order_id])
        return order_id in self.orders

    def load_orders(self, order_ids: Iterable[str]) -> None:
        """The recorded purchases' order ids among these, in one query per thousand ids."""
        wanted = set(order_ids) - self._orders_looked_up
        if wanted:
            self.orders |= EventsRepository(self.conn).purchased_orders(self.program.id, sorted(wanted))
            self._orders_looked_up |= wanted

    # ------------------------------------------------------------ a batch, up front

    def preload(self, member_ids: Iterable[str], counter_keys: Mapping[str, set[str]],
                held: Mapping[str, LockedMember] | None = None) -> None:
        """Members (locked on PostgreSQL, in id order, as one event locks its own, unless
        `held` has them: locked by the transaction already), their profiles and referrers,
        and the named member counters (a key absent from the table is 0)."""
        ids = sorted(set(member_ids))
        if not ids:
            return
        facts = FactsRepository(self.conn)
        held = held or {}
        self.members.update({i: held[i] for i in ids if i in held})
        self.members.update(facts.lock_members(i for i in ids if i not in held))
        self.members.update({i: None for i in ids if i not in self.members})
        present = [i for i in ids if self.members[i] is not None]
        if not present:
            return
        found = facts.profiles(present)
        self.profiles.update({i: found.get(i) or Profile(i) for i in present})
        referrers = EventsRepository(self.conn).referrers_of(present)
        self.referrers.update({i: referrers.get(i) for i in present})
        pairs = sorted((member_id, key) for member_id in present for key in counter_keys.get(member_id, ()))
        self.counters.update(dict.fromkeys(pairs, 0))  # a key absent from the table is 0
        self.counters.update(facts.member_counters(pairs))

    # ------------------------------------------------------------ one event's journal

    def _remember(self, cache: dict[Any, Any], key: Any, value: Any) -> None:
        cache[key] = value
        self._journal.append((cache, key))

    def succeeded(self, increments: Sequence[tuple[str, Mapping[str, int]]]) -> None:
        """The event succeeded: keep what it read, and add its counter increments to the
        counters already known and to those the transaction will write."""
        self._journal.clear()
        for owner, changes in increments:
            for key, amount in changes.items():
                if not amount:
                    continue
                if (owner, key) in self.counters:
                    self.counters[(owner, key)] += amount
                self.increments[(owner, key)] = self.increments.get((owner, key), 0) + amount

    def take_increments(self) -> tuple[list[tuple[str, str, int]], list[tuple[str, str, int]]]:
        """The increments to write, members' and program's, as (owner, key, amount) rows in
        key order (the order rows are locked in on PostgreSQL); forgotten once taken."""
        rows = sorted((owner, key, amount) for (owner, key), amount in self.increments.items() if amount)
        self.increments = {}
        return ([r for r in rows if not r[1].startswith("program/")], [r for r in rows if r[1].startswith("program/")])

    def failed(self) -> None:
        """The event failed before it changed anything: forget all it read."""
        for cache, key in self._journal:
            cache.pop(key, None)
        self._journal.clear()
