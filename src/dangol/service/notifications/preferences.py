"""The program's notification policy, its e-mail templates, members' language and channels
per kind of message, and one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ...domain.clock import Clock, SystemClock
from ...domain.errors import InvalidRequest
from ...notifications import templates, unsubscribe
from ...notifications.kinds import MESSAGE_KINDS, channels_for, check_channels, check_language
from ...storage.database import Database
from ...storage.ledger_repository import LedgerRepository
from ...storage.notifications_repository import NotificationsRepository, Policy
from ...storage.privacy_repository import PrivacyRepository
from ..reads import _check_member
from ..receipts import iso
from .messages import policy_for, template_for

MAX_WARNING_DAYS = 90


def policy_json(policy: Policy) -> dict[str, Any]:
    return {"program_id": policy.program_id, "transactional_email": policy.transactional_email,
            "expiry_warning_days": policy.expiry_warning_days, "default_language": policy.default_language,
            "updated_at": iso(policy.updated_at)}


def _check_kind(kind: str) -> str:
    if kind not in MESSAGE_KINDS:
        raise InvalidRequest(f"unknown kind of message {kind!r}; known: {sorted(MESSAGE_KINDS)}", field="kind")
    return kind


class NotificationPreferences:
    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()

    # ------------------------------------------------------------ the program's policy

    def policy(self, program_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            return policy_json(policy_for(NotificationsRepository(conn), program_id, self.clock.now(), save=False))

    def set_policy(self, program_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Only the settings sent change; the same settings again change nothing."""
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = NotificationsRepository(conn)
            now = self.clock.now()
            policy = policy_for(repo, program_id, now)
            if "transactional_email" in changes:
                if not isinstance(changes["transactional_email"], bool):
                    raise InvalidRequest("transactional_email is true or false", field="transactional_email")
                policy = replace(policy, transactional_email=changes["transactional_email"])
            if "expiry_warning_days" in changes:
                days = changes["expiry_warning_days"]
                if type(days) is not int or not 1 <= days <= MAX_WARNING_DAYS:
                    raise InvalidRequest(f"expiry_warning_days is 1 to {MAX_WARNING_DAYS}", field="expiry_warning_days")
                policy = replace(policy, expiry_warning_days=days)
            if "default_language" in changes:
                policy = replace(policy, default_language=check_language(changes["default_language"],
                                                                         "default_language"))
            repo.save_policy(replace(policy, updated_at=now))
            return policy_json(replace(policy, updated_at=now))

    # ------------------------------------------------------------ templates

    def template(self, program_id: str, kind: str, language: str) -> dict[str, Any]:
        _check_kind(kind)
        check_language(language)
        with self.db.read() as conn:
            LedgerRepository(conn).get_program(program_id)
            repo = NotificationsRepository(conn)
            own = repo.template(program_id, kind, language) is not None
            found = template_for(repo, program_id, kind, language)
        return {"kind": kind, "language": language, "built_in": not own, **found.as_json()}

    def save_template(self, program_id: str, kind: str, language: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Refused with the part and line of its error if a part does not compile."""
        _check_kind(kind)
        check_language(language)
        template = templates.from_json(body)
        with self.db.write() as conn:
            LedgerRepository(conn).get_program(program_id)
            NotificationsRepository(conn).save_template(program_id, kind, language, template.subject, template.text,
                                                        template.html, self.clock.now())
        return {"kind": kind, "language": language, "built_in": False, **template.as_json()}

    # ------------------------------------------------------------ members' choices

    def member(self, program_id: str, member_id: str) -> dict[str, Any]:
        with self.db.read() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            chosen = NotificationsRepository(conn).preferences(member_id)
        language, channels = chosen if chosen else (None, None)
        return {"member_id": member_id, "language": language,
                "channels": {kind: [c.value for c in channels_for(kind, channels)] for kind in sorted(MESSAGE_KINDS)}}

    def set_member(self, program_id: str, member_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """The member's language and channels for the kinds sent (others keep theirs)."""
        language = check_language(body["language"]) if body.get("language") is not None else None
        channels = check_channels(body.get("channels", {}))
        with self.db.write() as conn:
            _check_member(LedgerRepository(conn), program_id, member_id)
            repo = NotificationsRepository(conn)
            current = repo.preferences(member_id)
            merged = {**(current[1] if current else {}), **channels}
            if "language" not in body and current:
                language = current[0]
            repo.save_preferences(program_id, member_id, language, merged, self.clock.now())
        return self.member(program_id, member_id)

    # ------------------------------------------------------------ one-click unsubscribe

    def unsubscribe(self, token: str) -> dict[str, Any]:
        """RFC 8058: the link's kind of message stops coming by e-mail. Again: no change."""
        program_id, member_id, kind = unsubscribe.subject_of(token)
        with self.db.write() as conn:
            repo = NotificationsRepository(conn)
            policy = repo.policy(program_id)
            if policy is None or kind not in MESSAGE_KINDS:
                raise unsubscribe.InvalidUnsubscribeToken("not an unsubscribe link of this service")
            unsubscribe.verify(policy.unsubscribe_key, token)
            if PrivacyRepository(conn).erasure(member_id) is not None:  # nothing is sent to them anyway
                return {"unsubscribed": True, "kind": kind, "channels": []}
            current = repo.preferences(member_id)
            chosen = current[1] if current else {}
            remaining = [c.value for c in channels_for(kind, chosen) if c.value != "email"]
            repo.save_preferences(program_id, member_id, current[0] if current else None,
                                  {**chosen, kind: remaining}, self.clock.now())
        return {"unsubscribed": True, "kind": kind, "channels": remaining}


