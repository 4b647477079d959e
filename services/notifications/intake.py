"""Accepting a request exactly once per idempotency key.

The first call renders and stores its emails in one transaction; any later call with the
same key and the same payload gets those rows back and sends nothing; the same key with a
different payload is ALREADY_EXISTS (store.existing_for_key).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from datetime import datetime

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.core.db import Database
from services.core.idempotency import fingerprint as request_fingerprint
from services.notifications import store
from services.notifications.domain.model import RenderedEmail
from services.notifications.models import DeliveryRow

log = logging.getLogger(__name__)


def fingerprint(method: str, request: Message) -> str:
    """The request without its key, and the method: SendInvite and CancelInvite of the same
    invite under one key are different requests."""
    body = request_fingerprint(request, "idempotency_key")
    return hashlib.sha256(f"{method}\n{body}".encode()).hexdigest()


def accept(
    db: Database,
    *,
    key: str,
    fingerprint: str,
    kind: str,
    envelope_from: str,
    render: Callable[[], tuple[list[RenderedEmail], datetime]],
    before: Callable[[Session], None] | None = None,
    after: Callable[[Session], None] | None = None,
) -> list[DeliveryRow]:
    """The rows for `key`, rendering and inserting them if the key is new. `before` may
    refuse and `after` may follow up, both inside the inserting transaction."""
    with db.reader() as session:
        earlier = store.existing_for_key(session, key, fingerprint)
    if earlier is not None:
        return earlier  # a retry: nothing rendered, nothing sent
    # Rendered outside the write transaction, which on SQLite holds the one writer lock.
    emails, due = render()

    def work(session: Session) -> list[DeliveryRow]:
        found = store.existing_for_key(session, key, fingerprint)
        if found is not None:
            return found
        if before is not None:
            before(session)
        rows = store.insert(session, key=key, fingerprint=fingerprint, kind=kind, emails=emails,
                            envelope_from=envelope_from, due=due)
        if after is not None:
            after(session)
        return rows

    try:
        rows = db.run(work)
    except IntegrityError:
        # A concurrent call with the same key won the insert; answer with its rows.
        rows = db.run(work)
    log.info("accepted", extra={"kind": kind, "deliveries": len(rows)})
    return rows
