"""Times as a recipient reads them: in their own zone, with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def zone_of(name: str) -> ZoneInfo:
    # Names are validated at the edge; empty means the recipient gave none: show UTC.
    return ZoneInfo(name or "UTC")


def span(start: datetime, end: datetime, zone_name: str) -> str:
    """E.g. "Tuesday 10 March 2026, 10:00-11:00 PDT (America/Los_Angeles)"."""
    zone = zone_of(zone_name)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    label = f"{local_end.tzname()} ({zone.key})"
    if local_start.date() == local_end.date():
        return (
            f"{local_start:%A %d %B %Y}, {local_start:%H:%M}-{local_end:%H:%M} {label}"
        )
    return f"{local_start:%A %d %B %Y %H:%M} - {local_end:%A %d %B %Y %H:%M} {label}"


def instant(moment: datetime, zone_name: str) -> str:
    """E.g. "Tuesday 10 March 2026, 10:00 PDT (America/Los_Angeles)"."""
    zone = zone_of(zone_name)
    local = moment.astimezone(zone)
    return f"{local:%A %d %B %Y}, {local:%H:%M} {local.tzname()} ({zone.key})"


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time inside the service is aware UTC")
    return moment.astimezone(UTC)
