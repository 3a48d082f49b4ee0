"""engagement: coupons, badges, challenge progress

Issued coupons (with what they give, copied at issue), badges awarded once per member,
challenge progress per member per period. (The profile engagement reads, display name,
leaderboard opt-in, birthday and time zone, is member_profiles, from 0005.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 02:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import dangol.storage.types


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('engagement_coupons',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('template', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('benefit', sa.String(length=16), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('cap', sa.BigInteger(), nullable=True),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('issued_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('expires_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('redeemed_at', dangol.storage.types.Timestamp(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_engagement_coupons'))
    )
    op.create_index('ix_engagement_coupons_program_id_member_id', 'engagement_coupons',
                    ['program_id', 'member_id'], unique=False)
    op.create_table('engagement_badges',
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('badge', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=100), nullable=False),
    sa.Column('awarded_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('program_id', 'member_id', 'badge', name=op.f('pk_engagement_badges'))
    )
    op.create_table('engagement_progress',
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('challenge', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=True),
    sa.Column('completions', sa.Integer(), nullable=False),
    sa.Column('completed_at', dangol.storage.types.Timestamp(), nullable=True),
    sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('program_id', 'member_id', 'challenge', 'period', name=op.f('pk_engagement_progress'))
    )


def downgrade() -> None:
    op.drop_table('engagement_progress')
    op.drop_table('engagement_badges')
    op.drop_index('ix_engagement_coupons_program_id_member_id', table_name='engagement_coupons')
    op.drop_table('engagement_coupons')
