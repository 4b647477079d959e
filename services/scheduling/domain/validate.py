"""Check a plan against every rule, on exact instants: the independent second opinion.

`validate_plan` does not use the search's slot grid or bitsets: it expands hours and windows
around each session with zoneinfo and compares instants directly. Booking uses it to re-check
a plan a client sent back (the world may have changed since the search, or the plan may have
been edited), and the tests use it to check every plan the search returns.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

from services.scheduling.domain import rules
from services.scheduling.domain.model import (
    DirectorySnapshot,
    LocationMode,
    Plan,
    PlannedSession,
    SearchRequest,
)
from services.scheduling.domain.timeutil import (
    contains,
    expand_daily,
    expand_dated,
    expand_weekly,
    intersect,
    local_date,
    local_dates_covering,
    to_minutes,
    to_minutes_ceil,
    whole_days,
)


def validate_plan(plan: Plan, request: SearchRequest, directory: DirectorySnapshot) -> list[str]:
    """Every rule the plan breaks, as readable sentences; empty when the plan is valid.

    Messages name sessions, interviewers and rooms by id and never include a reason for an
    accommodation (the constraints carry none).
    """
    problems: list[str] = []
    template = request.template
    constraints = request.constraints
    remote = rules.is_remote(request)
    expected_mode = LocationMode.REMOTE if remote else LocationMode.ONSITE
    if plan.mode != expected_mode:
        problems.append(f"plan is {plan.mode.name}, the request needs {expected_mode.name}")
    expected_office = None if remote else request.office_id
    if plan.office_id != expected_office:
        problems.append(f"plan office {plan.office_id} is not {expected_office}")
    if plan.candidate_id != request.candidate.id:
        problems.append("plan is for another candidate")
    if plan.template_id != template.id:
        problems.append("plan is for another loop template")
    if len(plan.sessions) != len(template.sessions):
        problems.append(
            f"plan has {len(plan.sessions)} sessions, the template {len(template.sessions)}"
        )
        return problems

    for k, session in enumerate(plan.sessions):
        problems.extend(_check_session(k, session, plan, request, directory, remote))
    problems.extend(_check_loop(plan, request, directory))
    if rules.gap_minutes(template, constraints) != round(plan.gap.total_seconds() / 60):
        problems.append("plan gap does not match the template buffer plus extra break")
    return problems


def _check_session(
    k: int,
    session: PlannedSession,
    plan: Plan,
    request: SearchRequest,
    directory: DirectorySnapshot,
    remote: bool,
) -> list[str]:
    problems: list[str] = []
    name = f"session {k}"
    spec = request.template.sessions[k]
    constraints = request.constraints
    if session.index != k or session.title != spec.title or session.kind != spec.kind:
        problems.append(f"{name} does not match template session {k}")
    minutes = rules.session_minutes(spec, constraints)
    if session.end - session.start != timedelta(minutes=minutes):
        problems.append(f"{name} must last {minutes} minutes")
    if session.adjustments != rules.adjustments(spec, constraints, minutes):
        problems.append(f"{name} adjustments do not match the constraints")

    start, end = session.start, session.end
    lo = max(request.window.start, request.now + request.min_notice)
    hi = min(request.window.end, request.now + request.horizon)
    if start < lo:
        problems.append(f"{name} starts before the window or the minimum notice")
    if end > hi:
        problems.append(f"{name} ends after the window or the horizon")

    # Start rounded down and end up: the containment checks below can only get stricter.
    s, e = to_minutes(start), to_minutes_ceil(end)
    candidate = request.candidate
    if candidate.availability and not contains(
        expand_dated(candidate.time_zone, candidate.availability), s, e
    ):
        problems.append(f"{name} is outside the candidate's availability")
    if constraints.allowed_windows:
        days = _days_around(candidate.time_zone, s, e)
        if not contains(expand_daily(candidate.time_zone, constraints.allowed_windows, days), s, e):
            problems.append(f"{name} is outside the candidate's allowed time windows")

    # Where: remote sessions have no room; onsite ones a suitable, free room inside office hours.
    if session.remote != remote:
        problems.append(f"{name} must be {'remote' if remote else 'onsite'}")
    if remote:
        if session.room_id is not None:
            problems.append(f"{name} is remote and must have no room")
    else:
        office = directory.offices.get(request.office_id or "")
        if office is not None:
            days = _days_around(office.time_zone, s, e)
            hours = expand_weekly(office.time_zone, office.office_hours, days)
            open_days = whole_days(office.time_zone, days, office.holidays)
            if not contains(intersect(hours, open_days), s, e):
                problems.append(f"{name} is outside office hours or on an office holiday")
        room = directory.rooms.get(session.room_id or "")
        if room is None:
            problems.append(f"{name} needs a room at the office")
        else:
            if room.office_id != request.office_id:
                problems.append(f"{name} room {room.id} is not at office {request.office_id}")
            seats = rules.seats_needed(len(session.interviewer_ids), constraints)
            problem = rules.room_problem(room, seats, constraints)
            if problem is not None:
                problems.append(f"{name} room {room.id} is unsuitable ({problem})")
            if _overlaps_any(directory.room_busy.get(room.id, ()), start, end):
                problems.append(f"{name} room {room.id} is busy")

    # Who: enough distinct, qualified interviewers, free and inside their working hours.
    needed = rules.interviewers_needed(spec, constraints)
    if len(session.interviewer_ids) != needed:
        problems.append(f"{name} needs exactly {needed} interviewer(s)")
    if len(set(session.interviewer_ids)) != len(session.interviewer_ids):
        problems.append(f"{name} lists an interviewer twice")
    areas = rules.required_areas(spec.area_rule, candidate)
    for interviewer_id in session.interviewer_ids:
        iv = directory.interviewers.get(interviewer_id)
        if iv is None:
            problems.append(f"{name} interviewer {interviewer_id} does not exist")
            continue
        if not rules.is_qualified(iv, areas):
            problems.append(f"{name} interviewer {iv.id} is not qualified (or a trainee)")
        if not remote and not rules.can_join_onsite(iv, request.office_id or ""):
            problems.append(f"{name} interviewer {iv.id} is not based at the office")
        days = _days_around(iv.time_zone, s, e)
        if not contains(expand_weekly(iv.time_zone, iv.working_hours, days), s, e):
            problems.append(f"{name} is outside interviewer {iv.id}'s working hours")
        if _overlaps_any(directory.interviewer_busy.get(iv.id, ()), start, end):
            problems.append(f"{name} interviewer {iv.id} is busy")
    return problems


def _check_loop(plan: Plan, request: SearchRequest, directory: DirectorySnapshot) -> list[str]:
    """Rules across sessions: order, gaps, days, one seat per interviewer, load limits."""
    problems: list[str] = []
    constraints = request.constraints
    gap = timedelta(minutes=rules.gap_minutes(request.template, constraints))
    sessions = plan.sessions
    for a, b in zip(sessions, sessions[1:]):
        if b.start < a.end + gap:
            problems.append(
                f"session {b.index} starts less than {gap} after session {a.index} ends"
            )

    zone = request.candidate.time_zone
    dates: Counter[date] = Counter()
    for session in sessions:
        first = local_date(zone, to_minutes(session.start))
        last = local_date(zone, to_minutes(session.end) - 1)
        dates[first] += 1
        if last != first:
            dates[last] += 0
    fewest, most, cap = rules.day_limits(request.template, constraints)
    if len(dates) > most:
        problems.append(f"loop spans {len(dates)} days, at most {most} allowed")
    if plan.days != len(dates):
        problems.append(f"plan says {plan.days} days, its sessions span {len(dates)}")
    for day, count in sorted(dates.items()):
        if count > cap:
            problems.append(f"{count} sessions on {day.isoformat()}, at most {cap} allowed")

    seats = [i for s in sessions for i in s.interviewer_ids]
    for interviewer_id, count in Counter(seats).items():
        if count > 1:
            problems.append(f"interviewer {interviewer_id} is in {count} sessions of the loop")
    problems.extend(_check_loads(plan, directory))
    return problems


def _check_loads(plan: Plan, directory: DirectorySnapshot) -> list[str]:
    """Existing interviews plus this plan's stay within each day and ISO-week limit."""
    problems: list[str] = []
    new: dict[str, list[datetime]] = {}
    for session in plan.sessions:
        for interviewer_id in session.interviewer_ids:
            new.setdefault(interviewer_id, []).append(session.start)
    for interviewer_id, starts in new.items():
        iv = directory.interviewers.get(interviewer_id)
        if iv is None or (iv.max_per_day <= 0 and iv.max_per_week <= 0):
            continue
        existing = directory.interviewer_sessions.get(interviewer_id, ())
        per_day: Counter[date] = Counter()
        per_week: Counter[tuple[int, int]] = Counter()
        for start in [*existing, *starts]:
            day = local_date(iv.time_zone, to_minutes(start))
            per_day[day] += 1
            per_week[day.isocalendar()[:2]] += 1
        for start in starts:
            day = local_date(iv.time_zone, to_minutes(start))
            if iv.max_per_day > 0 and per_day[day] > iv.max_per_day:
                problems.append(
                    f"interviewer {iv.id} would have {per_day[day]} interviews on "
                    f"{day.isoformat()}, limit {iv.max_per_day}"
                )
            week = day.isocalendar()[:2]
            if iv.max_per_week > 0 and per_week[week] > iv.max_per_week:
                problems.append(
                    f"interviewer {iv.id} would have {per_week[week]} interviews in week "
                    f"{week[0]}-W{week[1]:02d}, limit {iv.max_per_week}"
                )
    return sorted(set(problems))


def _overlaps_any(busy, start: datetime, end: datetime) -> bool:
    return any(b.start < end and start < b.end for b in busy)


def _days_around(zone_name: str, start: int, end: int) -> list[date]:
    """Local dates touching [start, end), plus one either side for hours crossing midnight."""
    days = local_dates_covering(zone_name, start, end)
    return [days[0] - timedelta(days=1), *days, days[-1] + timedelta(days=1)]

