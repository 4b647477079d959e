"""Database reads and writes of the accommodations service (no rules, no gRPC)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session

from services.accommodations.domain.constraints import Constraints
from services.accommodations.domain.lifecycle import State
from services.accommodations.domain.sla import SlaState
from services.accommodations.models import AuditEventRow, MessageRow, OutboxMessage, TicketRow
from services.core import outbox
from services.core.names import new_id

TOPIC_SEND_MESSAGE = "notifications.send_message"
TOPIC_REVALIDATE = "scheduling.revalidate_candidate_loops"


def ticket_name(ticket_id: str) -> str:
    return f"tickets/{ticket_id}"


def get_ticket(session: Session, ticket_id: str, *, lock: bool) -> TicketRow | None:
    """One ticket; with `lock`, held FOR UPDATE (PostgreSQL) until the transaction ends so
    that concurrent changes to it queue up (SQLite already serialises writers)."""
    query = select(TicketRow).where(TicketRow.id == ticket_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def tickets_of_candidate(session: Session, candidate: str, *, lock: bool = False) -> list[TicketRow]:
    query = select(TicketRow).where(TicketRow.candidate == candidate).order_by(TicketRow.create_time, TicketRow.id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return list(session.scalars(query))


def active_constraints(session: Session, candidate: str) -> list[tuple[str, Constraints, datetime]]:
    rows = session.scalars(
        select(TicketRow)
        .where(TicketRow.candidate == candidate, TicketRow.state == State.ACTIVE.value)
        .order_by(TicketRow.id)
    )
    return [
        (ticket_name(r.id), Constraints.from_json(r.decision_constraints or {}), r.activate_time or r.update_time)
        for r in rows
    ]


def add_audit(
    session: Session,
    *,
    actor: str,
    actor_role: str,
    action: str,
    ticket: str,
    fields: list[str],
    justification: str,
    now: datetime,
) -> None:
    session.add(
        AuditEventRow(
            id=new_id(),
            actor=actor,
            actor_role=actor_role,
            action=action,
            ticket=ticket,
            fields=sorted(fields),
            justification=justification,
            create_time=now,
        )
    )


def enqueue(session: Session, topic: str, key: str, payload: bytes) -> bool:
    return outbox.enqueue(session, OutboxMessage, topic, key, payload)


def next_message_seq(session: Session, ticket_id: str) -> int:
    """Callers hold the ticket's lock, so two messages never get the same number."""
    last = session.scalar(
        select(MessageRow.seq).where(MessageRow.ticket_id == ticket_id).order_by(MessageRow.seq.desc()).limit(1)
    )
    return (last or 0) + 1


def sla_condition(state: SlaState, now: datetime):  # type: ignore[no-untyped-def]
    """SQL for "the ticket is in this SLA state at `now`" (mirrors domain/sla.py)."""
    t = TicketRow
    if state is SlaState.PAUSED:
        return t.paused_since.is_not(None)
    if state in (SlaState.MET, SlaState.MISSED):
        return t.sla_outcome == state.value
    if state is SlaState.OVERDUE:
        return t.next_due_time <= now
    if state is SlaState.AT_RISK:
        return and_(t.at_risk_time <= now, t.next_due_time > now)
    if state is SlaState.ON_TRACK:
        return and_(t.at_risk_time > now, t.next_due_time > now)
    if state is SlaState.NOT_APPLICABLE:
        return and_(t.next_due_time.is_(None), t.paused_since.is_(None), t.sla_outcome == 0)
    return false()


def queue_order(query: Select, after: list | None) -> Select:  # type: ignore[type-arg]
    """Sorted by the running SLA deadline, tickets without one last, then by id; `after`
    is the previous page's last key [has_no_deadline, deadline iso or None, id]."""
    t = TicketRow
    if after is not None:
        no_deadline, due_iso, last_id = after
        if no_deadline:
            query = query.where(t.next_due_time.is_(None), t.id > last_id)
        else:
            due = datetime.fromisoformat(due_iso)
            query = query.where(
                or_(
                    t.next_due_time > due,
                    and_(t.next_due_time == due, t.id > last_id),
                    t.next_due_time.is_(None),
                )
            )
    return query.order_by(t.next_due_time.is_(None), t.next_due_time, t.id)


def queue_key(row: TicketRow) -> list:  # type: ignore[type-arg]
    if row.next_due_time is None:
        return [1, None, row.id]
    return [0, row.next_due_time.isoformat(), row.id]
