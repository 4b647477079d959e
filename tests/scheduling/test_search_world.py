"""Small hand-made worlds for the search tests (builders only; the tests import them).

Defaults describe one ordinary day: office `lg` in Los Angeles open 08:00-18:00 on weekdays,
interviewers working 09:00-17:00, the week of Monday 2026-12-07, a window covering that
Monday (Los Angeles time) and a clock two days earlier, so notice and horizon do not bite
unless a test says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.scheduling.domain.model import (
    AreaRule,
    Candidate,
    Constraints,
    DailyWindow,
    DirectorySnapshot,
    Interviewer,
    LocalDateWindow,
    LocationMode,
    LoopTemplate,
    MlArea,
    Office,
    Room,
    SearchRequest,
    SessionKind,
    SessionTemplate,
    TimeRange,
    WeeklyInterval,
)

LA = "America/Los_Angeles"
NY = "America/New_York"
KOLKATA = "Asia/Kolkata"
AUCKLAND = "Pacific/Auckland"
MONDAY = date(2026, 12, 7)
TUESDAY = MONDAY + timedelta(days=1)
WEEKDAYS = range(1, 6)
EVERY_DAY = range(1, 8)


def hm(text: str) -> int:
    """"09:30" -> 570 minutes after midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def at(day: date, clock: str, zone: str = LA) -> datetime:
    """The UTC instant of a local wall-clock time."""
    minutes = hm(clock)
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    return (local + timedelta(minutes=minutes)).astimezone(UTC)


def span(day: date, start: str, end: str, zone: str = LA) -> TimeRange:
    return TimeRange(at(day, start, zone), at(day, end, zone))


def weekly(start: str, end: str, days: Iterable[int] = WEEKDAYS) -> tuple[WeeklyInterval, ...]:
    return tuple(WeeklyInterval(d, hm(start), hm(end)) for d in days)


def office(
    office_id: str = "lg",
    zone: str = LA,
    hours: tuple[WeeklyInterval, ...] | None = None,
    holidays: Iterable[date] = (),
) -> Office:
    return Office(
        office_id, zone, weekly("08:00", "18:00") if hours is None else hours, frozenset(holidays)
    )


def room(
    room_id: str = "r1",
    office_id: str = "lg",
    capacity: int = 6,
    accessible: bool = True,
    quiet: bool = True,
    video: bool = True,
    hint: str = "Building A",
) -> Room:
    return Room(room_id, office_id, capacity, accessible, video, quiet, hint)


def interviewer(
    interviewer_id: str,
    *areas: MlArea,
    office_id: str = "lg",
    zone: str = LA,
    hours: tuple[WeeklyInterval, ...] | None = None,
    max_per_day: int = 0,
    max_per_week: int = 0,
    trainee: bool = False,
) -> Interviewer:
    return Interviewer(
        id=interviewer_id,
        email=f"{interviewer_id}@example.com",
        home_office_id=office_id,
        areas=frozenset(areas or (MlArea.NLP,)),
        time_zone=zone,
        working_hours=weekly("09:00", "17:00") if hours is None else hours,
        max_per_day=max_per_day,
        max_per_week=max_per_week,
        trainee=trainee,
    )


def directory(
    interviewers: Sequence[Interviewer],
    rooms: Sequence[Room] = (),
    offices: Sequence[Office] | None = None,
    busy: Mapping[str, Sequence[TimeRange]] | None = None,
    room_busy: Mapping[str, Sequence[TimeRange]] | None = None,
    sessions: Mapping[str, Sequence[datetime]] | None = None,
) -> DirectorySnapshot:
    offices = [office()] if offices is None else offices
    return DirectorySnapshot(
        offices={o.id: o for o in offices},
        rooms={r.id: r for r in rooms},
        interviewers={i.id: i for i in interviewers},
        interviewer_busy=dict(busy or {}),
        room_busy=dict(room_busy or {}),
        interviewer_sessions=dict(sessions or {}),
    )


def session(
    title: str = "Depth",
    minutes: int = 60,
    rule: AreaRule = AreaRule.PRIMARY,
    needed: int = 1,
    kind: SessionKind = SessionKind.ML_DEPTH,
) -> SessionTemplate:
    return SessionTemplate(title, kind, timedelta(minutes=minutes), rule, needed)


def template(*sessions: SessionTemplate, buffer: int = 0, max_days: int = 1) -> LoopTemplate:
    return LoopTemplate(
        "t1", tuple(sessions) or (session(),), timedelta(minutes=buffer), max_days
    )


def candidate(
    zone: str = LA,
    primary: MlArea = MlArea.NLP,
    secondary: MlArea = MlArea.UNSPECIFIED,
    availability: Sequence[LocalDateWindow] = (),
    preferred: DailyWindow | None = None,
) -> Candidate:
    return Candidate("c1", zone, primary, secondary, tuple(availability), preferred)


def request(
    loop: LoopTemplate | None = None,
    who: Candidate | None = None,
    *,
    first_day: date = MONDAY,
    days: int = 1,
    zone: str = LA,
    mode: LocationMode = LocationMode.ONSITE,
    office_id: str | None = "lg",
    constraints: Constraints | None = None,
    max_plans: int = 5,
    now: datetime | None = None,
    min_notice: timedelta = timedelta(hours=24),
    horizon: timedelta = timedelta(days=90),
) -> SearchRequest:
    """A window of `days` whole local days (zone `zone`) from `first_day`."""
    start = at(first_day, "00:00", zone)
    end = at(first_day + timedelta(days=days), "00:00", zone)
    return SearchRequest(
        candidate=who or candidate(),
        template=loop or template(),
        window=TimeRange(start, end),
        mode=mode,
        office_id=office_id if mode == LocationMode.ONSITE else None,
        now=now or start - timedelta(days=2),
        constraints=constraints or Constraints(),
        max_plans=max_plans,
        min_notice=min_notice,
        horizon=horizon,
    )


def local(instant: datetime, zone: str = LA) -> str:
    """"2026-12-07 09:00" for a UTC instant, in `zone` (readable assertions)."""
    return instant.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
