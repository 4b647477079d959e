"""cohort runs (services/scheduling/cohort/store.py CohortRunRow)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 11:41:03.910611
"""
from alembic import op
import sqlalchemy as sa

import services.core.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cohort_runs',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('run', sa.LargeBinary(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('heartbeat_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('commit_request_id', sa.String(length=128), nullable=False),
    sa.Column('commit_response', sa.LargeBinary(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id')
    )
    with op.batch_alter_table('cohort_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohort_runs_create_time'), ['create_time'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cohort_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohort_runs_create_time'))

    op.drop_table('cohort_runs')
