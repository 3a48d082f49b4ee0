"""import rejects

Why `dangol import` refused each event it refused, kept with the event's content
fingerprint: an import of the same file that does not retry an earlier reject (later events
of the file are in the ledger) reports its original reason instead of only "previously
rejected". Rejects from before this revision were not kept; they are still reported as
`previously-rejected`.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 00:30:00.000000
"""
from alembic import op
import sqlalchemy as sa

import dangol.storage.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'import_rejects',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('event_id', sa.String(length=255), nullable=False),
        sa.Column('fingerprint', sa.String(length=64), nullable=False),
        sa.Column('code', sa.String(length=63), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('rejected_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('program_id', 'event_id', name=op.f('pk_import_rejects')),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('import_rejects')
