"""The cohort model for CP-SAT: choose at most one option (a whole plan) per entry.

Variables: one Boolean per option. Each option's reserved ranges (session + gap, see `ledger`)
are optional fixed intervals present when the option is chosen; every interviewer, room and
candidate gets a no-overlap over its intervals (stated as clique AtMostOnes, see `_no_overlap`). Options are already valid on their own, so
what the model adds is only what arises between loops: shared time of a resource and the
per-day / per-week interview limits, counted with the sessions the directory already has.

Two phases, lexicographic: (1) maximise loops, never below the greedy count (greedy's choice is
a feasible witness and is given as the hint, so the first solution is at least greedy);
(2) with loops fixed at the best found, minimise the busiest interviewer's cohort sessions, then
the sessions above the fair share. A solution callback reports each improvement; `stop`
(cancellation) ends the search from a watcher thread with `CpSolver.stop_search()`.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ortools.sat.python import cp_model

from services.scheduling.cohort.ledger import Ledger, iso_week, local_day, reservations
from services.scheduling.domain.model import DirectorySnapshot, Plan

WORKERS = 2
# Share of the time limit kept for phase 2 (load balance) when phase 1 uses all of its own.
BALANCE_SHARE = 0.3
MARGIN_SECONDS = 2.0
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class SolveOutcome:
    choice: tuple[int | None, ...]  # option index per entry, None when unplaced
    loops: int
    status: str  # phase 1 status name (OPTIMAL, FEASIBLE, UNKNOWN, ...)
    upper_bound: int | None  # proven bound on loops over these options
    seconds_to_first: float | None  # from the start of `solve`
    seconds_to_best: float | None
    stopped: bool  # stopped by `stop` before the time limit


class _Model:
    def __init__(self, options: Sequence[Sequence[Plan]], directory: DirectorySnapshot) -> None:
        self.options = options
        self.model = cp_model.CpModel()
        self.x = [
            [self.model.NewBoolVar(f"x{e}_{k}") for k in range(len(opts))]
            for e, opts in enumerate(options)
        ]
        for row in self.x:
            if len(row) > 1:
                self.model.AddAtMostOne(row)
        # LinearExpr.Sum builds one flat expression (a Python sum nests one per term).
        self.loops = cp_model.LinearExpr.Sum([v for row in self.x for v in row])
        starts = [p.sessions[0].start for opts in options for p in opts]
        self.origin = min(starts) if starts else datetime(1970, 1, 1, tzinfo=UTC)
        self._no_overlap()
        self._limits(directory)
        self.sessions_of: dict[str, list] = defaultdict(list)
        for e, opts in enumerate(options):
            for k, plan in enumerate(opts):
                for session in plan.sessions:
                    for interviewer_id in session.interviewer_ids:
                        self.sessions_of[interviewer_id].append(self.x[e][k])

    def _minutes(self, instant: datetime, *, up: bool = False) -> int:
        whole, rest = divmod(instant - self.origin, _MINUTE)
        return whole + (1 if up and rest else 0)

    def _no_overlap(self) -> None:
        """At most one chosen option per instant of each interviewer, room and candidate.

        Every option's times are fixed, so NoOverlap over optional fixed intervals is exactly
        "at most one present interval per maximal clique of the resource's interval graph",
        and the cliques come from one sweep over start and end points. Stated as AtMostOne
        constraints the model presolves and propagates much faster and its LP bound is
        tighter (200-candidate tight week: first solution 2.4 s instead of 15 s, bound 83
        instead of 91 loops), so that is how it is given to CP-SAT.
        """
        by_resource: dict[tuple, list[tuple[int, int, int, int]]] = defaultdict(list)
        for e, opts in enumerate(self.options):
            for k, plan in enumerate(opts):
                for resource, start, end in reservations(plan):
                    s, t = self._minutes(start), self._minutes(end, up=True)
                    by_resource[resource].append((s, t, e, k))
        for items in by_resource.values():
            for clique in _cliques(_contested(items)):
                self.model.AddAtMostOne([self.x[e][k] for e, k in clique])

    def _limits(self, directory: DirectorySnapshot) -> None:
        """Per interviewer, local day and ISO week: cohort sessions within what is left."""
        counted = Ledger(directory)
        per_day: dict[tuple[str, object], dict[tuple[int, int], int]] = defaultdict(dict)
        per_week: dict[tuple[str, object], dict[tuple[int, int], int]] = defaultdict(dict)
        for e, opts in enumerate(self.options):
            for k, plan in enumerate(opts):
                for session in plan.sessions:
                    for interviewer_id in session.interviewer_ids:
                        iv = directory.interviewers[interviewer_id]
                        if iv.max_per_day <= 0 and iv.max_per_week <= 0:
                            continue
                        day = local_day(session.start, iv.time_zone)
                        cell = per_day[interviewer_id, day]
                        cell[e, k] = cell.get((e, k), 0) + 1
                        cell = per_week[interviewer_id, iso_week(day)]
                        cell[e, k] = cell.get((e, k), 0) + 1
        for table, daily in ((per_day, True), (per_week, False)):
            for (interviewer_id, when), uses in table.items():
                iv = directory.interviewers[interviewer_id]
                limit = iv.max_per_day if daily else iv.max_per_week
                if limit <= 0:
                    continue
                existing = counted.remaining(interviewer_id)[0 if daily else 1][when]
                room = limit - existing
                # Skip when even the heaviest option of every entry together cannot exceed it.
                worst: dict[int, int] = {}
                for (e, _k), n in uses.items():
                    worst[e] = max(worst.get(e, 0), n)
                if sum(worst.values()) <= room:
                    continue
                terms = list(uses.items())
                self.model.Add(
                    cp_model.LinearExpr.WeightedSum([self.x[e][k] for (e, k), _n in terms], [n for _, n in terms])
                    <= room
                )

    def values(self, solver) -> tuple[int | None, ...]:
        out: list[int | None] = []
        for row in self.x:
            chosen = [k for k, v in enumerate(row) if solver.BooleanValue(v)]
            out.append(chosen[0] if chosen else None)
        return tuple(out)


def _contested(items: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Intervals that overlap an interval of another entry: only those can ever conflict."""
    items = sorted(items)
    keep = [False] * len(items)
    for i, (s, t, e, _k) in enumerate(items):
        j = i + 1
        while j < len(items) and items[j][0] < t:
            if items[j][2] != e:
                keep[i] = keep[j] = True
            j += 1
    return [item for item, kept in zip(items, keep, strict=True) if kept]


def _cliques(items: list[tuple[int, int, int, int]]) -> list[set[tuple[int, int]]]:
    """Maximal sets of (entry, option) whose intervals share an instant, across 2+ entries.

    Sweep: ends sort before starts at the same minute (half-open ranges that touch do not
    overlap); the active set is maximal just before the first end that follows a start.
    """
    events = sorted(
        [(s, 1, i) for i, (s, _t, _e, _k) in enumerate(items)]
        + [(t, 0, i) for i, (_s, t, _e, _k) in enumerate(items)]
    )
    out: list[set[tuple[int, int]]] = []
    active: set[int] = set()
    grew = False
    for _at, is_start, i in events:
        if is_start:
            active.add(i)
            grew = True
            continue
        if grew:
            members = {(items[j][2], items[j][3]) for j in active}
            if len({e for e, _k in members}) > 1:
                out.append(members)
            grew = False
        active.discard(i)
    return out


class _Watch(cp_model.CpSolverSolutionCallback):
    def __init__(self, model: _Model, started: float, on_solution: Callable[[int], None]) -> None:
        super().__init__()
        self._model = model
        self._started = started
        self._on_solution = on_solution
        self.first: float | None = None
        self.best_at: float | None = None
        self.best = -1

    def on_solution_callback(self) -> None:
        now = time.monotonic() - self._started
        loops = sum(self.BooleanValue(v) for row in self._model.x for v in row)
        if self.first is None:
            self.first = now
        if loops > self.best:
            self.best, self.best_at = loops, now
            self._on_solution(loops)


def _run(
    model: _Model,
    seconds: float,
    workers: int,
    stop: threading.Event,
    watch: _Watch | None,
    seed: int,
    *,
    presolve: bool = True,
) -> tuple[cp_model.CpSolver, int, bool]:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, seconds)
    solver.parameters.cp_model_presolve = presolve
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    done = threading.Event()
    stopped = threading.Event()

    def watcher() -> None:
        while not done.wait(0.05):
            if stop.is_set():
                stopped.set()
                solver.stop_search()
                return

    thread = threading.Thread(target=watcher, name="cohort-solver-stop", daemon=True)
    thread.start()
    try:
        status = solver.Solve(model.model, watch) if watch else solver.Solve(model.model)
    finally:
        done.set()
        thread.join()
    return solver, status, stopped.is_set()


def solve(
    options: Sequence[Sequence[Plan]],
    directory: DirectorySnapshot,
    *,
    hint: Sequence[int | None],
    time_limit: float,
    stop: threading.Event | None = None,
    on_solution: Callable[[int], None] = lambda loops: None,
    workers: int = WORKERS,
    seed: int = 0,
) -> SolveOutcome:
    """The best assignment found within `time_limit` seconds (never fewer loops than `hint`)."""
    started = time.monotonic()
    stop = stop or threading.Event()
    model = _Model(options, directory)
    hinted = sum(k is not None for k in hint)
    for row, chosen in zip(model.x, hint, strict=True):
        for k, var in enumerate(row):
            model.model.AddHint(var, 1 if k == chosen else 0)
    model.model.Add(model.loops >= hinted)
    model.model.Maximize(model.loops)

    watch = _Watch(model, started, on_solution)
    # Building the model counts against the limit; CP-SAT may overrun its own limit slightly
    # while it winds down, so a small margin is kept back.
    budget = time_limit - (time.monotonic() - started)
    budget -= min(MARGIN_SECONDS, 0.05 * budget)
    phase1 = budget * (1 - BALANCE_SHARE)
    solver, status, stopped = _run(model, phase1, workers, stop, watch, seed)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolveOutcome(tuple(hint), hinted, name, None, None, None, stopped)
    choice = model.values(solver)
    loops = sum(k is not None for k in choice)
    bound = int(solver.BestObjectiveBound() + 1e-6)
    outcome = SolveOutcome(choice, loops, name, bound, watch.first, watch.best_at, stopped)

    left = time_limit - (time.monotonic() - started)
    left -= min(MARGIN_SECONDS, 0.05 * left)
    if stopped or left < 0.2:
        return outcome
    balanced = _balance(model, choice, loops, left, workers, stop, seed)
    if balanced is None:
        return outcome
    return SolveOutcome(
        balanced, loops, name, bound, watch.first, watch.best_at, stop.is_set()
    )


def _balance(
    model: _Model,
    choice: tuple[int | None, ...],
    loops: int,
    seconds: float,
    workers: int,
    stop: threading.Event,
    seed: int,
) -> tuple[int | None, ...] | None:
    """Phase 2: same loop count, flatter interviewer load. None when nothing better is found."""
    cp = model.model
    cp.ClearHints()
    cp.ClearObjective()
    for row, chosen in zip(model.x, choice, strict=True):
        for k, var in enumerate(row):
            cp.AddHint(var, 1 if k == chosen else 0)
    cp.Add(model.loops >= loops)
    loads = {i: cp_model.LinearExpr.Sum(vs) for i, vs in model.sessions_of.items()}
    if not loads:
        return None
    total = sum(
        len(s.interviewer_ids)
        for row, chosen in zip(model.options, choice, strict=True)
        if chosen is not None
        for s in row[chosen].sessions
    )
    most = max(len(vs) for vs in model.sessions_of.values())
    # Complete the hint with the balance variables' values at phase 1's choice, so CP-SAT
    # starts from that solution instead of searching for it again.
    chosen = {
        var.Index()
        for row, k in zip(model.x, choice, strict=True)
        if k is not None
        for var in (row[k],)
    }
    now = {i: sum(v.Index() in chosen for v in vs) for i, vs in model.sessions_of.items()}
    peak = cp.NewIntVar(0, most, "peak")
    cp.AddHint(peak, max(now.values()))
    fair = -(-total // len(loads))
    excess = []
    for i, load in loads.items():
        cp.Add(peak >= load)
        over = cp.NewIntVar(0, len(model.sessions_of[i]), f"over_{i}")
        cp.AddHint(over, max(0, now[i] - fair))
        cp.Add(over >= load - fair)
        excess.append(over)
    cp.Minimize(peak * (total + 1) + cp_model.LinearExpr.Sum(excess))
    # Phase 1 already presolved this model; presolving it again took most of phase 2's time
    # (3 of 4 s on the 50-candidate tight week) before the search could start from the hint.
    solver, status, _ = _run(model, seconds, workers, stop, None, seed, presolve=False)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return model.values(solver)
