"""notifications outbox and jobs

The transactional outbox (a row per change someone may need to hear about, written with
the change), webhook subscriptions and their deliveries, each program's notification policy,
members' language and channels per kind of message, e-mail templates, bounced addresses (by
keyed digest), and the leases and runs of scheduled jobs.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 03:15:46.189637
"""
from alembic import op
import sqlalchemy as sa
import dangol.storage.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('subscription_id', sa.String(length=40), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', dangol.storage.types.Timestamp(), nullable=True),
    sa.Column('last_attempt_at', dangol.storage.types.Timestamp(), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deliveries')),
    sa.UniqueConstraint('delivery_id', name=op.f('uq_deliveries_delivery_id'))
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_outbox_id', ['outbox_id'], unique=False)
        batch_op.create_index('ix_deliveries_program_id_id', ['program_id', 'id'], unique=False)
        batch_op.create_index('ix_deliveries_status_next_attempt_at', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_deliveries_subscription_id_id', ['subscription_id', 'id'], unique=False)

    op.create_table('email_bounces',
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('address_digest', sa.String(length=64), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('bounced_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.PrimaryKeyConstraint('member_id', 'address_digest', name=op.f('pk_email_bounces'))
    )
    op.create_table('job_leases',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('expires_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_leases'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('job', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('finished_at', dangol.storage.types.Timestamp(), nullable=True),
    sa.Column('summary', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_program_id_id', ['program_id', 'id'], unique=False)
        batch_op.create_index('ix_job_runs_program_id_job_id', ['program_id', 'job', 'id'], unique=False)

    op.create_table('member_notification_preferences',
    sa.Column('member_id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('channels', sa.Text(), nullable=False),
    sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_notification_preferences'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('member_id', sa.String(length=40), nullable=True),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('occurred_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.Column('routed', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('event_id', name=op.f('uq_outbox_event_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_program_id_id', ['program_id', 'id'], unique=False)
        batch_op.create_index('ix_outbox_routed_id', ['routed', 'id'], unique=False)

    op.create_table('email_templates',
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_email_templates_program_id_programs')),
    sa.PrimaryKeyConstraint('program_id', 'kind', 'language', name=op.f('pk_email_templates'))
    )
    op.create_table('notification_policies',
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('transactional_email', sa.Boolean(), nullable=False),
    sa.Column('expiry_warning_days', sa.Integer(), nullable=False),
    sa.Column('default_language', sa.String(length=8), nullable=False),
    sa.Column('unsubscribe_key', sa.String(length=64), nullable=False),
    sa.Column('updated_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_notification_policies_program_id_programs')),
    sa.PrimaryKeyConstraint('program_id', name=op.f('pk_notification_policies'))
    )
    op.create_table('webhook_subscriptions',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('program_id', sa.String(length=63), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('event_types', sa.Text(), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('previous_secret', sa.String(length=100), nullable=True),
    sa.Column('previous_secret_until', dangol.storage.types.Timestamp(), nullable=True),
    sa.Column('member_channel', sa.String(length=16), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', dangol.storage.types.Timestamp(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_webhook_subscriptions_program_id_programs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_subscriptions'))
    )
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_subscriptions_program_id', ['program_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_subscriptions_program_id')

    op.drop_table('webhook_subscriptions')
    op.drop_table('notification_policies')
    op.drop_table('email_templates')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_routed_id')
        batch_op.drop_index('ix_outbox_program_id_id')

    op.drop_table('outbox')
    op.drop_table('member_notification_preferences')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_program_id_job_id')
        batch_op.drop_index('ix_job_runs_program_id_id')

    op.drop_table('job_runs')
    op.drop_table('job_leases')
    op.drop_table('email_bounces')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_subscription_id_id')
        batch_op.drop_index('ix_deliveries_outbox_id')
        batch_op.drop_index('ix_deliveries_status_next_attempt_at')
        batch_op.drop_index('ix_deliveries_program_id_id')

    op.drop_table('deliveries')
