"""The standard jobs and how often each runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ...storage.database import Database
from ..birthdays import BirthdayJob, SendEvent
from ..expiry import ExpiryJob
from ..notifications.dispatch import Dispatcher
from ..privacy.erasure import RetentionJob
from ..tiers import NoTierLadder, TierService
from .notices import expiry_warnings, monthly_statements
from .runner import EVERY_PROGRAM, Job


def standard_jobs(db: Database, expiry: ExpiryJob, tiers: TierService, birthdays: BirthdayJob,
                  send_event: SendEvent, retention: RetentionJob, dispatcher: Dispatcher) -> list[Job]:
    def expire(program_id: str, now: datetime) -> dict[str, Any]:
        return expiry.run(program_id, as_of=now).as_json()

    def recalculate(program_id: str, now: datetime) -> dict[str, Any]:
        try:
            return tiers.recalculate(program_id, at=now).as_json()
        except NoTierLadder:
            return {"skipped": "the program has no tiers"}

    def celebrate(program_id: str, now: datetime) -> dict[str, Any]:
        return birthdays.run(program_id, send_event).as_json()

    def retain(program_id: str, now: datetime) -> dict[str, Any]:
        return retention.run(program_id).as_json()

    def dispatch(program_id: str, now: datetime) -> dict[str, Any]:
        # "*": every live program's notifications; a test program's id: its own, at its time
        return dispatcher.run(now, program_id=None if program_id == EVERY_PROGRAM else program_id).as_json()

    return [
        Job("outbox-dispatch", timedelta(0), dispatch, per_program=False),
        Job("expiry", timedelta(hours=1), expire),
        Job("expiry-warnings", timedelta(hours=1), lambda p, now: expiry_warnings(db, p, now)),
        Job("tiers", timedelta(days=1), recalculate),
        Job("birthdays", timedelta(days=1), celebrate),
        Job("statements", timedelta(days=1), lambda p, now: monthly_statements(db, p, now)),
        Job("retention", timedelta(days=1), retain),
    ]
