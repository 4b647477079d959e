"""The baseline: book candidates one by one in arrival order, as a coordinator would.

Each entry takes the single-loop search's best plan on the world as left by the entries before
it (their reservations added to the busy time and their sessions to the load counts). The
search keeps only the sessions themselves clear of busy time, so its best plan can still hit a
booked gap tail (see `ledger`); then the next best is taken, as booking would force.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from services.core.errors import InvalidArgument
from services.scheduling.cohort.ledger import Ledger, with_plans
from services.scheduling.domain.model import (
    DirectorySnapshot,
    NoPlanReason,
    Plan,
    SearchRequest,
)
from services.scheduling.domain.search import find_plans

# How far down the ranked list greedy looks when the best plans collide on a gap tail.
GREEDY_PLANS = 5
TAKEN = "every plan the search found collides with loops placed before it"


@dataclass(frozen=True)
class GreedyOutcome:
    plans: tuple[Plan | None, ...]
    reasons: tuple[str, ...]
    cancelled: bool


# Days that could never hold an interview (a weekend the office is closed, a day the candidate
# is away) say little about why a cohort entry found no plan; the reasons why a usable day
# failed (nobody qualified free, no suitable room) say what to change.
_UNUSABLE_DAY = frozenset({"OFFICE_CLOSED", "OUTSIDE_AVAILABILITY", "OUTSIDE_ALLOWED_WINDOWS"})


def describe(reasons: Sequence[NoPlanReason], limit: int = 3) -> str:
    """No-plan reasons in one line, most useful first: those without a date (they apply
    everywhere), then why usable days failed, earliest first, then the unusable days."""
    if not reasons:
        return "no plan in the window"
    ordered = sorted(reasons, key=lambda r: (r.date is not None, r.code in _UNUSABLE_DAY, r.date or 0))
    seen: list[str] = []
    for reason in ordered:
        text = reason.message or reason.code
        if text not in seen:
            seen.append(text)
    more = f" (and {len(seen) - limit} more)" if len(seen) > limit else ""
    return "; ".join(seen[:limit]) + more


def greedy(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_entry: Callable[[int, int], None] | None = None,
) -> GreedyOutcome:
    """`on_entry(done, loops)` after each entry; stops early (cancelled) when asked."""
    ledger = Ledger(directory)
    current = directory
    plans: list[Plan | None] = []
    reasons: list[str] = []
    cancelled = False
    loops = 0
    for request in entries:
        if should_stop():
            cancelled = True
            break
        plan, reason = place(request, current, ledger)
        plans.append(plan)
        reasons.append(reason)
        if plan is not None:
            ledger.add(plan)
            current = with_plans(current, [plan])
            loops += 1
        if on_entry is not None:
            on_entry(len(plans), loops)
    remaining = len(entries) - len(plans)
    plans.extend([None] * remaining)
    reasons.extend(["cancelled before this candidate was tried"] * remaining)
    return GreedyOutcome(tuple(plans), tuple(reasons), cancelled)


def place(
    request: SearchRequest, current: DirectorySnapshot, ledger: Ledger
) -> tuple[Plan | None, str]:
    """The search's best plan for `request` on `current` that still fits `ledger`.

    `current` is the directory with the ledger's plans booked (`with_plans`), so the plan
    obeys every single-loop rule against the world plus those plans; the ledger re-checks the
    gap tails the search does not keep clear. Also used by the residual fill (`improve`).
    """
    try:
        result = find_plans(replace(request, max_plans=GREEDY_PLANS), current)
    except InvalidArgument as error:
        return None, error.message
    for plan in result.plans:
        if ledger.conflict(plan) is None:
            return plan, ""
    if result.plans:
        return None, TAKEN
    return None, describe(result.no_plan_reasons)
