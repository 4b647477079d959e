"""The iTIP check (RFC 5546 section 3.2) of an invite, run on the exact bytes to be sent.

icalendar's own `validate()` checks RFC 5545 shape only; clients silently drop a REQUEST
without ORGANIZER or a CANCEL without SEQUENCE, so the per-METHOD rules are checked here,
on the serialized bytes parsed back, so that what is checked is what is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import icalendar

# (property, minimum count, maximum count) inside the VEVENT, per METHOD.
_EVENT_RULES: dict[str, tuple[tuple[str, int, int], ...]] = {
    "REQUEST": (
        ("ATTENDEE", 1, 10_000),
        ("DTSTAMP", 1, 1),
        ("DTSTART", 1, 1),
        ("ORGANIZER", 1, 1),
        ("SUMMARY", 1, 1),
        ("UID", 1, 1),
        ("SEQUENCE", 0, 1),
        ("DTEND", 0, 1),
        ("DURATION", 0, 0),  # we always write DTEND; both together are invalid anyway
        ("STATUS", 0, 1),
    ),
    "CANCEL": (
        ("ATTENDEE", 1, 10_000),
        ("DTSTAMP", 1, 1),
        ("ORGANIZER", 1, 1),
        ("SEQUENCE", 1, 1),
        ("UID", 1, 1),
        ("STATUS", 0, 1),
    ),
}


class ItipError(ValueError):
    """The calendar breaks an iTIP rule; nothing may be sent."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _count(component: icalendar.Component, name: str) -> int:
    value = component.get(name)
    if value is None:
        return 0
    return len(value) if isinstance(value, list) else 1


def _values(component: icalendar.Component, name: str) -> Iterable[object]:
    value = component.get(name)
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def problems(data: bytes, recipient: str, organizer: str) -> list[str]:
    """Every iTIP problem of `data`, an iMIP body meant for `recipient` from `organizer`."""
    try:
        cal = icalendar.Calendar.from_ical(data)
    except ValueError as error:
        return [f"not parseable iCalendar: {error}"]
    found: list[str] = []
    method = str(cal.get("METHOD", ""))
    if method not in _EVENT_RULES:
        return [f"METHOD must be REQUEST or CANCEL, is {method!r}"]
    if str(cal.get("VERSION", "")) != "2.0":
        found.append("VERSION must be 2.0")
    if not cal.get("PRODID"):
        found.append("PRODID missing")
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    if len(events) != 1:
        return [*found, f"exactly one VEVENT expected, found {len(events)}"]
    event = events[0]
    for name, low, high in _EVENT_RULES[method]:
        count = _count(event, name)
        if not low <= count <= high:
            found.append(f"{method}: {name} must occur {low}..{high} times, found {count}")
    if method == "CANCEL" and str(event.get("STATUS", "CANCELLED")) != "CANCELLED":
        found.append("CANCEL: STATUS must be CANCELLED")
    stamp = event.decoded("DTSTAMP", None)
    if not isinstance(stamp, datetime) or stamp.utcoffset() != timedelta(0):
        found.append("DTSTAMP must be a UTC date-time")
    if "DTSTART" in event and "DTEND" in event:
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        if not (isinstance(start, datetime) and start.tzinfo and end > start):
            found.append("DTSTART must be an aware date-time before DTEND")
    used = {str(p.params.get("TZID")) for n in ("DTSTART", "DTEND") for p in _values(event, n)
            if getattr(p, "params", None) and p.params.get("TZID")}
    defined = {str(tz.get("TZID")) for tz in cal.walk("VTIMEZONE")}
    if used - defined:
        found.append(f"TZID without VTIMEZONE: {sorted(used - defined)}")
    for tz in cal.walk("VTIMEZONE"):
        for part in tz.subcomponents:
            if "RDATE" in part and "RRULE" not in part:
                found.append("VTIMEZONE observance with RDATE only (Outlook ignores RDATE)")
    organizers = [str(o) for o in _values(event, "ORGANIZER")]
    if organizers and organizers[0] != f"mailto:{organizer}":
        found.append("ORGANIZER must be mailto: the From address")
    attendees = [str(a) for a in _values(event, "ATTENDEE")]
    if any(not a.startswith("mailto:") for a in attendees):
        found.append("every ATTENDEE must be a mailto: address")
    if f"mailto:{recipient}" not in attendees:
        found.append("the recipient must be an ATTENDEE at exactly their address")
    return found


def check(data: bytes, recipient: str, organizer: str) -> None:
    """Raise ItipError unless `data` is a valid iTIP REQUEST or CANCEL for `recipient`."""
    found = problems(data, recipient, organizer)
    if found:
        raise ItipError(found)
