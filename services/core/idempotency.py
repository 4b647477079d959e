"""AIP-155 request ids: a retry with the same request_id returns the first
response and changes nothing.

The record is written in the same transaction as the effect, so either both
exist or neither does. Two concurrent calls with one id race on the primary
key; the loser's transaction rolls back and it then returns the winner's
response.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy import Insert, LargeBinary, String, Table, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.core.db import Database, UtcDateTime, utcnow
from services.core.errors import DomainError, InvalidArgument

M = TypeVar("M", bound=Message)
_REQUEST_ID_RE = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII, no spaces (UUIDs fit)


class IdempotencyRecordMixin:
    """Columns of a service's `idempotency_records` table."""

    method: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    response: Mapped[bytes] = mapped_column(LargeBinary)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


def fingerprint(request: Message, request_id_field: str = "request_id") -> str:
    copy = type(request)()
    copy.CopyFrom(request)
    copy.ClearField(request_id_field)  # type: ignore[arg-type]
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


@functools.cache
def _insert(table: Table) -> Insert:
    return insert(table)


def run_idempotent(
    db: Database,
    record_model: type,
    method: str,
    request: Message,
    response_type: type[M],
    produce: Callable[[Session], M],
    *,
    request_id_field: str = "request_id",
) -> M:
    request_id: str = getattr(request, request_id_field)
    if not request_id:
        return db.run(produce)
    if not _REQUEST_ID_RE.match(request_id):
        raise InvalidArgument(request_id_field, "must be 1-128 printable ASCII characters (a UUID is best)")
    digest = fingerprint(request, request_id_field)

    # The record is written straight to its table (one INSERT): it never
    # changes once written, and the ORM's unit of work costs more than the
    # statement itself.
    insert_record = _insert(record_model.__table__)

    def stored(session: Session) -> M | None:
        existing = session.get(record_model, (method, request_id))
        if existing is None:
            return None
        if existing.fingerprint != digest:
            raise InvalidArgument(request_id_field, "already used for a different request")
        return response_type.FromString(existing.response)

    def work(session: Session) -> M:
        existing = stored(session)
        if existing is not None:
            return existing
        response = produce(session)
        session.flush()  # whatever `produce` left pending goes first, as it did before the record
        session.execute(insert_record, {"method": method, "request_id": request_id, "fingerprint": digest,
                                        "response": response.SerializeToString(deterministic=True), "create_time": utcnow()})
        return response

    try:
        return db.run(work)
    except IntegrityError:
        # Lost the race to a concurrent call with the same id, or the effect
        # itself conflicted; a second run returns the stored response, or
        # raises the conflict again.
        return db.run(work)
    except DomainError:
        # The effect was refused, perhaps because a concurrent call with the
        # same id (a client retrying on another replica) took the very
        # resources first and has committed meanwhile: its response is the
        # answer. With no stored response the refusal stands.
        replay = db.run(stored)
        if replay is None:
            raise
        return replay
