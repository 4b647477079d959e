"""Busy time from an iCalendar (RFC 5545) file, recurring events expanded.

`recurring-ical-events` expands RRULE/RDATE/EXDATE and moved occurrences
(RECURRENCE-ID) inside a window, across DST changes. Events marked free
(TRANSP:TRANSPARENT) or cancelled are skipped; all-day and floating times are
read in the interviewer's own zone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from services.core.errors import InvalidArgument

MAX_BYTES = 2 * 1024 * 1024
MAX_BLOCKS = 5000
MAX_WINDOW = timedelta(days=400)
BUSY, OUT_OF_OFFICE = 1, 2  # BusyKind numbers


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), zone).astimezone(UTC)


def _kind(event: icalendar.Event) -> int:
    status = str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper()
    return OUT_OF_OFFICE if status == "OOF" else BUSY


def parse_busy(data: bytes, start: datetime, end: datetime, zone_name: str) -> list[tuple[datetime, datetime, int]]:
    """(start, end, BusyKind) in UTC for every busy occurrence overlapping [start, end)."""
    if not data:
        raise InvalidArgument("ics_data", "required")
    if len(data) > MAX_BYTES:
        raise InvalidArgument("ics_data", f"at most {MAX_BYTES // 1024} KiB")
    if end - start > MAX_WINDOW:
        raise InvalidArgument("expand_range", f"at most {MAX_WINDOW.days} days")
    zone = ZoneInfo(zone_name)
    try:
        calendar = icalendar.Calendar.from_ical(data)
        occurrences = recurring_ical_events.of(calendar).between(start, end)
    except Exception as error:  # the parser raises ValueError and friends on bad input
        raise InvalidArgument("ics_data", f"not a readable iCalendar file ({type(error).__name__})") from None
    blocks = []
    for event in occurrences:
        if str(event.get("TRANSP", "")).upper() == "TRANSPARENT" or str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        first = event.get("DTSTART")
        if first is None:
            continue
        begin = _instant(first.dt, zone)
        if event.get("DTEND") is not None:
            finish = _instant(event["DTEND"].dt, zone)
        elif event.get("DURATION") is not None:
            finish = begin + event["DURATION"].dt
        elif isinstance(first.dt, datetime):
            finish = begin  # RFC 5545: no end and no duration is an instant; skipped below
        else:
            finish = _instant(first.dt + timedelta(days=1), zone)
        if finish <= begin:
            continue
        blocks.append((max(begin, start), min(finish, end), _kind(event)))
        if len(blocks) > MAX_BLOCKS:
            raise InvalidArgument("ics_data", f"more than {MAX_BLOCKS} busy blocks in the range; import a shorter range")
    return sorted(b for b in blocks if b[0] < b[1])
