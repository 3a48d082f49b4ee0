"""portal sessions: single-use sign-in links and member portal sessions

The member portal's passwordless sign-in: links a brand's backend asks for (short-lived,
used once) and the sessions they open, both kept as SHA-256 hashes of their secrets.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import dangol.storage.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'portal_links',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('expires_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('used_at', dangol.storage.types.Timestamp(), nullable=True),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_portal_links_member_id_members')),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_portal_links')),
    )
    op.create_table(
        'portal_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('expires_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_portal_sessions_member_id_members')),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_portal_sessions')),
    )
    op.create_index('ix_portal_sessions_member_id', 'portal_sessions', ['member_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_portal_sessions_member_id', table_name='portal_sessions')
    op.drop_table('portal_sessions')
    op.drop_table('portal_links')
