"""member tiers

Each member's standing on the program's tier ladder, the history of every change to it,
and the cursor of tier recalculation runs.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 02:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

import dangol.storage.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None



def upgrade() -> None:
    op.create_table(
        'member_tiers',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('tier', sa.String(length=32), nullable=False),
        sa.Column('since', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('window_start', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('window_end', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('grace_until', dangol.storage.types.Timestamp(), nullable=True),
        sa.Column('evaluated_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('program_id', 'member_id', name=op.f('pk_member_tiers')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'tier_history',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('from_tier', sa.String(length=32), nullable=False),
        sa.Column('to_tier', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('metric', sa.BigInteger(), nullable=False),
        sa.Column('at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('window_start', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('window_end', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('recorded_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_history')),
    )
    op.create_index('ix_tier_history_member_id_id', 'tier_history', ['member_id', 'id'], unique=False)
    op.create_table(
        'tier_recalculations',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('after_member', sa.String(length=40), nullable=True),
        sa.Column('members', sa.BigInteger(), nullable=False),
        sa.Column('changes', sa.BigInteger(), nullable=False),
        sa.Column('started_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('finished_at', dangol.storage.types.Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint('program_id', 'at', name=op.f('pk_tier_recalculations')),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('tier_recalculations')
    op.drop_index('ix_tier_history_member_id_id', table_name='tier_history')
    op.drop_table('tier_history')
    op.drop_table('member_tiers')
