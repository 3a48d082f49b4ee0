"""Publishing rulesets: validated, content-addressed, never retroactive, versioned with their
whole history, and changed for the worse only with notice (docs/rules.md, "Publishing").

A ruleset's effective time is part of its content: publishing with another effective time
than the document's rewrites that field, so the hash always names what is in force when."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from ..domain.clock import Clock, SystemClock, as_utc
from ..domain.errors import (InvalidRequest, InvalidRulesetDocument, NoRulesInForce, NoticeRequired,
                             UnknownRuleset)
from ..rules import InvalidRuleset, Ruleset, canonical_json, ruleset_hash
from ..rules.changes import compare, worsens
from ..rules.errors import format_path
from ..rules.loader import load_ruleset
from ..storage.database import Database
from ..storage.facts_repository import FactsRepository
from ..storage.ledger_repository import LedgerRepository
from ..storage.rulesets_repository import PublishedRuleset, RulePolicy, RulesetRepository
from ..transparency.entry import RulesetEntry
from .log_writer import LogWriter
from .receipts import iso
from .remembered import Remembered

# A publisher's clock a little behind ours is not retroactivity; anything more is.
PUBLISH_SKEW = timedelta(minutes=5)
MAX_NOTICE_DAYS = 3650
MAX_REASON = 500
CACHE_SIZE = 256
# Serialises a program's publications: each is judged against the one before it, and a retry
# sent while its original is in flight waits for it here, then finds its answer.
PUBLICATION_LOCK = "program/rulesets/lock"


def parse_document(text: str, format: str | None = None) -> Ruleset:
    """The validated ruleset of a YAML or JSON document; InvalidRulesetDocument lists every
    mistake with its line and field."""
    fmt = format or ("json" if text.lstrip().startswith("{") else "yaml")
    try:
        return load_ruleset(text, fmt)
    except InvalidRuleset as error:
        problems = error.problems
        raise InvalidRulesetDocument(f"{len(problems)} problem(s) in the ruleset: " + "; ".join(map(str, problems)),
                                     problems=[problem_json(p) for p in problems]) from None


def problem_json(problem: Any) -> dict[str, Any]:
    return {"line": problem.line, "field": format_path(problem.path), "message": problem.message,
            "column": problem.column}


def validation_json(ruleset: Ruleset) -> dict[str, Any]:
    return {"valid": True, "hash": ruleset_hash(ruleset), "program": ruleset.program, "version": ruleset.version,
            "effective_from": iso(ruleset.effective_from), "rules": len(ruleset.rules)}


class _ParsedCache:
    """Parsed rulesets by hash, per process: parsing and compiling a document per event
    would cost more than evaluating it."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, Ruleset] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, digest: str) -> Ruleset | None:
        """The parsed ruleset of this hash if this process has it (no database read needed)."""
        with self._lock:
            found = self._items.get(digest)
            if found is not None:
                self._items.move_to_end(digest)
            return found

    def get(self, published: PublishedRuleset) -> Ruleset:
        with self._lock:
            found = self._items.get(published.hash)
            if found is not None:
                self._items.move_to_end(published.hash)
                return found
        ruleset = _rebuild(published)
        with self._lock:
            self._items[published.hash] = ruleset
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return ruleset


def _rebuild(published: PublishedRuleset) -> Ruleset:
    ruleset = dataclasses.replace(parse_document(published.source), effective_from=published.effective_from)
    if ruleset_hash(ruleset) != published.hash:  # the stored source no longer gives what was published
        raise RuntimeError(f"ruleset {published.hash} of {published.program_id} does not hash to itself")
    return ruleset


PARSED = _ParsedCache()


class RulesetService:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # ------------------------------------------------------------ policy

    def policy(self, program_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            return policy_json(RulesetRepository(conn).policy(program_id))

    def set_policy(self, program_id: str, notice_days: int, default_time_zone: str) -> dict[str, Any]:
        if type(notice_days) is not int or not 0 <= notice_days <= MAX_NOTICE_DAYS:
            raise InvalidRequest(f"notice_days is a whole number of days from 0 to {MAX_NOTICE_DAYS}")
        require_time_zone(default_time_zone)
        policy = RulePolicy(program_id, notice_days, default_time_zone)
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            RulesetRepository(conn).save_policy(policy, self.clock.now())
        return policy_json(policy)

    # ------------------------------------------------------------ publishing

    def publish(self, program_id: str, text: str, *, format: str | None = None,
                effective_from: datetime | None = None, urgent: bool = False, reason: str | None = None,
                idempotency_key: str | None = None,
                also: Callable[[Connection, dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """`also` writes the caller's own rows (the console's audit entry) in the publication's
        transaction, only when it is new (not an idempotent replay)."""
        request = {"publish": program_id, "text": text, "format": format,
                   "effective_from": iso(effective_from), "urgent": urgent, "reason": reason}
        ruleset = parse_document(text, format)
        if effective_from is not None:
            ruleset = dataclasses.replace(ruleset, effective_from=as_utc(effective_from))
        reason = (reason or "").strip() or None
        if urgent and not reason:
            raise InvalidRequest("an urgent change needs a reason: it is shown to members")
        if reason and len(reason) > MAX_REASON:
            raise InvalidRequest(f"the reason is at most {MAX_REASON} characters")
        with self.db.write() as conn:
            program = LedgerRepository(conn).get_program(program_id)
            FactsRepository(conn).lock_program_counters(program_id, {PUBLICATION_LOCK})
            remembered = Remembered(conn, program_id, idempotency_key, request)
            previous = remembered.previous()
            if previous is not None:
                return dict(previous)
            if ruleset.program != program.id:
                raise InvalidRequest(f"the ruleset is for program {ruleset.program!r}, not {program.id!r}")
            if ruleset.currency != program.currency:
                raise InvalidRequest(f"the ruleset counts in {ruleset.currency}; program {program.id} "
                                     f"in {program.currency}")
            now = self.clock.now()
            if ruleset.effective_from < now - PUBLISH_SKEW:
                raise InvalidRequest(
                    f"effective_from {iso(ruleset.effective_from)} is in the past: rules are never retroactive "
                    f"(publish with an effective time from now on, e.g. --effective-from)")
            repo = RulesetRepository(conn)
            digest = ruleset_hash(ruleset)
            existing = repo.by_hash(program_id, digest)
            if existing is not None:
                raise InvalidRequest(f"this ruleset is already published as number {existing.number} ({digest})")
            before = repo.in_force(program_id, ruleset.effective_from)
            changes = compare(PARSED.get(before), ruleset) if before is not None else ()
            policy = repo.policy(program_id)
            notice_until = now + timedelta(days=policy.notice_days)
            if worsens(changes) and ruleset.effective_from < notice_until and not urgent:
                worse = [c.as_json() for c in changes if c.worsens]
                raise NoticeRequired(
                    f"this change worsens members' earning ({'; '.join(_say(c) for c in worse)}): it needs "
                    f"{policy.notice_days} days' notice, so it can take effect from {iso(notice_until)}; "
                    f"or publish it as urgent, with a reason members will see",
                    earliest_effective_from=iso(notice_until), worsening=worse)
            published = PublishedRuleset(
                program_id, repo.next_number(program_id), digest, ruleset.version, ruleset.effective_from, now,
                urgent, reason if urgent else None, [c.as_json() for c in changes],
                canonical_json(ruleset).decode("utf-8"), text)
            repo.add(published)
            on_published(conn, published)
            result = dict(remembered.remember(ruleset_json(published, now, with_document=False), now))
            if also is not None:
                also(conn, result)
            return result

    # ------------------------------------------------------------ reading

    def history(self, program_id: str) -> dict[str, Any]:
        """Every ruleset ever published, newest first, with what changed and its status."""
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = RulesetRepository(conn)
            items = repo.all(program_id)
            policy = repo.policy(program_id)
            now = self.clock.now()
            current = repo.in_force(program_id, now)
        return {"program": program_id, "policy": policy_json(policy),
                "current": current.hash if current else None,
                "items": [ruleset_json(p, now, current) for p in reversed(items)]}

    def current(self, program_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            now = self.clock.now()
            found = RulesetRepository(conn).in_force(program_id, now)
        if found is None:
            raise NoRulesInForce(f"program {program_id} has no ruleset in force")
        return ruleset_json(found, now, found, with_document=True)

    def upcoming(self, program_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            now = self.clock.now()
            items = [p for p in RulesetRepository(conn).all(program_id) if p.effective_from > now]
        items.sort(key=lambda p: (p.effective_from, p.number))
        return {"program": program_id, "items": [ruleset_json(p, now, with_document=True) for p in items]}

    def get(self, program_id: str, digest: str) -> dict[str, Any]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = RulesetRepository(conn)
            found = repo.by_hash(program_id, digest)
            now = self.clock.now()
            current = repo.in_force(program_id, now)
        if found is None:
            raise UnknownRuleset(f"program {program_id} has published no ruleset {digest}")
        return ruleset_json(found, now, current, with_document=True)

    def parsed_current(self, program_id: str) -> Ruleset | None:
        with self.db.read() as conn:
            found = self.in_force(conn, program_id, self.clock.now())
        return None if found is None else found[1]

    def in_force(self, conn: Connection, program_id: str, at: datetime) -> tuple[str, Ruleset] | None:
        """(hash, parsed ruleset) in force for the program at `at`, inside the caller's transaction."""
        # The hash first: the parsed ruleset is usually in the process's cache, and the
        # document and source need not be read for every event.
        digest = RulesetRepository(conn).hash_in_force(program_id, at)
        return None if digest is None else (digest, parsed(conn, program_id, digest))


def parsed(conn: Connection, program_id: str, digest: str) -> Ruleset:
    """The parsed ruleset of a published hash: from the process's cache, or read and parsed."""
    ruleset = PARSED.cached(digest)
    if ruleset is None:
        published = RulesetRepository(conn).by_hash(program_id, digest)
        assert published is not None, digest
        ruleset = PARSED.get(published)
    return ruleset


def on_published(conn: Connection, published: PublishedRuleset) -> None:
    """Inside the publishing transaction: the ruleset's entry in the transparency log (its
    `version` is the publication number; its `document` the canonical JSON the hash is of)."""
    LogWriter().append_ruleset(conn, RulesetEntry(
        published.program_id, published.hash, published.number, published.effective_from, published.published_at,
        published.urgent, json.loads(published.document)))


def require_time_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidRequest(f"unknown time zone {name!r}; use an IANA name such as Asia/Seoul") from None


def policy_json(policy: RulePolicy) -> dict[str, Any]:
    return {"notice_days": policy.notice_days, "default_time_zone": policy.default_time_zone}


def ruleset_json(published: PublishedRuleset, now: datetime, current: PublishedRuleset | None = None, *,
                 with_document: bool = False) -> dict[str, Any]:
    if published.effective_from > now:
        status = "upcoming"
    elif current is not None and current.number == published.number:
        status = "in_force"
    else:
        status = "superseded" if current is not None else "in_force"
    body: dict[str, Any] = {
        "hash": published.hash, "number": published.number, "version": published.version,
        "effective_from": iso(published.effective_from), "published_at": iso(published.published_at),
        "status": status, "urgent": published.urgent, "urgent_reason": published.urgent_reason,
        "changes": published.changes,
    }
    if with_document:
        body["document"] = json.loads(published.document)
        body["source"] = published.source
    return body


def _say(change: dict[str, Any]) -> str:
    return f"{change['rule']}: {change['change']}" if change["rule"] else str(change["change"])
