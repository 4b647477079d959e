"""Request messages built from the domain samples in factories.py."""

from __future__ import annotations

from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as pb

from services.core.timeconv import to_timestamp
from services.notifications.domain.model import Invite, Role
from tests.notifications import factories

_ROLES = {
    Role.CANDIDATE: pb.ATTENDEE_ROLE_CANDIDATE,
    Role.INTERVIEWER: pb.ATTENDEE_ROLE_INTERVIEWER,
    Role.OBSERVER: pb.ATTENDEE_ROLE_OBSERVER,
}


def time_range(start, end) -> common_pb2.TimeRange:  # type: ignore[no-untyped-def]
    return common_pb2.TimeRange(start_time=to_timestamp(start), end_time=to_timestamp(end))


def invite(domain: Invite | None = None, **changes: object) -> pb.Invite:
    value = domain or factories.invite(**changes)
    return pb.Invite(
        uid=value.uid,
        sequence=value.sequence,
        summary=value.summary,
        time_range=time_range(value.start, value.end),
        organizer_email=value.organizer_email,
        organizer_name=value.organizer_name,
        attendees=[
            pb.Attendee(email=a.email, display_name=a.display_name, role=_ROLES[a.role],
                        time_zone=a.time_zone, notes=list(a.notes))
            for a in value.attendees
        ],
        location=value.location,
        video_link=value.video_link,
        agenda=[
            pb.AgendaItem(title=i.title, time_range=time_range(i.start, i.end),
                          interviewer_names=list(i.interviewer_names), location=i.location)
            for i in value.agenda
        ],
        loop=value.loop,
    )
