"""Why a search found nothing: the rule that emptied it, per candidate-local day.

Runs only when `find_plans` has no plan, so it may recompute what the search skipped. Rules
are applied in a fixed order and the first one that leaves a day empty is reported for that
day, e.g. OFFICE_CLOSED before OUTSIDE_AVAILABILITY before NO_QUALIFIED_INTERVIEWER. Problems
that hold on every day (nobody qualified at all, no room with the needed features) are
reported once, without a date, instead.

Codes: WINDOW_EMPTY, NO_QUALIFIED_INTERVIEWER, NO_ROOM, NO_ROOM_LARGE_ENOUGH,
NO_ACCESSIBLE_ROOM, NO_QUIET_ROOM, OFFICE_CLOSED, OUTSIDE_AVAILABILITY,
OUTSIDE_ALLOWED_WINDOWS, WINDOW_TOO_SHORT, INTERVIEWER_LIMIT_REACHED, NO_CONSECUTIVE_FIT.
"""

from __future__ import annotations

from datetime import date

from services.scheduling.domain import rules
from services.scheduling.domain.grid import at_least, run_starts
from services.scheduling.domain.model import NoPlanReason
from services.scheduling.domain.space import SearchSpace, SessionSpec
from services.scheduling.domain.timeutil import Interval, clip, local_date, longest

_ROOM_WORDS = {
    "NO_ROOM_LARGE_ENOUGH": "large enough",
    "NO_ACCESSIBLE_ROOM": "wheelchair-accessible",
    "NO_QUIET_ROOM": "quiet",
}


def explain(space: SearchSpace) -> list[NoPlanReason]:
    if not space.stage_window:
        return [_empty_window(space)]
    general = _general_reasons(space)
    if general:
        return general
    reasons = []
    bounds = space.candidate_day_starts
    for i, day in enumerate(space.candidate_days):
        reason = _day_reason(space, day, bounds[i], bounds[i + 1])
        if reason is not None:
            reasons.append(reason)
    return reasons


def _empty_window(space: SearchSpace) -> NoPlanReason:
    request = space.request
    if request.window.end <= request.now + request.min_notice:
        why = f"the window ends before the minimum notice ({request.min_notice}) runs out"
    else:
        why = f"the window starts after the scheduling horizon ({request.horizon.days} days)"
    return NoPlanReason("WINDOW_EMPTY", why)


def _general_reasons(space: SearchSpace) -> list[NoPlanReason]:
    out: list[NoPlanReason] = []
    where = f" at office {space.office_id}" if space.office_id else ""
    candidate = space.request.candidate
    constraints = space.request.constraints
    for spec in space.sessions:
        if not spec.pool:
            label = rules.area_label(spec.template.area_rule, candidate)
            out.append(
                NoPlanReason(
                    "NO_QUALIFIED_INTERVIEWER",
                    f"no qualified {label + ' ' if label else ''}interviewer{where} "
                    f"for session '{spec.template.title}'",
                )
            )
        if space.office_id is not None and not spec.rooms:
            seats = rules.seats_needed(spec.needed, constraints)
            at_office = [
                r for r in space.directory.rooms.values() if r.office_id == space.office_id
            ]
            code = "NO_ROOM"
            message = f"office {space.office_id} has no rooms"
            if at_office:
                # Report the first feature requirement that rules the last rooms out.
                code = _room_code(at_office, seats, constraints)
                message = (
                    f"no {_ROOM_WORDS[code]} room{where} for session "
                    f"'{spec.template.title}' ({seats} seats)"
                )
            out.append(NoPlanReason(code, message))
    return _unique(out)


def _room_code(rooms, seats, constraints) -> str:
    """The requirement that eliminates the last rooms, in the order capacity, access, quiet."""
    remaining = list(rooms)
    checks = [
        ("NO_ROOM_LARGE_ENOUGH", lambda r: r.capacity >= seats),
        (
            "NO_ACCESSIBLE_ROOM",
            lambda r: not constraints.accessible_room or r.wheelchair_accessible,
        ),
        ("NO_QUIET_ROOM", lambda r: not constraints.quiet_room or r.quiet),
    ]
    for code, keep in checks:
        remaining = [r for r in remaining if keep(r)]
        if not remaining:
            return code
    return "NO_ROOM"


def _day_reason(space: SearchSpace, day: date, start: int, end: int) -> NoPlanReason | None:
    iso = day.isoformat()
    if not clip(space.stage_window, start, end):
        return None  # the day is outside the window: nothing to explain
    if space.office is not None and not clip(space.stage_office, start, end):
        office = space.office
        holiday = any(
            local_date(office.time_zone, m) in office.holidays
            for m in (max(start, space.earliest), min(end, space.latest) - 1)
        )
        why = "a holiday" if holiday else "outside office hours"
        return NoPlanReason("OFFICE_CLOSED", f"office {office.id} is closed on {iso} ({why})", day)
    if not clip(space.stage_availability, start, end):
        return NoPlanReason(
            "OUTSIDE_AVAILABILITY", f"the candidate is not available on {iso}", day
        )
    free: list[Interval] = clip(space.stage_allowed, start, end)
    if not free:
        return NoPlanReason(
            "OUTSIDE_ALLOWED_WINDOWS", f"no allowed time window for the candidate on {iso}", day
        )
    need = _shortest_day_minutes(space)
    if longest(free) < need:
        return NoPlanReason(
            "WINDOW_TOO_SHORT",
            f"the longest free stretch on {iso} is {longest(free)} minutes; "
            f"the loop needs {need} minutes in one stretch",
            day,
        )
    grid = space.grid
    today = grid.span(grid.slot_ceil(start), grid.slot_floor(end))
    for spec in space.sessions:
        reason = _session_reason(space, spec, today, day)
        if reason is not None:
            return reason
    return NoPlanReason(
        "NO_CONSECUTIVE_FIT",
        f"each session fits on its own on {iso}, but not one after another "
        f"with {space.gap}-minute gaps and a different interviewer each",
        day,
    )


def _shortest_day_minutes(space: SearchSpace) -> int:
    """Minutes the shortest day of any allowed split needs in one stretch."""
    sessions = space.sessions
    count = len(sessions)
    # The smallest per-day part: a single session if the loop may be split, else all of it.
    size = 1 if space.most_days > 1 else count
    best = None
    for first in range(count - size + 1):
        part = sessions[first : first + size]
        total = sum(s.minutes for s in part) + space.gap * (size - 1)
        best = total if best is None else min(best, total)
    return best or 0


def _session_reason(
    space: SearchSpace, spec: SessionSpec, today: int, day: date
) -> NoPlanReason | None:
    iso = day.isoformat()
    fits, anyone, staffed, rooms = _session_masks(space, spec)
    fits &= today
    label = rules.area_label(spec.template.area_rule, space.request.candidate)
    who = f"qualified {label} interviewer" if label else "interviewer"
    if not fits & anyone:
        many = f"{spec.needed} " if spec.needed > 1 else ""
        plural = "s" if spec.needed > 1 else ""
        return NoPlanReason(
            "NO_QUALIFIED_INTERVIEWER", f"no {many}{who}{plural} free on {iso}", day
        )
    if not fits & staffed:
        return NoPlanReason(
            "INTERVIEWER_LIMIT_REACHED",
            f"every {who} free on {iso} is at their daily or weekly interview limit",
            day,
        )
    if not fits & staffed & rooms:
        constraints = space.request.constraints
        code, kind = "NO_ROOM", "suitable"
        if constraints.accessible_room:
            code, kind = "NO_ACCESSIBLE_ROOM", "wheelchair-accessible"
        elif constraints.quiet_room:
            code, kind = "NO_QUIET_ROOM", "quiet"
        return NoPlanReason(
            code,
            f"no {kind} room free on {iso} when a {who} is free "
            f"for session '{spec.template.title}'",
            day,
        )
    return None


def _session_masks(space: SearchSpace, spec: SessionSpec) -> tuple[int, int, int, int]:
    """(candidate free, enough people ignoring load limits, enough people, a room) starts.

    Computed once per session for the whole window; each day then only ANDs its own slots.
    """
    cache = space.diagnosis_masks
    found = cache.get(spec.index)
    if found is None:
        fits = run_starts(space.candidate_mask, spec.slots)
        # Members whose working hours never meet the candidate's free time cannot change
        # any of these masks within `fits`; skipping them skips their busy time.
        pool = space.reachable(spec, with_rooms=False)
        anyone = at_least(
            [run_starts(space.interviewer_free(i, with_limits=False), spec.slots) for i in pool],
            spec.needed,
        )
        staffed = at_least([space.interviewer_starts(i, spec.slots) for i in pool], spec.needed)
        rooms = space.grid.full
        if space.office_id is not None:
            rooms = 0
            for room_id in spec.rooms:
                rooms |= space.room_starts(room_id, spec.slots)
        found = (fits, anyone, staffed, rooms)
        cache[spec.index] = found
    return found


def _unique(reasons: list[NoPlanReason]) -> list[NoPlanReason]:
    seen = set()
    out = []
    for reason in reasons:
        if reason not in seen:
            seen.add(reason)
            out.append(reason)
    return out
