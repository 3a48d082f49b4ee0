"""postings name their rule

An event's effects for one member are one ledger transaction: every rule that paid has its
own pair of postings, and each posting names the rule it came from. Transactions written
before keep their shape (one earn per rule, the rule on the transaction); their postings
name no rule and their log entries (format v1) are left exactly as they were signed.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 09:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('postings') as batch_op:
        batch_op.add_column(sa.Column('rule_id', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('postings') as batch_op:
        batch_op.drop_column('rule_id')
