"""The schema. Every change to it goes through an Alembic migration
(`src/dangol/storage/migrations`); a test checks the two agree."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, Column, ForeignKey, Index, Integer, LargeBinary, MetaData, Sequence, SmallInteger,
    String, Table, Text, UniqueConstraint, text,
)

from .types import Timestamp

# On SQLite only a column declared exactly INTEGER PRIMARY KEY is the table's rowid;
# BIGINT would cost a second B-tree on every insert.
RowId = BigInteger().with_variant(Integer, "sqlite")

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# Ids of ledger rows are allocated in blocks by the service (see ids.py): from these
# sequences on PostgreSQL, under the database write lock on SQLite.
transaction_ids = Sequence("transaction_id_seq", metadata=metadata)
lot_ids = Sequence("lot_id_seq", metadata=metadata)
hold_ids = Sequence("hold_id_seq", metadata=metadata)

programs = Table(
    "programs", metadata,
    Column("id", String(63), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("lot_validity_days", Integer, nullable=False),
    Column("min_redemption", BigInteger, nullable=False),
    Column("allow_negative_balance", Boolean, nullable=False),
    Column("allow_transfers", Boolean, nullable=False),
    Column("hold_timeout_seconds", Integer, nullable=False),
    Column("earn_rate_points", BigInteger, nullable=False),
    Column("earn_rate_per_minor_units", BigInteger, nullable=False),
    Column("rounding", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("mode", String(8), nullable=False, server_default="live"),  # "live" or "test", fixed at creation
)

# A test program's clock: the simulated now that only the operator moves forward.
test_clocks = Table(
    "test_clocks", metadata,
    Column("program_id", String(63), ForeignKey("programs.id"), primary_key=True),
    Column("now", Timestamp, nullable=False),
    Column("advanced_at", Timestamp, nullable=False),
)

members = Table(
    "members", metadata,
    Column("id", String(40), primary_key=True),
    Column("program_id", String(63), ForeignKey("programs.id"), nullable=False),
    Column("external_ref", String(200), nullable=False),
    Column("status", String(16), nullable=False),
    Column("enrolled_at", Timestamp, nullable=False),
    # Cached balances: a `dangol check` recomputes them from postings and lots.
    Column("available", BigInteger, nullable=False, server_default="0"),
    Column("pending", BigInteger, nullable=False, server_default="0"),
    Column("held", BigInteger, nullable=False, server_default="0"),
    Column("debt", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("program_id", "external_ref"),
)

# Every change of a member's status (suspended, active again, closed), written by the ledger
# with the member's row: replay judges each event against the statuses then (a reward withheld
# from a referrer closed at the time). No reason is kept: it is free text.
member_status_history = Table(
    "member_status_history", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("occurred_at", Timestamp, nullable=False),  # the operation's time (an import's may be past)
    Column("recorded_at", Timestamp, nullable=False),
    Index("ix_member_status_history_program_id_recorded_at", "program_id", "recorded_at"),
)

transactions = Table(
    "transactions", metadata,
    Column("id", RowId, primary_key=True, autoincrement=False),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("occurred_at", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Column("order_ref", String(200)),
    Column("amount_minor", BigInteger),
    Column("currency", String(3)),
    Column("reason", String(500)),
    Column("hold_id", BigInteger),
    Column("counterparty_id", String(40)),
    Column("rule_id", String(100)),  # the earning rule that produced an earn, if any
    Column("ruleset_hash", String(71)),  # and the published ruleset it belongs to ("sha256:" + hex)
    Index("ix_transactions_member_id_id", "member_id", "id"),
    # No index on order_ref: a refund finds the order among the member's own transactions
    # through the member index, and every earn is spared an index insert.
    Index("ix_transactions_counterparty_id_id", "counterparty_id", "id",
          sqlite_where=text("counterparty_id IS NOT NULL"), postgresql_where=text("counterparty_id IS NOT NULL")),
)

postings = Table(
    "postings", metadata,
    Column("transaction_id", BigInteger, primary_key=True, autoincrement=False),
    Column("line", SmallInteger, primary_key=True, autoincrement=False),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40)),
    Column("account", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    # The earning rule a posting's points came from: an event's one transaction carries a
    # pair of postings per rule that paid. Null for postings no rule made (and for earns
    # written before postings named rules, whose transaction names its one rule).
    Column("rule_id", String(100)),
    sqlite_with_rowid=False,
)

# The lots a member's ledger needs: those with points left, and pending ones (unreleased,
# possibly emptied by a refund before their release).
LIVE_LOT = "remaining > 0 OR NOT released"

lots = Table(
    "lots", metadata,
    Column("id", RowId, primary_key=True, autoincrement=False),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("transaction_id", BigInteger, nullable=False),
    Column("source", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("earned_at", Timestamp, nullable=False),
    Column("available_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("released", Boolean, nullable=False),
    Column("order_ref", String(200)),
    # A member's lots are looked up only while they hold points or are pending, so only
    # those are indexed. The ledger's lot query repeats LIVE_LOT word for word: SQLite
    # uses a partial index only when the query's WHERE contains (or implies) its condition.
    Index("ix_lots_member_id_live", "member_id",
          sqlite_where=text(LIVE_LOT), postgresql_where=text(LIVE_LOT)),
    Index("ix_lots_expires_at_open", "expires_at",
          sqlite_where=text("remaining > 0"), postgresql_where=text("remaining > 0")),
    Index("ix_lots_available_at_pending", "available_at",
          sqlite_where=text("NOT released"), postgresql_where=text("NOT released")),
)

lot_movements = Table(
    "lot_movements", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("lot_id", BigInteger, nullable=False),
    Column("transaction_id", BigInteger, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
)

holds = Table(
    "holds", metadata,
    Column("id", RowId, primary_key=True, autoincrement=False),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("transaction_id", BigInteger, nullable=False),
    Column("drawn", Text, nullable=False),
    Column("captured", BigInteger, nullable=False),
    Column("closed_at", Timestamp),
    Column("order_ref", String(200)),
    Index("ix_holds_member_id_active", "member_id",
          sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
    Index("ix_holds_expires_at_active", "expires_at",
          sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
)

refunds = Table(
    "refunds", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("order_ref", String(200), nullable=False),
    Column("amount_minor", BigInteger),
    Column("currency", String(3)),
    Column("clawed_back", BigInteger, nullable=False),
    Column("uncollected", BigInteger, nullable=False),
    Column("transaction_id", BigInteger),
    Column("recorded_at", Timestamp, nullable=False),
    Index("ix_refunds_member_id_order_ref", "member_id", "order_ref"),
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("scope", String(63), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    sqlite_with_rowid=False,
)

# Why `dangol import` refused an event: a later import of the same file, which does not
# retry it, reports this original reason (docs/import.md). `fingerprint` is the event's
# content, so a reason is never told of an event changed since.
import_rejects = Table(
    "import_rejects", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("code", String(63), nullable=False),
    Column("detail", Text, nullable=False),
    Column("rejected_at", Timestamp, nullable=False),
    sqlite_with_rowid=False,
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("program_id", String(63), ForeignKey("programs.id")),
    Column("scopes", String(100), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("revoked_at", Timestamp),
)

# ---------------------------------------------------------------------------------------
# Rulesets, member profiles and counters, business events, referrals (the events pipeline)

# A program's rule policy: the notice a worsening change needs, the members' default zone.
rule_policies = Table(
    "rule_policies", metadata,
    Column("program_id", String(63), ForeignKey("programs.id"), primary_key=True),
    Column("notice_days", Integer, nullable=False),
    Column("default_time_zone", String(64), nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# Every published ruleset, for ever: the history members read and replays follow.
rulesets = Table(
    "rulesets", metadata,
    Column("program_id", String(63), ForeignKey("programs.id"), primary_key=True),
    Column("number", Integer, primary_key=True, autoincrement=False),  # 1, 2, … per program
    Column("hash", String(71), nullable=False),  # "sha256:" + 64 hex
    Column("version", String(64), nullable=False),
    Column("effective_from", Timestamp, nullable=False),
    Column("published_at", Timestamp, nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("urgent_reason", String(500)),
    Column("changes", Text, nullable=False),  # JSON list: how it differs from the one before
    Column("document", Text, nullable=False),  # canonical JSON (what the hash is of)
    Column("source", Text, nullable=False),  # the document as sent (YAML or JSON)
    UniqueConstraint("program_id", "hash"),
)

member_profiles = Table(
    "member_profiles", metadata,
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("time_zone", String(64)),
    Column("birthday_month", SmallInteger),
    Column("birthday_day", SmallInteger),
    Column("tags", Text, nullable=False),  # JSON list of strings
    Column("display_name", String(100)),
    Column("leaderboard_opt_in", Boolean, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# Every change to what judging reads of a profile (not the display name nor the opt-in), with
# the time it took effect: replay judges each event against the version then in effect. Written
# with the profile, in its transaction; personal data (a birthday) kept with the profiles,
# never in the ledger or the transparency log.
member_profile_history = Table(
    "member_profile_history", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("time_zone", String(64)),
    Column("birthday_month", SmallInteger),
    Column("birthday_day", SmallInteger),
    Column("tags", Text, nullable=False),  # JSON list of strings
    Column("recorded_at", Timestamp, nullable=False),
    Index("ix_member_profile_history_program_id_recorded_at", "program_id", "recorded_at"),
)

# What rules count: purchases, spend, caps' windows (the evaluator's CounterUse keys).
member_counters = Table(
    "member_counters", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("value", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Program-wide counters: campaign budgets. Updated under a row lock (see service/counters.py).
program_counters = Table(
    "program_counters", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("key", String(300), primary_key=True),
    Column("value", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# Every business event accepted, with its canonical body, the ruleset that judged it and the
# response: what idempotency answers from, and what replay and simulation read.
events = Table(
    "events", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("type", String(64), nullable=False),
    Column("member_id", String(40)),
    Column("order_id", String(200)),
    Column("occurred_at", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("body", Text, nullable=False),
    Column("ruleset_hash", String(71)),
    Column("result", Text, nullable=False),
    UniqueConstraint("program_id", "event_id"),
    Index("ix_events_member_id_order_id", "member_id", "order_id"),
)

referral_codes = Table(
    "referral_codes", metadata,
    Column("code", String(32), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False, unique=True),
    Column("created_at", Timestamp, nullable=False),
)

# Who referred whom: one referrer per referee, for ever.
referrals = Table(
    "referrals", metadata,
    Column("referee_id", String(40), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("referrer_id", String(40), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_referrals_referrer_id", "referrer_id"),
)

# ---- tiers: each member's standing on the program's ladder, every change to it,
# and the cursor of a recalculation run (so an interrupted run resumes where it stopped).

member_tiers = Table(
    "member_tiers", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("member_id", String(40), primary_key=True),
    Column("tier", String(32), nullable=False),
    Column("since", Timestamp, nullable=False),
    Column("window_start", Timestamp, nullable=False),  # the window under review
    Column("window_end", Timestamp, nullable=False),
    Column("grace_until", Timestamp),  # set while a downgrade waits out the grace period
    Column("evaluated_at", Timestamp, nullable=False),
    sqlite_with_rowid=False,
)

tier_history = Table(
    "tier_history", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),  # BIGINT: cursors up to 18 digits
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("from_tier", String(32), nullable=False),
    Column("to_tier", String(32), nullable=False),
    Column("reason", String(16), nullable=False),  # upgrade | downgrade | grace | manual
    Column("metric", BigInteger, nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("window_start", Timestamp, nullable=False),  # the window whose metric decided it
    Column("window_end", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Index("ix_tier_history_member_id_id", "member_id", "id"),
)

tier_recalculations = Table(
    "tier_recalculations", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("at", Timestamp, primary_key=True),
    Column("after_member", String(40)),  # the last member done: the run resumes after it
    Column("members", BigInteger, nullable=False),
    Column("changes", BigInteger, nullable=False),
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    sqlite_with_rowid=False,
)

# ---------------------------------------------------------------- engagement
# Coupons, badges, challenge progress, and the engagement side of a member's profile.

engagement_coupons = Table(
    "engagement_coupons", metadata,
    Column("code", String(32), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("template", String(64), nullable=False),
    # What it gives, copied at issue: a later ruleset never changes a coupon already issued.
    Column("name", String(200), nullable=False),
    Column("benefit", String(16), nullable=False),
    Column("value", BigInteger, nullable=False),
    Column("cap", BigInteger),
    Column("source", String(100), nullable=False),  # the rule or challenge that issued it
    Column("issued_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("redeemed_at", Timestamp),
    Index("ix_engagement_coupons_program_id_member_id", "program_id", "member_id"),
)

engagement_badges = Table(
    "engagement_badges", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("member_id", String(40), primary_key=True),
    Column("badge", String(64), primary_key=True),
    Column("source", String(100), nullable=False),
    Column("awarded_at", Timestamp, nullable=False),
)

engagement_progress = Table(
    "engagement_progress", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("member_id", String(40), primary_key=True),
    Column("challenge", String(64), primary_key=True),
    Column("period", String(16), primary_key=True),  # 2025-03, 2025-Q1, or streak
    Column("value", BigInteger, nullable=False),
    Column("target", BigInteger, nullable=False),
    Column("streak", Integer, nullable=False),
    Column("week", String(8)),
    Column("completions", Integer, nullable=False),
    Column("completed_at", Timestamp),
    Column("updated_at", Timestamp, nullable=False),
)


# ---------------------------------------------------------------- transparency log
# Every ledger transaction (and published ruleset) is an entry, written with a sequence
# number in the transaction that writes it; the integrator later gives entries leaf
# indices, in sequence order, as it extends the Merkle tree (see service/log.py).

log_sequence = Sequence("log_sequence_seq", metadata=metadata)

log_entries = Table(
    "log_entries", metadata,
    Column("sequence", RowId, primary_key=True, autoincrement=False),
    Column("program_id", String(63), nullable=False),
    Column("transaction_id", BigInteger),  # null for a ruleset entry
    Column("entry", LargeBinary, nullable=False),  # the canonical bytes (transparency/entry.py)
    Column("leaf_hash", LargeBinary, nullable=False),
    Column("leaf_index", BigInteger),  # null until integrated
    # Partial, so that writing an entry (leaf_index null) costs no insert into it.
    Index("uq_log_entries_leaf_index", "leaf_index", unique=True,
          sqlite_where=text("leaf_index IS NOT NULL"), postgresql_where=text("leaf_index IS NOT NULL")),
    # The integrator's queue: only entries not integrated yet are in this index.
    Index("ix_log_entries_sequence_pending", "sequence",
          sqlite_where=text("leaf_index IS NULL"), postgresql_where=text("leaf_index IS NULL")),
)

# The tree's complete subtrees, (level, index) as in transparency/merkle.py; never updated.
log_nodes = Table(
    "log_nodes", metadata,
    Column("level", SmallInteger, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
    sqlite_with_rowid=False,
)

# One row (id 1): the integrated tree size and the witness quorum. Integrators and signers
# lock it, so that two processes never extend or sign at once.
log_state = Table(
    "log_state", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
    Column("quorum", Integer, nullable=False),
)

log_checkpoints = Table(
    "log_checkpoints", metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("root_hash", LargeBinary, nullable=False),
    Column("note", Text, nullable=False),  # the signed note, with the log's signature only
    Column("signed_at", Timestamp, nullable=False),
)

log_cosignatures = Table(
    "log_cosignatures", metadata,
    Column("size", BigInteger, primary_key=True, autoincrement=False),
    Column("witness", String(300), primary_key=True),  # the witness's verifier key
    Column("line", Text, nullable=False),  # the note signature line, as the witness sent it
    Column("timestamp", BigInteger, nullable=False),
    Column("received_at", Timestamp, nullable=False),
)

log_witnesses = Table(
    "log_witnesses", metadata,
    Column("vkey", String(300), primary_key=True),
    Column("added_at", Timestamp, nullable=False),
)

# A member's key for their commitments in the log (32 random bytes, made at enrolment),
# and the commitment itself, so the write path reads it instead of recomputing it. Erasing
# the member destroys the key (null) and keeps the commitment: the operator's check still
# rebuilds their entries, and no one can show any longer which commitment was theirs.
member_log_keys = Table(
    "member_log_keys", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("key", LargeBinary),
    Column("commitment", String(64), nullable=False),
    sqlite_with_rowid=False,
)


# ---------------------------------------------------------------- members' own data
# Personal data apart from the ledger, sealed with a data key per member that a
# key-encryption key wraps (privacy/envelope.py); consent per purpose with its history;
# erasures, and the audit log of who read or changed personal data.

# A program's rules for its members' personal data: the fields it keeps (JSON {name: kind})
# and how long it keeps data (days; null: until erased on request).
privacy_policies = Table(
    "privacy_policies", metadata,
    Column("program_id", String(63), ForeignKey("programs.id"), primary_key=True),
    Column("fields", Text, nullable=False),
    Column("erase_after_closed_days", Integer),
    Column("audit_log_days", Integer),
    Column("updated_at", Timestamp, nullable=False),
)

member_data_keys = Table(
    "member_data_keys", metadata,
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("kek_id", String(64), nullable=False),  # the key-encryption key that wraps it
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    # Rotation finds the data keys an old key-encryption key still wraps.
    Index("ix_member_data_keys_kek_id", "kek_id"),
)

member_personal_data = Table(
    "member_personal_data", metadata,
    Column("member_id", String(40), ForeignKey("members.id"), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("sealed", LargeBinary, nullable=False),  # JSON {field: value}, sealed with the member's data key
    Column("updated_at", Timestamp, nullable=False),
)

# Each member's answer per purpose as it stands (no row: not granted).
member_consents = Table(
    "member_consents", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("purpose", String(32), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("source", String(16), nullable=False),
    Column("notice_version", String(64)),
    Column("occurred_at", Timestamp, nullable=False),
    # "Who may be sent marketing": the granted rows of one purpose, by member.
    Index("ix_member_consents_program_id_purpose_granted", "program_id", "purpose", "member_id",
          sqlite_where=text("granted"), postgresql_where=text("granted")),
    sqlite_with_rowid=False,
)

# Every change of a member's consent, for ever (an erasure keeps it: it names no one).
consent_history = Table(
    "consent_history", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("purpose", String(32), nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("source", String(16), nullable=False),
    Column("notice_version", String(64)),
    Column("occurred_at", Timestamp, nullable=False),
    Column("recorded_at", Timestamp, nullable=False),
    Index("ix_consent_history_member_id_id", "member_id", "id"),
)

# One row per erased member: the receipt their erasure answered, again on every retry, and
# the feed (by id) the brand reads to erase the member from its own systems too.
member_erasures = Table(
    "member_erasures", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False, unique=True),
    Column("erased_at", Timestamp, nullable=False),
    Column("receipt", Text, nullable=False),
    Index("ix_member_erasures_program_id_id", "program_id", "id"),
)

# The one audit log: who read, changed, exported or erased a member's personal data (field
# names, never values), and every staff action (what it changed, before and after, and the
# address it came from), when. Appended to only; retention removes old personal-data
# entries, never staff actions. Staff actions on the installation (accounts) have no program.
audit_log = Table(
    "audit_log", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63)),
    Column("member_id", String(40)),
    Column("action", String(32), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("detail", Text),  # JSON
    Column("address", String(64)),
    Column("state_before", Text),  # JSON
    Column("state_after", Text),  # JSON
    Index("ix_audit_log_program_id_id", "program_id", "id"),
    Index("ix_audit_log_member_id_id", "member_id", "id"),
)

# Fraud detection (dangol.fraud). Every screened activity, with the opaque references
# (hashes) it carried: what velocity windows count. Never a raw IP, device or card.
fraud_signals = Table(
    "fraud_signals", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("at", Timestamp, nullable=False),
    Column("device_ref", String(64)),
    Column("ip_ref", String(64)),
    Column("payment_ref", String(64)),
    Index("ix_fraud_signals_program_id_member_id_at", "program_id", "member_id", "at"),
    Index("ix_fraud_signals_program_id_device_ref_at", "program_id", "device_ref", "at"),
    Index("ix_fraud_signals_program_id_ip_ref_at", "program_id", "ip_ref", "at"),
    Index("ix_fraud_signals_program_id_payment_ref_at", "program_id", "payment_ref", "at"),
)

# Which member was seen with which fingerprint ("device:<hash>", "payment:…", "address:…"):
# the edges referral rings are found over.
fraud_links = Table(
    "fraud_links", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("fingerprint", String(80), primary_key=True),
    Column("member_id", String(40), primary_key=True),
    Column("first_seen", Timestamp, nullable=False),
    Index("ix_fraud_links_program_id_member_id", "program_id", "member_id"),
)

# The review queue: one row per flagged or held event; released or reversed once, by whom.
fraud_reviews = Table(
    "fraud_reviews", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), nullable=False),
    Column("event_id", String(200), nullable=False),
    Column("action", String(16), nullable=False),  # flag | hold
    Column("status", String(16), nullable=False),  # open | released | reversed
    Column("points", BigInteger, nullable=False),
    Column("findings", Text, nullable=False),  # JSON
    Column("created_at", Timestamp, nullable=False),
    Column("resolved_at", Timestamp),
    Column("resolved_by", String(100)),
    Column("resolution", Text),  # JSON: the answer a retry gets again
    UniqueConstraint("program_id", "event_id"),
    Index("ix_fraud_reviews_program_id_status_id", "program_id", "status", "id"),
)

# The latest anomaly score of each member (parts per million) and the features it read.
fraud_scores = Table(
    "fraud_scores", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("member_id", String(40), primary_key=True),
    Column("score", BigInteger, nullable=False),
    Column("features", Text, nullable=False),  # JSON
    Column("trained", Boolean, nullable=False),  # whether the member was in the training set
    Column("scored_at", Timestamp, nullable=False),
)

# Operator console accounts (distinct from API keys): never deleted, only disabled, so the
# audit log's names stay theirs.
staff_accounts = Table(
    "staff_accounts", metadata,
    Column("id", String(40), primary_key=True),
    Column("username", String(63), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text, nullable=False),
    # Sealed with the key-encryption keys (service/staff/totp_vault.py), never in plain text.
    Column("totp_secret", Text),
    Column("totp_last_step", BigInteger),
    Column("created_at", Timestamp, nullable=False),
    Column("disabled_at", Timestamp),
)

# Signed-in staff: the SHA-256 of each session's token, never the token.
staff_sessions = Table(
    "staff_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("staff_id", String(40), ForeignKey("staff_accounts.id"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("last_seen_at", Timestamp, nullable=False),
    Column("address", String(64)),
    Index("ix_staff_sessions_staff_id", "staff_id"),
)

# Failed sign-ins, by the username tried and the address, for throttling.
staff_sign_in_failures = Table(
    "staff_sign_in_failures", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("username", String(63), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", Timestamp, nullable=False),
    Index("ix_staff_sign_in_failures_username_at", "username", "at"),
    Index("ix_staff_sign_in_failures_address_at", "address", "at"),
)

# Member portal sign-in (dangol.web.portal): single-use links a brand's backend asks for,
# and the sessions they open. Only SHA-256 hashes of their secrets are kept: a copy of the
# database opens no member's portal.
portal_links = Table(
    "portal_links", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("used_at", Timestamp),
)

portal_sessions = Table(
    "portal_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("member_id", String(40), ForeignKey("members.id"), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Index("ix_portal_sessions_member_id", "member_id"),
)

# ---------------------------------------------------------------- notifications (docs/notifications.md)

# What someone may need to hear about, written in the same transaction as the change it tells
# of: a notification is never sent for a change that rolled back, never lost for one that
# committed. `routed` turns true once the dispatcher has made its deliveries.
outbox = Table(
    "outbox", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("event_id", String(40), nullable=False, unique=True),
    Column("program_id", String(63), nullable=False),
    Column("type", String(40), nullable=False),
    Column("member_id", String(40)),
    Column("payload", Text, nullable=False),  # JSON, never personal data
    Column("occurred_at", Timestamp, nullable=False),
    Column("routed", Boolean, nullable=False, server_default=text("false")),
    Index("ix_outbox_routed_id", "routed", "id"),
    Index("ix_outbox_program_id_id", "program_id", "id"),
)

# A program's webhook endpoints. `member_channel` set (push, sms, messenger): the brand's own
# sender, which gets the rendered message for the member. Secrets are kept to sign with.
webhook_subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", String(40), primary_key=True),
    Column("program_id", String(63), ForeignKey("programs.id"), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("event_types", Text, nullable=False),  # JSON list; ["*"] is every type
    Column("secret", String(100), nullable=False),
    Column("previous_secret", String(100)),
    Column("previous_secret_until", Timestamp),
    Column("member_channel", String(16)),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_webhook_subscriptions_program_id", "program_id"),
)

# One delivery of one outbox row to one destination (a subscription, or a member's e-mail).
# `delivery_id` is the same on every try: receivers deduplicate on it.
deliveries = Table(
    "deliveries", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("delivery_id", String(40), nullable=False, unique=True),
    Column("program_id", String(63), nullable=False),
    Column("outbox_id", BigInteger, nullable=False),
    Column("subscription_id", String(40)),
    Column("channel", String(16), nullable=False),
    Column("member_id", String(40)),
    Column("status", String(16), nullable=False),  # pending, delivered, dead, skipped
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp),
    Column("last_attempt_at", Timestamp),
    Column("last_status", Integer),
    Column("last_error", String(500)),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    Index("ix_deliveries_subscription_id_id", "subscription_id", "id"),
    Index("ix_deliveries_program_id_id", "program_id", "id"),
    Index("ix_deliveries_outbox_id", "outbox_id"),
)

# Each program's notification policy: whether transactional e-mail goes out, how far ahead
# expiry is announced, the language of members who chose none, the key of unsubscribe links.
notification_policies = Table(
    "notification_policies", metadata,
    Column("program_id", String(63), ForeignKey("programs.id"), primary_key=True),
    Column("transactional_email", Boolean, nullable=False),
    Column("expiry_warning_days", Integer, nullable=False),
    Column("default_language", String(8), nullable=False),
    Column("unsubscribe_key", String(64), nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# A member's language and channels per kind of message ({kind: [channel, ...]}).
member_notification_preferences = Table(
    "member_notification_preferences", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("language", String(8)),
    Column("channels", Text, nullable=False),  # JSON
    Column("updated_at", Timestamp, nullable=False),
)

# A program's own e-mail templates (Jinja2), checked when saved; the built-in ones otherwise.
email_templates = Table(
    "email_templates", metadata,
    Column("program_id", String(63), ForeignKey("programs.id"), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("subject", Text, nullable=False),
    Column("text_body", Text, nullable=False),
    Column("html_body", Text, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# Addresses a mail server refused for good, by keyed digest (never the address): mail to the
# member stops until their address changes.
email_bounces = Table(
    "email_bounces", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("address_digest", String(64), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("bounced_at", Timestamp, nullable=False),
    Column("reason", String(500), nullable=False),
)

# Scheduled jobs: a lease per job and program so that two workers never run one at once,
# and every run, visible through the API.
job_leases = Table(
    "job_leases", metadata,
    Column("name", String(120), primary_key=True),
    Column("holder", String(100), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
)

job_runs = Table(
    "job_runs", metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("program_id", String(63), nullable=False),
    Column("job", String(40), nullable=False),
    Column("holder", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # running, succeeded, failed
    Column("started_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp),
    Column("summary", Text),  # JSON
    Index("ix_job_runs_program_id_id", "program_id", "id"),
    Index("ix_job_runs_program_id_job_id", "program_id", "job", "id"),
)

# Experiments (dangol.insight): a design, and each member's first exposure with the variant
# their hash assigned (assignment is deterministic; the row records that they saw it, and when).
experiments = Table(
    "experiments", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("variants", Text, nullable=False),  # JSON: [{"name": ..., "weight": ...}, ...]
    Column("created_at", Timestamp, nullable=False),
    sqlite_with_rowid=False,
)

experiment_exposures = Table(
    "experiment_exposures", metadata,
    Column("program_id", String(63), primary_key=True),
    Column("experiment_id", String(64), primary_key=True),
    Column("member_id", String(40), primary_key=True),
    Column("variant", String(64), nullable=False),
    Column("exposed_at", Timestamp, nullable=False),
    sqlite_with_rowid=False,
)
