"""Everything an adapter needs, wired once: the database, the clock and the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..domain.clock import Clock, SystemClock
from ..privacy.key_ring import KeyProvider
from ..rules import Ruleset
from ..storage.database import Database
from ..tiers import Ladder
from ..storage.migrate import upgrade
from .birthdays import BirthdayJob
from .check import LedgerCheck
from .engagement import EngagementService
from .leaderboards import Leaderboards
from .expiry import ExpiryJob
from .ledger import LedgerService
from .log import LogService, LogSettings
from .log_check import LogCheck
from .log_report import LogReportService
from .programs import ProgramService
from .reads import LedgerReader
from .events import EventInput, EventService
from .extensions import Extensions
from .fraud.reviews import FraudReviews
from .fraud.scoring import AnomalyScoring
from .gifting import GiftingCheck
from .privacy.audit import AuditLog
from .privacy.consents import ConsentService
from .privacy.erasure import ErasureService, RetentionJob
from .privacy.export import MemberExport
from .privacy.keys import DataKeys
from .privacy.personal_data import PersonalDataService
from .profiles import ProfileService
from .referrals import ReferralService
from .rulesets import RulesetService
from .tiers import NoTierLadder, TierService


@dataclass
class Services:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    log_settings: LogSettings | None = None  # None: from the environment (see LogSettings.for_database)
    key_provider: KeyProvider | None = None  # None: from the environment (see service/privacy/keys.py)

    def __post_init__(self) -> None:
        self.rulesets = RulesetService(self.db, self.clock)
        self.tiers = TierService(self.db, self.clock, ladders=self._published_ladder)
        # Gifting is a tier benefit: every live transfer asks the sender's tier.
        self.ledger = LedgerService(self.db, self.clock, transfer_check=GiftingCheck(self.tiers))
        self.reader = LedgerReader(self.db, self.clock)
        self.programs = ProgramService(self.db, self.clock)
        self.expiry = ExpiryJob(self.db, self.clock)
        self.check = LedgerCheck(self.db)
        self.profiles = ProfileService(self.db, self.clock)
        self.referrals = ReferralService(self.db, self.clock)
        self.engagement = EngagementService(self.db, self.ledger, self.clock, rulesets=self._ruleset_in_force)
        self.events = EventService(self.db, self.clock, self.ledger, self.rulesets,
                                   Extensions(self.tiers, self.engagement))
        self.leaderboards = Leaderboards(self.db)
        self.birthdays = BirthdayJob(self.db, self.clock)
        self.log = LogService(self.db, self.clock, self.log_settings)
        self.log_check = LogCheck(self.db, self.log.existing_verifier)
        self.log_report = LogReportService(self.db, self.programs)
        # Members' own data (service/privacy/).
        self.data_keys = DataKeys(self.db, provider=self.key_provider)
        self.personal_data = PersonalDataService(self.db, self.data_keys, self.clock)
        self.consents = ConsentService(self.db, self.clock)
        self.audit_log = AuditLog(self.db)
        self.exports = MemberExport(self.db, self.data_keys, self.reader, self.log, {
            "coupons": self.engagement.coupons, "badges": self.engagement.badges,
            "challenges": self.engagement.challenges, "tier": self._tier_view}, self.clock)
        self.erasures = ErasureService(self.db, self.ledger, self.clock)
        self.retention = RetentionJob(self.db, self.erasures, self.clock)
        # Fraud detection (service/fraud/): the events' screening is called by their decide step.
        self.fraud_reviews = FraudReviews(self.db, self.ledger, self.clock)
        self.anomaly = AnomalyScoring(self.db, self.clock)

    def _published_ladder(self, conn: Connection, program_id: str, at: datetime) -> Ladder | None:
        """Tiers' ladder: the `tiers:` section of the ruleset in force."""
        found = self.rulesets.in_force(conn, program_id, at)
        return None if found is None else found[1].tiers

    def _ruleset_in_force(self, program_id: str, at: datetime) -> Ruleset | None:
        with self.db.read() as conn:
            found = self.rulesets.in_force(conn, program_id, at)
        return None if found is None else found[1]

    def _tier_view(self, program_id: str, member_id: str) -> dict[str, Any] | None:
        try:
            return self.tiers.member_view(program_id, member_id)
        except NoTierLadder:
            return None

    def send_event(self, program_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """An events API body, recorded in-process (the birthday job's sender)."""
        return self.events.record(program_id, EventInput.from_json(body))

    @classmethod
    def open(cls, url: str, clock: Clock | None = None, migrate: bool = True,
             log_settings: LogSettings | None = None, key_provider: KeyProvider | None = None) -> Services:
        db = Database(url)
        if migrate:
            upgrade(db)
        return cls(db, clock or SystemClock(), log_settings, key_provider)
