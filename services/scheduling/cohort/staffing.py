"""Who else could staff a plan's sessions: the choices CP-SAT makes per session.

A plan from the single-loop search fixes times, rooms and interviewers together. Cohorts run
short of interviewers, and one loop keeping a scarce person another loop needs at that hour is
what stops the next loop. So the solver is given each option as a *layout* (the plan's session
times) with, per session, every interviewer and room that could take it on their own, and picks
the team and the room itself, exactly `interviewers_needed` per session, nobody twice in a loop.

An interviewer can take a session at [start, end) when, by the same rules as `validate_plan`,
they are qualified for the session's area rule and not a trainee, based at the office for an
onsite loop, inside their working hours, and free (busy time kept clear of the whole reserved
range, session plus gap, as booking reserves it). A room: at the office, suitable (seats,
accessibility, quiet) and free over the reserved range. Load limits depend on everything chosen,
so they are the model's; every staffed plan is checked again by `validate_plan` at the end.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from services.scheduling.cohort.ledger import Ledger, iso_week, local_day
from services.scheduling.domain import rules, scoring
from services.scheduling.domain.model import (
    DirectorySnapshot,
    Plan,
    SearchRequest,
)
from services.scheduling.domain.timeutil import (
    Interval,
    contains,
    expand_weekly,
    local_date,
    local_dates_covering,
    merge,
    overlaps,
    to_minutes,
    to_minutes_ceil,
)

# Interviewers offered per session beyond those of the search's own plans: the model's size
# grows with them, and past a handful more the choice rarely matters.
EXTRA_PER_SEAT = 4


@dataclass(frozen=True)
class Layout:
    """One way to time an entry's loop, and who and where could run each session."""

    plan: Plan  # a plan the search produced with these times: one valid staffing
    teams: tuple[tuple[str, ...], ...]  # per session: interviewers who could take it
    rooms: tuple[tuple[str, ...], ...]  # per session: rooms that could host it; () remote

    @property
    def needed(self) -> tuple[int, ...]:
        return tuple(len(s.interviewer_ids) for s in self.plan.sessions)


def times_key(plan: Plan) -> tuple:
    return tuple((s.start, s.end) for s in plan.sessions)


class Pools:
    """Per-interviewer and per-room free time, computed once for a cohort's span."""

    def __init__(self, entries: Sequence[SearchRequest], directory: DirectorySnapshot) -> None:
        self.directory = directory
        starts = [to_minutes(e.window.start) for e in entries]
        ends = [to_minutes_ceil(e.window.end) for e in entries]
        lo, hi = (min(starts), max(ends)) if entries else (0, 0)
        self._hours: dict[str, list[Interval]] = {}
        for i, iv in directory.interviewers.items():
            # One day either side, as validate_plan expands hours around a session.
            days = local_dates_covering(iv.time_zone, lo - 1440, hi + 1440)
            self._hours[i] = expand_weekly(iv.time_zone, iv.working_hours, days)
        self._busy = {
            i: merge(b.minutes for b in blocks) for i, blocks in directory.interviewer_busy.items()
        }
        self._room_busy = {
            r: merge(b.minutes for b in blocks) for r, blocks in directory.room_busy.items()
        }
        self._counted = Ledger(directory)

    def week_load(self, interviewer_id: str, start: datetime) -> int:
        iv = self.directory.interviewers[interviewer_id]
        return self._counted.remaining(interviewer_id)[1][iso_week(local_day(start, iv.time_zone))]

    def under_limits(self, interviewer_id: str, start: datetime) -> bool:
        """Whether one more session on that day still fits the daily and weekly limits."""
        iv = self.directory.interviewers[interviewer_id]
        day = local_day(start, iv.time_zone)
        per_day, per_week = self._counted.remaining(interviewer_id)
        return (iv.max_per_day <= 0 or per_day[day] < iv.max_per_day) and (
            iv.max_per_week <= 0 or per_week[iso_week(day)] < iv.max_per_week
        )

    def interviewer_can(self, interviewer_id: str, start: int, end: int, reserved: int) -> bool:
        return contains(self._hours[interviewer_id], start, end) and not overlaps(
            self._busy.get(interviewer_id, ()), start, reserved
        )

    def room_can(self, room_id: str, start: int, reserved: int) -> bool:
        return not overlaps(self._room_busy.get(room_id, ()), start, reserved)

    def layout(
        self, request: SearchRequest, plans: Sequence[Plan], *, extra: int = EXTRA_PER_SEAT
    ) -> Layout:
        """The layout of `plans` (same session times): their staff and rooms first, then others."""
        directory = self.directory
        first = plans[0]
        remote = rules.is_remote(request)
        gap = first.gap
        teams: list[tuple[str, ...]] = []
        rooms: list[tuple[str, ...]] = []
        for k, session in enumerate(first.sessions):
            spec = request.template.sessions[k]
            start, end = to_minutes(session.start), to_minutes_ceil(session.end)
            reserved = to_minutes_ceil(session.end + gap)
            known = list(dict.fromkeys(i for p in plans for i in p.sessions[k].interviewer_ids))
            areas = rules.required_areas(spec.area_rule, request.candidate)
            others = sorted(
                (
                    i
                    for i, iv in directory.interviewers.items()
                    if i not in known
                    and rules.is_qualified(iv, areas)
                    and (remote or rules.can_join_onsite(iv, request.office_id or ""))
                    and self.interviewer_can(i, start, end, reserved)
                    and self.under_limits(i, session.start)
                ),
                key=lambda i: (self.week_load(i, session.start), i),
            )
            teams.append((*known, *others[: extra * len(session.interviewer_ids)]))
            if remote:
                rooms.append(())
                continue
            seats = rules.seats_needed(len(session.interviewer_ids), request.constraints)
            known_rooms = list(dict.fromkeys(p.sessions[k].room_id for p in plans))
            other_rooms = sorted(
                r
                for r, room in directory.rooms.items()
                if r not in known_rooms
                and room.office_id == request.office_id
                and rules.room_problem(room, seats, request.constraints) is None
                and self.room_can(r, start, reserved)
            )
            rooms.append(tuple(r for r in (*known_rooms, *other_rooms) if r is not None))
        return Layout(first, tuple(teams), tuple(rooms))

    def staffed(
        self,
        request: SearchRequest,
        layout: Layout,
        teams: Sequence[Sequence[str]],
        rooms: Sequence[str | None],
    ) -> Plan:
        """The layout's plan with these teams and rooms (its score parts refreshed)."""
        plan = layout.plan
        sessions = tuple(
            replace(s, interviewer_ids=tuple(team), room_id=room)
            for s, team, room in zip(plan.sessions, teams, rooms, strict=True)
        )
        if sessions == plan.sessions:
            return plan
        parts = dict(plan.score_breakdown)
        if parts:
            parts["load_balance"] = scoring.load_part(
                [self.week_load(i, s.start) for s in sessions for i in s.interviewer_ids]
            )
            parts["travel"] = scoring.travel_part(self._room_pairs(request, sessions))
        return replace(plan, sessions=sessions, score=scoring.combine(parts), score_breakdown=parts)

    def _room_pairs(self, request: SearchRequest, sessions) -> list:
        zone = request.candidate.time_zone
        pairs = []
        for a, b in zip(sessions, sessions[1:]):
            if local_date(zone, to_minutes(a.start)) != local_date(zone, to_minutes(b.start)):
                continue
            hint_a = self.directory.rooms[a.room_id].location_hint if a.room_id else ""
            hint_b = self.directory.rooms[b.room_id].location_hint if b.room_id else ""
            pairs.append((a.room_id, hint_a, b.room_id, hint_b))
        return pairs


def layouts_of(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    options: Sequence[Sequence[Plan]],
    *,
    extra: int = EXTRA_PER_SEAT,
) -> tuple[Pools, tuple[tuple[Layout, ...], ...]]:
    """Each entry's options grouped by session times (first occurrence order kept)."""
    pools = Pools(entries, directory)
    out = []
    for request, plans in zip(entries, options, strict=True):
        groups: dict[tuple, list[Plan]] = {}
        for plan in plans:
            groups.setdefault(times_key(plan), []).append(plan)
        out.append(tuple(pools.layout(request, group, extra=extra) for group in groups.values()))
    return pools, tuple(out)

