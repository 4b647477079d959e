"""Small hand-made worlds for the cohort tests (seconds to solve, easy to reason about)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

from services.scheduling.cohort.engine import run_cohort
from services.scheduling.domain.model import (
    AreaRule,
    Candidate,
    Constraints,
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

ZONE = "America/Los_Angeles"
MONDAY = date(2026, 12, 7)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
OFFICE = "offices/los-gatos"


def hours(start_h: int, end_h: int, days=range(1, 6)) -> tuple[WeeklyInterval, ...]:
    return tuple(WeeklyInterval(d, start_h * 60, end_h * 60) for d in days)


def office(start_h: int = 9, end_h: int = 17) -> Office:
    return Office("los-gatos", ZONE, hours(start_h, end_h))


def interviewer(
    n: int,
    *,
    areas=(MlArea.NLP,),
    start_h: int = 9,
    end_h: int = 17,
    max_per_day: int = 0,
    max_per_week: int = 0,
) -> Interviewer:
    return Interviewer(
        id=f"iv{n}",
        email=f"iv{n}@example.com",
        home_office_id="los-gatos",
        areas=frozenset(areas),
        time_zone=ZONE,
        working_hours=hours(start_h, end_h),
        max_per_day=max_per_day,
        max_per_week=max_per_week,
    )


def room(n: int, *, capacity: int = 4, accessible: bool = False) -> Room:
    return Room(f"{OFFICE}/rooms/r{n}", "los-gatos", capacity, wheelchair_accessible=accessible)


def directory(interviewers, rooms=(), *, office_hours=(9, 17), busy=None, sessions=None):
    return DirectorySnapshot(
        offices={"los-gatos": office(*office_hours)},
        rooms={r.id: r for r in rooms},
        interviewers={i.id: i for i in interviewers},
        interviewer_busy=busy or {},
        interviewer_sessions=sessions or {},
    )


def template(minutes=(60, 60), buffer: int = 0, rule: AreaRule = AreaRule.ANY) -> LoopTemplate:
    return LoopTemplate(
        id="two",
        sessions=tuple(
            SessionTemplate(f"S{i}", SessionKind.CODING, timedelta(minutes=m), rule, 1)
            for i, m in enumerate(minutes)
        ),
        buffer=timedelta(minutes=buffer),
        max_days=1,
    )


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A wall time in the office zone `day` days after MONDAY, as UTC."""
    from zoneinfo import ZoneInfo

    d = MONDAY + timedelta(days=day)
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=ZoneInfo(ZONE)).astimezone(UTC)


def candidate(n: int, *, days=None, area=MlArea.NLP) -> Candidate:
    """`days`: day offsets from MONDAY the candidate can do (all day, office zone); None: any."""
    availability = ()
    if days is not None:
        availability = tuple(LocalDateWindow(MONDAY + timedelta(days=d), 0, 1440) for d in days)
    return Candidate(id=f"c{n}", time_zone=ZONE, primary_area=area, availability=availability)


def entry(
    cand: Candidate,
    tmpl: LoopTemplate | None = None,
    *,
    days: int = 2,
    onsite: bool = False,
    constraints: Constraints = Constraints(),
) -> SearchRequest:
    return SearchRequest(
        candidate=cand,
        template=tmpl or template(),
        window=TimeRange(local(0, 0), local(days, 0)),
        mode=LocationMode.ONSITE if onsite else LocationMode.REMOTE,
        office_id="los-gatos" if onsite else None,
        now=NOW,
        constraints=constraints,
    )


def bench_world(interviewers: int, rooms: int, candidates: int):
    """(entries, directory) on the benchmark's seeded world: two thirds onsite, one window.

    With (30, 3, 40) CP-SAT needs about a minute to prove its load balance optimal, which is
    what the time-limit and cancel tests need: a search that is still busy when stopped.
    """
    from bench.directory_gen import generate

    world = generate(7, interviewers=interviewers, rooms=rooms, candidates=candidates, days=14)
    window = TimeRange(world.start, world.start + timedelta(days=world.days))
    offices = sorted(world.directory.offices)
    entries = [
        SearchRequest(
            candidate=c,
            template=world.template,
            window=window,
            mode=LocationMode.ONSITE if n % 3 else LocationMode.REMOTE,
            office_id=offices[n % 2] if n % 3 else None,
            now=world.start - timedelta(days=1),
        )
        for n, c in enumerate(world.candidates)
    ]
    return entries, world.directory


def cancel_at(stage: str, time_limit: float):
    """Runs a cohort over a tight bench world and cancels it as soon as `stage` reports
    progress; (result, entries, directory, monotonic time the cancel was asked or None,
    stages seen)."""
    entries, directory = bench_world(30, 3, 40)
    stop = threading.Event()
    asked: list[float] = []
    seen: list[str] = []

    def progress(p):
        seen.append(p.stage)
        if p.stage == stage and not stop.is_set():
            asked.append(time.monotonic())
            stop.set()

    result = run_cohort(entries, directory, time_limit=time_limit, stop=stop, progress=progress)
    return result, entries, directory, (asked[0] if asked else None), seen
