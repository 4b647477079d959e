"""Transactional outbox: messages to other services are written in the same
transaction as the change that causes them, then delivered by a relay with
retries and backoff. Nothing is lost if a process dies at any point; a
message may be delivered more than once, so every message carries an
idempotency key that the receiver dedupes on.

Claiming is safe with several replicas: `FOR UPDATE SKIP LOCKED` on
PostgreSQL, and on SQLite the serialised write transaction plus a lease.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from dataclasses import dataclass
from datetime import datetime, timedelta

import grpc
from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, Table, TextClause, Update, bindparam, insert, or_, select, text, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.core.backoff import backoff_delay
from services.core.clients import ServiceClients
from services.core.db import Database, UtcDateTime, utcnow
from services.core.workers import PeriodicWorker

log = logging.getLogger(__name__)
R = TypeVar("R")


class PermanentDeliveryError(Exception):
    """The receiver refused the message for good (e.g. INVALID_ARGUMENT): retrying cannot help."""


# Answers that say the receiver refused this message as such (or that this
# caller may never send it): sending it again cannot help, so the message is
# marked failed at once instead of retried until the attempt limit.
REFUSALS = frozenset({
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,  # the idempotency key was used for another payload
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.UNIMPLEMENTED,
})


def call_or_refuse(clients: ServiceClients, method: Callable[..., R], request: Any) -> R:
    """Delivers one outbox message by RPC; a refusal becomes PermanentDeliveryError,
    anything else (UNAVAILABLE, INTERNAL, RESOURCE_EXHAUSTED, ...) is retried."""
    try:
        return clients.call(method, request)
    except grpc.RpcError as error:
        code = error.code() if hasattr(error, "code") else None
        if code in REFUSALS:
            details = error.details() if hasattr(error, "details") else ""
            raise PermanentDeliveryError(f"refused: {code.name}: {details}") from None
        raise


class OutboxMessageMixin:
    """Columns of a service's `outbox_messages` table."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expire_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_time: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    failed_time: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


def enqueue(session: Session, model: type, topic: str, idempotency_key: str, payload: bytes) -> bool:
    """Adds a message unless one with the same key exists; True if added."""
    existing = session.scalar(select(model.id).where(model.idempotency_key == idempotency_key))
    if existing is not None:
        return False
    session.add(model(topic=topic, idempotency_key=idempotency_key, payload=payload, next_attempt_time=utcnow()))
    return True


def enqueue_new(session: Session, model: type, messages: Sequence[tuple[str, str, bytes]]) -> None:
    """Adds messages whose keys cannot exist yet (made in this transaction
    from new ids), `(topic, idempotency_key, payload)` each, in one INSERT
    without looking them up first. A duplicate key still fails the
    transaction (the key is unique)."""
    if not messages:
        return
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # One statement with the rows as arrays: a list sent with executemany
        # costs a pipeline sync of its own, and a VALUES list a new text per count.
        session.execute(_insert_new_postgres(model.__table__.name), {
            "now": now,
            "topics": [topic for topic, _, _ in messages],
            "keys": [key for _, key, _ in messages],
            "payloads": [payload for _, _, payload in messages],
        })
        return
    session.execute(insert(model.__table__), [
        {"topic": topic, "idempotency_key": key, "payload": payload, "create_time": now, "attempts": 0, "next_attempt_time": now}
        for topic, key, payload in messages
    ])


@functools.cache
def _insert_new_postgres(table: str) -> TextClause:
    # The columns of OutboxMessageMixin that a new message sets; the others start NULL.
    return text(
        f"INSERT INTO {table} (topic, idempotency_key, payload, create_time, attempts, next_attempt_time) "
        "SELECT m.topic, m.idempotency_key, m.payload, CAST(:now AS timestamptz), 0, CAST(:now AS timestamptz) "
        "FROM unnest(CAST(:topics AS text[]), CAST(:keys AS text[]), CAST(:payloads AS bytea[])) AS m(topic, idempotency_key, payload)"
    )


@functools.cache
def _delivered(table: Table) -> Update:
    """Marks one claimed message delivered (a plain table UPDATE, built once)."""
    return (update(table).where(table.c.id == bindparam("message_id"))
            .values(lease_owner=None, lease_expire_time=None, delivered_time=bindparam("now"), last_error=None))


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    topic: str
    idempotency_key: str
    payload: bytes
    attempts: int


Handler = Callable[[ClaimedMessage], None]


class OutboxRelay(PeriodicWorker):
    """Delivers due outbox messages with `handlers[topic]`; a background worker
    (call `wake()` after a commit that enqueued, to deliver at once)."""

    def __init__(
        self,
        db: Database,
        model: type,
        handlers: Mapping[str, Handler],
        *,
        batch_size: int = 20,
        lease: timedelta = timedelta(seconds=60),
        poll_interval: float = 0.5,
        max_attempts: int = 15,
        backoff_base: timedelta = timedelta(seconds=1),
        backoff_cap: timedelta = timedelta(minutes=5),
        name: str = "outbox-relay",
    ) -> None:
        super().__init__(interval=poll_interval, name=name)
        self.db = db
        self.model = model
        self.handlers = dict(handlers)
        self.batch_size = batch_size
        self.lease = lease
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    # -- one pass ---------------------------------------------------------
    def run_once(self) -> int:
        """Claims and delivers one batch; returns how many were claimed."""
        claimed = self._claim()
        for message in claimed:
            self._deliver(message)
        return len(claimed)

    def _claim(self) -> list[ClaimedMessage]:
        # Straight to the table: a read of the due rows (locked, skipping rows
        # another relay holds, on PostgreSQL) and one UPDATE leasing them all.
        table = self.model.__table__

        def work(session: Session) -> list[ClaimedMessage]:
            now = utcnow()
            query = (
                select(table.c.id, table.c.topic, table.c.idempotency_key, table.c.payload, table.c.attempts)
                .where(
                    table.c.delivered_time.is_(None),
                    table.c.failed_time.is_(None),
                    table.c.next_attempt_time <= now,
                    or_(table.c.lease_expire_time.is_(None), table.c.lease_expire_time < now),
                )
                .order_by(table.c.id)
                .limit(self.batch_size)
            )
            if self.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            rows = session.execute(query).all()
            if rows:
                session.execute(update(table).where(table.c.id.in_([r.id for r in rows]))
                                .values(lease_owner=self.owner, lease_expire_time=now + self.lease))
            return [ClaimedMessage(r.id, r.topic, r.idempotency_key, r.payload, r.attempts) for r in rows]

        return self.db.run(work)

    def _deliver(self, message: ClaimedMessage) -> None:
        handler = self.handlers.get(message.topic)
        try:
            if handler is None:
                raise PermanentDeliveryError(f"no handler for topic {message.topic}")
            handler(message)
        except PermanentDeliveryError as error:
            log.error("outbox message failed permanently", extra={"outbox_id": message.id, "topic": message.topic, "error": str(error)[:500]})
            self._finish(message, error=str(error), permanent=True)
        except Exception as error:
            log.warning("outbox delivery failed; will retry", extra={"outbox_id": message.id, "topic": message.topic, "error": f"{type(error).__name__}: {str(error)[:300]}"})
            self._finish(message, error=f"{type(error).__name__}: {error}", permanent=False)
        else:
            self._finish(message, error=None, permanent=False)

    def _finish(self, message: ClaimedMessage, *, error: str | None, permanent: bool) -> None:
        if error is None:
            # Delivered (the common case): one UPDATE, no read first.
            self.db.run(lambda session: session.execute(_delivered(self.model.__table__), {"message_id": message.id, "now": utcnow()}))
            return

        def work(session: Session) -> None:
            row = session.get(self.model, message.id)
            if row is None:
                return
            now = utcnow()
            row.lease_owner = None
            row.lease_expire_time = None
            row.attempts = row.attempts + 1
            row.last_error = error[:2000]
            if permanent or row.attempts >= self.max_attempts:
                row.failed_time = now
            else:
                row.next_attempt_time = now + backoff_delay(row.attempts, base=self.backoff_base, cap=self.backoff_cap)

        self.db.run(work)
