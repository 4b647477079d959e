"""Invites applied to a real CalDAV server (Radicale, through the caldav client) the way a
calendar client applies iTIP: REQUEST creates or updates the event with that UID, CANCEL
removes it. The server parses our VTIMEZONE itself; we read the times back from it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import caldav
import icalendar
from caldav.lib.error import NotFoundError
from interviews.notifications.v1 import notifications_pb2 as pb

from services.core.auth import Role
from tests.helpers import wait_until
from tests.notifications import factories, protos
from tests.notifications.mail import calendar, parse
from tests.notifications.servers import Radicale, SmtpServer

Token = Callable[..., tuple[tuple[str, str], ...]]
WHO = factories.INTERVIEWER.email  # times in America/Los_Angeles with our VTIMEZONE


def _apply_itip(cal: caldav.Calendar, message: bytes) -> None:
    """What a calendar client does with an iMIP message (RFC 5546 section 3.2)."""
    itip = calendar(parse(message))
    method = str(itip.pop("METHOD"))  # stored calendar objects carry no METHOD (RFC 4791)
    (vevent,) = itip.walk("VEVENT")
    uid = str(vevent["UID"])
    try:
        existing = cal.event_by_uid(uid)
    except NotFoundError:
        existing = None
    if method == "CANCEL":
        if existing is not None:
            existing.delete()
        return
    if existing is not None:
        (held,) = icalendar.Calendar.from_ical(existing.data).walk("VEVENT")
        if int(held.get("SEQUENCE", 0)) > int(vevent["SEQUENCE"]):
            return  # an older update: ignored, as clients do
        existing.data = itip.to_ical().decode()
        existing.save(increase_seqno=False)  # the organizer owns SEQUENCE
    else:
        cal.save_event(itip.to_ical().decode())


def _stored(radicale: Radicale, uid: str) -> icalendar.Event | None:
    """The event as a fresh client reads it from the server."""
    client = caldav.DAVClient(url=radicale.url, username="ian", password="x")
    cal = client.principal().calendars()[0]
    try:
        found = cal.event_by_uid(uid)
    except NotFoundError:
        return None
    (vevent,) = icalendar.Calendar.from_ical(found.data).walk("VEVENT")
    return vevent


def test_event_created_moved_and_removed_on_a_caldav_server(
    notifications, smtp_server: SmtpServer, radicale: Radicale, token: Token
) -> None:
    client = caldav.DAVClient(url=radicale.url, username="ian", password="x")
    cal = client.principal().make_calendar(name="Interviews")
    service = token(Role.SERVICE)
    uid = factories.invite().uid

    def deliver(count: int) -> None:
        wait_until(lambda: len(smtp_server.handler.for_recipient(WHO)) == count,
                   timeout=20, message=f"{count} emails to {WHO}")
        _apply_itip(cal, smtp_server.handler.for_recipient(WHO)[-1].raw)

    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="c-1", invite=protos.invite()),
                             metadata=service)
    deliver(1)
    stored = _stored(radicale, uid)
    assert stored is not None
    assert stored.decoded("DTSTART").astimezone(UTC) == factories.START
    assert stored.decoded("DTEND").astimezone(UTC) == factories.START + timedelta(hours=1)
    assert str(stored["DTSTART"].params["TZID"]) == "America/Los_Angeles"

    # Moved across the DST change: 10:00 PST on 2026-11-02 is 18:00 UTC.
    new_start = datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
    moved = factories.invite(sequence=1, start=new_start, end=new_start + timedelta(minutes=75))
    notifications.SendInvite(pb.SendInviteRequest(idempotency_key="c-2", invite=protos.invite(moved)),
                             metadata=service)
    deliver(2)
    stored = _stored(radicale, uid)
    assert stored is not None and int(stored["SEQUENCE"]) == 1
    assert stored.decoded("DTSTART").astimezone(UTC) == new_start
    assert stored.decoded("DTEND").astimezone(UTC) == new_start + timedelta(minutes=75)
    assert stored.decoded("DTSTART").replace(tzinfo=None) == datetime(2026, 11, 2, 10, 0)
    assert len(cal.events()) == 1

    notifications.CancelInvite(pb.CancelInviteRequest(idempotency_key="c-3",
                                                      invite=protos.invite(moved, sequence=2)),
                               metadata=service)
    deliver(3)
    assert _stored(radicale, uid) is None
    assert cal.events() == []
