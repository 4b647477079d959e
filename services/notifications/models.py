"""Tables of the notifications service: one row per email to one recipient.

The rendered email is stored with its row when the request is accepted, so what is sent
(and re-sent after a crash) is byte for byte what was checked, under one Message-ID.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column

from services.core.db import UtcDateTime, utcnow


class Base(DeclarativeBase):
    pass


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        # The exactly-once guarantee at the API: one email per key and recipient, ever.
        UniqueConstraint("idempotency_key", "recipient", name="uq_deliveries_key_recipient"),
        # The sender's claim query: due pending rows, oldest first.
        Index("ix_deliveries_due", "state", "next_attempt_time"),
    )

    # Keyset order for listing and claiming; `id` is the public name's last segment.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(32), unique=True)
    # Looked up through the unique (idempotency_key, recipient) index.
    idempotency_key: Mapped[str] = mapped_column(String(200))
    # sha256 of the request without its key: the same key with another payload is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))  # invite_request | invite_cancel | message
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    envelope_from: Mapped[str] = mapped_column(String(320))
    state: Mapped[str] = mapped_column(String(10))  # pending | sent | failed
    # Incremented when a sender claims the row, before it talks to SMTP: after a crash, a
    # pending row with attempts > 0 may already have been accepted once.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_time: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expire_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    message_id: Mapped[str] = mapped_column(String(200))
    uid: Mapped[str] = mapped_column(String(255), default="", index=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_attempt_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The wire bytes; deferred so that listing rows never loads email text.
    raw: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
