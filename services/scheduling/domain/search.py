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
   hour (the 15-minute start grid). A later day's chunk goes on a later candidate-local date,
   trying its `LATER_DAY_OPTIONS` earliest starts.
3. For each chunk, one AND over shifted bitsets gives every start at which each session has
   the candidate free, enough qualified interviewers free and a suitable room free, and
   sessions sharing a narrow pool have enough different people: a necessary condition,
   checked for all start times at once.
4. Only at those starts the exact check runs: interviewers are matched to sessions (a small
   bipartite matching, so nobody is in two sessions of one loop), preferring the least
   loaded, and rooms are chosen to minimise moves (`assign.py`).
5. Scoring (`scoring.py`). Before matching anyone, a layout's best possible score is known
   (its earliness, days, rooms and preferred hours are fixed; only load balance is not).
   Layouts are matched best bound first (`_ranked_layouts`), and the scan stops once no
   layout left, read or unread, could beat the k-th plan held. At most
   `PLANS_PER_START` plans share a first start (the second with different interviewers), so
   the top k are not copies of one another. `MAX_FAILED_CHECKS` caps the failed exact checks
   of one request so a pathological directory cannot make one call slow; when that budget
   runs out with no plan, the reasons say so (SEARCH_BUDGET_EXHAUSTED).

Ranking is exact over the plans the search builds; which plans it builds is the policy above
(back-to-back days, least-loaded interviewers first), not a global optimum over every
possible idle gap or staffing.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import timedelta

from services.scheduling.domain import scoring
from services.scheduling.domain.assign import assign_interviewers, assign_rooms
from services.scheduling.domain.diagnose import explain
from services.scheduling.domain.grid import at_least, bits
from services.scheduling.domain.model import (
    DirectorySnapshot,
    LocationMode,
    NoPlanReason,
    Plan,
    PlannedSession,
    SearchRequest,
    SearchResult,
)
from services.scheduling.domain.space import SearchSpace
from services.scheduling.domain.timeutil import from_minutes
from services.scheduling.domain.validate import validate_plan

__all__ = ["find_plans", "validate_plan", "PLANS_PER_START", "MAX_FAILED_CHECKS"]

PLANS_PER_START = 2
# Exact checks (interviewer matching) that may fail in one request before the search gives
# up: bounds the time of a search in which many starts pass the bitset filter but cannot be
# staffed by different people (typically a tiny pool wanted by several sessions on
# different days). Successful checks need no cap: the score bound stops those.
MAX_FAILED_CHECKS = 60
# Starts tried for each later day's part of a multi-day loop, per first-day start: the
# earliest, and one more in case the first cannot be staffed by different people.
LATER_DAY_OPTIONS = 2


def find_plans(request: SearchRequest, directory: DirectorySnapshot) -> SearchResult:
    """The best `request.max_plans` plans, best first; reasons when there are none.

    Raises `services.core.errors.InvalidArgument` for a malformed request (no sessions, an
    empty window, onsite without a known office).
    """
    space = SearchSpace(request, directory)
    best = _TopPlans(request.max_plans)
    failed = 0
    chunk_cache: dict[tuple[int, int], int] = {}
    for chunks in _day_splits(space):
        days = len(chunks)
        chunk_masks = _split_masks(space, chunks, chunk_cache, best.threshold())
        if chunk_masks is None:
            continue
        for layout, rooms, travel, preferred in _ranked_layouts(space, chunks, chunk_masks, best):
            first_minute = space.grid.minute(layout[0])
            if best.full_at(first_minute):
                continue  # other later-day options of a start that already has its plans
            staffed = False
            for staff in _staffings(space, layout):
                staffed = True
                best.count_start(first_minute)
                parts = _score_parts(space, layout, days, staff, travel, preferred)
                if scoring.combine(parts) <= best.threshold():
                    # The other staffing at this start avoids the least-loaded people, so it
                    # (almost always) scores lower still: not worth a second matching.
                    break
                # Plans are only built (datetimes, dataclasses) when they enter the top k.
                best.add(_build_plan(space, layout, days, staff, rooms, parts))
            failed += not staffed
            if failed >= MAX_FAILED_CHECKS:
                break
        if failed >= MAX_FAILED_CHECKS:
            break
    plans = best.result()
    if plans:
        return SearchResult(plans=plans)
    reasons = explain(space)
    if failed >= MAX_FAILED_CHECKS:
        reasons.append(
            NoPlanReason(
                "SEARCH_BUDGET_EXHAUSTED",
                f"stopped after {failed} start times that passed every per-session rule "
                "but could not be staffed with a different interviewer for each session",
            )
        )
    return SearchResult(plans=(), no_plan_reasons=tuple(reasons))


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


def _split_masks(
    space: SearchSpace,
    chunks: list[tuple[int, int]],
    cache: dict[tuple[int, int], int],
    threshold: float,
) -> list[int] | None:
    """Each day's start mask for one split, or None when the split cannot enter the top k.

    Splits over more days score less, so once plans are held a split is dropped as soon as
    its best imaginable plan (starting at its earliest possible start) cannot beat them,
    before its later days' masks are even computed.
    """
    days = len(chunks)
    if scoring.upper_bound(space.earliest, space.earliest, days) <= threshold:
        return None
    masks = []
    for first, last in chunks:
        mask = cache.get((first, last))
        if mask is None:
            mask = cache[(first, last)] = _chunk_mask(space, first, last)
        if not mask:
            return None
        if not masks:
            earliest_start = space.grid.minute((mask & -mask).bit_length() - 1)
            if scoring.upper_bound(earliest_start, space.earliest, days) <= threshold:
                return None
        masks.append(mask)
    return masks


def _chunk_mask(space: SearchSpace, first: int, last: int) -> int:
    """First-session starts at which sessions first..last-1 each fit, back to back, in one day.

    A necessary condition, computed for every start at once: each session has the candidate,
    a room and enough qualified interviewers free (`SearchSpace.session_mask`), and sessions
    drawing on one narrow pool have enough different people between them (`_shared_pools`).
    """
    offsets = space.offsets(first, last)
    span = offsets[-1] + space.sessions[last - 1].slots
    mask = space.grid.quarter_hours & space.same_day_starts(span)
    for spec, offset in zip(space.sessions[first:last], offsets, strict=True):
        if not mask:
            return 0
        mask &= space.session_mask(spec) >> offset
    if mask:
        mask &= _shared_pools(space, space.sessions[first:last], offsets)
    return mask


def _shared_pools(space: SearchSpace, specs, offsets: list[int]) -> int:
    """Starts at which sessions sharing a pool can be staffed by different interviewers.

    Hall's condition for one group of seats: for each session with an area rule, the
    sessions whose pool lies inside its pool need that many distinct people from it, each
    free for at least one of those sessions. E.g. a talk needing 2 NLP interviewers and an NLP
    depth session need 3 NLP people between them. (ANY pools are skipped: they are large,
    rarely the bottleneck, and would cost the most to count.)
    """
    mask = -1
    for spec in specs:
        if spec.areas is None:
            continue
        group = [
            (other, offset)
            for other, offset in zip(specs, offsets, strict=True)
            if other.members <= spec.members
        ]
        seats = sum(other.needed for other, _ in group)
        if len(group) < 2:
            continue  # one session alone is covered by its session mask
        per_person = []
        for interviewer in spec.pool:
            free = 0
            for other, offset in group:
                if interviewer in other.members:
                    free |= space.interviewer_starts(interviewer, other.slots) >> offset
            per_person.append(free)
        mask &= at_least(per_person, seats)
    return mask


def _may_meet_preferred(space: SearchSpace, chunks: list[tuple[int, int]]) -> bool:
    """Whether some session of the split could overlap the candidate's preferred hours."""
    if space.preferred is None:
        return True
    preferred = space.grid.mask_touching(space.preferred)
    for first, last in chunks:
        for spec in space.sessions[first:last]:
            # Starts s whose session [s, s + slots) meets a preferred slot: preferred slots
            # smeared back by up to slots - 1.
            reach, covered = preferred, 1
            while covered < spec.slots:
                step = min(covered, spec.slots - covered)
                reach |= reach >> step
                covered += step
            if space.session_mask(spec) & reach:
                return True
    return False


def _layouts(
    space: SearchSpace, chunks: list[tuple[int, int]], chunk_masks: list[int]
) -> Iterator[list[int]]:
    """Start slots of every session, ordered by the loop's first start.

    For a multi-day split, each first-day start is followed by a few combinations of the
    earliest starts of the later parts on later candidate-local dates.
    """
    offsets = [space.offsets(first, last) for first, last in chunks]
    for first_start in bits(chunk_masks[0]):
        tried = 0
        for chunk_starts in _later_parts(space, chunk_masks[1:], [first_start]):
            yield [start + off for start, offs in zip(chunk_starts, offsets) for off in offs]
            tried += 1
            if tried >= LATER_DAY_OPTIONS:
                break


def _later_parts(space: SearchSpace, masks: list[int], starts: list[int]) -> Iterator[list[int]]:
    if not masks:
        yield starts
        return
    # The next part goes on a later candidate-local date than the previous one.
    day = space.candidate_day_index(space.grid.minute(starts[-1]))
    if day + 1 >= len(space.candidate_days):
        return
    from_slot = max(0, space.grid.slot_ceil(space.candidate_day_starts[day + 1]))
    for offset in _first_bits(masks[0] >> from_slot, LATER_DAY_OPTIONS):
        yield from _later_parts(space, masks[1:], [*starts, from_slot + offset])


def _first_bits(mask: int, limit: int) -> list[int]:
    out = []
    for bit in bits(mask):
        out.append(bit)
        if len(out) == limit:
            break
    return out


def _ranked_layouts(
    space: SearchSpace, chunks: list[tuple[int, int]], chunk_masks: list[int], best: _TopPlans
) -> Iterator[tuple[list[int], list[str | None], float, float]]:
    """Layouts best bound first, with their rooms, travel and preferred-hours parts.

    A layout's bound (`scoring.upper_bound` with its exact preferred-hours part, then its
    exact travel part once rooms are chosen) is known before any interviewer is matched.
    Layouts are read in time order, whose bound without those parts only falls, and held in
    a heap; the best held layout is handed out once no unread layout could beat it. So the
    costly matchings go to the most promising starts first (for a far-away candidate, the
    ones inside their preferred hours rather than the earliest), and the scan ends as soon as
    nothing left, read or unread, can enter the top k.
    """
    days = len(chunks)
    # When no session of this split can touch the candidate's preferred hours, the
    # preferred part is 0 for every layout: bounding with 0 instead of 1 stops the scan
    # 10 points sooner (a far-away candidate whose preferred hours are our night).
    ceiling = 1.0 if _may_meet_preferred(space, chunks) else 0.0
    pending = _layouts(space, chunks, chunk_masks)
    upcoming = next(pending, None)
    # (-bound, first minute, read order, layout, rooms or None if not chosen yet, preferred)
    held: list[tuple[float, int, int, list[int], list[str | None] | None, float]] = []
    order = 0
    while True:
        while upcoming is not None:
            first_minute = space.grid.minute(upcoming[0])
            reachable = scoring.upper_bound(
                first_minute, space.earliest, days, preferred=ceiling
            )
            if reachable <= best.threshold():
                upcoming = None  # every later start scores lower still
                break
            if held and reachable <= -held[0][0]:
                break  # the best held layout beats anything still unread
            preferred = (
                scoring.preferred_part(_times(space, upcoming), space.preferred)
                if space.preferred is not None
                else 1.0
            )
            bound = scoring.upper_bound(first_minute, space.earliest, days, 1.0, preferred)
            if bound > best.threshold():
                heapq.heappush(held, (-bound, first_minute, order, upcoming, None, preferred))
                order += 1
            upcoming = next(pending, None)
        if not held:
            return
        neg_bound, first_minute, seq, layout, rooms, preferred = heapq.heappop(held)
        if -neg_bound <= best.threshold():
            held.clear()  # the best held cannot enter, so none of them can
            continue
        if space.office_id is None:
            yield layout, [None] * len(layout), 1.0, preferred
            continue
        if rooms is None:
            # Rooms fix the travel part: re-queue with the tighter bound unless still best.
            rooms = assign_rooms(space, chunks, layout)
            if rooms is None:
                continue
            travel = scoring.travel_part(_room_pairs(space, chunks, rooms))
            bound = scoring.upper_bound(first_minute, space.earliest, days, travel, preferred)
            if held and bound < -held[0][0]:
                heapq.heappush(held, (-bound, first_minute, seq, layout, rooms, preferred))
                continue
        travel = scoring.travel_part(_room_pairs(space, chunks, rooms))
        yield layout, rooms, travel, preferred


# ---------------------------------------------------------------- plans


def _times(space: SearchSpace, layout: list[int]) -> list[tuple[int, int]]:
    out = []
    for spec, slot in zip(space.sessions, layout, strict=True):
        start = space.grid.minute(slot)
        out.append((start, start + spec.minutes))
    return out


def _room_pairs(
    space: SearchSpace, chunks: list[tuple[int, int]], rooms: list[str | None]
) -> list[tuple[str | None, str, str | None, str]]:
    """Consecutive same-day sessions' rooms and location hints, for the travel score."""
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
    return pairs


def _staffings(space: SearchSpace, layout: list[int]) -> Iterator[tuple[tuple[str, ...], ...]]:
    """Up to PLANS_PER_START different staffings of one layout (the second avoids the first)."""
    first = assign_interviewers(space, layout)
    if first is None:
        return
    yield first
    for _ in range(PLANS_PER_START - 1):
        avoid = frozenset(i for team in first for i in team)
        other = assign_interviewers(space, layout, avoid)
        if other is None or other == first:
            return
        yield other
        first = other


def _score_parts(
    space: SearchSpace,
    layout: list[int],
    days: int,
    staff: tuple[tuple[str, ...], ...],
    travel: float,
    preferred: float,
) -> dict[str, float]:
    loads = [
        space.week_load(i, space.grid.minute(slot))
        for slot, team in zip(layout, staff, strict=True)
        for i in team
    ]
    return {
        "earliness": scoring.earliness(space.grid.minute(layout[0]), space.earliest),
        "days": scoring.days_part(days),
        "load_balance": scoring.load_part(loads),
        "travel": travel,
        "preferred_hours": preferred,
    }


def _build_plan(
    space: SearchSpace,
    layout: list[int],
    days: int,
    staff: tuple[tuple[str, ...], ...],
    rooms: list[str | None],
    parts: dict[str, float],
) -> Plan:
    request = space.request
    sessions = tuple(
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
        for spec, (start, end), team, room_id in zip(
            space.sessions, _times(space, layout), staff, rooms, strict=True
        )
    )
    return Plan(
        candidate_id=request.candidate.id,
        template_id=request.template.id,
        mode=LocationMode.REMOTE if space.remote else LocationMode.ONSITE,
        office_id=space.office_id,
        sessions=sessions,
        score=scoring.combine(parts),
        score_breakdown=parts,
        days=days,
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
        self._per_start: dict[int, int] = {}  # staffings found per first start

    @staticmethod
    def _key(plan: Plan):
        # Best first; ties go to the earlier plan, then a stable order of ids.
        return (
            -plan.score,
            plan.sessions[0].start,
            tuple(s.interviewer_ids for s in plan.sessions),
        )

    def count_start(self, first_minute: int) -> None:
        """Note one more staffing found at this first start (kept or not)."""
        self._per_start[first_minute] = self._per_start.get(first_minute, 0) + 1

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

    def full_at(self, first_minute: int) -> bool:
        """Whether PLANS_PER_START staffings were already found at this first start."""
        return self._per_start.get(first_minute, 0) >= PLANS_PER_START

    def threshold(self) -> float:
        """Score a new plan must beat to enter the top k (-inf until k plans are held)."""
        return self._threshold

    def result(self) -> tuple[Plan, ...]:
        return tuple(self.plans[: self.limit])

