"""index live lots by member

The member index on lots covered only lots with points left, so the ledger's lot query
(points left OR pending) could use no index and scanned the whole table on both engines.
This index covers exactly what that query asks for. Lots with points left are a subset of
it, so the lot pages keep an index; it replaces the old one, and writes maintain about as
many entries as before (a pending lot nearly always has points).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:50:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

LIVE_LOT = "remaining > 0 OR NOT released"  # as of this revision; tables.LIVE_LOT may move on
OPEN_LOT = "remaining > 0"


def upgrade() -> None:
    op.create_index('ix_lots_member_id_live', 'lots', ['member_id'], unique=False,
                    sqlite_where=sa.text(LIVE_LOT), postgresql_where=sa.text(LIVE_LOT))
    op.drop_index('ix_lots_member_id_open', table_name='lots')


def downgrade() -> None:
    op.create_index('ix_lots_member_id_open', 'lots', ['member_id'], unique=False,
                    sqlite_where=sa.text(OPEN_LOT), postgresql_where=sa.text(OPEN_LOT))
    op.drop_index('ix_lots_member_id_live', table_name='lots')
