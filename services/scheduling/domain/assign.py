"""The exact check at one layout: who interviews in each session, and in which room.

The bitset filter (`SearchSpace.session_mask`) already knows each session has enough free
qualified interviewers on its own; what it cannot know is whether the sessions can be staffed
together, since nobody interviews twice in one loop. That is a bipartite matching of
interviewer seats to interviewers, solved here with augmenting paths (Kuhn's algorithm);
sizes are tiny (a handful of seats, tens of candidates per seat).
"""

from __future__ import annotations

from services.scheduling.domain.grid import has
from services.scheduling.domain.space import SearchSpace, SessionSpec


def assign_interviewers(
    space: SearchSpace, layout: list[int], avoid: frozenset[str] = frozenset()
) -> tuple[tuple[str, ...], ...] | None:
    """Interviewer ids per session (sorted within a session), or None when none fits.

    Candidates for a seat are tried least loaded first (`SearchSpace.ordered_pool`), with
    `avoid` (the previous plan's interviewers) pushed last so that a second plan at the same
    start differs. Each seat's list is cut to as many candidates as there are seats in
    the loop: with that many, any matching that exists can still be found (at most seats-1
    of a seat's candidates can be taken by the other seats).
    """
    seats_total = sum(spec.needed for spec in space.sessions)
    options: list[list[str]] = []
    seat_session: list[int] = []
    for spec, slot in zip(space.sessions, layout, strict=True):
        # The first 2 * seats free people hold the first `seats` not avoided (at most `seats`
        # are avoided), and every avoided one met before them: the list below is the same
        # as from a scan of the whole pool.
        preferred: list[str] = []
        avoided: list[str] = []
        for interviewer in _free_prefix(space, spec, slot, 2 * seats_total):
            if interviewer in avoid:
                avoided.append(interviewer)
            else:
                preferred.append(interviewer)
                if len(preferred) == seats_total:
                    break
        free = (preferred + avoided)[:seats_total]
        if len(free) < spec.needed:
            return None
        for _ in range(spec.needed):
            options.append(free)
            seat_session.append(spec.index)

    holder: dict[str, int] = {}  # interviewer -> seat

    def place(seat: int, tried: set[str]) -> bool:
        for interviewer in options[seat]:
            if interviewer in tried:
                continue
            tried.add(interviewer)
            other = holder.get(interviewer)
            if other is None or place(other, tried):
                holder[interviewer] = seat
                return True
        return False

    for seat in range(len(options)):
        if not place(seat, set()):
            return None
    teams: list[list[str]] = [[] for _ in space.sessions]
    for interviewer, seat in holder.items():
        teams[seat_session[seat]].append(interviewer)
    return tuple(tuple(sorted(team)) for team in teams)


def _free_prefix(space: SearchSpace, spec: SessionSpec, slot: int, limit: int) -> list[str]:
    """The first `limit` pool members free for the session at `slot`, least loaded first.

    Cached per (session, slot): both plans at one start, and every first-day start of a
    multi-day loop that reuses a later day's start, read the same list.
    """
    key = (spec.index, slot)
    found = space.free_prefixes.get(key)
    if found is None:
        found = []
        byte, bit = slot >> 3, 1 << (slot & 7)
        tables, lookup, slots = space.start_tables(spec.slots), space.starts_lookup, spec.slots
        for interviewer in space.ordered_pool(spec, space.grid.minute(slot)):
            table = tables.get(interviewer) or lookup(interviewer, slots)
            if table[byte] & bit:
                found.append(interviewer)
                if len(found) == limit:
                    break
        space.free_prefixes[key] = found
    return found


def assign_rooms(
    space: SearchSpace, chunks: list[tuple[int, int]], layout: list[int]
) -> list[str | None] | None:
    """A room per session (None when remote), or None when some session has no room.

    Per day, greedily keep one room for as long a run of consecutive sessions as possible
    (which minimises room changes); on a change prefer a room with the same location hint,
    then the smallest that fits (big rooms stay free for panels), then by id.
    """
    if space.office_id is None:
        return [None] * len(space.sessions)
    out: list[str | None] = [None] * len(space.sessions)
    for first, last in chunks:
        free: list[set[str]] = []
        for i in range(first, last):
            spec = space.sessions[i]
            here = {r for r in spec.rooms if has(space.room_starts(r, spec.slots), layout[i])}
            if not here:
                return None
            free.append(here)
        i = 0
        previous_hint: str | None = None
        while i < len(free):

            def preference(room_id: str, i: int = i) -> tuple:
                run = 0
                while i + run < len(free) and room_id in free[i + run]:
                    run += 1
                room = space.room(room_id)
                same_hint = previous_hint is not None and room.location_hint == previous_hint
                return (-run, not same_hint, room.capacity, room_id)

            choice = min(free[i], key=preference)
            run = -preference(choice)[0]
            for k in range(i, i + run):
                out[first + k] = choice
            previous_hint = space.room(choice).location_hint or None
            i += run
    return out
