"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 10:43:20.671828
"""
from alembic import op
import sqlalchemy as sa

from services.core.db import UtcDateTime


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('actor_role', sa.String(length=40), nullable=False),
    sa.Column('action', sa.String(length=80), nullable=False),
    sa.Column('ticket', sa.String(length=200), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=False),
    sa.Column('create_time', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_ticket'), ['ticket'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('response', sa.LargeBinary(), nullable=False),
    sa.Column('create_time', UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('method', 'request_id')
    )
    op.create_table('outbox_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('create_time', UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_time', UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expire_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('delivered_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('failed_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_delivered_time'), ['delivered_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_next_attempt_time'), ['next_attempt_time'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('candidate', sa.String(length=200), nullable=False),
    sa.Column('candidate_email', sa.String(length=320), nullable=False),
    sa.Column('submitted_by', sa.String(length=320), nullable=False),
    sa.Column('submitted_by_role', sa.String(length=40), nullable=False),
    sa.Column('requested_adjustments', sa.JSON(), nullable=False),
    sa.Column('reason_ct', sa.LargeBinary(), nullable=False),
    sa.Column('loop', sa.String(length=200), nullable=False),
    sa.Column('office', sa.String(length=200), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('assignee', sa.String(length=320), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('create_time', UtcDateTime(timezone=True), nullable=False),
    sa.Column('update_time', UtcDateTime(timezone=True), nullable=False),
    sa.Column('acknowledge_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('decide_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('first_interview_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('paused_seconds', sa.Float(), nullable=False),
    sa.Column('paused_since', UtcDateTime(timezone=True), nullable=True),
    sa.Column('next_due_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('at_risk_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('sla_outcome', sa.Integer(), nullable=False),
    sa.Column('decision_outcome', sa.Integer(), nullable=False),
    sa.Column('decision_constraints', sa.JSON(), nullable=True),
    sa.Column('decision_text_ct', sa.LargeBinary(), nullable=True),
    sa.Column('decided_by', sa.String(length=320), nullable=False),
    sa.Column('decision_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('activate_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('legal_hold', sa.Boolean(), nullable=False),
    sa.Column('hiring_decision_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('close_time', UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_assignee'), ['assignee'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_candidate'), ['candidate'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_office'), ['office'], unique=False)
        batch_op.create_index('ix_tickets_queue', ['next_due_time', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_submitted_by'), ['submitted_by'], unique=False)

    op.create_table('ticket_messages',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('ticket_id', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=320), nullable=False),
    sa.Column('author_role', sa.String(length=40), nullable=False),
    sa.Column('visibility', sa.Integer(), nullable=False),
    sa.Column('body_ct', sa.LargeBinary(), nullable=False),
    sa.Column('create_time', UtcDateTime(timezone=True), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_messages_ticket_id'), ['ticket_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_messages_ticket_id'))

    op.drop_table('ticket_messages')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tickets_submitted_by'))
        batch_op.drop_index(batch_op.f('ix_tickets_state'))
        batch_op.drop_index('ix_tickets_queue')
        batch_op.drop_index(batch_op.f('ix_tickets_office'))
        batch_op.drop_index(batch_op.f('ix_tickets_candidate'))
        batch_op.drop_index(batch_op.f('ix_tickets_assignee'))

    op.drop_table('tickets')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_next_attempt_time'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_delivered_time'))

    op.drop_table('outbox_messages')
    op.drop_table('idempotency_records')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_ticket'))

    op.drop_table('audit_events')
