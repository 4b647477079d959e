"""After CP-SAT: fill the gaps its options missed, then a small LNS. Only ever adds loops.

CP-SAT chooses among options generated on the empty world, so the gaps that open once others
are placed (a morning left free between two loops, an interviewer freed by a re-staffing) are
not among them. Two steps, inside the time the engine gives them:

1. Residual fill: on the world plus the best assignment so far (its reservations as busy time,
   its sessions counted toward load limits: `ledger.with_plans`), each unplaced entry gets the
   single-loop search's best plan that still fits (`greedy.place`, the very request greedy
   makes, accommodations included). Fewest options first, then randomised orders from the
   same start while the fill's share of the time lasts; the best result is kept.
2. LNS: pick an unplaced entry and one of its options, remove the (at most `MAX_REMOVED`) placed
   loops whose reserved ranges it overlaps, put the option in, and re-place the removed entries
   with the residual search, or else one of their options that still fits (then try every
   other unplaced entry, on an improvement). The move is
   kept only with more loops, or as many and a flatter interviewer load (lower peak, then lower
   sum of squares). Seeded, so a run is reproducible given the same stopping point. It stops
   at the deadline, on cancellation, or after `STALL_PER_TARGET` fruitless moves per entry.

Every plan placed is either a search plan on the residual world or an option (a search plan on
the empty world) that the ledger accepts against everything else placed, so the assignment
stays valid; the engine still re-checks it with the independent validator.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from services.scheduling.cohort.greedy import place
from services.scheduling.cohort.ledger import Ledger, Resource, reservations, with_plans
from services.scheduling.domain.model import DirectorySnapshot, Plan, SearchRequest

# Placed loops an LNS move may take out to make room for one unplaced entry.
MAX_REMOVED = 4
# The LNS gives up after this many moves per unplaced entry in a row without a kept one (a
# small world whose options are exhausted would otherwise spin until the deadline).
STALL_PER_TARGET = 25
# Share of the phase's time for step 1 (its randomised orders); the LNS gets the rest.
FILL_SHARE = 0.25
# Randomised fill orders tried at most (each is one search per unplaced entry).
FILL_ORDERS = 8

Plans = list[Plan | None]


@dataclass(frozen=True)
class Improvement:
    plans: tuple[Plan | None, ...]
    filled: int  # loops the residual fill added
    moved: int  # loops the LNS added
    moves: int  # LNS moves tried
    kept: int  # LNS moves kept (more loops, or as many and a flatter load)


def load_key(plans: Sequence[Plan | None]) -> tuple[int, int]:
    """(peak, sum of squares) of cohort sessions per interviewer: lower is flatter."""
    counts: Counter[str] = Counter()
    for plan in plans:
        for session in plan.sessions if plan is not None else ():
            counts.update(session.interviewer_ids)
    return max(counts.values(), default=0), sum(c * c for c in counts.values())


def _loops(plans: Sequence[Plan | None]) -> int:
    return sum(p is not None for p in plans)


def _better(new: Sequence[Plan | None], old: Sequence[Plan | None]) -> bool:
    a, b = _loops(new), _loops(old)
    return a > b or (a == b and load_key(new) < load_key(old))


def fill(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    plans: Plans,
    order: Sequence[int],
    should_stop: Callable[[], bool],
    options: Sequence[Sequence[Plan]] | None = None,
    rng: random.Random | None = None,
) -> int:
    """Place unplaced entries of `order` in turn on the residual world; loops added.

    With `options` (and `rng`), an entry the search cannot place takes the first of its options
    (in random order) that still fits.
    """
    ledger = Ledger(directory)
    for plan in plans:
        if plan is not None:
            ledger.add(plan)
    return _fill(entries, directory, ledger, plans, order, should_stop, options, rng)


def _fill(entries, directory, ledger, plans, order, should_stop, options, rng) -> int:
    current = with_plans(directory, [p for p in plans if p is not None])
    added = 0
    for e in order:
        if plans[e] is not None:
            continue
        if should_stop():
            break
        plan, _reason = place(entries[e], current, ledger)
        if plan is None and options is not None and rng is not None:
            plan = _fitting(options[e], ledger, rng)
        if plan is not None:
            ledger.add(plan)
            current = with_plans(current, [plan])
            plans[e] = plan
            added += 1
    return added


def _fitting(options: Sequence[Plan], ledger: Ledger, rng: random.Random) -> Plan | None:
    for k in rng.sample(range(len(options)), len(options)):
        if ledger.conflict(options[k]) is None:
            return options[k]
    return None


def improve(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    plans: Sequence[Plan | None],
    options: Sequence[Sequence[Plan]],
    *,
    deadline: float,
    should_stop: Callable[[], bool],
    clock: Callable[[], float],
    seed: int = 0,
    on_loops: Callable[[int], None] = lambda loops: None,
) -> Improvement:
    """A valid assignment with at least as many loops as `plans` (a valid one), by `deadline`.

    `options[e]`: plans the search found for entry e on the empty world (LNS targets).
    """
    rng = random.Random(seed)
    started = clock()

    def over() -> bool:
        return should_stop() or clock() >= deadline

    before = _loops(plans)
    fewest = sorted(range(len(entries)), key=lambda e: (len(options[e]), e))
    best = list(plans)
    fill(entries, directory, best, fewest, over)
    fill_until = started + FILL_SHARE * (deadline - started)
    for _ in range(FILL_ORDERS):
        if over() or clock() >= fill_until:
            break
        order = list(range(len(entries)))
        rng.shuffle(order)
        trial = list(plans)
        fill(entries, directory, trial, order, over)
        if _better(trial, best):
            best = trial
    filled = _loops(best) - before
    if filled:
        on_loops(_loops(best))

    moves = kept = 0
    targets = [e for e in range(len(entries)) if options[e]]
    index = _Index(best)
    stalled = 0
    while not over():
        wanting = [e for e in targets if best[e] is None]
        if not wanting or stalled >= STALL_PER_TARGET * len(wanting):
            break
        moves += 1
        stalled += 1
        target = rng.choice(wanting)
        trial = _move(entries, directory, best, index, options, target, rng, over)
        if trial is None or not _better(trial, best):
            continue
        if _loops(trial) > _loops(best):
            # The world changed: others may fit now too.
            rest = [e for e in wanting if trial[e] is None]
            rng.shuffle(rest)
            fill(entries, directory, trial, rest, over)
        best = trial
        index = _Index(best)
        kept += 1
        stalled = 0
        on_loops(_loops(best))
    return Improvement(tuple(best), filled, _loops(best) - before - filled, moves, kept)


class _Index:
    """Reserved ranges of an assignment by resource, to find what blocks a plan."""

    def __init__(self, plans: Sequence[Plan | None]) -> None:
        self.ranges: dict[Resource, list[tuple]] = defaultdict(list)
        for e, plan in enumerate(plans):
            if plan is not None:
                for resource, start, end in reservations(plan):
                    self.ranges[resource].append((start, end, e))

    def blockers(self, plan: Plan) -> set[int]:
        """Entries whose reserved ranges overlap one of `plan`'s."""
        out = set()
        for resource, start, end in reservations(plan):
            out.update(e for s, t, e in self.ranges.get(resource, ()) if s < end and start < t)
        return out


def _move(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    plans: Sequence[Plan | None],
    index: _Index,
    options: Sequence[Sequence[Plan]],
    target: int,
    rng: random.Random,
    should_stop: Callable[[], bool],
) -> Plans | None:
    """`target` placed with one of its options (drawn at random) after taking out what blocks
    it, the removed entries re-placed where the residual search (or one of their options) finds
    room. None when the move is impossible.

    Measured on the 200-candidate tight week from greedy's assignment, 8 s: preferring the
    options with the fewest blockers placed fewer loops (76) than drawing any (78-79), and so
    did searching the target's plan on the freed world instead of taking the option."""
    option = rng.choice(options[target])
    blockers = index.blockers(option)
    if len(blockers) > MAX_REMOVED:
        return None
    trial = [None if e in blockers else p for e, p in enumerate(plans)]
    ledger = Ledger(directory)
    for plan in trial:
        if plan is not None:
            ledger.add(plan)
    if ledger.conflict(option) is not None:  # a load limit, or a gap tail
        return None
    trial[target] = option
    ledger.add(option)
    removed = sorted(blockers)
    rng.shuffle(removed)
    _fill(entries, directory, ledger, trial, removed, should_stop, options, rng)
    return trial
