"""staff and audit: operator console accounts, sessions, sign-in failures; the audit log
records staff actions too

Staff accounts (distinct from API keys), their server-side sessions (token hashes) and
failed sign-ins (for throttling). The audit log gains where an action came from and the
state before and after it, and entries without a program (staff accounts belong to the
installation).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa

import dangol.storage.types


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'staff_accounts',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('username', sa.String(length=63), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=False),
        sa.Column('totp_secret', sa.Text(), nullable=True),  # sealed (service/staff/totp_vault.py)
        sa.Column('totp_last_step', sa.BigInteger(), nullable=True),
        sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('disabled_at', dangol.storage.types.Timestamp(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_accounts')),
        sa.UniqueConstraint('username', name=op.f('uq_staff_accounts_username')),
    )
    op.create_table(
        'staff_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('staff_id', sa.String(length=40), nullable=False),
        sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('last_seen_at', dangol.storage.types.Timestamp(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(['staff_id'], ['staff_accounts.id'], name=op.f('fk_staff_sessions_staff_id_staff_accounts')),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_staff_sessions')),
    )
    op.create_index('ix_staff_sessions_staff_id', 'staff_sessions', ['staff_id'], unique=False)
    op.create_table(
        'staff_sign_in_failures',
        sa.Column('id', ROW_ID, autoincrement=True, nullable=False),
        sa.Column('username', sa.String(length=63), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', dangol.storage.types.Timestamp(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_sign_in_failures')),
    )
    op.create_index('ix_staff_sign_in_failures_username_at', 'staff_sign_in_failures', ['username', 'at'], unique=False)
    op.create_index('ix_staff_sign_in_failures_address_at', 'staff_sign_in_failures', ['address', 'at'], unique=False)
    # SQLite cannot drop a NOT NULL in place: the table is copied.
    with op.batch_alter_table('audit_log') as batch:
        batch.alter_column('program_id', existing_type=sa.String(length=63), nullable=True)
        batch.add_column(sa.Column('address', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('state_before', sa.Text(), nullable=True))
        batch.add_column(sa.Column('state_after', sa.Text(), nullable=True))


def downgrade() -> None:
    # Entries of installation-wide staff actions have no program to keep them under.
    op.execute("DELETE FROM audit_log WHERE program_id IS NULL")
    with op.batch_alter_table('audit_log') as batch:
        batch.drop_column('state_after')
        batch.drop_column('state_before')
        batch.drop_column('address')
        batch.alter_column('program_id', existing_type=sa.String(length=63), nullable=False)
    op.drop_index('ix_staff_sign_in_failures_address_at', table_name='staff_sign_in_failures')
    op.drop_index('ix_staff_sign_in_failures_username_at', table_name='staff_sign_in_failures')
    op.drop_table('staff_sign_in_failures')
    op.drop_index('ix_staff_sessions_staff_id', table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_table('staff_accounts')
