"""member profile and status history

Every change to what judging reads of a member's profile (time zone, birthday, tags) and
every change of a member's status, with the time it took effect: `replay --check` judges
each event against the member as they were when it was recorded.

What happened before this revision is not known, so replay assumes what it assumed until
now where it must: each profile as it is (a version from the member's enrolment on), each
member active until this revision, and a member who is not active now (suspended or
closed) so from this revision on.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 10:00:00.000000
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

import dangol.storage.types
from dangol.storage.types import to_micros


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'member_profile_history',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('time_zone', sa.String(length=64), nullable=True),
        sa.Column('birthday_month', sa.SmallInteger(), nullable=True),
        sa.Column('birthday_day', sa.SmallInteger(), nullable=True),
        sa.Column('tags', sa.Text(), nullable=False),
        sa.Column('recorded_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_profile_history_member_id_members')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_profile_history')),
    )
    op.create_index('ix_member_profile_history_program_id_recorded_at', 'member_profile_history',
                    ['program_id', 'recorded_at'], unique=False)
    op.create_table(
        'member_status_history',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('occurred_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('recorded_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_status_history')),
    )
    op.create_index('ix_member_status_history_program_id_recorded_at', 'member_status_history',
                    ['program_id', 'recorded_at'], unique=False)
    op.execute(
        "INSERT INTO member_profile_history (program_id, member_id, time_zone, birthday_month, birthday_day, tags, "
        "recorded_at) SELECT p.program_id, p.member_id, p.time_zone, p.birthday_month, p.birthday_day, p.tags, "
        "m.enrolled_at FROM member_profiles p JOIN members m ON m.id = p.member_id ORDER BY p.member_id")
    now = to_micros(datetime.now(timezone.utc))
    op.execute(sa.text(
        "INSERT INTO member_status_history (program_id, member_id, status, occurred_at, recorded_at) "
        "SELECT program_id, id, status, :now, :now FROM members WHERE status <> 'active' ORDER BY id"
    ).bindparams(now=now))


def downgrade() -> None:
    op.drop_index('ix_member_status_history_program_id_recorded_at', table_name='member_status_history')
    op.drop_table('member_status_history')
    op.drop_index('ix_member_profile_history_program_id_recorded_at', table_name='member_profile_history')
    op.drop_table('member_profile_history')
