"""Builds the iCalendar object of one invite email for one recipient (RFC 5545/5546).

One UID per interview session for its whole life and the caller's SEQUENCE make calendar
clients update or remove the event they already hold instead of adding a second one.
Each recipient gets their own object because DESCRIPTION differs per recipient (the
candidate sees the agenda, an interviewer only what affects their session) and because
times are written in the recipient's zone, with a VTIMEZONE Outlook can read, so the
event shows the zone the recipient thinks in. Zones that cannot be written as RRULEs, and
instants that local time cannot name (the repeated hour of a fall-back night), fall back
to UTC times.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import icalendar

from services.notifications.domain import text
from services.notifications.domain.model import Attendee, Invite, Method, Role
from services.notifications.domain.vtimezone import vtimezone

PRODID = "-//Interviews//Notifications 1.0//EN"

_ROLES = {
    Role.CANDIDATE: "REQ-PARTICIPANT",
    Role.INTERVIEWER: "REQ-PARTICIPANT",
    Role.OBSERVER: "OPT-PARTICIPANT",
}


def _address(email: str, name: str, **params: str) -> icalendar.vCalAddress:
    # A bare "mailto:" + address: clients match ORGANIZER/ATTENDEE to mailboxes by it.
    address = icalendar.vCalAddress(f"mailto:{email}")
    clean = text.display_name(name)
    if clean:
        address.params["CN"] = clean
    for key, value in params.items():
        address.params[key.replace("_", "-")] = value
    return address


def _local(moment: datetime, zone_name: str, timezone: icalendar.Timezone | None) -> datetime:
    if timezone is None:
        return moment.astimezone(UTC)
    return moment.astimezone(ZoneInfo(zone_name))


def build_calendar(
    invite: Invite,
    method: Method,
    recipient: Attendee,
    organizer_email: str,
    description: str,
    stamp: datetime,
) -> icalendar.Calendar:
    """The VCALENDAR for `recipient`. `stamp` (DTSTAMP) is when the request was accepted."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method.value)

    zone_name = recipient.time_zone if recipient.time_zone not in ("", "UTC") else ""
    timezone = vtimezone(zone_name, invite.start.astimezone(UTC).year) if zone_name else None
    if timezone is not None and invite.end.astimezone(UTC).year > invite.start.year + 2:
        timezone = None  # the rule was checked up to two years after the start only
    if timezone is not None and any(
        moment.astimezone(ZoneInfo(zone_name)).fold for moment in (invite.start, invite.end)
    ):
        # The second 01:30 of a fall-back night cannot be written as local time: RFC 5545
        # reads an ambiguous local time as its first occurrence, an hour early.
        timezone = None
    if timezone is not None:
        cal.add_component(timezone)

    event = icalendar.Event()
    event.add("uid", invite.uid)
    event.add("sequence", invite.sequence)
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", _local(invite.start, zone_name, timezone))
    event.add("dtend", _local(invite.end, zone_name, timezone))
    event.add("summary", text.one_line(invite.summary, 200) or "Interview")
    where = text.one_line(invite.location, 500) or invite.video_link
    if where:
        event.add("location", where)
    if invite.video_link:
        event.add("url", invite.video_link)
    event.add("description", description)
    event.add("organizer", _address(organizer_email, invite.organizer_name))
    for attendee in invite.attendees:
        event.add(
            "attendee",
            _address(
                attendee.email,
                attendee.display_name,
                CUTYPE="INDIVIDUAL",
                ROLE=_ROLES[attendee.role],
                PARTSTAT="NEEDS-ACTION",
                RSVP="TRUE" if method is Method.REQUEST else "FALSE",
            ),
        )
    event.add("status", "CONFIRMED" if method is Method.REQUEST else "CANCELLED")
    event.add("transp", "OPAQUE")
    cal.add_component(event)
    return cal
