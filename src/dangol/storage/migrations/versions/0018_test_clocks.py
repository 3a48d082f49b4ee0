"""test clocks

A program is live or in test mode (`programs.mode`, fixed at creation: a test program is never
switched to live). A test program has its own clock, the simulated now that only the operator
moves forward (`test_clocks`, one row per test program).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import dangol.storage.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (with its default, every engine has it): no copy of `programs`, which
    # every other table references.
    op.add_column('programs', sa.Column('mode', sa.String(length=8), nullable=False, server_default='live'))
    op.create_table(
        'test_clocks',
        sa.Column('program_id', sa.String(length=63), sa.ForeignKey('programs.id'), primary_key=True),
        sa.Column('now', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('advanced_at', dangol.storage.types.Timestamp(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('test_clocks')
    op.execute("ALTER TABLE programs DROP COLUMN mode")  # SQLite 3.35 and later, PostgreSQL: no table copy
