"""The search's view of the world (`DirectorySnapshot`) built from the tables.

The directory (offices, rooms, interviewers, busy blocks) changes rarely and
is read by every search, so each replica keeps it in memory and reloads it
when the directory version row has moved (one indexed read per search).
Reservations (bookings and holds) change with every booking and are always
read fresh, inside the caller's transaction.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, type_coerce
from sqlalchemy.types import NullType
from sqlalchemy.orm import Session

from services.scheduling import models
from services.scheduling.domain import model as dm
from services.scheduling.store.directory import directory_version

# Busy blocks that ended this long ago are not cached: no search can reach them.
_BUSY_HISTORY = timedelta(days=1)
# Load limits count sessions per day and ISO week, so reservations this far
# either side of the searched window matter.
_LOAD_MARGIN = timedelta(days=8)


# ---------------------------------------------------------------- rows -> domain


def _weekly(items: Iterable[Sequence[int]]) -> tuple[dm.WeeklyInterval, ...]:
    return tuple(dm.WeeklyInterval(d, s, e) for d, s, e in items)


def office(row: models.OfficeRow) -> dm.Office:
    return dm.Office(
        id=row.id,
        time_zone=row.time_zone,
        office_hours=_weekly(row.office_hours),
        holidays=frozenset(date.fromisoformat(d) for d in row.holidays),
    )


def room(row: models.RoomRow) -> dm.Room:
    # The domain id is the full resource name: room ids are unique only within an office.
    return dm.Room(
        id=row.name,
        office_id=row.office_id,
        capacity=row.capacity,
        wheelchair_accessible=row.wheelchair_accessible,
        video_equipped=row.video_equipped,
        quiet=row.quiet,
        location_hint=row.location_hint,
    )


def interviewer(row: models.InterviewerRow) -> dm.Interviewer:
    return dm.Interviewer(
        id=row.id,
        email=row.email,
        home_office_id=row.home_office_id,
        areas=frozenset(dm.MlArea(a) for a in row.ml_areas),
        time_zone=row.time_zone,
        working_hours=_weekly(row.working_hours),
        max_per_day=row.max_per_day,
        max_per_week=row.max_per_week,
        trainee=row.trainee,
    )


def candidate(row: models.CandidateRow) -> dm.Candidate:
    return dm.Candidate(
        id=row.id,
        time_zone=row.time_zone,
        primary_area=dm.MlArea(row.primary_area),
        secondary_area=dm.MlArea(row.secondary_area),
        availability=tuple(dm.LocalDateWindow(date.fromisoformat(d), s, e) for d, s, e in row.availability),
        preferred_hours=dm.DailyWindow(*row.preferred_hours) if row.preferred_hours else None,
    )


def template(row: models.LoopTemplateRow) -> dm.LoopTemplate:
    return dm.LoopTemplate(
        id=row.id,
        sessions=tuple(
            dm.SessionTemplate(
                title=s["title"],
                kind=dm.SessionKind(s["kind"]),
                duration=timedelta(minutes=s["minutes"]),
                area_rule=dm.AreaRule(s["area_rule"]),
                interviewers_needed=s["interviewers_needed"],
            )
            for s in row.sessions
        ),
        buffer=timedelta(minutes=row.buffer_minutes),
        max_days=row.max_days,
    )


# ---------------------------------------------------------------- cached directory


@dataclass(frozen=True)
class Person:
    """What invites need about an interviewer."""

    display_name: str
    email: str
    time_zone: str


@dataclass(frozen=True)
class Directory:
    version: int
    offices: dict[str, dm.Office]
    office_addresses: dict[str, str]
    rooms: dict[str, dm.Room]
    room_names: dict[str, str]
    interviewers: dict[str, dm.Interviewer]
    people: dict[str, Person]
    # Per interviewer, sorted by start.
    busy: dict[str, list[dm.TimeRange]] = field(default_factory=dict)
    busy_starts: dict[str, list[datetime]] = field(default_factory=dict)

    def busy_between(self, interviewer_id: str, start: datetime, end: datetime) -> list[dm.TimeRange]:
        ranges = self.busy.get(interviewer_id)
        if not ranges:
            return []
        upto = bisect.bisect_left(self.busy_starts[interviewer_id], end)
        return [r for r in ranges[:upto] if r.end > start]


def load_directory(session: Session, version: int, now: datetime) -> Directory:
    offices = list(session.scalars(select(models.OfficeRow)))
    rooms = list(session.scalars(select(models.RoomRow)))
    interviewers = list(session.scalars(select(models.InterviewerRow)))
    busy: dict[str, list[dm.TimeRange]] = {}
    blocks = session.execute(
        select(models.BusyBlockRow.interviewer_id, models.BusyBlockRow.start_time, models.BusyBlockRow.end_time)
        .where(models.BusyBlockRow.end_time > now - _BUSY_HISTORY)
        .order_by(models.BusyBlockRow.interviewer_id, models.BusyBlockRow.start_time)
    )
    for interviewer_id, start, end in blocks:
        busy.setdefault(interviewer_id, []).append(dm.TimeRange(start, end))
    return Directory(
        version=version,
        offices={o.id: office(o) for o in offices},
        office_addresses={o.id: o.address for o in offices},
        rooms={r.name: room(r) for r in rooms},
        room_names={r.name: r.display_name or r.id for r in rooms},
        interviewers={i.id: interviewer(i) for i in interviewers},
        people={i.id: Person(i.display_name or i.email, i.email, i.time_zone) for i in interviewers},
        busy=busy,
        busy_starts={k: [r.start for r in v] for k, v in busy.items()},
    )


class DirectoryCache:
    """This replica's copy of the directory, reloaded when the version moves."""

    def __init__(self) -> None:
        self._current: Directory | None = None
        self._lock = threading.Lock()

    def get(self, session: Session, now: datetime) -> Directory:
        version = directory_version(session)
        current = self._current
        if current is not None and current.version == version:
            return current
        with self._lock:
            current = self._current
            if current is None or current.version != version:
                current = load_directory(session, version, now)
                self._current = current
            return current


# ---------------------------------------------------------------- reservations


@dataclass
class Reserved:
    """Active reservations near a window, by resource kind."""

    interviewer_busy: dict[str, list[dm.TimeRange]] = field(default_factory=dict)
    room_busy: dict[str, list[dm.TimeRange]] = field(default_factory=dict)
    candidate_busy: dict[str, list[dm.TimeRange]] = field(default_factory=dict)
    interviewer_sessions: dict[str, list[datetime]] = field(default_factory=dict)


def load_reserved(session: Session, start: datetime, end: datetime, now: datetime, *, exclude_owner: str | None = None,
                  resources: Sequence[str] | None = None) -> Reserved:
    """Reservations overlapping [start, end) (busy) and interviewer sessions
    within the load-limit margin around it. `exclude_owner` leaves out a loop
    being rescheduled; expired holds never count."""
    return reserved_from_rows(reserved_rows(session, start, end, now, exclude_owner=exclude_owner, resources=resources), start, end)


ReservedRow = tuple[str, Any, Any]  # resource, start and end as the driver returned them


def reserved_rows(session: Session, start: datetime, end: datetime, now: datetime, *, exclude_owner: str | None = None,
                  resources: Sequence[str] | None = None) -> list[ReservedRow]:
    """The rows behind `load_reserved`, unconverted and in id order, so two
    reads can be compared cheaply (`store/search_world.py`)."""
    r = models.ReservationRow
    # Raw driver values: the generic DateTime result processor costs more than
    # the search itself at a few thousand rows; `_instant` is the C parser.
    query = select(r.resource, type_coerce(r.start_time, NullType()), type_coerce(r.end_time, NullType())).where(
        r.active.is_(True),
        r.start_time < end + _LOAD_MARGIN,
        r.end_time > start - _LOAD_MARGIN,
        or_(r.expire_time.is_(None), r.expire_time > now),
    ).order_by(r.id)
    if exclude_owner:
        query = query.where(r.owner != exclude_owner)
    if resources is not None:
        query = query.where(r.resource.in_(list(resources)))
    return [tuple(row) for row in session.execute(query)]


def reserved_from_rows(rows: Iterable[ReservedRow], start: datetime, end: datetime) -> Reserved:
    out = Reserved()
    for resource, raw_start, raw_end in rows:
        s, e = _instant(raw_start), _instant(raw_end)
        kind, _, rest = resource.partition("/")
        overlaps = s < end and e > start
        if kind == "interviewers":
            out.interviewer_sessions.setdefault(rest, []).append(s)
            if overlaps:
                out.interviewer_busy.setdefault(rest, []).append(dm.TimeRange(s, e))
        elif overlaps and kind == "offices":
            out.room_busy.setdefault(resource, []).append(dm.TimeRange(s, e))
        elif overlaps and kind == "candidates":
            out.candidate_busy.setdefault(rest, []).append(dm.TimeRange(s, e))
    return out


def _instant(value: datetime | str) -> datetime:
    """An aware UTC datetime from what the driver returned: SQLite stores
    naive UTC text (see UtcDateTime), PostgreSQL returns aware datetimes."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _led(ranges: list[dm.TimeRange], lead: timedelta) -> list[dm.TimeRange]:
    return [dm.TimeRange(r.start - lead, r.end) for r in ranges] if lead else ranges


def snapshot(directory: Directory, reserved: Reserved, start: datetime, end: datetime,
             interviewer_ids: Iterable[str] | None = None, *, lead: timedelta = timedelta(0)) -> dm.DirectorySnapshot:
    """The search's input: the directory plus busy time (busy blocks and
    reservations) around [start, end). `interviewer_ids` narrows it (booking
    validates only the interviewers a plan names).

    `lead` starts every reservation that much earlier. A new session reserves
    its gap after it too, and the search keeps only the session itself clear;
    with the gap as lead, a session cannot end within a gap of the next
    booking, which the database would refuse at booking time."""
    ids = directory.interviewers.keys() if interviewer_ids is None else [i for i in interviewer_ids if i in directory.interviewers]
    busy = {}
    for interviewer_id in ids:
        ranges = directory.busy_between(interviewer_id, start, end) + _led(reserved.interviewer_busy.get(interviewer_id, []), lead)
        if ranges:
            busy[interviewer_id] = ranges
    interviewers = directory.interviewers if interviewer_ids is None else {i: directory.interviewers[i] for i in ids}
    return dm.DirectorySnapshot(
        offices=directory.offices,
        rooms=directory.rooms,
        interviewers=interviewers,
        interviewer_busy=busy,
        room_busy={room: _led(ranges, lead) for room, ranges in reserved.room_busy.items()} if lead else reserved.room_busy,
        interviewer_sessions=reserved.interviewer_sessions,
    )
