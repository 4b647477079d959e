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
   trying its `layouts.LATER_DAY_OPTIONS` earliest starts.
3. For each chunk, one AND over shifted bitsets gives every start at which each session has
   the candidate free, enough qualified interviewers free and a suitable room free, and
   sessions sharing a narrow pool have enough different people: a necessary condition,
   checked for all start times at once.
4. Only at those starts the exact check runs: interviewers are matched to sessions (a small
   bipartite matching, so nobody is in two sessions of one loop), preferring the least
   loaded, and rooms are chosen to minimise moves (`assign.py`).
5. Scoring (`scoring.py`). Before matching anyone, a layout's best possible score is known
   (its earliness, days, rooms and preferred hours are fixed; only load balance is not).
   Layouts are matched best bound first (`ranked_layouts`), and the scan stops once no
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

from collections.abc import Iterator
from datetime import timedelta

from services.scheduling.domain import scoring
from services.scheduling.domain.assign import assign_interviewers
from services.scheduling.domain.diagnose import explain
from services.scheduling.domain.layouts import (
    day_splits,
    ranked_layouts,
    session_times,
    split_masks,
)
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


def find_plans(request: SearchRequest, directory: DirectorySnapshot) -> SearchResult:
    """The best `request.max_plans` plans, best first; reasons when there are none.

    Raises `services.core.errors.InvalidArgument` for a malformed request (no sessions, an
    empty window, onsite without a known office).
    """
    space = SearchSpace(request, directory)
    best = _TopPlans(request.max_plans)
    failed = 0
    chunk_cache: dict[tuple[int, int], int] = {}
    for chunks in day_splits(space):
        days = len(chunks)
        chunk_masks = split_masks(space, chunks, chunk_cache, best.threshold())
        if chunk_masks is None:
            continue
        ranked = ranked_layouts(space, chunks, chunk_masks, best.threshold)
        for layout, rooms, travel, preferred in ranked:
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


# ---------------------------------------------------------------- plans


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
            space.sessions, session_times(space, layout), staff, rooms, strict=True
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

