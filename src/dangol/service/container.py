"""Everything an adapter needs, wired once: the database, the clock and the services."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..domain.clock import Clock, SystemClock
from ..privacy.key_ring import KeyProvider
from ..rules import Ruleset
from ..storage.database import DEFAULT_POOL, Database
from ..tiers import Ladder
from ..storage.migrate import upgrade
from .birthdays import BirthdayJob
from .check import LedgerCheck
from .dashboard import Dashboard
from .engagement import EngagementService
from .leaderboards import Leaderboards
from .expiry import ExpiryJob
from .ledger import LedgerService
from .log import LogService, LogSettings
from .log_check import LogCheck
from .log_report import LogReportService
from .portal_access import PortalAccess
from .notifications.dispatch import Dispatcher
from .notifications.preferences import NotificationPreferences
from .notifications.settings import NotificationSettings
from .notifications.webhooks import WebhookService
from .programs import ProgramService
from .reads import LedgerReader
from .events import EventInput, EventService
from .extensions import Extensions
from .fraud.reviews import FraudReviews
from .fraud.scoring import AnomalyScoring
from .fraud.spending import SpendingScreen
from .gifting import GiftingCheck
from .jobs.catalogue import standard_jobs
from .jobs.runner import JobRunner
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
from .test_clocks.advance import TestClocks
from .test_clocks.clocks import ProgramClocks
from .staff.accounts import StaffAccounts
from .staff.api_keys import StaffApiKeys
from .staff.audit import StaffAuditLog
from .staff.member_actions import StaffMemberActions
from .staff.sign_in import StaffSignIn
from .staff.totp_vault import TotpVault
from ..staff.passwords import Passwords


@dataclass
class Services:
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    log_settings: LogSettings | None = None  # None: from the environment (see LogSettings.for_database)
    key_provider: KeyProvider | None = None  # None: from the environment (see service/privacy/keys.py)
    passwords: Passwords | None = None  # None: Argon2id with argon2-cffi's recommended parameters
    notification_settings: NotificationSettings | None = None  # None: from the environment (settings.py)

    def __post_init__(self) -> None:
        # Every service reads the clock of the program in scope (a test program's own clock,
        # else the wall clock `self.clock`): see service/test_clocks/clocks.py.
        self.clocks = ProgramClocks(self.db, self.clock)
        self.rulesets = RulesetService(self.db, self.clocks)
        self.tiers = TierService(self.db, self.clocks, ladders=self._published_ladder)
        # Gifting is a tier benefit: every live transfer asks the sender's tier.
        # Fraud detection's velocity rules for redemptions and gifts are asked in the same place.
        self.ledger = LedgerService(self.db, self.clocks, transfer_check=GiftingCheck(self.tiers),
                                    spend_check=SpendingScreen(self._fraud_rules_in_force))
        self.reader = LedgerReader(self.db, self.clocks)
        self.portal = PortalAccess(self.db, self.reader, self.clocks)
        self.programs = ProgramService(self.db, self.clocks)
        self.expiry = ExpiryJob(self.db, self.clocks)
        self.check = LedgerCheck(self.db)
        self.profiles = ProfileService(self.db, self.clocks)
        self.referrals = ReferralService(self.db, self.clocks)
        self.engagement = EngagementService(self.db, self.ledger, self.clocks, rulesets=self._ruleset_in_force)
        self.events = EventService(self.db, self.clocks, self.ledger, self.rulesets,
                                   Extensions(self.tiers, self.engagement))
        self.leaderboards = Leaderboards(self.db)
        self.birthdays = BirthdayJob(self.db, self.clocks)
        self.log = LogService(self.db, self.clocks, self.log_settings)
        self.log_check = LogCheck(self.db, self.log.existing_verifier)
        self.log_report = LogReportService(self.db, self.programs)
        # Members' own data (service/privacy/).
        self.data_keys = DataKeys(self.db, provider=self.key_provider)
        self.personal_data = PersonalDataService(self.db, self.data_keys, self.clocks)
        self.consents = ConsentService(self.db, self.clocks)
        self.audit_log = AuditLog(self.db)
        self.notification_preferences = NotificationPreferences(self.db, self.clocks)
        self.exports = MemberExport(self.db, self.data_keys, self.reader, self.log, {
            "coupons": self.engagement.coupons, "badges": self.engagement.badges,
            "challenges": self.engagement.challenges, "tier": self._tier_view,
            "notification_preferences": self.notification_preferences.member}, self.clocks)
        self.erasures = ErasureService(self.db, self.ledger, self.clocks)
        self.retention = RetentionJob(self.db, self.erasures, self.clocks)
        # Fraud detection (service/fraud/): the events' screening is called by their decide step.
        self.fraud_reviews = FraudReviews(self.db, self.ledger, self.clocks)
        self.anomaly = AnomalyScoring(self.db, self.clocks)
        # The operator console's staff (service/staff/).
        passwords = self.passwords or Passwords()
        vault = TotpVault(self.data_keys)
        self.data_keys.elsewhere.append(vault)  # rotation re-wraps the staff's secrets too
        self.staff = StaffAccounts(self.db, self.clocks, passwords, vault)
        self.staff_sign_in = StaffSignIn(self.db, self.clocks, passwords, vault)
        self.staff_audit = StaffAuditLog(self.db)
        self.staff_actions = StaffMemberActions(self.ledger, self.reader)
        self.dashboard = Dashboard(self.db, self.clocks)
        self.staff_api_keys = StaffApiKeys(self.programs)

        # Notifications (service/notifications/): the outbox is written by the services above.
        settings = self.notification_settings = self.notification_settings or NotificationSettings.from_env(os.environ)
        self.webhooks = WebhookService(self.db, settings.webhooks.destinations, self.clocks)
        self.dispatcher = Dispatcher(self.db, self.data_keys, settings, self.clocks)
        # Scheduled jobs (service/jobs/): each program's jobs take `now` from the program's clock.
        self.jobs = JobRunner(self.db, standard_jobs(self.db, self.expiry, self.tiers, self.birthdays, self.send_event,
                                                     self.retention, self.dispatcher), clock_for=self.clock_of,
                             scope=self.clocks.scope)
        self.test_clocks = TestClocks(self.db, self.jobs, self.clock)

    def _published_ladder(self, conn: Connection, program_id: str, at: datetime) -> Ladder | None:
        """Tiers' ladder: the `tiers:` section of the ruleset in force."""
        found = self.rulesets.in_force(conn, program_id, at)
        return None if found is None else found[1].tiers

    def _fraud_rules_in_force(self, conn: Connection, program_id: str, at: datetime) -> Ruleset | None:
        """The ruleset in force, read in the caller's transaction (the ledger's write)."""
        found = self.rulesets.in_force(conn, program_id, at)
        return None if found is None else found[1]

    def _ruleset_in_force(self, program_id: str, at: datetime) -> Ruleset | None:
        with self.db.read() as conn:
            found = self.rulesets.in_force(conn, program_id, at)
        return None if found is None else found[1]

    def _tier_view(self, program_id: str, member_id: str) -> dict[str, Any] | None:
        try:
            return self.tiers.member_view(program_id, member_id)
        except NoTierLadder:
            return None

    def clock_of(self, program_id: str) -> Clock:
        """The clock a program's jobs run by: its test clock in test mode, else the wall clock."""
        return self.clocks.of(program_id)

    def send_event(self, program_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """An events API body, recorded in-process (the birthday job's sender)."""
        return self.events.record(program_id, EventInput.from_json(body))

    @classmethod
    def open(cls, url: str, clock: Clock | None = None, migrate: bool = True,
             log_settings: LogSettings | None = None, key_provider: KeyProvider | None = None,
             pool: int = DEFAULT_POOL, notification_settings: NotificationSettings | None = None) -> Services:
        """`pool`: the PostgreSQL connections this process opens at most."""
        db = Database(url, pool=pool)
        if migrate:
            upgrade(db)
        return cls(db, clock or SystemClock(), log_settings, key_provider,
                   notification_settings=notification_settings)
