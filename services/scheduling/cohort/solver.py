"""The cohort model for CP-SAT: per entry at most one layout, and who and where runs it.

Variables: one Boolean per layout (an option's session times, see `staffing`), and per session
of it one Boolean per interviewer and per room that could take it (when there is a choice;
otherwise the layout's own Boolean stands for them). A chosen layout gets exactly the needed
interviewers and one room per session, nobody twice in one loop. Every reserved range (session
+ gap, see `ledger`) of a chosen interviewer, room or candidate is an optional fixed interval;
each resource gets a no-overlap over its intervals (stated as clique AtMostOnes, see
`_no_overlap`), and per-day / per-week interview limits count the chosen sessions with those the
directory already has. What is valid for one loop alone is in the layouts' pools already.

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

from services.scheduling.cohort.ledger import Ledger, Resource, iso_week, local_day
from services.scheduling.cohort.staffing import Layout, times_key
from services.scheduling.domain.model import DirectorySnapshot, Plan

WORKERS = 2
# Share of the time limit kept for phase 2 (load balance) when phase 1 uses all of its own.
BALANCE_SHARE = 0.3
MARGIN_SECONDS = 2.0
RELATIVE_MARGIN = 0.02
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Choice:
    """One entry's placement: which layout, and per session its team and room."""

    layout: int
    teams: tuple[tuple[str, ...], ...]
    rooms: tuple[str | None, ...]


@dataclass(frozen=True)
class SolveOutcome:
    choice: tuple[Choice | None, ...]  # per entry, None when unplaced
    loops: int
    status: str  # phase 1 status name (OPTIMAL, FEASIBLE, UNKNOWN, ...)
    upper_bound: int | None  # proven bound on loops over these layouts
    seconds_to_first: float | None  # from the start of `solve`
    seconds_to_best: float | None
    stopped: bool  # stopped by `stop` before the time limit


@dataclass
class _Session:
    """The literals of one session of one layout: per interviewer, per room."""

    staff: dict[str, cp_model.IntVar]
    rooms: dict[str, cp_model.IntVar]


class _Model:
    def __init__(self, layouts: Sequence[Sequence[Layout]], directory: DirectorySnapshot) -> None:
        self.layouts = layouts
        self.model = cp_model.CpModel()
        self.x = [
            [self.model.NewBoolVar(f"x{e}_{k}") for k in range(len(opts))]
            for e, opts in enumerate(layouts)
        ]
        for row in self.x:
            if len(row) > 1:
                self.model.AddAtMostOne(row)
        # LinearExpr.Sum builds one flat expression (a Python sum nests one per term).
        self.loops = cp_model.LinearExpr.Sum([v for row in self.x for v in row])
        starts = [lay.plan.sessions[0].start for opts in layouts for lay in opts]
        self.origin = min(starts) if starts else datetime(1970, 1, 1, tzinfo=UTC)
        self.sessions = [
            [self._staffing(self.x[e][k], lay) for k, lay in enumerate(opts)]
            for e, opts in enumerate(layouts)
        ]
        self.sessions_of: dict[str, list] = defaultdict(list)
        for per_entry in self.sessions:
            for per_layout in per_entry:
                for session in per_layout:
                    for interviewer_id, literal in session.staff.items():
                        self.sessions_of[interviewer_id].append(literal)
        self._no_overlap()
        self._limits(directory)

    def _staffing(self, chosen, layout: Layout) -> list[_Session]:
        """Literals for one layout: exactly the needed team and one room per session."""
        out = []
        mine: dict[str, list] = defaultdict(list)
        for team, rooms, need in zip(layout.teams, layout.rooms, layout.needed, strict=True):
            if len(team) < need or (need and not layout.plan.sessions[0].remote and not rooms):
                self.model.Add(chosen == 0)
            if len(team) <= need:
                staff = dict.fromkeys(team, chosen)
            else:
                staff = {i: self.model.NewBoolVar("") for i in team}
                self.model.Add(cp_model.LinearExpr.Sum(list(staff.values())) == need * chosen)
            if len(rooms) <= 1:
                places = dict.fromkeys(rooms, chosen)
            else:
                places = {r: self.model.NewBoolVar("") for r in rooms}
                self.model.Add(cp_model.LinearExpr.Sum(list(places.values())) == chosen)
            for interviewer_id, literal in staff.items():
                mine[interviewer_id].append(literal)
            out.append(_Session(staff, places))
        for literals in mine.values():
            if len(literals) > 1:
                self.model.Add(cp_model.LinearExpr.Sum(literals) <= chosen)
        return out

    def _minutes(self, instant: datetime, *, up: bool = False) -> int:
        whole, rest = divmod(instant - self.origin, _MINUTE)
        return whole + (1 if up and rest else 0)

    def _uses(self):
        """(resource, start, end, entry, literal) of every reserved range a choice may make."""
        for e, opts in enumerate(self.layouts):
            for k, layout in enumerate(opts):
                plan = layout.plan
                for planned, session in zip(plan.sessions, self.sessions[e][k], strict=True):
                    s = self._minutes(planned.start)
                    t = self._minutes(planned.end + plan.gap, up=True)
                    for interviewer_id, literal in session.staff.items():
                        yield ("interviewer", interviewer_id), s, t, e, literal
                    for room_id, literal in session.rooms.items():
                        yield ("room", room_id), s, t, e, literal
                    yield ("candidate", plan.candidate_id), s, t, e, self.x[e][k]

    def _no_overlap(self) -> None:
        """At most one chosen reserved range per instant of each interviewer, room, candidate.

        Every range's times are fixed, so NoOverlap over optional fixed intervals is exactly
        "at most one present interval per maximal clique of the resource's interval graph",
        and the cliques come from one sweep over start and end points. Stated as AtMostOne
        constraints the model presolves and propagates much faster and its LP bound is
        tighter (200-candidate tight week: first solution 2.4 s instead of 15 s, bound 83
        instead of 91 loops), so that is how it is given to CP-SAT.
        """
        by_resource: dict[Resource, list[tuple[int, int, int, int]]] = defaultdict(list)
        literals = {}
        for resource, s, t, e, literal in self._uses():
            literals[literal.Index()] = literal
            by_resource[resource].append((s, t, e, literal.Index()))
        for items in by_resource.values():
            for clique in _cliques(_contested(items)):
                self.model.AddAtMostOne([literals[ref] for ref in sorted(clique)])

    def _limits(self, directory: DirectorySnapshot) -> None:
        """Per interviewer, local day and ISO week: cohort sessions within what is left."""
        counted = Ledger(directory)
        cells: dict[tuple[str, bool, object], list[tuple[int, object]]] = defaultdict(list)
        for e, opts in enumerate(self.layouts):
            for k, layout in enumerate(opts):
                for planned, session in zip(layout.plan.sessions, self.sessions[e][k], strict=True):
                    for interviewer_id, literal in session.staff.items():
                        iv = directory.interviewers[interviewer_id]
                        if iv.max_per_day <= 0 and iv.max_per_week <= 0:
                            continue
                        day = local_day(planned.start, iv.time_zone)
                        cells[interviewer_id, True, day].append((e, literal))
                        cells[interviewer_id, False, iso_week(day)].append((e, literal))
        for (interviewer_id, daily, when), uses in cells.items():
            iv = directory.interviewers[interviewer_id]
            limit = iv.max_per_day if daily else iv.max_per_week
            if limit <= 0:
                continue
            existing = counted.remaining(interviewer_id)[0 if daily else 1][when]
            room = max(0, limit - existing)
            # One loop per entry, and one session of a loop per interviewer: each entry adds
            # at most one session here, so the limit binds only past `room` entries.
            if len({e for e, _literal in uses}) <= room:
                continue
            self.model.Add(cp_model.LinearExpr.Sum([literal for _e, literal in uses]) <= room)

    def values(self, solver) -> tuple[Choice | None, ...]:
        out: list[Choice | None] = []
        for e, row in enumerate(self.x):
            chosen = [k for k, v in enumerate(row) if solver.BooleanValue(v)]
            if not chosen:
                out.append(None)
                continue
            k = chosen[0]
            sessions = self.sessions[e][k]
            teams = tuple(
                tuple(sorted(i for i, v in s.staff.items() if solver.BooleanValue(v)))
                for s in sessions
            )
            rooms = tuple(
                next((r for r, v in s.rooms.items() if solver.BooleanValue(v)), None)
                for s in sessions
            )
            out.append(Choice(k, teams, rooms))
        return tuple(out)

    def hint(self, choice: Sequence[Choice | None]) -> None:
        """Hint every literal of the model with `choice`'s values."""
        cp = self.model
        cp.ClearHints()
        for e, picked in enumerate(choice):
            for k, row in enumerate(self.sessions[e]):
                on = picked is not None and picked.layout == k
                cp.AddHint(self.x[e][k], int(on))
                for j, session in enumerate(row):
                    for i, literal in session.staff.items():
                        if literal is not self.x[e][k]:
                            cp.AddHint(literal, int(on and i in picked.teams[j]))
                    for r, literal in session.rooms.items():
                        if literal is not self.x[e][k]:
                            cp.AddHint(literal, int(on and picked.rooms[j] == r))

    def choice_of(self, plans: Sequence[Plan | None]) -> tuple[Choice | None, ...]:
        """Each plan as a choice over this model's layouts (None when it has no layout)."""
        out: list[Choice | None] = []
        for e, plan in enumerate(plans):
            found = None
            if plan is not None:
                key = times_key(plan)
                for k, layout in enumerate(self.layouts[e]):
                    if times_key(layout.plan) == key:
                        found = Choice(
                            k,
                            tuple(tuple(s.interviewer_ids) for s in plan.sessions),
                            tuple(s.room_id for s in plan.sessions),
                        )
                        break
            out.append(found)
        return tuple(out)


def _contested(items: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """Intervals that overlap an interval of another entry: only those can ever conflict."""
    items = sorted(items)
    keep = [False] * len(items)
    for i, (_s, t, e, _ref) in enumerate(items):
        j = i + 1
        while j < len(items) and items[j][0] < t:
            if items[j][2] != e:
                keep[i] = keep[j] = True
            j += 1
    return [item for item, kept in zip(items, keep, strict=True) if kept]


def _cliques(items: list[tuple[int, int, int, int]]) -> list[set[int]]:
    """Maximal sets of literals (`ref`s) whose intervals share an instant, across 2+ entries.

    Sweep: ends sort before starts at the same minute (half-open ranges that touch do not
    overlap); the active set is maximal just before the first end that follows a start.
    """
    events = sorted(
        [(s, 1, i) for i, (s, _t, _e, _ref) in enumerate(items)]
        + [(t, 0, i) for i, (_s, t, _e, _ref) in enumerate(items)]
    )
    out: list[set[int]] = []
    active: set[int] = set()
    grew = False
    for _at, is_start, i in events:
        if is_start:
            active.add(i)
            grew = True
            continue
        if grew:
            if len({items[j][2] for j in active}) > 1:
                out.append({items[j][3] for j in active})
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
    # With 2 workers, one runs the LNS portfolio; the feasibility pump's turns in it took
    # 25 s of 60 on the 200-candidate tight week without ever improving a solution, and
    # without it the same minute reached 81 loops instead of 78.
    solver.parameters.use_feasibility_pump = False
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
    layouts: Sequence[Sequence[Layout]],
    directory: DirectorySnapshot,
    *,
    hint: Sequence[Plan | None],
    time_limit: float,
    stop: threading.Event | None = None,
    on_solution: Callable[[int], None] = lambda loops: None,
    workers: int = WORKERS,
    seed: int = 0,
) -> SolveOutcome:
    """The best assignment found within `time_limit` seconds (never fewer loops than `hint`).

    Each plan of `hint` must have the session times of one of its entry's layouts and a team
    and rooms from that layout's pools (greedy's plans do: they seed the layouts).
    """
    started = time.monotonic()
    stop = stop or threading.Event()
    model = _Model(layouts, directory)
    start_choice = model.choice_of(hint)
    hinted = sum(c is not None for c in start_choice)
    model.hint(start_choice)
    model.model.Add(model.loops >= hinted)
    model.model.Maximize(model.loops)

    watch = _Watch(model, started, on_solution)
    # Building the model counts against the limit; CP-SAT may overrun its own limit slightly
    # while it winds down, so a small margin is kept back.
    budget = time_limit - (time.monotonic() - started)
    budget -= _margin(time_limit, budget)
    phase1 = budget * (1 - BALANCE_SHARE)
    solver, status, stopped = _run(model, phase1, workers, stop, watch, seed)
    name = solver.StatusName(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return SolveOutcome(start_choice, hinted, name, None, None, None, stopped)
    choice = model.values(solver)
    loops = sum(c is not None for c in choice)
    bound = int(solver.BestObjectiveBound() + 1e-6)
    outcome = SolveOutcome(choice, loops, name, bound, watch.first, watch.best_at, stopped)

    left = time_limit - (time.monotonic() - started)
    left -= _margin(time_limit, left)
    if stopped or left < 0.2:
        return outcome
    balanced = _balance(model, choice, loops, left, workers, stop, seed)
    if balanced is None:
        return outcome
    return SolveOutcome(
        balanced, loops, name, bound, watch.first, watch.best_at, stop.is_set()
    )


def _margin(time_limit: float, budget: float) -> float:
    """Seconds kept back from a phase: CP-SAT overruns its own limit while it winds down, the
    more so on a big model and a busy machine (up to 2 s a phase seen at 120 s on 2 cores)."""
    return min(MARGIN_SECONDS + RELATIVE_MARGIN * time_limit, 0.05 * budget)


def _balance(
    model: _Model,
    choice: tuple[Choice | None, ...],
    loops: int,
    seconds: float,
    workers: int,
    stop: threading.Event,
    seed: int,
) -> tuple[Choice | None, ...] | None:
    """Phase 2: same loop count, flatter interviewer load. None when nothing better is found."""
    cp = model.model
    cp.ClearObjective()
    model.hint(choice)
    cp.Add(model.loops >= loops)
    loads = {i: cp_model.LinearExpr.Sum(vs) for i, vs in model.sessions_of.items()}
    if not loads:
        return None
    now: dict[str, int] = defaultdict(int)
    for picked in choice:
        for team in picked.teams if picked is not None else ():
            for interviewer_id in team:
                now[interviewer_id] += 1
    total = sum(now.values())
    most = max(len(vs) for vs in model.sessions_of.values())
    # Complete the hint with the balance variables' values at phase 1's choice, so CP-SAT
    # starts from that solution instead of searching for it again.
    peak = cp.NewIntVar(0, most, "peak")
    cp.AddHint(peak, max(now.values(), default=0))
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
