"""Consent per purpose: what a member allows their data to be used for, and every change.

A purpose is off until the member turns it on (GDPR Art. 7, PIPA's separate consent for
marketing): no record is no consent. Each change says when the member made it, through what
(the API, the member portal, the operator console, an import of consents given elsewhere,
the command line) and which version of the privacy notice they saw; a change that changes
nothing (the same answer under the same notice) is not recorded again."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..domain.errors import InvalidRequest

NOTICE_VERSION = re.compile(r"^[\x21-\x7e]{1,64}$")


class Purpose(StrEnum):
    MARKETING = "marketing"  # marketing messages (e-mail, SMS, push)
    PERSONALISATION = "personalisation"  # personalisation and analytics, model training
    PARTNER_SHARING = "partner_sharing"  # sharing with coalition partners
    LEADERBOARD = "leaderboard"  # a display name and monthly points shown to other members


class ConsentSource(StrEnum):
    API = "api"
    PORTAL = "portal"
    CONSOLE = "console"
    IMPORT = "import"
    CLI = "cli"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A member's answer for one purpose, as it stands or as it was given."""

    purpose: Purpose
    granted: bool
    source: ConsentSource
    notice_version: str | None
    occurred_at: datetime  # when the member gave it
    recorded_at: datetime | None = None  # when dangol wrote it (history rows)


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """What a caller asks: these purposes on or off, given through `source` under notice
    `notice_version`, at `occurred_at`."""

    answers: Mapping[Purpose, bool]
    source: ConsentSource
    notice_version: str | None
    occurred_at: datetime

    @classmethod
    def parse(cls, answers: Mapping[str, object], source: str, notice_version: str | None,
              occurred_at: datetime) -> ConsentChange:
        if not answers:
            raise InvalidRequest("name at least one purpose to grant or withdraw")
        parsed: dict[Purpose, bool] = {}
        for name, granted in answers.items():
            try:
                purpose = Purpose(name)
            except ValueError:
                raise InvalidRequest(f"{name!r} is not a purpose ({', '.join(p.value for p in Purpose)})",
                                     field=name) from None
            if not isinstance(granted, bool):
                raise InvalidRequest(f"{name}: true to grant, false to withdraw", field=name)
            parsed[purpose] = granted
        try:
            how = ConsentSource(source)
        except ValueError:
            raise InvalidRequest(f"source is one of {', '.join(s.value for s in ConsentSource)}",
                                 field="source") from None
        if notice_version is not None and not NOTICE_VERSION.match(notice_version):
            raise InvalidRequest("notice_version is 1 to 64 printable characters without spaces",
                                 field="notice_version")
        return cls(parsed, how, notice_version, occurred_at)

    def records(self, current: Mapping[Purpose, ConsentRecord]) -> list[ConsentRecord]:
        """The records this change makes, in purpose order: one per purpose whose answer or
        notice differs from the current one (a withdrawal of what was never granted is no
        change either)."""
        made = []
        for purpose in sorted(self.answers):
            granted = self.answers[purpose]
            now = current.get(purpose)
            if now is None and not granted:
                continue
            if now is not None and now.granted == granted and now.notice_version == self.notice_version:
                continue
            made.append(ConsentRecord(purpose, granted, self.source, self.notice_version, self.occurred_at))
        return made


def granted(current: Mapping[Purpose, ConsentRecord], purpose: Purpose) -> bool:
    """Whether `purpose` is allowed: only by a record that grants it."""
    record = current.get(purpose)
    return record is not None and record.granted
