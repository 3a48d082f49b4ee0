"""insight: experiments and their exposure records

An experiment's design (its variants and their weights), and the first exposure of each
member to it with the variant the member's hash assigned.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 12:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import dangol.storage.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'experiments',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('variants', sa.Text(), nullable=False),
        sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('program_id', 'id', name=op.f('pk_experiments')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'experiment_exposures',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('experiment_id', sa.String(length=64), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('variant', sa.String(length=64), nullable=False),
        sa.Column('exposed_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('program_id', 'experiment_id', 'member_id', name=op.f('pk_experiment_exposures')),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('experiment_exposures')
    op.drop_table('experiments')
