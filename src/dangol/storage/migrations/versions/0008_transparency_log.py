"""transparency log

The tables of the verifiable ledger's log: entries written with the ledger's
transactions, the Merkle tree's nodes, the log's state row, signed checkpoints, witness
cosignatures and keys, and each member's key for their commitments. Transactions written
before this revision are not in the log (the log starts empty).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 02:02:59.540681
"""
from alembic import op
import sqlalchemy as sa
import dangol.storage.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("log_sequence_seq")))
    op.create_table('log_checkpoints',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root_hash', sa.LargeBinary(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('signed_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('size', name=op.f('pk_log_checkpoints'))
    )
    op.create_table('log_cosignatures',
    sa.Column('size', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('witness', sa.String(length=300), nullable=False),
    sa.Column('line', sa.Text(), nullable=False),
    sa.Column('timestamp', sa.BigInteger(), nullable=False),
    sa.Column('received_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('size', 'witness', name=op.f('pk_log_cosignatures'))
    )
    op.create_table('log_entries',
    sa.Column('sequence', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('transaction_id', sa.BigInteger(), nullable=True),
    sa.Column('entry', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_hash', sa.LargeBinary(), nullable=False),
    sa.Column('leaf_index', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('sequence', name=op.f('pk_log_entries'))
    )
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.create_index('uq_log_entries_leaf_index', ['leaf_index'], unique=True, sqlite_where=sa.text('leaf_index IS NOT NULL'), postgresql_where=sa.text('leaf_index IS NOT NULL'))
        batch_op.create_index('ix_log_entries_sequence_pending', ['sequence'], unique=False, sqlite_where=sa.text('leaf_index IS NULL'), postgresql_where=sa.text('leaf_index IS NULL'))

    op.create_table('log_nodes',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_log_nodes')),
    sqlite_with_rowid=False
    )
    op.create_table('log_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('quorum', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_log_state'))
    )
    op.create_table('log_witnesses',
    sa.Column('vkey', sa.String(length=300), nullable=False),
    sa.Column('added_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('vkey', name=op.f('pk_log_witnesses'))
    )
    op.create_table('member_log_keys',
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('key', sa.LargeBinary(), nullable=False),
    sa.Column('commitment', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_log_keys')),
    sqlite_with_rowid=False
    )
    op.execute("INSERT INTO log_state (id, tree_size, quorum) VALUES (1, 0, 0)")


def downgrade() -> None:
    op.drop_table('member_log_keys')
    op.drop_table('log_witnesses')
    op.drop_table('log_state')
    op.drop_table('log_nodes')
    with op.batch_alter_table('log_entries', schema=None) as batch_op:
        batch_op.drop_index('uq_log_entries_leaf_index', sqlite_where=sa.text('leaf_index IS NOT NULL'), postgresql_where=sa.text('leaf_index IS NOT NULL'))
        batch_op.drop_index('ix_log_entries_sequence_pending', sqlite_where=sa.text('leaf_index IS NULL'), postgresql_where=sa.text('leaf_index IS NULL'))

    op.drop_table('log_entries')
    op.drop_table('log_cosignatures')
    op.drop_table('log_checkpoints')
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("log_sequence_seq")))
