"""rulesets, member profiles and counters, events, referrals

Published rulesets with their history and a program's notice policy; the member facts that
rules read (profile, counters) and program-wide budget counters; every business event with
its result; referral codes and relations.

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-25 02:01:38.914080
"""
from alembic import op
import sqlalchemy as sa
import dangol.storage.types


revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=True),
    sa.Column('order_id', sa.String(length=200), nullable=True),
    sa.Column('occurred_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('recorded_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('ruleset_hash', sa.String(length=71), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('program_id', 'event_id', name=op.f('uq_events_program_id_event_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_member_id_order_id', ['member_id', 'order_id'], unique=False)

    op.create_table('member_counters',
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('member_id', 'key', name=op.f('pk_member_counters')),
    sqlite_with_rowid=False
    )
    op.create_table('program_counters',
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('key', sa.String(length=300), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('program_id', 'key', name=op.f('pk_program_counters')),
    sqlite_with_rowid=False
    )
    op.create_table('referral_codes',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_referral_codes')),
    sa.UniqueConstraint('member_id', name=op.f('uq_referral_codes_member_id'))
    )
    op.create_table('referrals',
    sa.Column('referee_id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('referrer_id', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=200), nullable=False),
    sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('referee_id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index('ix_referrals_referrer_id', ['referrer_id'], unique=False)

    op.create_table('rule_policies',
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('notice_days', sa.Integer(), nullable=False),
    sa.Column('default_time_zone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_rule_policies_program_id_programs')),
    sa.PrimaryKeyConstraint('program_id', name=op.f('pk_rule_policies'))
    )
    op.create_table('rulesets',
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('number', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.String(length=71), nullable=False),
    sa.Column('version', sa.String(length=64), nullable=False),
    sa.Column('effective_from', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('published_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('urgent_reason', sa.String(length=500), nullable=True),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_rulesets_program_id_programs')),
    sa.PrimaryKeyConstraint('program_id', 'number', name=op.f('pk_rulesets')),
    sa.UniqueConstraint('program_id', 'hash', name=op.f('uq_rulesets_program_id_hash'))
    )
    op.create_table('member_profiles',
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('birthday_month', sa.SmallInteger(), nullable=True),
    sa.Column('birthday_day', sa.SmallInteger(), nullable=True),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('leaderboard_opt_in', sa.Boolean(), nullable=False),
    sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_profiles_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_profiles'))
    )


def downgrade() -> None:
    op.drop_table('member_profiles')
    op.drop_table('rulesets')
    op.drop_table('rule_policies')
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_referrer_id')

    op.drop_table('referrals')
    op.drop_table('referral_codes')
    op.drop_table('program_counters')
    op.drop_table('member_counters')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_member_id_order_id')

    op.drop_table('events')
