"""Candidate plans per entry: what the CP-SAT model chooses among.

The single-loop search ranks plans by earliness first, so asking it for many plans over the
whole window returns variations of the first free morning, and every candidate of a cohort
would compete for that same morning. Instead each entry's window is walked, in two passes over
all entries so that whatever time is left is spent where it helps most:

1. Days: search `[t, window end)`, keep its best few plans (earliest first, up to two staffings
   per start), move `t` a day past the earliest of them, and repeat. Every entry gets options
   spread over its whole window; days with nothing free are skipped in one call.
2. Later starts: for each start found in pass 1, search again from `LATER` after it, for the
   same day's later slots (e.g. an afternoon loop in a room busy in the morning).

Pass 2 runs only while time remains (`should_stop`). Every option is a plan the search itself
produced, so it respects every single-loop rule (hours, qualification, rooms, accommodations,
limits) by construction; options that would collide with existing reservations on their gap
tail (see `ledger`) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from services.core.errors import InvalidArgument
from services.scheduling.cohort.greedy import describe
from services.scheduling.cohort.ledger import Ledger
from services.scheduling.domain.model import DirectorySnapshot, Plan, SearchRequest, TimeRange
from services.scheduling.domain.search import find_plans

DAY = timedelta(hours=20)  # past the rest of that local day, never past the next morning
LATER = timedelta(hours=3, minutes=30)
PLANS_PER_WINDOW = 4
MAX_OPTIONS = 64
# The whole model's size: at 200 entries x 42 options (8,400) CP-SAT on 2 cores could not even
# load greedy's hint within a minute, at 5,300 it could. Big cohorts get fewer options each,
# still spread over every day of the window (fewer plans per day).
MAX_TOTAL_OPTIONS = 4000
MIN_OPTIONS = 8
DAYS_PER_WINDOW = 10  # typical weekdays in a two-week window, to size plans per day


@dataclass(frozen=True)
class OptionSet:
    options: tuple[tuple[Plan, ...], ...]  # per entry; the seed (greedy's plan) first if any
    # Why an entry has no plan even alone (its first search's no-plan reasons), else "".
    reasons: tuple[str, ...]
    complete: bool  # False when pass 1 was stopped early: later entries have their seed only


def plan_key(plan: Plan) -> tuple:
    return tuple((s.start, s.interviewer_ids, s.room_id) for s in plan.sessions)


class _Entry:
    def __init__(self, request: SearchRequest, seed: Plan | None) -> None:
        self.request = request
        self.found: dict[tuple, Plan] = {} if seed is None else {plan_key(seed): seed}
        self.day_starts: list[datetime] = []
        self.reason = ""


def generate(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    seeds: Sequence[Plan | None],
    *,
    per_window: int = PLANS_PER_WINDOW,
    max_options: int = MAX_OPTIONS,
    should_stop: Callable[[], bool] = lambda: False,
    on_entry: Callable[[int], None] | None = None,
) -> OptionSet:
    """`on_entry(done)` counts 2 steps per entry (one per pass)."""
    base = Ledger(directory)
    max_options = min(max_options, max(MIN_OPTIONS, MAX_TOTAL_OPTIONS // max(1, len(entries))))
    per_window = max(2, min(per_window, max_options // DAYS_PER_WINDOW))
    items = [_Entry(r, s) for r, s in zip(entries, seeds, strict=True)]
    search = _Search(directory, base, per_window, max_options)
    complete = True
    for index, item in enumerate(items):
        if should_stop():
            complete = False
            break
        search.days(item)
        if on_entry is not None:
            on_entry(index + 1)
    if complete:
        for index, item in enumerate(items):
            if should_stop():
                break
            for start in item.day_starts:
                search.window(item, start + LATER)
            if on_entry is not None:
                on_entry(len(items) + index + 1)
    return OptionSet(
        tuple(tuple(i.found.values()) for i in items),
        tuple("" if i.found else i.reason for i in items),
        complete,
    )


class _Search:
    def __init__(self, directory, base: Ledger, per_window: int, max_options: int) -> None:
        self.directory = directory
        self.base = base
        self.per_window = per_window
        self.max_options = max_options

    def window(self, item: _Entry, start: datetime) -> list[Plan] | None:
        """Plans from `start` to the window's end, added to the entry; None when none."""
        request = item.request
        if start >= request.window.end or len(item.found) >= self.max_options:
            return None
        sub = replace(request, window=TimeRange(start, request.window.end), max_plans=self.per_window)
        try:
            result = find_plans(sub, self.directory)
        except InvalidArgument as error:
            item.reason = error.message
            return None
        if not result.plans:
            if not item.day_starts:
                item.reason = describe(result.no_plan_reasons)
            return None
        for plan in result.plans:
            key = plan_key(plan)
            if (
                key not in item.found
                and len(item.found) < self.max_options
                and self.base.conflict(plan) is None
            ):
                item.found[key] = plan
        return list(result.plans)

    def days(self, item: _Entry) -> None:
        request = item.request
        start = max(request.window.start, request.now + request.min_notice)
        while (plans := self.window(item, start)) is not None:
            first = min(p.sessions[0].start for p in plans)
            item.day_starts.append(first)
            # Nothing between `start` and `first`, so the next day is searched from there.
            start = max(start, first) + DAY
