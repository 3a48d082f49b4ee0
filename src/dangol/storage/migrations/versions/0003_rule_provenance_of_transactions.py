"""rule provenance of transactions

An earn produced by an earning rule records which rule and which published ruleset (its
content hash) produced it, so that the ledger explains itself and a replay can check it.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:05:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transactions') as batch_op:
        batch_op.add_column(sa.Column('rule_id', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('ruleset_hash', sa.String(length=71), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('transactions') as batch_op:
        batch_op.drop_column('ruleset_hash')
        batch_op.drop_column('rule_id')
