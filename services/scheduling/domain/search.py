"""Find ranked, bookable plans for one candidate's interview loop.

How the search works (and why it is fast enough to answer in a few milliseconds):

1. `SearchSpace` turns the request into bitsets on a 5-minute slot grid (`grid.py`): the
   candidate's free time (window, notice, horizon, office hours and holidays when onsite,
   availability, allowed windows) and, per interviewer and room, when they are free.
2. Layout. Sessions keep the template's order. The loop is split into one chunk per day
   (contiguous sessions, at most `max_sessions_per_day` each, at most the template's
   `max_days` chunks unless the per-day cap forces more); fewer days are tried first. Within
   a day sessions run back to back, each separated by exactly the gap (template buffer + extra
   break), rounded up to the 5-minute grid. The first session of each day starts on a quarter
   hour (the 15-minute start grid). Later days' chunks take the earliest start that fits on a
   later candidate-local date.
3. For each chunk, one AND over shifted bitsets gives every start at which each session has
   the candidate free, enough qualified interviewers free and a suitable room free: a
   necessary condition checked for all start times at once.
4. Only at those starts, in time order, the exact check runs: interviewers are matched to
   sessions (a small bipartite matching, so nobody is in two sessions of one loop),
   preferring the least loaded, and rooms are chosen to minimise moves (`assign.py`).
5. Scoring (`scoring.py`). Only earliness depends on the start, so once the best score still
   reachable from a start cannot beat the k-th plan held, the scan stops. At most
   `PLANS_PER_START` plans share a first start (the second with different interviewers), so
   the top k are not copies of one another. `MAX_EXACT_CHECKS` caps the exact checks of one
   request so a pathological directory cannot make one call slow.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from services.scheduling.domain import scoring
from services.scheduling.domain.assign import assign_interviewers, assign_rooms
from services.scheduling.domain.diagnose import explain
from services.scheduling.domain.grid import bits
from services.scheduling.domain.model import (
    DirectorySnapshot,
    LocationMode,
    Plan,
    PlannedSession,
    SearchRequest,
    SearchResult,
)
from services.scheduling.domain.space import SearchSpace
from services.scheduling.domain.timeutil import from_minutes
from services.scheduling.domain.validate import validate_plan

__all__ = ["find_plans", "validate_plan", "PLANS_PER_START", "MAX_EXACT_CHECKS"]

PLANS_PER_START = 2
MAX_EXACT_CHECKS = 2000


def find_plans(request: SearchRequest, directory: DirectorySnapshot) -> SearchResult:
    """The best `request.max_plans` plans, best first; reasons when there are none.

    Raises `services.core.errors.InvalidArgument` for a malformed request (no sessions, an
    empty window, onsite without a known office).
    """
    space = SearchSpace(request, directory)
    best = _TopPlans(request.max_plans)
    checks = 0
    for chunks in _day_splits(space):
        chunk_masks = [_chunk_mask(space, first, last) for first, last in chunks]
        if not all(chunk_masks):
            continue
        for layout in _layouts(space, chunks, chunk_masks):
            first_minute = space.grid.minute(layout[0])
            bound = scoring.upper_bound(first_minute, space.earliest, len(chunks))
            if bound <= best.threshold():
                break
            checks += 1
            if checks > MAX_EXACT_CHECKS:
                break
            for plan in _plans_at(space, chunks, layout):
                best.add(plan)
        if checks > MAX_EXACT_CHECKS:
            break
    plans = best.result()
    if plans:
        return SearchResult(plans=plans)
    return SearchResult(plans=(), no_plan_reasons=tuple(explain(space)))


# ---------------------------------------------------------------- layouts


def _day_splits(space: SearchSpace) -> Iterator[list[tuple[int, int]]]:
    """Ways to cut the sessions into per-day chunks, fewest days first.

    Each split is a list of (first, last) session index ranges, last exclusive.
    """
    count = len(space.sessions)
    cap = space.per_day_cap

    def splits(start: int, days: int) -> Iterator[list[tuple[int, int]]]:
        remaining = count - start
        if days == 1:
            if 0 < remaining <= cap:
                yield [(start, count)]
            return
        for size in range(1, min(cap, remaining - days + 1) + 1):
            for rest in splits(start + size, days - 1):
                yield [(start, start + size), *rest]

    for days in range(space.fewest_days, space.most_days + 1):
        yield from splits(0, days)


def _chunk_mask(space: SearchSpace, first: int, last: int) -> int:
    """First-session starts at which sessions first..last-1 each fit, back to back, in one day."""
    offsets = space.offsets(first, last)
    span = offsets[-1] + space.sessions[last - 1].slots
    mask = space.grid.quarter_hours & space.same_day_starts(span)
    for spec, offset in zip(space.sessions[first:last], offsets, strict=True):
        if not mask:
            return 0
        mask &= space.session_mask(spec) >> offset
    return mask


def _layouts(
    space: SearchSpace, chunks: list[tuple[int, int]], chunk_masks: list[int]
) -> Iterator[list[int]]:
    """Start slots of every session, ordered by the loop's first start."""
    offsets = [space.offsets(first, last) for first, last in chunks]
    for first_start in bits(chunk_masks[0]):
        chunk_starts = [first_start]
        for mask in chunk_masks[1:]:
            # The next chunk goes on a later candidate-local date than the previous one.
            day = space.candidate_day_index(space.grid.minute(chunk_starts[-1]))
            if day + 1 >= len(space.candidate_day_starts) - 1:
                break
            from_slot = max(0, space.grid.slot_ceil(space.candidate_day_starts[day + 1]))
            later = mask >> from_slot
            if not later:
                break
            chunk_starts.append(from_slot + ((later & -later).bit_length() - 1))
        if len(chunk_starts) < len(chunks):
            # Later chunks found no day after this start, nor will they after a later one.
            return
        yield [start + off for start, offs in zip(chunk_starts, offsets) for off in offs]


# ---------------------------------------------------------------- plans


def _plans_at(
    space: SearchSpace, chunks: list[tuple[int, int]], layout: list[int]
) -> Iterator[Plan]:
    """Up to PLANS_PER_START distinct plans for one layout (different interviewers)."""
    rooms = assign_rooms(space, chunks, layout)
    if rooms is None:
        return
    seen: list[tuple[tuple[str, ...], ...]] = []
    avoid: frozenset[str] = frozenset()
    for _ in range(PLANS_PER_START):
        staff = assign_interviewers(space, layout, avoid)
        if staff is None or staff in seen:
            return
        seen.append(staff)
        yield _build_plan(space, chunks, layout, staff, rooms)
        avoid = frozenset(i for team in staff for i in team)


def _build_plan(
    space: SearchSpace,
    chunks: list[tuple[int, int]],
    layout: list[int],
    staff: tuple[tuple[str, ...], ...],
    rooms: list[str | None],
) -> Plan:
    request = space.request
    sessions = []
    intervals = []
    loads = []
    for spec, slot, team, room_id in zip(space.sessions, layout, staff, rooms, strict=True):
        start = space.grid.minute(slot)
        end = start + spec.minutes
        intervals.append((start, end))
        loads.extend(space.week_load(i, start) for i in team)
        sessions.append(
            PlannedSession(
                index=spec.index,
                title=spec.template.title,
                kind=spec.template.kind,
                start=from_minutes(start),
                end=from_minutes(end),
                interviewer_ids=team,
                room_id=room_id,
                remote=space.remote,
                adjustments=spec.adjustments,
            )
        )
    pairs = []
    for first, last in chunks:
        for i in range(first, last - 1):
            a, b = rooms[i], rooms[i + 1]
            pairs.append(
                (
                    a,
                    space.room(a).location_hint if a else "",
                    b,
                    space.room(b).location_hint if b else "",
                )
            )
    parts = {
        "earliness": scoring.earliness(intervals[0][0], space.earliest),
        "days": scoring.days_part(len(chunks)),
        "load_balance": scoring.load_part(loads),
        "travel": scoring.travel_part(pairs),
        "preferred_hours": scoring.preferred_part(intervals, space.preferred),
    }
    return Plan(
        candidate_id=request.candidate.id,
        template_id=request.template.id,
        mode=LocationMode.REMOTE if space.remote else LocationMode.ONSITE,
        office_id=space.office_id,
        sessions=tuple(sessions),
        score=scoring.combine(parts),
        score_breakdown=parts,
        days=len(chunks),
        gap=timedelta(minutes=space.gap),
    )


class _TopPlans:
    """The best plans so far, at most PLANS_PER_START per first start.

    k is small (at most 50), so a re-sorted list is simpler than a heap and as fast.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.plans: list[Plan] = []
        self._threshold = float("-inf")

    @staticmethod
    def _key(plan: Plan):
        # Best first; ties go to the earlier plan, then a stable order of ids.
        return (
            -plan.score,
            plan.sessions[0].start,
            tuple(s.interviewer_ids for s in plan.sessions),
        )

    def add(self, plan: Plan) -> None:
        self.plans.append(plan)
        self.plans.sort(key=self._key)
        kept = self._select()
        self.plans = kept
        if len(kept) >= self.limit:
            self._threshold = kept[self.limit - 1].score

    def _select(self) -> list[Plan]:
        per_start: dict = {}
        kept = []
        for plan in self.plans:
            first = plan.sessions[0].start
            if per_start.get(first, 0) >= PLANS_PER_START:
                continue
            per_start[first] = per_start.get(first, 0) + 1
            kept.append(plan)
            if len(kept) == self.limit:
                break
        return kept

    def threshold(self) -> float:
        """Score a new plan must beat to enter the top k (-inf until k plans are held)."""
        return self._threshold

    def result(self) -> tuple[Plan, ...]:
        return tuple(self.plans[: self.limit])

