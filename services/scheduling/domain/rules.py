"""The scheduling rules themselves, shared by the search and by `validate_plan`.

Each function states one rule of issue 3 so that the search (which applies them to bitsets)
and the validator (which applies them to exact instants) cannot drift apart on what the rule
is, only on how it is checked.
"""

from __future__ import annotations

import math
from datetime import timedelta

from services.scheduling.domain.model import (
    AreaRule,
    Candidate,
    Constraints,
    Interviewer,
    LocationMode,
    LoopTemplate,
    MlArea,
    Room,
    SearchRequest,
    SessionTemplate,
)

ROUND_TO_MINUTES = 5


def whole_minutes(delta: timedelta) -> int:
    """A duration in minutes, rounded up (a 45m30s session needs 46 minutes)."""
    return math.ceil(delta.total_seconds() / 60)


def multiplier(constraints: Constraints) -> float:
    """The duration multiplier in force; unset (0) and shortening values mean 1.0.

    An accommodation only ever adds time, so a value below 1 is treated as no change
    rather than silently cutting an interview short.
    """
    return max(1.0, constraints.duration_multiplier or 1.0)


def session_minutes(session: SessionTemplate, constraints: Constraints) -> int:
    """Effective session length: multiplied, then rounded up to 5 minutes when extended."""
    base = whole_minutes(session.duration)
    factor = multiplier(constraints)
    if factor == 1.0:
        return base
    # Round before ceil so 60 * 1.1 (66.00000000000001) does not become 67 -> 70.
    extended = math.ceil(round(base * factor, 6))
    return -(-extended // ROUND_TO_MINUTES) * ROUND_TO_MINUTES


def gap_minutes(template: LoopTemplate, constraints: Constraints) -> int:
    """Free time required between consecutive sessions: template buffer + extra break."""
    return whole_minutes(template.buffer) + max(0, constraints.extra_break_minutes)


def interviewers_needed(session: SessionTemplate, constraints: Constraints) -> int:
    if constraints.one_interviewer_at_a_time:
        return 1
    return max(1, session.interviewers_needed)


def is_remote(request: SearchRequest) -> bool:
    """remote_only overrides an onsite request."""
    return request.constraints.remote_only or request.mode == LocationMode.REMOTE


def day_limits(template: LoopTemplate, constraints: Constraints) -> tuple[int, int, int]:
    """(fewest days, most days, most sessions per day) the loop may use.

    max_sessions_per_day can force more days than the template allows: the accommodation
    wins, because the candidate cannot be asked to do more sessions a day than approved.
    """
    count = len(template.sessions)
    cap = constraints.max_sessions_per_day if constraints.max_sessions_per_day > 0 else count
    cap = max(1, min(cap, count))
    fewest = -(-count // cap)
    most = max(fewest, template.max_days or 1)
    return fewest, min(most, count), cap


def required_areas(rule: AreaRule, candidate: Candidate) -> frozenset[MlArea] | None:
    """Areas any one of which qualifies an interviewer; None means any interviewer qualifies."""
    primary = candidate.primary_area
    secondary = candidate.secondary_area
    if rule == AreaRule.ANY:
        return None
    if rule == AreaRule.SECONDARY:
        return frozenset({secondary if secondary != MlArea.UNSPECIFIED else primary})
    if rule == AreaRule.PRIMARY_OR_SECONDARY:
        return frozenset(a for a in (primary, secondary) if a != MlArea.UNSPECIFIED)
    return frozenset({primary})


def area_label(rule: AreaRule, candidate: Candidate) -> str:
    """E.g. "NLP", "NLP or computer vision"; empty for ANY (used in no-plan messages)."""
    areas = required_areas(rule, candidate)
    if areas is None:
        return ""
    return " or ".join(sorted(a.label for a in areas))


def is_qualified(interviewer: Interviewer, areas: frozenset[MlArea] | None) -> bool:
    """Trainees never count as a session's qualified interviewer."""
    if interviewer.trainee:
        return False
    return areas is None or not areas.isdisjoint(interviewer.areas)


def can_join_onsite(interviewer: Interviewer, office_id: str) -> bool:
    """Onsite loops are staffed from the office's own interviewers (they meet in person)."""
    return interviewer.home_office_id == office_id


def seats_needed(interviewers: int, constraints: Constraints) -> int:
    """The candidate, the interviewers, and one more seat when an interpreter attends."""
    return 1 + interviewers + (1 if constraints.interpreter else 0)


def room_problem(room: Room, seats: int, constraints: Constraints) -> str | None:
    """Why a room cannot host a session (a NoPlanReason code), or None when it can."""
    if room.capacity < seats:
        return "NO_ROOM_LARGE_ENOUGH"
    if constraints.accessible_room and not room.wheelchair_accessible:
        return "NO_ACCESSIBLE_ROOM"
    if constraints.quiet_room and not room.quiet:
        return "NO_QUIET_ROOM"
    return None


def adjustments(
    session: SessionTemplate, constraints: Constraints, minutes: int
) -> tuple[str, ...]:
    """What the interviewers of one session must know; never why.

    Only adjustments that change how the interviewer runs the session are listed: a room's
    accessibility or a remote setting is already visible in the plan itself.
    """
    out: list[str] = []
    extra = minutes - whole_minutes(session.duration)
    if extra > 0:
        out.append(f"Session extended by {extra} minutes")
    if constraints.interpreter:
        out.append("Interpreter attending")
    if constraints.captioning:
        out.append("Live captioning on")
    if constraints.one_interviewer_at_a_time and session.interviewers_needed > 1:
        out.append("One interviewer at a time")
    out.extend(note for note in constraints.interviewer_notes if note)
    return tuple(out)
