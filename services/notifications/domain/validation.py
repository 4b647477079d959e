"""Checks of identifiers and shapes in requests, as (field, why) violations.

Addresses, UIDs and links are rejected rather than cleaned: changing them silently would
send mail to, or link to, something the caller did not ask for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from services.notifications.domain.model import Invite, Recipient, Role

# A conservative addr-spec: dot-atom local part and a DNS domain. Quoted local parts and
# address literals are legal in RFC 5322 but are where header tricks hide, and no
# candidate or interviewer needs them.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# RFC 5545 allows any text in UID; we accept what fits a header and a file name safely.
UID = re.compile(r"^[A-Za-z0-9@._:/+=-]{1,255}$")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_ZONES = frozenset(available_timezones())


@dataclass(frozen=True)
class Violation:
    field: str
    why: str


def check_email(value: str, field: str) -> list[Violation]:
    if len(value) > 254 or not _EMAIL.match(value):
        return [Violation(field, "must be a plain email address (local@domain)")]
    return []


def check_zone(value: str, field: str) -> list[Violation]:
    if not value:
        return []
    if value not in _ZONES:
        return [Violation(field, "must be an IANA time zone name, e.g. America/Los_Angeles")]
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return [Violation(field, "is not a time zone this server knows")]
    return []


def check_link(value: str, field: str) -> list[Violation]:
    if not value:
        return []
    parts = urlsplit(value)
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or len(value) > 2000
        or any(ord(ch) <= 0x20 or ord(ch) == 0x7F or ch in '"<>\\' for ch in value)
    ):
        return [Violation(field, "must be an http(s) URL without spaces or quotes")]
    return []


def check_idempotency_key(value: str, field: str = "idempotency_key") -> list[Violation]:
    if not _KEY.match(value):
        return [Violation(field, "must be 1-200 printable ASCII characters without spaces")]
    return []


def check_invite(invite: Invite, field: str = "invite") -> list[Violation]:
    out: list[Violation] = []
    if not UID.match(invite.uid):
        out.append(Violation(f"{field}.uid", "must be 1-255 of A-Z a-z 0-9 @ . _ : / + = -"))
    if invite.sequence < 0:
        out.append(Violation(f"{field}.sequence", "must not be negative"))
    if invite.start.tzinfo is None or invite.end.tzinfo is None or invite.end <= invite.start:
        out.append(Violation(f"{field}.time_range", "needs a start before its end"))
    if invite.organizer_email:
        out += check_email(invite.organizer_email, f"{field}.organizer_email")
    out += check_link(invite.video_link, f"{field}.video_link")
    if not invite.attendees:
        out.append(Violation(f"{field}.attendees", "needs at least one attendee"))
    seen: set[str] = set()
    for i, attendee in enumerate(invite.attendees):
        where = f"{field}.attendees[{i}]"
        out += check_email(attendee.email, f"{where}.email")
        out += check_zone(attendee.time_zone, f"{where}.time_zone")
        if attendee.email.lower() in seen:
            out.append(Violation(f"{where}.email", "appears twice"))
        seen.add(attendee.email.lower())
    if sum(1 for a in invite.attendees if a.role is Role.CANDIDATE) > 1:
        out.append(Violation(f"{field}.attendees", "has more than one candidate"))
    for i, item in enumerate(invite.agenda):
        if item.end <= item.start:
            out.append(Violation(f"{field}.agenda[{i}].time_range", "needs a start before its end"))
    return out


def check_recipient(recipient: Recipient, field: str = "recipient") -> list[Violation]:
    return check_email(recipient.email, f"{field}.email") + check_zone(
        recipient.time_zone, f"{field}.time_zone"
    )
