"""Invite emails from a request: MIME shape, iTIP content, per-recipient text, injection."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.domain import itip
from services.notifications.domain.compose import Sender, invite_emails
from services.notifications.domain.model import Attendee, Method, Role
from tests.notifications import factories
from tests.notifications.mail import calendar, calendar_bytes, event, parse, parts

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SENDER = Sender("scheduling@example.com", "Interview Scheduling")


def _by_recipient(invite=None, method=Method.REQUEST, key="k1"):  # type: ignore[no-untyped-def]
    emails = invite_emails(invite or factories.invite(), method, SENDER, key, NOW)
    return {e.recipient: e for e in emails}


def test_one_email_per_attendee_with_the_mime_shape_of_imip() -> None:
    emails = _by_recipient()
    assert set(emails) == {a.email for a in factories.invite().attendees}
    for recipient, rendered in emails.items():
        message = parse(rendered.raw)
        assert message.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in message.iter_parts()] == [
            "text/plain", "text/html", "text/calendar",
        ]
        cal_part = parts(message)["text/calendar"]
        assert cal_part.get_param("method") == "REQUEST" == str(calendar(message)["METHOD"])
        assert cal_part.get_content_charset() == "utf-8"
        assert cal_part["Content-Transfer-Encoding"] == "base64"
        assert message["Message-ID"] == rendered.message_id
        assert message["Date"].datetime == NOW
        assert message["To"].addresses[0].addr_spec == recipient
        assert message["From"].addresses[0].addr_spec == "coordinator@example.com"
        assert message["Sender"].addresses[0].addr_spec == "scheduling@example.com"
        assert b"\r\n" in rendered.raw and b"\n" not in rendered.raw.replace(b"\r\n", b"")


def test_event_properties_follow_itip() -> None:
    for recipient, rendered in _by_recipient().items():
        vevent = event(parse(rendered.raw))
        assert str(vevent["UID"]) == "loops-l1-s1@interviews.example.com"
        assert vevent["SEQUENCE"] == 0
        assert vevent.decoded("DTSTAMP") == NOW
        assert str(vevent["ORGANIZER"]) == "mailto:coordinator@example.com"
        assert vevent["ORGANIZER"].params["CN"] == "Casey Coordinator"
        attendees = {str(a): a.params for a in vevent["ATTENDEE"]}
        assert f"mailto:{recipient}" in attendees
        params = attendees[f"mailto:{recipient}"]
        assert params["ROLE"] == "REQ-PARTICIPANT"
        assert params["PARTSTAT"] == "NEEDS-ACTION"
        assert params["RSVP"] == "TRUE"
        assert vevent.decoded("DTSTART") == factories.START
        assert vevent.decoded("DTEND") == factories.START + timedelta(hours=1)
        assert str(vevent["STATUS"]) == "CONFIRMED"


def test_times_use_the_recipients_zone_with_an_rrule_vtimezone() -> None:
    rendered = _by_recipient()["ian.interviewer@example.com"]
    data = calendar_bytes(parse(rendered.raw))
    assert b"DTSTART;TZID=America/Los_Angeles:20260310T100000" in data
    assert b"RRULE:FREQ=YEARLY" in data and b"RDATE" not in data


def test_zone_without_a_yearly_rule_falls_back_to_utc() -> None:
    attendee = Attendee("m@example.ma", "M", Role.INTERVIEWER, "Africa/Casablanca")
    rendered = _by_recipient(factories.invite(attendees=(attendee,)))["m@example.ma"]
    data = calendar_bytes(parse(rendered.raw))
    assert b"DTSTART:20260310T170000Z" in data and b"VTIMEZONE" not in data


def test_reschedule_keeps_uid_and_raises_sequence_and_cancel_says_cancel() -> None:
    moved = factories.invite(sequence=1, start=factories.START + timedelta(days=1),
                             end=factories.START + timedelta(days=1, hours=1))
    updated = parse(_by_recipient(moved, key="k2")["ada.candidate@example.com"].raw)
    assert str(event(updated)["UID"]) == "loops-l1-s1@interviews.example.com"
    assert event(updated)["SEQUENCE"] == 1
    assert updated["Subject"].startswith("Updated:")
    cancelled = factories.invite(sequence=2)
    message = parse(_by_recipient(cancelled, Method.CANCEL, "k3")["ada.candidate@example.com"].raw)
    assert parts(message)["text/calendar"].get_param("method") == "CANCEL"
    assert str(calendar(message)["METHOD"]) == "CANCEL"
    assert str(event(message)["STATUS"]) == "CANCELLED"
    assert event(message)["SEQUENCE"] == 2
    assert message["Subject"].startswith("Cancelled:")


def test_message_ids_are_stable_per_key_and_recipient() -> None:
    first, again, other = _by_recipient(key="a"), _by_recipient(key="a"), _by_recipient(key="b")
    for recipient in first:
        assert first[recipient].message_id == again[recipient].message_id
        assert first[recipient].message_id != other[recipient].message_id
    assert len({e.message_id for e in first.values()}) == len(first)


def _plain(rendered_raw: bytes) -> str:
    return parts(parse(rendered_raw))["text/plain"].get_content()


def test_candidate_sees_agenda_logistics_and_own_notes_in_own_zone() -> None:
    rendered = _by_recipient()["ada.candidate@example.com"]
    plain = _plain(rendered.raw)
    description = str(event(parse(rendered.raw))["DESCRIPTION"])
    for body in (plain, description, parts(parse(rendered.raw))["text/html"].get_content()):
        assert "22:30-23:30 IST (Asia/Kolkata)" in body  # 17:00 UTC
        assert "System design" in body and "Sam Second" in body
        assert "1 Infinite Loop, Cupertino, Room 4" in body
        assert "https://meet.example.com/abc-def" in body
        assert "Live captions are provided" in body
        assert "Session extended" not in body and "Interpreter attending" not in body


def test_interviewer_sees_own_session_and_only_own_adjustment() -> None:
    rendered = _by_recipient()["ian.interviewer@example.com"]
    for body in (_plain(rendered.raw), str(event(parse(rendered.raw))["DESCRIPTION"])):
        assert "10:00-11:00 PDT (America/Los_Angeles)" in body
        assert "Session extended by 15 minutes" in body
        assert "Interpreter attending" not in body  # another interviewer's adjustment
        assert "Live captions" not in body  # the candidate's own note
        assert "System design" not in body and "Sam Second" not in body  # the agenda


def test_cancel_shows_no_agenda_and_no_notes() -> None:
    rendered = _by_recipient(factories.invite(sequence=1), Method.CANCEL)
    for email_ in rendered.values():
        body = _plain(email_.raw)
        assert "cancelled" in body
        assert "System design" not in body and "Session extended" not in body


EVIL = 'x"\r\nBcc: victim@evil.example\r\nMETHOD:CANCEL\r\nATTENDEE:mailto:spy@evil.example\x00\x1b\u2028;,\\'


@pytest.mark.parametrize(
    "field",
    ["summary", "location", "organizer_name", "attendee_name", "note", "agenda_title",
     "agenda_person", "agenda_location"],
)
def test_injection_in_every_text_field_fails(field: str) -> None:
    candidate = factories.CANDIDATE
    agenda = factories.invite().agenda[0]
    changes: dict[str, object] = {}
    if field in ("summary", "location", "organizer_name"):
        changes[field] = EVIL
    elif field == "attendee_name":
        candidate = replace(candidate, display_name=EVIL)
    elif field == "note":
        candidate = replace(candidate, notes=(EVIL,))
    elif field == "agenda_title":
        agenda = replace(agenda, title=EVIL)
    elif field == "agenda_person":
        agenda = replace(agenda, interviewer_names=(EVIL,))
    else:
        agenda = replace(agenda, location=EVIL)
    invite = factories.invite(attendees=(candidate, factories.INTERVIEWER),
                              agenda=(agenda,), **changes)
    for recipient, rendered in _by_recipient(invite).items():
        message = parse(rendered.raw)
        assert message["Bcc"] is None and message.get_all("To") == [message["To"]]
        assert len(message["To"].addresses) == 1
        assert [k for k in message.keys()] == [
            "From", "Sender", "To", "Subject", "Date", "Message-ID", "Auto-Submitted",
            "MIME-Version", "Content-Type", "Content-Class",
        ]
        data = calendar_bytes(message)
        lines = [line for line in data.split(b"\r\n") if line and not line.startswith(b" ")]
        names = [line.split(b":")[0].split(b";")[0] for line in lines]
        assert names.count(b"METHOD") == 1 and b"METHOD:REQUEST" in lines
        # The text survives as escaped text inside its own property, never as a line.
        assert names.count(b"ATTENDEE") == len(invite.attendees)
        assert not any(line.startswith((b"METHOD:CANCEL", b"ATTENDEE:")) for line in lines)
        assert not any(ord(ch) < 32 for ch in data.decode().replace("\r\n", ""))
        vevent = event(message)
        assert {str(a) for a in vevent["ATTENDEE"]} == {
            f"mailto:{a.email}" for a in invite.attendees
        }
        itip.check(data, recipient, "coordinator@example.com")


def test_repeated_fall_back_hour_is_written_in_utc() -> None:
    # 09:30 UTC on 2026-11-01 is the second 01:30 in Los Angeles.
    start = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
    invite = factories.invite(start=start, end=start + timedelta(hours=1))
    data = calendar_bytes(parse(_by_recipient(invite)["ian.interviewer@example.com"].raw))
    assert b"DTSTART:20261101T093000Z" in data and b"VTIMEZONE" not in data
