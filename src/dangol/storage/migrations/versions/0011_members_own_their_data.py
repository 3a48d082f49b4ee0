"""members own their data: personal data, consents, erasures, audit log

Members' personal data kept apart from the ledger and sealed with a data key per member
(wrapped by a key-encryption key), each program's privacy policy, consent per purpose with
its history, erasure receipts, and the audit log of personal data. A member's log key may
now be destroyed (null) by their erasure.

The leaderboard opt-in members gave before this revision becomes their consent to the
`leaderboard` purpose, given when their profile was last changed (the best time known).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00.000000
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import dangol.storage.types
from dangol.storage.types import to_micros


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'privacy_policies',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('fields', sa.Text(), nullable=False),
        sa.Column('erase_after_closed_days', sa.Integer(), nullable=True),
        sa.Column('audit_log_days', sa.Integer(), nullable=True),
        sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_privacy_policies_program_id_programs')),
        sa.PrimaryKeyConstraint('program_id', name=op.f('pk_privacy_policies')),
    )
    op.create_table(
        'member_data_keys',
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('kek_id', sa.String(length=64), nullable=False),
        sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_data_keys_member_id_members')),
        sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_data_keys')),
    )
    op.create_index('ix_member_data_keys_kek_id', 'member_data_keys', ['kek_id'], unique=False)
    op.create_table(
        'member_personal_data',
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('sealed', sa.LargeBinary(), nullable=False),
        sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f('fk_member_personal_data_member_id_members')),
        sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_personal_data')),
    )
    op.create_table(
        'member_consents',
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('notice_version', sa.String(length=64), nullable=True),
        sa.Column('occurred_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('member_id', 'purpose', name=op.f('pk_member_consents')),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_member_consents_program_id_purpose_granted', 'member_consents',
                    ['program_id', 'purpose', 'member_id'], unique=False,
                    sqlite_where=sa.text('granted'), postgresql_where=sa.text('granted'))
    op.create_table(
        'consent_history',
        sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('purpose', sa.String(length=32), nullable=False),
        sa.Column('granted', sa.Boolean(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('notice_version', sa.String(length=64), nullable=True),
        sa.Column('occurred_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('recorded_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_history')),
    )
    op.create_index('ix_consent_history_member_id_id', 'consent_history', ['member_id', 'id'], unique=False)
    op.create_table(
        'member_erasures',
        sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('erased_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('receipt', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_erasures')),
        sa.UniqueConstraint('member_id', name=op.f('uq_member_erasures_member_id')),
    )
    op.create_index('ix_member_erasures_program_id_id', 'member_erasures', ['program_id', 'id'], unique=False)
    op.create_table(
        'audit_log',
        sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=True),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=100), nullable=False),
        sa.Column('at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index('ix_audit_log_program_id_id', 'audit_log', ['program_id', 'id'], unique=False)
    op.create_index('ix_audit_log_member_id_id', 'audit_log', ['member_id', 'id'], unique=False)
    # SQLite cannot drop a NOT NULL in place: the table is copied, and stays WITHOUT ROWID.
    with op.batch_alter_table('member_log_keys', table_kwargs={'sqlite_with_rowid': False}) as batch:
        batch.alter_column('key', existing_type=sa.LargeBinary(), nullable=True)
    now = to_micros(datetime.now(timezone.utc))
    op.execute(
        "INSERT INTO member_consents (member_id, purpose, program_id, granted, source, notice_version, occurred_at) "
        "SELECT member_id, 'leaderboard', program_id, leaderboard_opt_in, 'api', NULL, updated_at "
        "FROM member_profiles WHERE leaderboard_opt_in ORDER BY member_id")
    op.execute(sa.text(
        "INSERT INTO consent_history (program_id, member_id, purpose, granted, source, notice_version, occurred_at, "
        "recorded_at) SELECT program_id, member_id, purpose, granted, source, notice_version, occurred_at, :now "
        "FROM member_consents ORDER BY member_id").bindparams(now=now))


def downgrade() -> None:
    # Erased members' log keys are gone: the column cannot be NOT NULL again while they are
    # null, and inventing keys would be a lie. They keep an empty key instead.
    op.execute("UPDATE member_log_keys SET key = X'' WHERE key IS NULL" if op.get_context().dialect.name == 'sqlite'
               else "UPDATE member_log_keys SET key = '\\x'::bytea WHERE key IS NULL")
    with op.batch_alter_table('member_log_keys', table_kwargs={'sqlite_with_rowid': False}) as batch:
        batch.alter_column('key', existing_type=sa.LargeBinary(), nullable=False)
    op.drop_index('ix_audit_log_member_id_id', table_name='audit_log')
    op.drop_index('ix_audit_log_program_id_id', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ix_member_erasures_program_id_id', table_name='member_erasures')
    op.drop_table('member_erasures')
    op.drop_index('ix_consent_history_member_id_id', table_name='consent_history')
    op.drop_table('consent_history')
    op.drop_index('ix_member_consents_program_id_purpose_granted', table_name='member_consents')
    op.drop_table('member_consents')
    op.drop_table('member_personal_data')
    op.drop_index('ix_member_data_keys_kek_id', table_name='member_data_keys')
    op.drop_table('member_data_keys')
    op.drop_table('privacy_policies')
