"""An upper bound on the loops ANY valid assignment of a cohort can place (a relaxation).

The CP-SAT bound of `solver` holds only over the options it was given; this one holds over
every assignment the validator would accept, so it says how much better than greedy a cohort
could possibly be. It keeps the parts of the rules that count capacity and drops the timing
that couples them:

- Staffing: each placed entry fills every session with `interviewers_needed` distinct
  interviewers from the session's pool (qualified, not a trainee, based at the office when
  onsite, with a free stretch of working time inside the entry's allowed time at least as long
  as the session), and nobody takes two sessions of one loop.
- Interviewer capacity: sessions per local day at most the daily limit left (existing
  sessions counted) and at most what the free stretches of that day can hold; per ISO week at
  most the weekly limit left; and all reserved minutes (session + gap) at most the free
  working minutes (+ one gap per stretch, for the last tail).
- Rooms: an office's onsite loops reserve their sessions' minutes (+ gap) of its rooms, at most
  the rooms' free minutes inside office hours.

It ignores when sessions happen relative to each other (two interviewers of one session free at
the same moment, the candidate's order and days), so it can be well above what is reachable.
Solved as a small integer model; CP-SAT's proven bound on it is returned, so it is valid
whether or not that model was solved to optimality. (A day-indexed version, sessions and limits
per day and a loop on at most its days, was tried: its linear relaxation was weaker, 110 against
101 loops on the 200-candidate tight week, and its integer model too big to solve in minutes.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from ortools.sat.python import cp_model

from services.scheduling.domain import rules
from services.scheduling.domain.model import DirectorySnapshot, Interviewer, SearchRequest
from services.scheduling.domain.timeutil import (
    Interval,
    clip,
    expand_dated,
    expand_daily,
    expand_weekly,
    intersect,
    local_date,
    local_dates_covering,
    merge,
    subtract,
    to_minutes,
    whole_days,
)

UNLIMITED = 10**6


@dataclass(frozen=True)
class Bound:
    loops: int  # no valid assignment places more
    staffable: int  # entries that could be staffed at all if alone (pools and hours only)
    optimal: bool  # the relaxation was solved exactly (else `loops` is its proven bound)


def _span(entries: Sequence[SearchRequest]) -> Interval:
    los = [to_minutes(max(e.window.start, e.now + e.min_notice)) for e in entries]
    his = [to_minutes(min(e.window.end, e.now + e.horizon)) for e in entries]
    return min(los), max(his)


def _dates(zone: str, span: Interval) -> list[date]:
    return local_dates_covering(zone, span[0], span[1])


def _busy(ranges) -> list[Interval]:
    return merge(r.minutes for r in ranges)


def _free_time(iv: Interviewer, directory: DirectorySnapshot, span: Interval) -> list[Interval]:
    hours = clip(expand_weekly(iv.time_zone, iv.working_hours, _dates(iv.time_zone, span)), *span)
    return subtract(hours, _busy(directory.interviewer_busy.get(iv.id, ())))


def _allowed(entry: SearchRequest, directory: DirectorySnapshot) -> list[Interval]:
    """When the entry's sessions may happen, as far as the entry alone decides."""
    span = _span([entry])
    allowed = [span]
    candidate = entry.candidate
    if candidate.availability:
        allowed = intersect(allowed, expand_dated(candidate.time_zone, candidate.availability))
    windows = entry.constraints.allowed_windows
    if windows:
        days = _dates(candidate.time_zone, span)
        allowed = intersect(allowed, expand_daily(candidate.time_zone, windows, days))
    if not rules.is_remote(entry):
        office = directory.offices.get(entry.office_id or "")
        if office is None:
            return []
        days = _dates(office.time_zone, span)
        open_hours = intersect(
            expand_weekly(office.time_zone, office.office_hours, days),
            whole_days(office.time_zone, days, office.holidays),
        )
        allowed = intersect(allowed, open_hours)
    return allowed


def _fits(free: list[Interval], allowed: list[Interval], minutes: int) -> bool:
    return any(e - s >= minutes for s, e in intersect(free, allowed))


class _Capacity:
    """What one interviewer can still take: per day, per week, and in minutes."""

    def __init__(self, iv: Interviewer, directory: DirectorySnapshot, free: list[Interval],
                 shortest: int, gap: int) -> None:
        existing_day: dict[date, int] = defaultdict(int)
        for start in directory.interviewer_sessions.get(iv.id, ()):
            existing_day[local_date(iv.time_zone, to_minutes(start))] += 1
        existing_week: dict[tuple[int, int], int] = defaultdict(int)
        for day, n in existing_day.items():
            existing_week[day.isocalendar()[:2]] += n
        # Sessions starting on a local day lie in a free stretch that meets that day.
        per_day: dict[date, int] = defaultdict(int)
        for s, e in free:
            fits = (e - s + gap) // (shortest + gap)
            for day in local_dates_covering(iv.time_zone, s, e):
                per_day[day] += fits
        per_week: dict[tuple[int, int], int] = defaultdict(int)
        for day, fits in per_day.items():
            left = iv.max_per_day - existing_day[day] if iv.max_per_day > 0 else UNLIMITED
            per_week[day.isocalendar()[:2]] += max(0, min(left, fits))
        self.sessions = 0
        for week, fits in per_week.items():
            left = iv.max_per_week - existing_week[week] if iv.max_per_week > 0 else UNLIMITED
            self.sessions += max(0, min(left, fits))
        self.minutes = sum(e - s + gap for s, e in free)


def upper_bound(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    *,
    time_limit: float = 30.0,
    workers: int = 2,
) -> Bound:
    if not entries:
        return Bound(0, 0, True)
    span = _span(entries)
    gaps = [rules.gap_minutes(e.template, e.constraints) for e in entries]
    lengths = [
        [rules.session_minutes(s, e.constraints) for s in e.template.sessions] for e in entries
    ]
    gap, shortest = max(gaps), min(m for row in lengths for m in row)
    free = {i: _free_time(iv, directory, span) for i, iv in directory.interviewers.items()}

    model = cp_model.CpModel()
    placed = [model.NewBoolVar(f"y{c}") for c in range(len(entries))]
    seats: dict[str, list[tuple[cp_model.IntVar, int]]] = defaultdict(list)  # (var, minutes)
    room_minutes: dict[str, list] = defaultdict(list)
    staffable = 0
    for c, entry in enumerate(entries):
        allowed = _allowed(entry, directory)
        remote = rules.is_remote(entry)
        mine: dict[str, list] = defaultdict(list)
        ok = True
        for j, spec in enumerate(entry.template.sessions):
            minutes = lengths[c][j]
            need = rules.interviewers_needed(spec, entry.constraints)
            areas = rules.required_areas(spec.area_rule, entry.candidate)
            pool = [
                i
                for i, iv in directory.interviewers.items()
                if rules.is_qualified(iv, areas)
                and (remote or rules.can_join_onsite(iv, entry.office_id or ""))
                and _fits(free[i], allowed, minutes)
            ]
            if len(pool) < need:
                ok = False
                break
            xs = [model.NewBoolVar(f"x{c}_{j}_{i}") for i in pool]
            model.Add(sum(xs) == need * placed[c])
            for i, x in zip(pool, xs, strict=True):
                mine[i].append(x)
                seats[i].append((x, minutes + gaps[c]))
        if not ok:
            model.Add(placed[c] == 0)
            continue
        staffable += 1
        for xs in mine.values():
            if len(xs) > 1:
                model.Add(sum(xs) <= placed[c])
        if not remote:
            loop = sum(lengths[c]) + gaps[c] * len(lengths[c])
            room_minutes[entry.office_id or ""].append((placed[c], loop))

    for i, used in seats.items():
        cap = _Capacity(directory.interviewers[i], directory, free[i], shortest, gap)
        model.Add(sum(x for x, _m in used) <= cap.sessions)
        model.Add(sum(x * m for x, m in used) <= cap.minutes)
    for office_id, used in room_minutes.items():
        office = directory.offices[office_id]
        days = _dates(office.time_zone, span)
        open_hours = clip(
            intersect(
                expand_weekly(office.time_zone, office.office_hours, days),
                whole_days(office.time_zone, days, office.holidays),
            ),
            *span,
        )
        available = sum(
            e - s + gap
            for room in directory.rooms.values()
            if room.office_id == office_id
            for s, e in subtract(open_hours, _busy(directory.room_busy.get(room.id, ())))
        )
        model.Add(sum(y * m for y, m in used) <= available)

    model.Maximize(sum(placed))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    status = solver.Solve(model)
    if status == cp_model.OPTIMAL:
        return Bound(round(solver.ObjectiveValue()), staffable, True)
    if status == cp_model.FEASIBLE:
        return Bound(int(solver.BestObjectiveBound() + 1e-6), staffable, False)
    return Bound(staffable, staffable, False)
