"""Tables of the accommodations service. Confidential text is stored only as ciphertext
(`*_ct` columns, Fernet tokens); everything else is metadata."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.core.db import UtcDateTime, utcnow
from services.core.idempotency import IdempotencyRecordMixin
from services.core.outbox import OutboxMessageMixin


class Base(DeclarativeBase):
    pass


class TicketRow(Base):
    __tablename__ = "tickets"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    candidate: Mapped[str] = mapped_column(String(200), index=True)
    candidate_email: Mapped[str] = mapped_column(String(320))
    submitted_by: Mapped[str] = mapped_column(String(320), index=True)
    submitted_by_role: Mapped[str] = mapped_column(String(40))
    requested_adjustments: Mapped[list[int]] = mapped_column(JSON, default=list)
    reason_ct: Mapped[bytes] = mapped_column(LargeBinary)
    loop: Mapped[str] = mapped_column(String(200), default="")
    office: Mapped[str] = mapped_column(String(200), default="", index=True)
    state: Mapped[int] = mapped_column(Integer, index=True)
    assignee: Mapped[str] = mapped_column(String(320), default="", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    update_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    acknowledge_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decide_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    first_interview_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The SLA clock: business seconds paused so far, and the pause in progress.
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    paused_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Derived from the above at every change (domain/sla.py) so the queue can filter and
    # sort by SLA in SQL: the running deadline and when it turns at risk.
    next_due_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    at_risk_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sla_outcome: Mapped[int] = mapped_column(Integer, default=0)  # MET / MISSED once decided

    decision_outcome: Mapped[int] = mapped_column(Integer, default=0)
    # Constraints are not confidential text (they go to scheduling); JSON of domain Constraints.
    decision_constraints: Mapped[dict | None] = mapped_column(JSON)
    # Encrypted JSON: candidate message, denial reason, alternatives considered.
    decision_text_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    decided_by: Mapped[str] = mapped_column(String(320), default="")
    # When the current decision was made (decide_time above is the first, for the SLA).
    decision_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    activate_time: Mapped[datetime | None] = mapped_column(UtcDateTime)

    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    hiring_decision_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    close_time: Mapped[datetime | None] = mapped_column(UtcDateTime)

    messages: Mapped[list[MessageRow]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (Index("ix_tickets_queue", "next_due_time", "id"),)


class MessageRow(Base):
    __tablename__ = "ticket_messages"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(320))
    author_role: Mapped[str] = mapped_column(String(40))
    visibility: Mapped[int] = mapped_column(Integer)
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    seq: Mapped[int] = mapped_column(Integer)

    ticket: Mapped[TicketRow] = relationship(back_populates="messages")


class AuditEventRow(Base):
    """Who read or changed what. No content: names of fields, never their values.
    Not tied to the ticket row by a foreign key, so the trail outlives a purge."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(64), unique=True)
    actor: Mapped[str] = mapped_column(String(320))
    actor_role: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(80))
    ticket: Mapped[str] = mapped_column(String(200), default="", index=True)
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    justification: Mapped[str] = mapped_column(Text, default="")
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class OutboxMessage(OutboxMessageMixin, Base):
    __tablename__ = "outbox_messages"


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    __tablename__ = "idempotency_records"
