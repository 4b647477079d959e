"""A seeded, realistic scheduling directory for benchmarks (and anyone who needs load).

`generate(seed)` builds what a mid-size research org looks like to the search: 2 offices in
California, 200 interviewers spread over the ML areas (most in the offices' zone, some remote
in New York, London or Bangalore), 20 rooms with mixed features, 10-30 busy blocks per
interviewer and per room over two weeks (some of them booked interviews, which count towards
the load limits), candidates around the world and a typical 5-session loop. The same seed
always gives the same world.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.scheduling.domain.model import (
    AreaRule,
    Candidate,
    DailyWindow,
    DirectorySnapshot,
    Interviewer,
    LocalDateWindow,
    LoopTemplate,
    MlArea,
    Office,
    Room,
    SessionKind,
    SessionTemplate,
    TimeRange,
    WeeklyInterval,
)

AREAS = [a for a in MlArea if a != MlArea.UNSPECIFIED]
OFFICE_ZONE = "America/Los_Angeles"
# (zone, share of interviewers)
INTERVIEWER_ZONES = [
    (OFFICE_ZONE, 0.85),
    ("America/New_York", 0.08),
    ("Europe/London", 0.04),
    ("Asia/Kolkata", 0.03),
]
CANDIDATE_ZONES = [
    "America/Los_Angeles",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Pacific/Auckland",
    "America/Sao_Paulo",
]


def _weekdays(start: int, end: int, days=range(1, 6)) -> tuple[WeeklyInterval, ...]:
    return tuple(WeeklyInterval(d, start, end) for d in days)


HOUR_PATTERNS = [
    _weekdays(9 * 60, 17 * 60),
    _weekdays(8 * 60, 16 * 60),
    _weekdays(10 * 60, 18 * 60),
    _weekdays(9 * 60, 17 * 60, range(1, 5)),  # four-day week
    _weekdays(9 * 60, 12 * 60) + _weekdays(13 * 60, 17 * 60),  # lunch kept free
]


@dataclass(frozen=True)
class World:
    directory: DirectorySnapshot
    candidates: tuple[Candidate, ...]
    template: LoopTemplate
    start: datetime  # the first day the busy time covers (a Monday, 00:00 UTC)
    days: int


def standard_template(template_id: str = "standard-5") -> LoopTemplate:
    """The usual research-scientist loop: talk, coding, depth, design, behavioral."""
    return LoopTemplate(
        id=template_id,
        sessions=(
            SessionTemplate(
                "Research talk", SessionKind.RESEARCH_TALK, timedelta(minutes=60),
                AreaRule.PRIMARY, 2,
            ),
            SessionTemplate(
                "Coding", SessionKind.CODING, timedelta(minutes=45), AreaRule.ANY, 1
            ),
            SessionTemplate(
                "ML depth", SessionKind.ML_DEPTH, timedelta(minutes=45), AreaRule.PRIMARY, 1
            ),
            SessionTemplate(
                "ML design", SessionKind.ML_DESIGN, timedelta(minutes=45),
                AreaRule.PRIMARY_OR_SECONDARY, 1,
            ),
            SessionTemplate(
                "Behavioral", SessionKind.BEHAVIORAL, timedelta(minutes=30), AreaRule.SECONDARY, 1
            ),
        ),
        buffer=timedelta(minutes=10),
        max_days=2,
    )


def generate(
    seed: int = 7,
    *,
    interviewers: int = 200,
    rooms: int = 20,
    candidates: int = 50,
    start: date = date(2026, 12, 7),
    days: int = 14,
) -> World:
    rng = random.Random(seed)
    offices = {
        "los-gatos": Office(
            "los-gatos", OFFICE_ZONE, _weekdays(8 * 60, 18 * 60), frozenset({date(2026, 12, 25)})
        ),
        "los-angeles": Office(
            "los-angeles",
            OFFICE_ZONE,
            _weekdays(8 * 60 + 30, 17 * 60 + 30),
            frozenset({date(2026, 12, 24), date(2026, 12, 25)}),
        ),
    }
    office_ids = sorted(offices)
    origin = datetime(start.year, start.month, start.day, tzinfo=UTC)

    room_map: dict[str, Room] = {}
    room_busy: dict[str, list[TimeRange]] = {}
    for i in range(rooms):
        office_id = office_ids[i % len(office_ids)]
        room = Room(
            id=f"{office_id}/r{i:02d}",
            office_id=office_id,
            capacity=rng.choice([3, 4, 4, 6, 8, 12]),
            wheelchair_accessible=rng.random() < 0.6,
            video_equipped=rng.random() < 0.7,
            quiet=rng.random() < 0.4,
            location_hint=f"Building {'ABC'[i % 3]}, floor {1 + (i // 3) % 3}",
        )
        room_map[room.id] = room
        room_busy[room.id] = _busy_blocks(rng, OFFICE_ZONE, start, days, rng.randint(10, 30))

    people: dict[str, Interviewer] = {}
    busy: dict[str, list[TimeRange]] = {}
    sessions: dict[str, list[datetime]] = {}
    for i in range(interviewers):
        zone = _pick_zone(rng)
        iv = Interviewer(
            id=f"iv{i:03d}",
            email=f"iv{i:03d}@example.com",
            home_office_id=office_ids[i % len(office_ids)],
            areas=frozenset(rng.sample(AREAS, rng.choice([1, 2, 2, 3]))),
            time_zone=zone,
            working_hours=rng.choice(HOUR_PATTERNS),
            max_per_day=rng.choice([0, 2, 2, 3]),
            max_per_week=rng.choice([0, 5, 6, 8]),
            trainee=rng.random() < 0.1,
        )
        people[iv.id] = iv
        blocks = _busy_blocks(rng, zone, start, days, rng.randint(10, 30))
        busy[iv.id] = blocks
        # A few of the busy blocks are interviews already booked: they count towards limits.
        booked = rng.sample(blocks, k=min(len(blocks), rng.randint(0, 5)))
        sessions[iv.id] = sorted(b.start for b in booked)

    people_list = tuple(
        _candidate(rng, f"cand{i:03d}", start, days) for i in range(candidates)
    )
    directory = DirectorySnapshot(
        offices=offices,
        rooms=room_map,
        interviewers=people,
        interviewer_busy=busy,
        room_busy=room_busy,
        interviewer_sessions=sessions,
    )
    return World(directory, people_list, standard_template(), origin, days)


def _pick_zone(rng: random.Random) -> str:
    roll = rng.random()
    for zone, share in INTERVIEWER_ZONES:
        if roll < share:
            return zone
        roll -= share
    return OFFICE_ZONE


def _busy_blocks(
    rng: random.Random, zone: str, start: date, days: int, count: int
) -> list[TimeRange]:
    """`count` meetings on weekdays between 08:00 and 18:00 local, 30-120 minutes long."""
    tz = ZoneInfo(zone)
    weekdays = [start + timedelta(days=d) for d in range(days)]
    weekdays = [d for d in weekdays if d.isoweekday() <= 5]
    out = []
    for _ in range(count):
        day = rng.choice(weekdays)
        minute = rng.randrange(8 * 60, 17 * 60, 15)
        length = rng.choice([30, 30, 45, 60, 60, 90, 120])
        local = datetime(day.year, day.month, day.day, tzinfo=tz) + timedelta(minutes=minute)
        begin = local.astimezone(UTC)
        out.append(TimeRange(begin, begin + timedelta(minutes=length)))
    return sorted(out, key=lambda b: b.start)


def _candidate(rng: random.Random, candidate_id: str, start: date, days: int) -> Candidate:
    primary, secondary = rng.sample(AREAS, 2)
    availability: tuple[LocalDateWindow, ...] = ()
    if rng.random() < 0.3:
        # Some candidates give explicit availability: a few days, mornings or afternoons.
        chosen = sorted(rng.sample(range(days), 5))
        availability = tuple(
            LocalDateWindow(
                start + timedelta(days=d),
                rng.choice([6 * 60, 8 * 60, 12 * 60]),
                rng.choice([16 * 60, 20 * 60, 23 * 60]),
            )
            for d in chosen
        )
    preferred = DailyWindow(9 * 60, 15 * 60) if rng.random() < 0.5 else None
    return Candidate(
        id=candidate_id,
        time_zone=rng.choice(CANDIDATE_ZONES),
        primary_area=primary,
        secondary_area=secondary if rng.random() < 0.7 else MlArea.UNSPECIFIED,
        availability=availability,
        preferred_hours=preferred,
    )
