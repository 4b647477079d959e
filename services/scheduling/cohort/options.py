"""Candidate plans per entry: what the CP-SAT model chooses among.

The single-loop search ranks plans by earliness first, so asking it for many plans over the
whole window returns variations of the first free morning, and every candidate of a cohort
would compete for that same morning. Instead the window is walked in steps: each call searches
`[t, window end)` and returns the best few plans from `t` on (earliest first, up to two staffings
per start), then `t` moves one step past the earliest of them. Days with nothing free are
skipped in one call, and every option is a plan the search itself produced, so it respects every
single-loop rule (hours, qualification, rooms, accommodations, limits) by construction. Options
that would collide with existing reservations on their gap tail (see `ledger`) are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta

from services.core.errors import InvalidArgument
from services.scheduling.cohort.greedy import describe
from services.scheduling.cohort.ledger import Ledger
from services.scheduling.domain.model import DirectorySnapshot, Plan, SearchRequest, TimeRange
from services.scheduling.domain.search import find_plans

STEP = timedelta(hours=6)
PLANS_PER_WINDOW = 6
MAX_OPTIONS = 48


@dataclass(frozen=True)
class OptionSet:
    options: tuple[tuple[Plan, ...], ...]  # per entry; the seed (greedy's plan) first if any
    # Why an entry has no plan even alone (its first search's no-plan reasons), else "".
    reasons: tuple[str, ...]
    complete: bool  # False when stopped early: later entries have their seed only


def plan_key(plan: Plan) -> tuple:
    return tuple((s.start, s.interviewer_ids, s.room_id) for s in plan.sessions)


def generate(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    seeds: Sequence[Plan | None],
    *,
    step: timedelta = STEP,
    per_window: int = PLANS_PER_WINDOW,
    max_options: int = MAX_OPTIONS,
    should_stop: Callable[[], bool] = lambda: False,
    on_entry: Callable[[int], None] | None = None,
) -> OptionSet:
    base = Ledger(directory)
    options: list[tuple[Plan, ...]] = []
    reasons: list[str] = []
    complete = True
    for index, (request, seed) in enumerate(zip(entries, seeds, strict=True)):
        found: dict[tuple, Plan] = {}
        if seed is not None:
            found[plan_key(seed)] = seed
        reason = ""
        if complete and should_stop():
            complete = False
        if complete:
            reason = _walk(request, directory, base, found, step, per_window, max_options)
        options.append(tuple(found.values()))
        reasons.append("" if found else reason)
        if on_entry is not None:
            on_entry(index + 1)
    return OptionSet(tuple(options), tuple(reasons), complete)


def _walk(
    request: SearchRequest,
    directory: DirectorySnapshot,
    base: Ledger,
    found: dict[tuple, Plan],
    step: timedelta,
    per_window: int,
    max_options: int,
) -> str:
    """Adds plans from successive sub-windows to `found`; the no-plan reason of the first."""
    start = max(request.window.start, request.now + request.min_notice)
    first = True
    while start < request.window.end and len(found) < max_options:
        sub = replace(
            request, window=TimeRange(start, request.window.end), max_plans=per_window
        )
        try:
            result = find_plans(sub, directory)
        except InvalidArgument as error:
            return error.message
        if not result.plans:
            # Nothing from `start` on; a later start only sees less of the window.
            return describe(result.no_plan_reasons) if first else ""
        first = False
        for plan in result.plans:
            key = plan_key(plan)
            if key not in found and base.conflict(plan) is None and len(found) < max_options:
                found[key] = plan
        start = max(start, min(p.sessions[0].start for p in result.plans)) + step
    return ""
