"""The dataclasses the notifications domain works on.

The servicer maps proto messages to these; nothing here knows about gRPC or SQL.
Every datetime is aware and in UTC; zone names are IANA names used only for display.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Method(enum.StrEnum):
    """The iTIP method of an invite email (RFC 5546)."""

    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


class Role(enum.Enum):
    CANDIDATE = "candidate"
    INTERVIEWER = "interviewer"
    OBSERVER = "observer"


@dataclass(frozen=True)
class Attendee:
    email: str
    display_name: str
    role: Role
    # IANA zone the recipient reads times in; empty means UTC.
    time_zone: str = ""
    # Adjustments only this attendee must know, e.g. "Session extended by 15 minutes".
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgendaItem:
    title: str
    start: datetime
    end: datetime
    interviewer_names: tuple[str, ...] = ()
    location: str = ""


@dataclass(frozen=True)
class Invite:
    uid: str
    sequence: int
    summary: str
    start: datetime
    end: datetime
    organizer_email: str
    organizer_name: str
    attendees: tuple[Attendee, ...]
    location: str = ""
    video_link: str = ""
    agenda: tuple[AgendaItem, ...] = ()
    loop: str = ""


@dataclass(frozen=True)
class Recipient:
    email: str
    display_name: str = ""
    time_zone: str = ""


@dataclass(frozen=True)
class RenderedEmail:
    """One email ready for a transport: the bytes are exactly what goes on the wire."""

    recipient: str
    message_id: str
    subject: str
    raw: bytes
    # For invites: the event's UID and SEQUENCE; empty/0 for templated messages.
    uid: str = ""
    sequence: int = 0
