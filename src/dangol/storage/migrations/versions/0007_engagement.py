"""engagement: coupons, badges, challenge progress, engagement profiles

Issued coupons (with what they give, copied at issue), badges awarded once per member,
challenge progress per member per period, and the display name, leaderboard opt-in,
birthday and time zone engagement reads (until the events area's member_profiles lands),
and transactions.ruleset_hash wide enough for "sha256:" + 64 hex.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-25 02:40:00.000000
"""
from alembic import op
import sqlalchemy as sa
import dangol.storage.types


revision = '0007'
down_revision = '0003'
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
    op.create_table('engagement_profiles',
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=True),
    sa.Column('birthday_month', sa.SmallInteger(), nullable=True),
    sa.Column('birthday_day', sa.SmallInteger(), nullable=True),
    sa.Column('tags', sa.Text(), nullable=False),
    sa.Column('display_name', sa.String(length=100), nullable=True),
    sa.Column('leaderboard_opt_in', sa.Boolean(), nullable=False),
    sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_engagement_profiles_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_engagement_profiles'))
    )
    # "sha256:" + 64 hex is 71 characters (0003 made it 64). The events branch's 0005 widens
    # it the same way: at the merge, keep one of the two.
    with op.batch_alter_table('transactions') as batch_op:
        batch_op.alter_column('ruleset_hash', existing_type=sa.String(length=64), type_=sa.String(length=71),
                              existing_nullable=True)


def downgrade() -> None:
    with op.batch_alter_table('transactions') as batch_op:
        batch_op.alter_column('ruleset_hash', existing_type=sa.String(length=71), type_=sa.String(length=64),
                              existing_nullable=True)
    op.drop_table('engagement_profiles')
    op.drop_table('engagement_progress')
    op.drop_table('engagement_badges')
    op.drop_index('ix_engagement_coupons_program_id_member_id', table_name='engagement_coupons')
    op.drop_table('engagement_coupons')
