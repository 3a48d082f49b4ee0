"""Messages to members: the program's policy, the template for a kind and language (the
program's own or the built-in one), rendered with the outbox row's payload; and the
unsubscribe link of each message."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection

from ...notifications import unsubscribe
from ...notifications.templates import BUILT_IN, UNSUBSCRIBE_LABEL, Rendered, Template, render
from ...storage.ledger_repository import LedgerRepository
from ...storage.notifications_repository import NotificationsRepository, OutboxRow, Policy

DEFAULT_WARNING_DAYS = 7
DEFAULT_LANGUAGE = "ko"


def policy_for(repo: NotificationsRepository, program_id: str, now: datetime, *, save: bool = True) -> Policy:
    """The program's policy; on first need the defaults with a new unsubscribe key, stored
    when `save` (a write transaction; routing always is, before anything is sent)."""
    found = repo.policy(program_id)
    if found is None:
        found = Policy(program_id, True, DEFAULT_WARNING_DAYS, DEFAULT_LANGUAGE, secrets.token_urlsafe(32), now)
        if save:
            repo.save_policy(found)
    return found


def template_for(repo: NotificationsRepository, program_id: str, kind: str, language: str) -> Template:
    own = repo.template(program_id, kind, language)
    return Template(*own) if own is not None else BUILT_IN[(kind, language)]


class Messages:
    def __init__(self, public_url: str) -> None:
        self.public_url = public_url

    def unsubscribe_url(self, policy: Policy, program_id: str, member_id: str, kind: str) -> str:
        return f"{self.public_url}/v1/unsubscribe/{unsubscribe.token(policy.unsubscribe_key, program_id, member_id, kind)}"

    def render(self, conn: Connection, repo: NotificationsRepository, row: OutboxRow, policy: Policy | None,
               now: datetime) -> tuple[str, Rendered]:
        """The member's language and the message in it."""
        assert row.member_id is not None
        policy = policy or policy_for(repo, row.program_id, now, save=False)
        chosen = repo.preferences(row.member_id)
        language = (chosen[0] if chosen else None) or policy.default_language
        program = LedgerRepository(conn).get_program(row.program_id)
        context = {**row.payload, "program": program.name, "language": language,
                   "unsubscribe_url": self.unsubscribe_url(policy, row.program_id, row.member_id, row.type),
                   "unsubscribe_label": UNSUBSCRIBE_LABEL[language]}
        return language, render(template_for(repo, row.program_id, row.type, language), context)
