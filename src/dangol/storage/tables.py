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
    Column("ruleset_hash", String(64)),  # and the published ruleset it belongs to
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


# ---------------------------------------------------------------- transparency log (issue 4)
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
# and the commitment itself, so the write path reads it instead of recomputing it.
member_log_keys = Table(
    "member_log_keys", metadata,
    Column("member_id", String(40), primary_key=True),
    Column("program_id", String(63), nullable=False),
    Column("key", LargeBinary, nullable=False),
    Column("commitment", String(64), nullable=False),
    sqlite_with_rowid=False,
)
