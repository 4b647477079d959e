"""Calendar invites for loop sessions: built here, written to the outbox in
the booking's own transaction, delivered to notifications by the relay.

One invite per session: UID `<session_id>@interviews` for the session's whole
life, SEQUENCE from the session row (raised on every change). The candidate
gets the loop's agenda; each interviewer gets only the adjustments that
affect their session (never a reason: the constraints carry none).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.notifications.v1 import notifications_pb2_grpc
from services.core import timeconv
from services.core.clients import ServiceClients
from services.core.outbox import ClaimedMessage, call_or_refuse, enqueue, enqueue_new
from services.scheduling import models
from services.scheduling.store.snapshot import Directory

SEND_TOPIC = "notifications.SendInvite"
CANCEL_TOPIC = "notifications.CancelInvite"
# Sent instead of the recruiter's free-text cancel reason, which may say why a
# candidate was turned down; that stays on the loop, visible to staff only.
CANCEL_NOTE = "This interview has been cancelled. Your recruiter will be in touch."


@dataclass(frozen=True)
class InviteContext:
    """What every invite of one loop shares."""

    organizer_email: str
    organizer_name: str
    candidate: models.CandidateRow
    directory: Directory


def video_link(base: str, loop_id: str) -> str:
    """Deterministic per loop, so a retried or replayed booking gets the same link."""
    token = hashlib.sha256(f"loop:{loop_id}".encode()).hexdigest()[:20]
    return f"{base.rstrip('/')}/{token}"


def uid(session_id: str) -> str:
    return f"{session_id}@interviews"


def _range(row: models.LoopSessionRow) -> common_pb2.TimeRange:
    return common_pb2.TimeRange(start_time=timeconv.to_timestamp(row.start_time), end_time=timeconv.to_timestamp(row.end_time))


def _where(row: models.LoopSessionRow, context: InviteContext) -> str:
    if row.remote or not row.room_id:
        return "Video call"
    return context.directory.room_names.get(row.room_id, row.room_id)


def _interviewer(interviewer_id: str, row: models.LoopSessionRow, context: InviteContext) -> npb.Attendee:
    person = context.directory.people[interviewer_id]
    return npb.Attendee(
        email=person.email,
        display_name=person.display_name,
        role=npb.ATTENDEE_ROLE_INTERVIEWER,
        time_zone=person.time_zone,
        notes=list(row.adjustments),
    )


def _known(interviewer_ids: Sequence[str], context: InviteContext) -> list[str]:
    """Interviewers still in the directory: one deleted since (only possible
    once their sessions are over) has no address left to write to."""
    return [i for i in interviewer_ids if i in context.directory.people]


def _candidate(context: InviteContext) -> npb.Attendee:
    candidate = context.candidate
    return npb.Attendee(
        email=candidate.email,
        display_name=candidate.display_name or candidate.email,
        role=npb.ATTENDEE_ROLE_CANDIDATE,
        time_zone=candidate.time_zone,
    )


def _agenda(sessions: Sequence[models.LoopSessionRow], context: InviteContext) -> list[npb.AgendaItem]:
    """The loop's agenda, the same in every invite of the loop."""
    people = context.directory.people
    return [
        npb.AgendaItem(
            title=s.title,
            time_range=_range(s),
            interviewer_names=[people[i].display_name if i in people else i for i in s.interviewer_ids],
            location=_where(s, context),
        )
        for s in sessions
    ]


def build_invite(loop: models.LoopRow, row: models.LoopSessionRow, sessions: Sequence[models.LoopSessionRow],
                 context: InviteContext, attendees: Sequence[npb.Attendee],
                 agenda: Sequence[npb.AgendaItem] | None = None) -> npb.Invite:
    return npb.Invite(
        uid=uid(row.id),
        sequence=row.sequence,
        summary=f"Interview: {row.title}",
        time_range=_range(row),
        organizer_email=context.organizer_email,
        organizer_name=context.organizer_name,
        attendees=list(attendees),
        location="" if row.remote else context.directory.office_addresses.get(loop.office_id or "", ""),
        video_link=loop.video_link,
        agenda=_agenda(sessions, context) if agenda is None else agenda,
        loop=f"loops/{loop.id}",
    )


def _request(loop: models.LoopRow, row: models.LoopSessionRow, sessions: Sequence[models.LoopSessionRow],
             context: InviteContext, agenda: Sequence[npb.AgendaItem] | None = None) -> npb.SendInviteRequest:
    """METHOD:REQUEST to the candidate and the session's interviewers."""
    attendees = [_candidate(context), *(_interviewer(i, row, context) for i in _known(row.interviewer_ids, context))]
    return npb.SendInviteRequest(
        idempotency_key=f"invite:{row.id}:{row.sequence}:request",
        invite=build_invite(loop, row, sessions, context, attendees, agenda),
    )


def enqueue_new_loop(session: Session, loop: models.LoopRow, sessions: Sequence[models.LoopSessionRow],
                     context: InviteContext) -> None:
    """A REQUEST per session of a loop just booked, in one INSERT. The keys
    cannot exist yet (the session ids were just made), so nothing is looked
    up; the unique key would still refuse a duplicate."""
    agenda = _agenda(sessions, context)
    messages = [_request(loop, row, sessions, context, agenda) for row in sessions]
    enqueue_new(session, models.OutboxMessage, [(SEND_TOPIC, m.idempotency_key, m.SerializeToString()) for m in messages])


def enqueue_request(session: Session, loop: models.LoopRow, row: models.LoopSessionRow,
                    sessions: Sequence[models.LoopSessionRow], context: InviteContext) -> None:
    """METHOD:REQUEST to the candidate and the session's interviewers."""
    message = _request(loop, row, sessions, context)
    enqueue(session, models.OutboxMessage, SEND_TOPIC, message.idempotency_key, message.SerializeToString())


def enqueue_cancel(session: Session, loop: models.LoopRow, row: models.LoopSessionRow,
                   sessions: Sequence[models.LoopSessionRow], context: InviteContext,
                   interviewer_ids: Sequence[str] | None = None) -> None:
    """METHOD:CANCEL to everyone (the whole session is off), or only to
    `interviewer_ids` (they were taken off a session that goes ahead)."""
    if interviewer_ids is None:
        attendees = [_candidate(context), *(_interviewer(i, row, context) for i in _known(row.interviewer_ids, context))]
    else:
        attendees = [_interviewer(i, row, context) for i in _known(interviewer_ids, context)]
    if not attendees:
        return
    message = npb.CancelInviteRequest(
        idempotency_key=f"invite:{row.id}:{row.sequence}:cancel",
        invite=build_invite(loop, row, sessions, context, attendees),
        reason=CANCEL_NOTE,
    )
    enqueue(session, models.OutboxMessage, CANCEL_TOPIC, message.idempotency_key, message.SerializeToString())


# ---------------------------------------------------------------- relay handlers

def relay_handlers(clients: ServiceClients) -> dict:
    stub = notifications_pb2_grpc.NotificationsServiceStub(clients.channel("notifications"))

    def send(message: ClaimedMessage) -> None:
        call_or_refuse(clients, stub.SendInvite, npb.SendInviteRequest.FromString(message.payload))

    def cancel(message: ClaimedMessage) -> None:
        call_or_refuse(clients, stub.CancelInvite, npb.CancelInviteRequest.FromString(message.payload))

    return {SEND_TOPIC: send, CANCEL_TOPIC: cancel}
