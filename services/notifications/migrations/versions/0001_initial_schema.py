"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 10:45:53.715964
"""
from alembic import op
import sqlalchemy as sa

from services.core.db import UtcDateTime


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deliveries',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('envelope_from', sa.String(length=320), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('next_attempt_time', UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expire_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('uid', sa.String(length=255), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('create_time', UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_attempt_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('sent_time', UtcDateTime(timezone=True), nullable=True),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id'),
    sa.UniqueConstraint('idempotency_key', 'recipient', name='uq_deliveries_key_recipient')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due', ['state', 'next_attempt_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_recipient'), ['recipient'], unique=False)
        batch_op.create_index(batch_op.f('ix_deliveries_uid'), ['uid'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_uid'))
        batch_op.drop_index(batch_op.f('ix_deliveries_recipient'))
        batch_op.drop_index('ix_deliveries_due')

    op.drop_table('deliveries')
