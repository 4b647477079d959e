"""Input and output of one cohort run, as plain dataclasses (no protos here)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.scheduling.domain.model import Plan


class Source(enum.Enum):
    """Which method produced the returned assignment."""

    GREEDY = "greedy"
    CP_SAT = "cp-sat"
    # CP-SAT's (or greedy's) assignment with loops added or load flattened by `improve`.
    IMPROVED = "improved"


@dataclass(frozen=True)
class Load:
    """Sessions and minutes the cohort gives one interviewer (existing bookings not included)."""

    sessions: int = 0
    minutes: int = 0


@dataclass(frozen=True)
class Progress:
    """Reported while a run works; `fraction` only grows, from 0 to 1."""

    fraction: float
    stage: str  # "greedy", "options", "solving", "balancing", "improving", "done"
    loops: int  # loops in the best assignment known so far


@dataclass(frozen=True)
class CohortResult:
    """One plan (or None) per entry, in entry order, and how it was found.

    `upper_bound` is CP-SAT's proven bound on loops *over the options it was given* (plans the
    single-loop search generated), not over every conceivable plan; `loops_possible` (entries
    with at least one plan on their own) is a bound over everything.
    """

    plans: tuple[Plan | None, ...]
    reasons: tuple[str, ...]  # why each unplaced entry is unplaced; "" when placed
    greedy_loops: int
    loops_possible: int
    upper_bound: int | None
    source: Source
    solver_status: str  # CP-SAT status name, or "NOT_RUN"
    cancelled: bool
    options: int  # candidate plans the model chose among
    seconds_total: float
    seconds_to_first: float | None  # first CP-SAT solution, from the start of the run
    seconds_to_best: float | None  # best solution returned, from the start of the run
    loads: Mapping[str, Load] = field(default_factory=dict)
    # The greedy assignment itself, for comparisons (benchmark, load spread).
    baseline: tuple[Plan | None, ...] = ()
    # Loops the improvement phase added after CP-SAT (residual fill + LNS).
    improved_loops: int = 0

    @property
    def loops(self) -> int:
        return sum(p is not None for p in self.plans)
