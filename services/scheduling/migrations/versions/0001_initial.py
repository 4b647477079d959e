"""initial schema: directory, loops, holds, reservations (no-overlap guards), outbox; seeded offices

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 10:44:31.780634
"""
from alembic import op
import sqlalchemy as sa

import services.core.db
from services.scheduling.models import RESERVATION_EXCLUSION


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('candidates',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('primary_area', sa.Integer(), nullable=False),
    sa.Column('secondary_area', sa.Integer(), nullable=False),
    sa.Column('availability', sa.JSON(), nullable=False),
    sa.Column('preferred_hours', sa.JSON(), nullable=True),
    sa.Column('preferred_office_id', sa.String(length=63), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('update_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('etag', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('holds',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('candidate_id', sa.String(length=63), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('expire_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('loop_id', sa.String(length=63), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_holds_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_holds_expire_time'), ['expire_time'], unique=False)

    op.create_table('idempotency_records',
    sa.Column('method', sa.String(length=200), nullable=False),
    sa.Column('request_id', sa.String(length=128), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('response', sa.LargeBinary(), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('method', 'request_id')
    )
    op.create_table('loop_templates',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('sessions', sa.JSON(), nullable=False),
    sa.Column('buffer_minutes', sa.Integer(), nullable=False),
    sa.Column('max_days', sa.Integer(), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('update_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('etag', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('loops',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('candidate_id', sa.String(length=63), nullable=False),
    sa.Column('template_id', sa.String(length=63), nullable=False),
    sa.Column('state', sa.Integer(), nullable=False),
    sa.Column('location_mode', sa.Integer(), nullable=False),
    sa.Column('office_id', sa.String(length=63), nullable=True),
    sa.Column('gap_minutes', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('video_link', sa.String(length=300), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('constraint_violations', sa.JSON(), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('update_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('etag', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loops_candidate_id'), ['candidate_id'], unique=False)

    op.create_table('offices',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=500), nullable=False),
    sa.Column('office_hours', sa.JSON(), nullable=False),
    sa.Column('holidays', sa.JSON(), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('update_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('etag', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('outbox_messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('topic', sa.String(length=100), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.LargeBinary(), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('lease_owner', sa.String(length=100), nullable=True),
    sa.Column('lease_expire_time', services.core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('delivered_time', services.core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('failed_time', services.core.db.UtcDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('idempotency_key')
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_messages_delivered_time'), ['delivered_time'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_messages_next_attempt_time'), ['next_attempt_time'], unique=False)

    op.create_table('reservations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('resource', sa.String(length=200), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('session_id', sa.String(length=63), nullable=False),
    sa.Column('start_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('end_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('expire_time', services.core.db.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index('ix_reservations_owner', ['owner'], unique=False)
        batch_op.create_index('ix_reservations_resource_start', ['resource', 'start_time'], unique=False)

    op.create_table('interviewers',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('home_office_id', sa.String(length=63), nullable=False),
    sa.Column('ml_areas', sa.JSON(), nullable=False),
    sa.Column('time_zone', sa.String(length=64), nullable=False),
    sa.Column('working_hours', sa.JSON(), nullable=False),
    sa.Column('max_per_day', sa.Integer(), nullable=False),
    sa.Column('max_per_week', sa.Integer(), nullable=False),
    sa.Column('trainee', sa.Boolean(), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('update_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('etag', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['home_office_id'], ['offices.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('interviewers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_interviewers_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_interviewers_home_office_id'), ['home_office_id'], unique=False)

    op.create_table('loop_sessions',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('loop_id', sa.String(length=63), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('start_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('end_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('interviewer_ids', sa.JSON(), nullable=False),
    sa.Column('room_id', sa.String(length=200), nullable=True),
    sa.Column('remote', sa.Boolean(), nullable=False),
    sa.Column('adjustments', sa.JSON(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['loop_id'], ['loops.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('loop_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loop_sessions_loop_id'), ['loop_id'], unique=False)

    op.create_table('rooms',
    sa.Column('office_id', sa.String(length=63), nullable=False),
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('wheelchair_accessible', sa.Boolean(), nullable=False),
    sa.Column('video_equipped', sa.Boolean(), nullable=False),
    sa.Column('quiet', sa.Boolean(), nullable=False),
    sa.Column('location_hint', sa.String(length=200), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('update_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('etag', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['office_id'], ['offices.id'], ),
    sa.PrimaryKeyConstraint('office_id', 'id')
    )
    op.create_table('busy_blocks',
    sa.Column('id', sa.String(length=63), nullable=False),
    sa.Column('interviewer_id', sa.String(length=63), nullable=False),
    sa.Column('start_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('end_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Integer(), nullable=False),
    sa.Column('source', sa.Integer(), nullable=False),
    sa.Column('create_time', services.core.db.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['interviewer_id'], ['interviewers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('busy_blocks', schema=None) as batch_op:
        batch_op.create_index('ix_busy_blocks_interviewer_start', ['interviewer_id', 'start_time'], unique=False)

    op.create_table('directory_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.execute("INSERT INTO directory_state (id, version) VALUES (1, 1)")

    _reservation_guards()
    _seed_offices()


def downgrade() -> None:
    op.drop_table('directory_state')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS reservations_no_overlap_insert")
        op.execute("DROP TRIGGER IF EXISTS reservations_no_overlap_update")
    with op.batch_alter_table('busy_blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_busy_blocks_interviewer_start')

    op.drop_table('busy_blocks')
    op.drop_table('rooms')
    with op.batch_alter_table('loop_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loop_sessions_loop_id'))

    op.drop_table('loop_sessions')
    with op.batch_alter_table('interviewers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_interviewers_home_office_id'))
        batch_op.drop_index(batch_op.f('ix_interviewers_email'))

    op.drop_table('interviewers')
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_index('ix_reservations_resource_start')
        batch_op.drop_index('ix_reservations_owner')

    op.drop_table('reservations')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_messages_next_attempt_time'))
        batch_op.drop_index(batch_op.f('ix_outbox_messages_delivered_time'))

    op.drop_table('outbox_messages')
    op.drop_table('offices')
    with op.batch_alter_table('loops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loops_candidate_id'))

    op.drop_table('loops')
    op.drop_table('loop_templates')
    op.drop_table('idempotency_records')
    with op.batch_alter_table('holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_holds_expire_time'))
        batch_op.drop_index(batch_op.f('ix_holds_candidate_id'))

    op.drop_table('holds')
    op.drop_table('candidates')


# ---------------------------------------------------------------- written by hand
# Alembic neither emits CREATE EXTENSION nor knows exclusion constraints or
# triggers, so these are written out (shared/DESIGN.md, "Double booking").


def _reservation_guards() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # The extension lives in public: the engine's search_path is "<service>,public".
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")
        # tstzrange(a, b) is immutable, so a stored generated column can use it; the
        # range is half-open [start, end + gap), so back-to-back sessions do not clash.
        op.execute(
            "ALTER TABLE reservations ADD COLUMN during tstzrange "
            "GENERATED ALWAYS AS (tstzrange(start_time, end_time, '[)')) STORED"
        )
        op.execute(
            f"ALTER TABLE reservations ADD CONSTRAINT {RESERVATION_EXCLUSION} "
            "EXCLUDE USING gist (resource WITH =, during WITH &&) WHERE (active)"
        )
        return
    # SQLite: writers are serialised (BEGIN IMMEDIATE) and BookLoop checks for
    # overlaps inside that transaction; these triggers are the second guard that
    # holds even if some code path forgets the check.
    overlap = (
        "SELECT 1 FROM reservations AS r WHERE r.resource = NEW.resource AND r.active "
        "AND r.id IS NOT NEW.id AND r.start_time < NEW.end_time AND NEW.start_time < r.end_time"
    )
    op.execute(
        "CREATE TRIGGER reservations_no_overlap_insert BEFORE INSERT ON reservations "
        f"WHEN NEW.active BEGIN SELECT RAISE(ABORT, 'reservation overlap') WHERE EXISTS ({overlap}); END"
    )
    op.execute(
        "CREATE TRIGGER reservations_no_overlap_update BEFORE UPDATE OF active, start_time, end_time, resource "
        f"ON reservations WHEN NEW.active BEGIN SELECT RAISE(ABORT, 'reservation overlap') WHERE EXISTS ({overlap}); END"
    )


_WEEKDAYS_8_TO_18 = [[day, 8 * 60, 18 * 60] for day in range(1, 6)]

_OFFICES = [
    {
        "id": "los-gatos",
        "display_name": "Los Gatos",
        "address": "121 Albright Way, Los Gatos, CA 95032, USA",
    },
    {
        "id": "los-angeles",
        "display_name": "Los Angeles",
        "address": "5808 W Sunset Blvd, Los Angeles, CA 90028, USA",
    },
]


def _seed_offices() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    table = sa.table(
        "offices",
        sa.column("id", sa.String),
        sa.column("display_name", sa.String),
        sa.column("time_zone", sa.String),
        sa.column("address", sa.String),
        sa.column("office_hours", sa.JSON),
        sa.column("holidays", sa.JSON),
        sa.column("etag", sa.String),
        sa.column("create_time", services.core.db.UtcDateTime(timezone=True)),
        sa.column("update_time", services.core.db.UtcDateTime(timezone=True)),
    )
    op.bulk_insert(
        table,
        [
            {
                **office,
                "time_zone": "America/Los_Angeles",
                "office_hours": _WEEKDAYS_8_TO_18,
                "holidays": [],
                "etag": "seeded",
                "create_time": now,
                "update_time": now,
            }
            for office in _OFFICES
        ],
    )
