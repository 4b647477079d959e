"""An independent check of a whole cohort assignment, from scratch.

Written apart from the solver and the ledger on purpose (it shares no code with them), so a
bug in how the model is built cannot also hide in the check. Each plan must be valid on its
own (`validate_plan` against the same snapshot the run started from); across plans, no two
reserved ranges (session + gap) of one interviewer, room or candidate may overlap, none may
overlap the directory's busy time, and every interviewer stays within their per-day and
per-ISO-week limits counting the sessions they already have.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from services.scheduling.domain.model import DirectorySnapshot, Plan, SearchRequest
from services.scheduling.domain.search import validate_plan


def validate_assignment(
    entries: Sequence[SearchRequest],
    directory: DirectorySnapshot,
    plans: Sequence[Plan | None],
) -> list[str]:
    """Every rule the assignment breaks, as sentences; empty when it is valid."""
    if len(plans) != len(entries):
        return [f"{len(plans)} plans for {len(entries)} entries"]
    problems: list[str] = []
    ranges: dict[tuple[str, str], list[tuple[datetime, datetime, int]]] = defaultdict(list)
    starts: dict[str, list[datetime]] = defaultdict(list)
    for index, (request, plan) in enumerate(zip(entries, plans, strict=True)):
        if plan is None:
            continue
        who = f"entry {index} ({request.candidate.id})"
        problems.extend(f"{who}: {p}" for p in validate_plan(plan, request, directory))
        for session in plan.sessions:
            reserved_end = session.end + plan.gap
            keys = [("interviewer", i) for i in session.interviewer_ids]
            keys.append(("candidate", plan.candidate_id))
            if session.room_id is not None:
                keys.append(("room", session.room_id))
            for key in keys:
                ranges[key].append((session.start, reserved_end, index))
            for interviewer_id in session.interviewer_ids:
                starts[interviewer_id].append(session.start)

    for (kind, rid), items in sorted(ranges.items()):
        items.sort()
        for (s1, e1, i1), (s2, e2, i2) in zip(items, items[1:]):
            if s2 < e1:
                problems.append(
                    f"{kind} {rid} is double-booked: entries {i1} and {i2} at {s2.isoformat()}"
                )
        busy = {"interviewer": directory.interviewer_busy, "room": directory.room_busy}.get(kind)
        for block in (busy or {}).get(rid, ()):
            for s, e, i in items:
                if block.start < e and s < block.end:
                    problems.append(f"entry {i}: {kind} {rid} is busy at {s.isoformat()}")

    for interviewer_id, added in sorted(starts.items()):
        iv = directory.interviewers.get(interviewer_id)
        if iv is None or (iv.max_per_day <= 0 and iv.max_per_week <= 0):
            continue
        zone = ZoneInfo(iv.time_zone)
        existing = list(directory.interviewer_sessions.get(interviewer_id, ()))
        days = Counter(s.astimezone(zone).date() for s in [*existing, *added])
        weeks = Counter(d.isocalendar()[:2] for d in days.elements())
        touched = {s.astimezone(zone).date() for s in added}
        for day in sorted(touched):
            if iv.max_per_day > 0 and days[day] > iv.max_per_day:
                problems.append(
                    f"interviewer {interviewer_id} has {days[day]} interviews on {day}, "
                    f"limit {iv.max_per_day}"
                )
        for week in sorted({d.isocalendar()[:2] for d in touched}):
            if iv.max_per_week > 0 and weeks[week] > iv.max_per_week:
                problems.append(
                    f"interviewer {interviewer_id} has {weeks[week]} interviews in week "
                    f"{week[0]}-W{week[1]:02d}, limit {iv.max_per_week}"
                )
    return problems
