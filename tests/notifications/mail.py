"""Reading sent emails back in tests, with the standard library's parser only."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import icalendar


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> dict[str, EmailMessage]:
    return {part.get_content_type(): part for part in message.iter_parts()}  # type: ignore[misc]


def calendar_bytes(message: EmailMessage) -> bytes:
    part = parts(message)["text/calendar"]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def calendar(message: EmailMessage) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(calendar_bytes(message))


def event(message: EmailMessage) -> icalendar.Event:
    (vevent,) = calendar(message).walk("VEVENT")
    return vevent
