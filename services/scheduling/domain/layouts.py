"""Where the sessions of a loop may go: per-day splits, start masks, and layouts by bound.

A layout is the start slot of every session. This module turns a `SearchSpace` into layouts,
best possible score first, without matching anyone to them: `search.py` then staffs them.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator

from services.scheduling.domain import scoring
from services.scheduling.domain.assign import assign_rooms
from services.scheduling.domain.grid import SLOT_MINUTES, at_least, bits
from services.scheduling.domain.space import SearchSpace, SessionSpec

# Starts tried for each later day's part of a multi-day loop, per first-day start: the
# earliest, and one more in case the first cannot be staffed by different people.
LATER_DAY_OPTIONS = 2


def day_splits(space: SearchSpace) -> Iterator[list[tuple[int, int]]]:
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


def split_masks(
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
            mask = cache[(first, last)] = chunk_mask(space, first, last)
        if not mask:
            return None
        if not masks:
            earliest_start = space.grid.minute((mask & -mask).bit_length() - 1)
            if scoring.upper_bound(earliest_start, space.earliest, days) <= threshold:
                return None
        masks.append(mask)
    return masks


def chunk_mask(space: SearchSpace, first: int, last: int) -> int:
    """First-session starts at which sessions first..last-1 each fit, back to back, in one day.

    A necessary condition, computed for every start at once: each session has the candidate,
    a room and enough qualified interviewers free (`SearchSpace.session_mask`), and sessions
    drawing on one narrow pool have enough different people between them (`shared_pools`).
    """
    offsets = space.offsets(first, last)
    span = offsets[-1] + space.sessions[last - 1].slots
    mask = space.grid.quarter_hours & space.same_day_starts(span)
    for spec, offset in zip(space.sessions[first:last], offsets, strict=True):
        if not mask:
            return 0
        mask &= space.session_mask(spec) >> offset
    if mask:
        mask &= shared_pools(space, space.sessions[first:last], offsets)
    return mask


def shared_pools(space: SearchSpace, specs: tuple[SessionSpec, ...], offsets: list[int]) -> int:
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


def may_meet_preferred(space: SearchSpace, chunks: list[tuple[int, int]]) -> bool:
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


def layouts(
    space: SearchSpace, chunks: list[tuple[int, int]], chunk_masks: list[int]
) -> Iterator[list[int]]:
    """Start slots of every session, ordered by the loop's first start.

    For a multi-day split, each first-day start is followed by a few combinations of the
    earliest starts of the later parts on later candidate-local dates.
    """
    offsets = [space.offsets(first, last) for first, last in chunks]
    # Minutes from a part's first start to the end of its last session.
    lengths = [
        off[-1] * SLOT_MINUTES + space.sessions[last - 1].minutes
        for off, (_, last) in zip(offsets, chunks, strict=True)
    ]
    for first_start in bits(chunk_masks[0]):
        tried = 0
        for chunk_starts in later_parts(space, chunk_masks[1:], lengths, [first_start]):
            yield [start + off for start, offs in zip(chunk_starts, offsets) for off in offs]
            tried += 1
            if tried >= LATER_DAY_OPTIONS:
                break


def later_parts(
    space: SearchSpace, masks: list[int], lengths: list[int], starts: list[int]
) -> Iterator[list[int]]:
    """Starts for the remaining parts, each on a later candidate-local date than the last.

    A later part also keeps the gap after the previous part's last session: a part ending at
    23:55 and the next starting at 00:00 are on two dates but still back to back.
    """
    if not masks:
        yield starts
        return
    previous_end = space.grid.minute(starts[-1]) + lengths[len(starts) - 1]
    day = space.candidate_day_index(space.grid.minute(starts[-1]))
    if day + 1 >= len(space.candidate_days):
        return
    from_slot = max(
        0,
        space.grid.slot_ceil(space.candidate_day_starts[day + 1]),
        space.grid.slot_ceil(previous_end + space.gap),
    )
    for offset in first_bits(masks[0] >> from_slot, LATER_DAY_OPTIONS):
        yield from later_parts(space, masks[1:], lengths, [*starts, from_slot + offset])


def first_bits(mask: int, limit: int) -> list[int]:
    out = []
    for bit in bits(mask):
        out.append(bit)
        if len(out) == limit:
            break
    return out


def ranked_layouts(
    space: SearchSpace,
    chunks: list[tuple[int, int]],
    chunk_masks: list[int],
    threshold: Callable[[], float],
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
    ceiling = 1.0 if may_meet_preferred(space, chunks) else 0.0
    pending = layouts(space, chunks, chunk_masks)
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
            if reachable <= threshold():
                upcoming = None  # every later start scores lower still
                break
            if held and reachable <= -held[0][0]:
                break  # the best held layout beats anything still unread
            preferred = (
                scoring.preferred_part(session_times(space, upcoming), space.preferred)
                if space.preferred is not None
                else 1.0
            )
            bound = scoring.upper_bound(first_minute, space.earliest, days, 1.0, preferred)
            if bound > threshold():
                heapq.heappush(held, (-bound, first_minute, order, upcoming, None, preferred))
                order += 1
            upcoming = next(pending, None)
        if not held:
            return
        neg_bound, first_minute, seq, layout, rooms, preferred = heapq.heappop(held)
        if -neg_bound <= threshold():
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
            travel = scoring.travel_part(room_pairs(space, chunks, rooms))
            bound = scoring.upper_bound(first_minute, space.earliest, days, travel, preferred)
            if held and bound < -held[0][0]:
                heapq.heappush(held, (-bound, first_minute, seq, layout, rooms, preferred))
                continue
        travel = scoring.travel_part(room_pairs(space, chunks, rooms))
        yield layout, rooms, travel, preferred


# ---------------------------------------------------------------- plans


def session_times(space: SearchSpace, layout: list[int]) -> list[tuple[int, int]]:
    out = []
    for spec, slot in zip(space.sessions, layout, strict=True):
        start = space.grid.minute(slot)
        out.append((start, start + spec.minutes))
    return out


def room_pairs(
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
