"""Reads and writes of the deliveries table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, undefer

from services.core.db import Database, utcnow
from services.core.errors import AlreadyExists, FailedPrecondition, NotFound
from services.notifications.domain.model import RenderedEmail
from services.notifications.models import DeliveryRow

PENDING, SENT, FAILED = "pending", "sent", "failed"
INVITE_REQUEST, INVITE_CANCEL, MESSAGE = "invite_request", "invite_cancel", "message"


def existing_for_key(session: Session, key: str, fingerprint: str) -> list[DeliveryRow] | None:
    """The rows an earlier call with `key` created, or None if the key is new.

    The same key with another payload is ALREADY_EXISTS: the key names one email batch,
    and silently returning the first batch would hide a caller's bug.
    """
    rows = list(
        session.scalars(
            select(DeliveryRow).where(DeliveryRow.idempotency_key == key).order_by(DeliveryRow.seq)
        )
    )
    if not rows:
        return None
    if any(row.fingerprint != fingerprint for row in rows):
        raise AlreadyExists(
            "idempotency_key was already used for a different request",
            reason="IDEMPOTENCY_KEY_REUSED",
            metadata={"idempotency_key": key[:200]},
        )
    return rows


def check_sequence(session: Session, uid: str, sequence: int, recipients: Sequence[str]) -> None:
    """Refuse an invite older than one already accepted for the same UID and
    one of the same recipients.

    Per recipient, because one change sends different messages to different
    people: a CANCEL (SEQUENCE n) to the interviewer taken off a session may
    arrive after a later REQUEST (n+1) to those who stay, and must still reach
    its recipient, whose calendar has seen nothing newer.

    Calendar clients ignore a lower SEQUENCE anyway; refusing it tells the caller (whose
    relay may deliver out of order) instead of mailing a stale time. The same SEQUENCE may
    repeat: an attendee added, or a CANCEL to the interviewers taken off a session followed
    by a REQUEST to those who stay (RFC 5546 3.2.5: a CANCEL to some attendees removes only
    them).
    """
    highest = session.scalar(
        select(func.max(DeliveryRow.sequence)).where(
            DeliveryRow.uid == uid,
            DeliveryRow.kind != MESSAGE,
            DeliveryRow.recipient.in_([r.lower() for r in recipients]),
        )
    )
    if highest is not None and sequence < highest:
        raise FailedPrecondition(
            f"invite {uid} already has SEQUENCE {highest}; send a higher one",
            reason="STALE_SEQUENCE",
            subject=uid,
            metadata={"uid": uid, "sequence": str(highest)},
        )


def check_reminder(session: Session, uid: str, sequence: int, recipient: str) -> None:
    """A reminder of an invite version already replaced, or cancelled for this recipient,
    is refused."""
    check_sequence(session, uid, sequence, [recipient])
    cancelled = session.scalar(
        select(DeliveryRow.id).where(
            DeliveryRow.uid == uid,
            DeliveryRow.kind == INVITE_CANCEL,
            DeliveryRow.recipient == recipient.lower(),
            DeliveryRow.sequence >= sequence,
        ).limit(1)
    )
    if cancelled is not None:
        raise FailedPrecondition(
            f"invite {uid} was cancelled for this recipient", reason="INVITE_CANCELLED",
            subject=uid, metadata={"uid": uid},
        )


def drop_outdated_reminders(session: Session, uid: str, sequence: int, recipients: Sequence[str]) -> int:
    """A changed or cancelled invite makes its pending reminders wrong: mark them FAILED
    (visible in ListDeliveries) rather than remind anyone of the old time."""
    result = session.execute(
        update(DeliveryRow)
        .where(
            DeliveryRow.kind == MESSAGE,
            DeliveryRow.uid == uid,
            DeliveryRow.sequence < sequence,
            DeliveryRow.state == PENDING,
            DeliveryRow.recipient.in_([r.lower() for r in recipients]),
        )
        .values(state=FAILED, last_error=f"dropped: the invite changed (SEQUENCE {sequence})",
                lease_owner=None, lease_expire_time=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def insert(
    session: Session,
    *,
    key: str,
    fingerprint: str,
    kind: str,
    emails: Sequence[RenderedEmail],
    envelope_from: str,
    due: datetime,
) -> list[DeliveryRow]:
    now = utcnow()
    rows = [
        DeliveryRow(
            id=uuid.uuid4().hex,
            idempotency_key=key,
            fingerprint=fingerprint,
            kind=kind,
            recipient=email.recipient.lower(),
            envelope_from=envelope_from,
            state=PENDING,
            attempts=0,
            last_error="",
            next_attempt_time=due,
            message_id=email.message_id,
            uid=email.uid,
            sequence=email.sequence,
            create_time=now,
            raw=email.raw,
        )
        for email in emails
    ]
    session.add_all(rows)
    session.flush()
    return rows


def get(session: Session, delivery_id: str, name: str) -> DeliveryRow:
    row = session.scalar(select(DeliveryRow).where(DeliveryRow.id == delivery_id))
    if row is None:
        raise NotFound(name)
    return row


@dataclass(frozen=True)
class ListFilter:
    state: str = ""
    recipient: str = ""
    idempotency_key: str = ""


def list_page(
    session: Session, where: ListFilter, after_seq: int | None, size: int
) -> list[DeliveryRow]:
    """`size + 1` rows after `after_seq` in creation order (the extra one says "more")."""
    query = select(DeliveryRow).order_by(DeliveryRow.seq).limit(size + 1)
    if where.state:
        query = query.where(DeliveryRow.state == where.state)
    if where.recipient:
        query = query.where(DeliveryRow.recipient == where.recipient.lower())
    if where.idempotency_key:
        query = query.where(DeliveryRow.idempotency_key == where.idempotency_key)
    if after_seq is not None:
        query = query.where(DeliveryRow.seq > after_seq)
    return list(session.scalars(query))


# ------------------------------------------------------------------ the sender's side


@dataclass(frozen=True)
class Claimed:
    seq: int
    id: str
    recipient: str
    envelope_from: str
    message_id: str
    raw: bytes
    attempts: int  # including this one


def claim(db: Database, owner: str, lease: timedelta, limit: int) -> list[Claimed]:
    """Lease up to `limit` due deliveries and count the attempt, in one commit.

    The commit happens before any SMTP traffic: it is the attempt marker. PostgreSQL
    skips rows another sender holds locked; SQLite serialises this transaction
    (BEGIN IMMEDIATE) and the lease keeps a second sender off the claimed rows.

    Invites to one recipient for one UID go out in the order they were accepted: a later one
    waits while an earlier one is pending (being sent, or waiting for a retry), so that a
    CANCEL never overtakes the REQUEST it cancels on another sender thread.
    """
    earlier = aliased(DeliveryRow)

    def work(session: Session) -> list[Claimed]:
        now = utcnow()
        query = (
            select(DeliveryRow)
            .where(
                DeliveryRow.state == PENDING,
                DeliveryRow.next_attempt_time <= now,
                or_(DeliveryRow.lease_expire_time.is_(None), DeliveryRow.lease_expire_time < now),
                or_(
                    DeliveryRow.uid == "",
                    ~exists().where(
                        earlier.uid == DeliveryRow.uid,
                        earlier.recipient == DeliveryRow.recipient,
                        earlier.state == PENDING,
                        earlier.seq < DeliveryRow.seq,
                    ),
                ),
            )
            .order_by(DeliveryRow.next_attempt_time, DeliveryRow.seq)
            .limit(limit)
            .options(undefer(DeliveryRow.raw))
        )
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        out = []
        for row in rows:
            row.lease_owner = owner
            row.lease_expire_time = now + lease
            row.attempts += 1
            row.last_attempt_time = now
            out.append(
                Claimed(row.seq, row.id, row.recipient, row.envelope_from, row.message_id,
                        row.raw, row.attempts)
            )
        return out

    return db.run(work)


def mark_sent(db: Database, seq: int) -> None:
    def work(session: Session) -> None:
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.seq == seq, DeliveryRow.state == PENDING)
            .values(state=SENT, sent_time=utcnow(), lease_owner=None, lease_expire_time=None,
                    last_error="")
        )

    db.run(work)


def mark_attempt_failed(db: Database, seq: int, error: str, retry_at: datetime | None) -> None:
    """Record a failed attempt: due again at `retry_at`, or FAILED when it is None."""

    def work(session: Session) -> None:
        values: dict[str, object] = {
            "last_error": error[:1000], "lease_owner": None, "lease_expire_time": None,
        }
        if retry_at is None:
            values["state"] = FAILED
        else:
            values["next_attempt_time"] = retry_at
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.seq == seq, DeliveryRow.state == PENDING)
            .values(**values)
        )

    db.run(work)


def renew(db: Database, seqs: Sequence[int], owner: str, lease: timedelta) -> set[int]:
    """Extend our lease on claimed rows still pending; returns the ones still ours."""
    if not seqs:
        return set()

    def work(session: Session) -> set[int]:
        now = utcnow()
        mine = set(
            session.scalars(
                select(DeliveryRow.seq).where(
                    DeliveryRow.seq.in_(list(seqs)), DeliveryRow.lease_owner == owner,
                    DeliveryRow.state == PENDING, DeliveryRow.lease_expire_time > now,
                )
            )
        )
        if mine:
            session.execute(
                update(DeliveryRow).where(DeliveryRow.seq.in_(list(mine)))
                .values(lease_expire_time=now + lease)
            )
        return mine

    return db.run(work)


def release(db: Database, seqs: Sequence[int], owner: str) -> None:
    """Give back claimed rows that were not tried (shutdown, a broken connection)."""
    if not seqs:
        return

    def work(session: Session) -> None:
        session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.seq.in_(list(seqs)), DeliveryRow.lease_owner == owner,
                   DeliveryRow.state == PENDING)
            .values(lease_owner=None, lease_expire_time=None, attempts=DeliveryRow.attempts - 1)
        )

    db.run(work)


def forget_bodies(db: Database, before: datetime) -> int:
    """Empty the stored email of settled deliveries created before `before`.

    The row stays (its key must keep refusing a second email, and ListDeliveries keeps
    showing what happened); only the rendered text, with names, times and notes, goes.
    """

    def work(session: Session) -> int:
        result = session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.state != PENDING, DeliveryRow.create_time < before,
                   func.length(DeliveryRow.raw) > 0)
            .values(raw=b"")
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    return db.run(work)
