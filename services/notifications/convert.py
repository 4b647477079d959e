"""Proto messages to domain dataclasses and rows to proto messages (the servicer's edge)."""

from __future__ import annotations

from interviews.notifications.v1 import notifications_pb2 as pb

from services.core import timeconv
from services.core.errors import InvalidArgument
from services.notifications import store
from services.notifications.domain.model import AgendaItem, Attendee, Invite, Recipient, Role
from services.notifications.domain.templates import Template
from services.notifications.domain.validation import Violation
from services.notifications.models import DeliveryRow

_ROLES = {
    pb.ATTENDEE_ROLE_CANDIDATE: Role.CANDIDATE,
    pb.ATTENDEE_ROLE_INTERVIEWER: Role.INTERVIEWER,
    pb.ATTENDEE_ROLE_OBSERVER: Role.OBSERVER,
}
TEMPLATES = {
    pb.MESSAGE_TEMPLATE_TICKET_ACKNOWLEDGED: Template.TICKET_ACKNOWLEDGED,
    pb.MESSAGE_TEMPLATE_INFORMATION_REQUESTED: Template.INFORMATION_REQUESTED,
    pb.MESSAGE_TEMPLATE_TICKET_DECIDED: Template.TICKET_DECIDED,
    pb.MESSAGE_TEMPLATE_NEW_TICKET: Template.NEW_TICKET,
    pb.MESSAGE_TEMPLATE_SLA_AT_RISK: Template.SLA_AT_RISK,
    pb.MESSAGE_TEMPLATE_INTERVIEW_REMINDER: Template.INTERVIEW_REMINDER,
}
_KINDS = {
    store.INVITE_REQUEST: pb.DELIVERY_KIND_INVITE_REQUEST,
    store.INVITE_CANCEL: pb.DELIVERY_KIND_INVITE_CANCEL,
    store.MESSAGE: pb.DELIVERY_KIND_MESSAGE,
}
_STATES = {
    store.PENDING: pb.DELIVERY_STATE_PENDING,
    store.SENT: pb.DELIVERY_STATE_SENT,
    store.FAILED: pb.DELIVERY_STATE_FAILED,
}
STATE_FILTERS = {value: key for key, value in _STATES.items()}

# Bounds that keep one request (and its stored emails) small.
MAX_ATTENDEES = 50
MAX_AGENDA = 30
MAX_NOTES = 10


def raise_if(violations: list[Violation]) -> None:
    if violations:
        raise InvalidArgument.many((v.field, v.why) for v in violations)


def invite(message: pb.Invite, field: str = "invite") -> Invite:
    if len(message.attendees) > MAX_ATTENDEES:
        raise InvalidArgument(f"{field}.attendees", f"at most {MAX_ATTENDEES}")
    if len(message.agenda) > MAX_AGENDA:
        raise InvalidArgument(f"{field}.agenda", f"at most {MAX_AGENDA} items")
    start, end = timeconv.time_range(message.time_range, f"{field}.time_range")
    attendees = []
    for index, item in enumerate(message.attendees):
        if item.role not in _ROLES:
            raise InvalidArgument(f"{field}.attendees[{index}].role", "required")
        if len(item.notes) > MAX_NOTES:
            raise InvalidArgument(f"{field}.attendees[{index}].notes", f"at most {MAX_NOTES}")
        attendees.append(
            Attendee(item.email, item.display_name, _ROLES[item.role], item.time_zone,
                     tuple(item.notes))
        )
    agenda = []
    for index, item in enumerate(message.agenda):
        a_start, a_end = timeconv.time_range(item.time_range, f"{field}.agenda[{index}].time_range")
        agenda.append(AgendaItem(item.title, a_start, a_end, tuple(item.interviewer_names),
                                 item.location))
    return Invite(
        uid=message.uid,
        sequence=message.sequence,
        summary=message.summary,
        start=start,
        end=end,
        organizer_email=message.organizer_email,
        organizer_name=message.organizer_name,
        attendees=tuple(attendees),
        location=message.location,
        video_link=message.video_link,
        agenda=tuple(agenda),
        loop=message.loop,
    )


def recipient(message: pb.Recipient) -> Recipient:
    return Recipient(message.email, message.display_name, message.time_zone)


def delivery(row: DeliveryRow) -> pb.Delivery:
    out = pb.Delivery(
        name=f"deliveries/{row.id}",
        idempotency_key=row.idempotency_key,
        kind=_KINDS[row.kind],
        recipient=row.recipient,
        state=_STATES[row.state],
        attempts=row.attempts,
        last_error=row.last_error,
        message_id=row.message_id,
        uid=row.uid,
        sequence=row.sequence,
        create_time=timeconv.to_timestamp(row.create_time),
    )
    if row.state == store.PENDING:
        out.next_attempt_time.CopyFrom(timeconv.to_timestamp(row.next_attempt_time))
    if row.sent_time is not None:
        out.sent_time.CopyFrom(timeconv.to_timestamp(row.sent_time))
    return out
