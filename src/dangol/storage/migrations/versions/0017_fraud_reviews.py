"""fraud reviews: screened signals, fingerprint links, the review queue, anomaly scores

Fraud detection's tables: every screened activity with its opaque (hashed) references,
for velocity windows; which member was seen with which fingerprint, for referral rings;
the review queue of flagged and held events; and each member's latest anomaly score.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import dangol.storage.types


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
REFS = ('device_ref', 'ip_ref', 'payment_ref')


def upgrade() -> None:
    op.create_table(
        'fraud_signals',
        sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('at', dangol.storage.types.Timestamp(), nullable=False),
        *(sa.Column(ref, sa.String(length=64), nullable=True) for ref in REFS),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fraud_signals')),
    )
    op.create_index('ix_fraud_signals_program_id_member_id_at', 'fraud_signals', ['program_id', 'member_id', 'at'])
    for ref in REFS:
        op.create_index(f'ix_fraud_signals_program_id_{ref}_at', 'fraud_signals', ['program_id', ref, 'at'])
    op.create_table(
        'fraud_links',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('fingerprint', sa.String(length=80), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('first_seen', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('program_id', 'fingerprint', 'member_id', name=op.f('pk_fraud_links')),
    )
    op.create_index('ix_fraud_links_program_id_member_id', 'fraud_links', ['program_id', 'member_id'])
    op.create_table(
        'fraud_reviews',
        sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('event_id', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('points', sa.BigInteger(), nullable=False),
        sa.Column('findings', sa.Text(), nullable=False),
        sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('resolved_at', dangol.storage.types.Timestamp(), nullable=True),
        sa.Column('resolved_by', sa.String(length=100), nullable=True),
        sa.Column('resolution', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_fraud_reviews')),
        sa.UniqueConstraint('program_id', 'event_id', name=op.f('uq_fraud_reviews_program_id_event_id')),
    )
    op.create_index('ix_fraud_reviews_program_id_status_id', 'fraud_reviews', ['program_id', 'status', 'id'])
    op.create_table(
        'fraud_scores',
        sa.Column('program_id', sa.String(length=63), nullable=False),
        sa.Column('member_id', sa.String(length=40), nullable=False),
        sa.Column('score', sa.BigInteger(), nullable=False),
        sa.Column('features', sa.Text(), nullable=False),
        sa.Column('trained', sa.Boolean(), nullable=False),
        sa.Column('scored_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('program_id', 'member_id', name=op.f('pk_fraud_scores')),
    )


def downgrade() -> None:
    op.drop_table('fraud_scores')
    op.drop_index('ix_fraud_reviews_program_id_status_id', table_name='fraud_reviews')
    op.drop_table('fraud_reviews')
    op.drop_index('ix_fraud_links_program_id_member_id', table_name='fraud_links')
    op.drop_table('fraud_links')
    for ref in reversed(REFS):
        op.drop_index(f'ix_fraud_signals_program_id_{ref}_at', table_name='fraud_signals')
    op.drop_index('ix_fraud_signals_program_id_member_id_at', table_name='fraud_signals')
    op.drop_table('fraud_signals')
