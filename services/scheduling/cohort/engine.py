"""One cohort run, end to end: greedy baseline, options, CP-SAT, improvement, in a time limit.

Stages and their share of the progress bar: greedy (0-15 %), options (15-35 %), solving and
improving (35-100 %, by elapsed time, since CP-SAT cannot say how far it is). The greedy
baseline always runs to completion unless cancelled, because it is what the result may never
fall below; option generation may use at most `OPTION_SHARE` of the time limit (entries it did
not reach keep their greedy plan as their only option); CP-SAT gets what is left but
`IMPROVE_SHARE` of it, which goes to the residual fill and LNS of `improve` (plus whatever
CP-SAT hands back early). Cancelling returns the best assignment known at that moment, which is
always a valid one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from services.scheduling.cohort import options as option_gen
from services.scheduling.cohort.greedy import greedy
from services.scheduling.cohort.improve import improve
from services.scheduling.cohort.model import CohortResult, Load, Progress, Source
from services.scheduling.cohort.solver import WORKERS, SolveOutcome, solve
from services.scheduling.cohort.staffing import Pools, layouts_of
from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.domain.model import DirectorySnapshot, Plan, SearchRequest

log = logging.getLogger(__name__)

OPTION_SHARE = 0.5
# Of the time left after the options: for the residual fill and LNS after CP-SAT (which also
# get whatever CP-SAT hands back early). Small on purpose: with 0.2 the full benchmark's four
# runs gained no loop from the LNS (tight 200: CP-SAT 81, +0; from greedy's assignment alone
# the LNS reaches 79-81 in 8 s, the same local optimum), so CP-SAT keeps nearly all its time;
# the residual fill itself needs well under a second.
IMPROVE_SHARE = 0.05
GREEDY_END, OPTIONS_END = 0.15, 0.35
# Below this, starting CP-SAT is pointless: the greedy result is returned as is.
MIN_SOLVE_SECONDS = 0.5
# Kept for building and validating the final plans (0.1-0.3 s for 200 entries on a busy
# machine; without it the full benchmark's runs ended 0.1-0.2 s past their limits).
FINISH_SECONDS = 1.0
# Solver status when its assignment failed the independent validator (a bug if ever seen).
REJECTED = "REJECTED_BY_VALIDATOR"
COLLIDES = "every plan found for this candidate collides with loops placed for others"


def _finishing(time_limit: float) -> float:
    """Seconds kept for after the solver: staffing its plans and re-checking them all."""
    return min(FINISH_SECONDS, 0.02 * time_limit)


def loads_of(plans: Sequence[Plan | None]) -> dict[str, Load]:
    out: dict[str, Load] = {}
    for plan in plans:
        if plan is None:
            continue
        for session in plan.sessions:
            minutes = int((session.end - session.start).total_seconds() // 60)
            for interviewer_id in session.interviewer_ids:
                old = out.get(interviewer_id, Load())
                out[interviewer_id] = Load(old.sessions + 1, old.minutes + minutes)
    return out


def peak_load(plans: Sequence[Plan | None]) -> int:
    return max((load.sessions for load in loads_of(plans).values()), default=0)


def run_cohort(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    *,
    time_limit: float,
    stop: threading.Event | None = None,
    progress: Callable[[Progress], None] = lambda p: None,
    workers: int = WORKERS,
    seed: int = 0,
) -> CohortResult:
    """Assign at most one plan per entry: as many loops as possible, then balanced load."""
    started = time.monotonic()
    stop = stop or threading.Event()
    count = max(1, len(entries))

    base = greedy(
        entries,
        directory,
        should_stop=stop.is_set,
        on_entry=lambda done, loops: progress(
            Progress(GREEDY_END * done / count, "greedy", loops)
        ),
    )
    greedy_loops = sum(p is not None for p in base.plans)

    def finish(
        plans: Sequence[Plan | None],
        reasons: Sequence[str],
        *,
        source: Source = Source.GREEDY,
        status: str = "NOT_RUN",
        bound: int | None = None,
        possible: int | None = None,
        option_count: int = 0,
        first: float | None = None,
        best: float | None = None,
    ) -> CohortResult:
        loops = sum(p is not None for p in plans)
        progress(Progress(1.0, "done", loops))
        return CohortResult(
            plans=tuple(plans),
            reasons=tuple(reasons),
            greedy_loops=greedy_loops,
            loops_possible=len(entries) if possible is None else possible,
            upper_bound=bound,
            source=source,
            solver_status=status,
            cancelled=stop.is_set(),
            options=option_count,
            seconds_total=time.monotonic() - started,
            seconds_to_first=first,
            seconds_to_best=best,
            loads=loads_of(plans),
            baseline=tuple(base.plans),
        )

    if base.cancelled:
        return finish(base.plans, base.reasons)

    option_deadline = started + OPTION_SHARE * time_limit
    found = option_gen.generate(
        entries,
        directory,
        base.plans,
        should_stop=lambda: stop.is_set() or time.monotonic() > option_deadline,
        on_entry=lambda done: progress(
            Progress(
                GREEDY_END + (OPTIONS_END - GREEDY_END) * done / (2 * count), "options",
                greedy_loops,
            )
        ),
    )
    option_count = sum(len(o) for o in found.options)
    possible = sum(bool(o) for o in found.options) if found.complete else None
    reasons = [
        (found.reasons[e] or base.reasons[e]) if not found.options[e] else base.reasons[e]
        for e in range(len(entries))
    ]
    left = time_limit - (time.monotonic() - started)
    if stop.is_set() or left < MIN_SOLVE_SECONDS or option_count == 0:
        return finish(base.plans, reasons, possible=possible, option_count=option_count)

    pools, layouts = layouts_of(entries, directory, found.options)
    left = time_limit - (time.monotonic() - started)
    solve_started = time.monotonic()
    # The improvement phase ends here; the rest is for checking the final plans.
    deadline = started + time_limit - _finishing(time_limit)
    best_loops = [greedy_loops]
    stage = ["solving"]
    ticking = threading.Event()
    reporting = threading.Lock()  # the ticker and the stage change report; fractions only grow

    def report() -> None:
        with reporting:
            share = min(1.0, (time.monotonic() - solve_started) / left)
            progress(Progress(OPTIONS_END + (1 - OPTIONS_END) * share * 0.99, stage[0], best_loops[0]))

    def improving() -> None:
        stage[0] = "improving"
        report()

    def tick() -> None:
        while not ticking.wait(0.5):
            report()

    def improved(loops: int) -> None:
        best_loops[0] = max(best_loops[0], loops)

    ticker = threading.Thread(target=tick, name="cohort-progress", daemon=True)
    ticker.start()
    try:
        outcome = solve(
            layouts,
            directory,
            hint=base.plans,
            time_limit=(1 - IMPROVE_SHARE) * left - _finishing(time_limit),
            stop=stop,
            on_solution=improved,
            workers=workers,
            seed=seed,
        )
        concluded = _conclude(
            entries, directory, base.plans, outcome, pools, layouts, found.options,
            deadline=deadline, stop=stop, seed=seed, improved=improved, starting=improving,
        )
    finally:
        ticking.set()
        ticker.join()
    plans, source, status, added = concluded
    offset = solve_started - started
    first = None if outcome.seconds_to_first is None else offset + outcome.seconds_to_first
    best = None if outcome.seconds_to_best is None else offset + outcome.seconds_to_best
    if source is Source.GREEDY:
        final_reasons = list(reasons)
    else:
        final_reasons = [
            "" if plan is not None else (reasons[e] if not found.options[e] else COLLIDES)
            for e, plan in enumerate(plans)
        ]
    result = finish(
        plans, final_reasons, source=source, status=status, bound=outcome.upper_bound,
        possible=possible, option_count=option_count, first=first, best=best,
    )
    return replace(result, improved_loops=added)


def _conclude(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    greedy_plans: tuple[Plan | None, ...],
    outcome: SolveOutcome,
    pools: Pools,
    layouts,
    options: Sequence[Sequence[Plan]],
    *,
    deadline: float,
    stop: threading.Event,
    seed: int,
    improved: Callable[[int], None],
    starting: Callable[[], None],
) -> tuple[tuple[Plan | None, ...], Source, str, int]:
    """CP-SAT's assignment if it is better than greedy's (and valid), then improved until
    `deadline`: (plans, source, solver status, loops the improvement added)."""
    greedy_loops = sum(p is not None for p in greedy_plans)
    solved = tuple(
        None
        if c is None
        else pools.staffed(entries[e], layouts[e][c.layout], c.teams, c.rooms)
        for e, c in enumerate(outcome.choice)
    )
    better = outcome.loops > greedy_loops or (
        outcome.loops == greedy_loops and peak_load(solved) <= peak_load(greedy_plans)
    )
    status = outcome.status
    if better and validate_assignment(entries, directory, solved):
        # The model and the validator disagree: a bug, never a plan to hand out.
        log.error("cohort solution rejected by the validator; returning greedy's")
        better, status = False, REJECTED
    plans, source = (solved, Source.CP_SAT) if better else (greedy_plans, Source.GREEDY)
    if stop.is_set() or time.monotonic() >= deadline:
        return plans, source, status, 0
    starting()
    found = improve(
        entries, directory, plans, options, deadline=deadline, should_stop=stop.is_set,
        clock=time.monotonic, seed=seed, on_loops=improved,
    )
    if found.plans == plans:
        return plans, source, status, 0
    if validate_assignment(entries, directory, found.plans):
        log.error("improved cohort assignment rejected by the validator; not used")
        return plans, source, status, 0
    added = sum(p is not None for p in found.plans) - sum(p is not None for p in plans)
    return found.plans, Source.IMPROVED, status, added
