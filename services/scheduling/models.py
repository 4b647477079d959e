"""The scheduling service's tables (SQLAlchemy 2, typed).

Weekly hours, holidays, areas and session templates are small lists that are
always read whole with their owner, so they are JSON columns rather than child
tables. Reservations are a table of their own because the database enforces
that no two active reservations of one resource overlap (see the migration).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.core.db import UtcDateTime, utcnow
from services.core.idempotency import IdempotencyRecordMixin
from services.core.outbox import OutboxMessageMixin

# Name of the PostgreSQL exclusion constraint; BookLoop names it in ON CONFLICT.
RESERVATION_EXCLUSION = "reservations_no_overlap"


class LoopState(enum.IntEnum):
    """`LoopState` numbers, stored in loops.state."""

    BOOKED = 1
    CANCELLED = 2


class HoldState(enum.IntEnum):
    """`HoldState` numbers, stored in holds.state."""

    ACTIVE = 1
    CONFIRMED = 2
    RELEASED = 3
    EXPIRED = 4


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Timestamps:
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    etag: Mapped[str] = mapped_column(String(40))


class OfficeRow(Timestamps, Base):
    __tablename__ = "offices"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(500), default="")
    # [[iso_day, start_minute, end_minute], ...] in the office's zone.
    office_hours: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # ["2026-12-25", ...]
    holidays: Mapped[list[Any]] = mapped_column(JSON, default=list)


class RoomRow(Timestamps, Base):
    __tablename__ = "rooms"
    office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int] = mapped_column(Integer)
    wheelchair_accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    video_equipped: Mapped[bool] = mapped_column(Boolean, default=False)
    quiet: Mapped[bool] = mapped_column(Boolean, default=False)
    location_hint: Mapped[str] = mapped_column(String(200), default="")

    @property
    def name(self) -> str:
        return f"offices/{self.office_id}/rooms/{self.id}"


class InterviewerRow(Timestamps, Base):
    __tablename__ = "interviewers"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), index=True)
    home_office_id: Mapped[str] = mapped_column(ForeignKey("offices.id"), index=True)
    ml_areas: Mapped[list[Any]] = mapped_column(JSON, default=list)
    time_zone: Mapped[str] = mapped_column(String(64))
    working_hours: Mapped[list[Any]] = mapped_column(JSON, default=list)
    max_per_day: Mapped[int] = mapped_column(Integer, default=0)
    max_per_week: Mapped[int] = mapped_column(Integer, default=0)
    trainee: Mapped[bool] = mapped_column(Boolean, default=False)


class BusyBlockRow(Base):
    __tablename__ = "busy_blocks"
    __table_args__ = (Index("ix_busy_blocks_interviewer_start", "interviewer_id", "start_time"),)
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    interviewer_id: Mapped[str] = mapped_column(ForeignKey("interviewers.id", ondelete="CASCADE"))
    start_time: Mapped[datetime] = mapped_column(UtcDateTime)
    end_time: Mapped[datetime] = mapped_column(UtcDateTime)
    kind: Mapped[int] = mapped_column(Integer)  # BusyKind number
    source: Mapped[int] = mapped_column(Integer)  # BusySource number
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CandidateRow(Timestamps, Base):
    __tablename__ = "candidates"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320))
    time_zone: Mapped[str] = mapped_column(String(64))
    primary_area: Mapped[int] = mapped_column(Integer)
    secondary_area: Mapped[int] = mapped_column(Integer, default=0)
    # [["2026-12-03", start_minute, end_minute], ...] in the candidate's zone.
    availability: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # [start_minute, end_minute] or null.
    preferred_hours: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    preferred_office_id: Mapped[str] = mapped_column(String(63), default="")


class LoopTemplateRow(Timestamps, Base):
    __tablename__ = "loop_templates"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    # [{"title", "kind", "minutes", "area_rule", "interviewers_needed"}, ...]
    sessions: Mapped[list[Any]] = mapped_column(JSON)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    max_days: Mapped[int] = mapped_column(Integer, default=1)


class LoopRow(Timestamps, Base):
    __tablename__ = "loops"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(String(63), index=True)
    template_id: Mapped[str] = mapped_column(String(63))
    state: Mapped[int] = mapped_column(Integer)  # LoopState number
    location_mode: Mapped[int] = mapped_column(Integer)
    office_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    # Kept free after each session (template buffer + extra break), reserved with it.
    gap_minutes: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    days: Mapped[int] = mapped_column(Integer, default=1)
    video_link: Mapped[str] = mapped_column(String(300), default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    constraint_violations: Mapped[list[Any]] = mapped_column(JSON, default=list)


class LoopSessionRow(Base):
    __tablename__ = "loop_sessions"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    loop_id: Mapped[str] = mapped_column(ForeignKey("loops.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[datetime] = mapped_column(UtcDateTime)
    end_time: Mapped[datetime] = mapped_column(UtcDateTime)
    interviewer_ids: Mapped[list[Any]] = mapped_column(JSON)
    room_id: Mapped[str | None] = mapped_column(String(200), nullable=True)  # offices/{o}/rooms/{r}
    remote: Mapped[bool] = mapped_column(Boolean)
    adjustments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    sequence: Mapped[int] = mapped_column(Integer, default=0)


class HoldRow(Base):
    __tablename__ = "holds"
    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(String(63), index=True)
    # The plan as stored by services.scheduling.plan_codec.
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[int] = mapped_column(Integer)  # HoldState number
    expire_time: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    loop_id: Mapped[str] = mapped_column(String(63), default="")
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ReservationRow(Base):
    """One resource kept for one session, widened by the gap after it.

    `resource` is a resource name (`interviewers/x`, `offices/o/rooms/r`,
    `candidates/c`); `owner` is `loops/{id}` or `holds/{id}`. On PostgreSQL a
    generated `during` tstzrange column carries the exclusion constraint; the
    ORM does not map it because nothing reads it.
    """

    __tablename__ = "reservations"
    __table_args__ = (
        Index("ix_reservations_resource_start", "resource", "start_time"),
        Index("ix_reservations_owner", "owner"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    resource: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(100))
    session_id: Mapped[str] = mapped_column(String(63), default="")
    start_time: Mapped[datetime] = mapped_column(UtcDateTime)
    end_time: Mapped[datetime] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Holds only: past this instant the reservation no longer blocks anyone.
    expire_time: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class DirectoryState(Base):
    """One row whose version rises with every directory write (offices, rooms,
    interviewers, busy blocks), so each replica knows when its in-memory copy
    of the directory is stale without reloading it on every search."""

    __tablename__ = "directory_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))


class OutboxMessage(OutboxMessageMixin, Base):
    __tablename__ = "outbox_messages"


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    __tablename__ = "idempotency_records"
