"""Cohort scheduling (issue 7): arrival-order greedy versus the CP-SAT cohort, seeded weeks.

Worlds come from `bench.directory_gen` (seed 7, two weeks, the standard 5-session loop): a
comfortable one (200 interviewers, 20 rooms) and a tight one (50 interviewers, 5 rooms), each
with 50 and 200 candidates; 70 % of entries onsite (either office), the rest remote, all in the
same two-week window and in arrival order. Printed per instance: loops that are possible at all
(entries with at least one plan on their own), loops by greedy and by the cohort (and how many
of those the residual fill / LNS after CP-SAT added, "+fill"), CP-SAT's
bound (over the options it was given), the relaxation bound of `cohort.bound` (over every valid
assignment, computed apart, not timed), seconds to the first and best CP-SAT solution, and the
interviewer load spread (max / mean cohort sessions over interviewers with any). Every cohort
result is re-checked with the independent validator.

Targets: tight weeks >= 15 % more loops than greedy, never fewer; 50 candidates within 60 s and
200 within 120 s on 2 cores. Those limits are used with COHORT_BENCH_FULL=1; by default (so that
`make bench` stays a few minutes) the limits are a third of them.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import timedelta

from bench.directory_gen import generate
from services.scheduling.cohort.bound import upper_bound
from services.scheduling.cohort.engine import loads_of, run_cohort
from services.scheduling.cohort.validate import validate_assignment
from services.scheduling.domain.model import LocationMode, SearchRequest, TimeRange

WORLDS = [("comfortable", 200, 20), ("tight", 50, 5)]
SIZES = [(50, 60.0), (200, 120.0)]
ONSITE_SHARE = 0.7


def entries_for(world, seed: int = 3) -> list[SearchRequest]:
    rng = random.Random(seed)
    offices = sorted(world.directory.offices)
    window = TimeRange(world.start, world.start + timedelta(days=world.days))
    out = []
    for candidate in world.candidates:
        onsite = rng.random() < ONSITE_SHARE
        out.append(
            SearchRequest(
                candidate=candidate,
                template=world.template,
                window=window,
                mode=LocationMode.ONSITE if onsite else LocationMode.REMOTE,
                office_id=rng.choice(offices) if onsite else None,
                now=world.start - timedelta(days=1),
            )
        )
    return out


def spread(plans) -> str:
    loads = [load.sessions for load in loads_of(plans).values()]
    if not loads:
        return "-"
    return f"{max(loads)}/{statistics.mean(loads):.1f}={max(loads) / statistics.mean(loads):.2f}"


def seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    full = os.environ.get("COHORT_BENCH_FULL") == "1"
    scale = 1.0 if full else 1 / 3
    print(f"limits: {'full (issue targets)' if full else 'a third (COHORT_BENCH_FULL=1 for full)'}")
    header = (
        f"{'world':<12}{'cands':>6}{'limit':>7}{'possible':>9}{'greedy':>7}{'cohort':>7}"
        f"{'gain':>7}{'+fill':>6}{'bound':>7}{'relax':>7}{'first s':>8}{'best s':>8}{'total s':>8}"
        f"{'options':>8}  {'spread greedy':<16}{'spread cohort':<16}valid"
    )
    print(header)
    for name, interviewers, rooms in WORLDS:
        for candidates, limit in SIZES:
            world = generate(7, interviewers=interviewers, rooms=rooms, candidates=candidates)
            entries = entries_for(world)
            started = time.monotonic()
            result = run_cohort(entries, world.directory, time_limit=limit * scale)
            wall = time.monotonic() - started
            problems = validate_assignment(entries, world.directory, result.plans)
            relaxed = upper_bound(entries, world.directory)
            gain = (
                f"{100 * (result.loops - result.greedy_loops) / result.greedy_loops:+.0f}%"
                if result.greedy_loops
                else "-"
            )
            bound = "-" if result.upper_bound is None else str(result.upper_bound)
            print(
                f"{name:<12}{candidates:>6}{limit * scale:>7.0f}{result.loops_possible:>9}"
                f"{result.greedy_loops:>7}{result.loops:>7}{gain:>7}{result.improved_loops:>6}{bound:>7}"
                f"{str(relaxed.loops) + ('' if relaxed.optimal else '?'):>7}"
                f"{seconds(result.seconds_to_first):>8}{seconds(result.seconds_to_best):>8}"
                f"{wall:>8.1f}{result.options:>8}  {spread(result.baseline):<16}"
                f"{spread(result.plans):<16}{'yes' if not problems else f'NO ({len(problems)})'}",
                flush=True,
            )


if __name__ == "__main__":
    main()
