"""What a set of plans reserves, and whether one more plan still fits.

The rule for "fits" is the database's, not the single-loop search's: booking reserves each
session widened by the plan's gap, `[start, end + gap)`, for every interviewer, the room and the
candidate, and no two reserved ranges of one resource may overlap (the exclusion constraint of
the reservations table). The search only keeps the session itself clear of busy time, so two
plans it finds one after the other can still collide on the gap tail; every plan the cohort
keeps therefore passes this stricter check. Load limits count sessions per local day and ISO
week in the interviewer's zone, existing ones included, as `validate_plan` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from services.scheduling.domain.model import DirectorySnapshot, Plan, TimeRange

# (kind, id): kind is "interviewer", "room" or "candidate".
Resource = tuple[str, str]
Week = tuple[int, int]


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_day(instant: datetime, zone_name: str) -> date:
    return instant.astimezone(_zone(zone_name)).date()


def iso_week(day: date) -> Week:
    year, week, _ = day.isocalendar()
    return year, week


def reservations(plan: Plan) -> Iterator[tuple[Resource, datetime, datetime]]:
    """Every reserved range of a plan: each session plus the gap after it, per resource."""
    for session in plan.sessions:
        end = session.end + plan.gap
        for interviewer_id in session.interviewer_ids:
            yield ("interviewer", interviewer_id), session.start, end
        if session.room_id is not None:
            yield ("room", session.room_id), session.start, end
        yield ("candidate", plan.candidate_id), session.start, end


def with_plans(directory: DirectorySnapshot, plans: list[Plan]) -> DirectorySnapshot:
    """The snapshot as the search should see it once `plans` are booked.

    Only the touched interviewers' and rooms' sequences are copied.
    """
    if not plans:
        return directory
    busy = dict(directory.interviewer_busy)
    rooms = dict(directory.room_busy)
    starts = dict(directory.interviewer_sessions)
    for plan in plans:
        for (kind, rid), start, end in reservations(plan):
            if kind == "interviewer":
                busy[rid] = [*busy.get(rid, ()), TimeRange(start, end)]
            elif kind == "room":
                rooms[rid] = [*rooms.get(rid, ()), TimeRange(start, end)]
        for session in plan.sessions:
            for interviewer_id in session.interviewer_ids:
                starts[interviewer_id] = [*starts.get(interviewer_id, ()), session.start]
    return DirectorySnapshot(
        offices=directory.offices,
        rooms=directory.rooms,
        interviewers=directory.interviewers,
        interviewer_busy=busy,
        room_busy=rooms,
        interviewer_sessions=starts,
    )


class Ledger:
    """Reserved ranges and session counts of a directory plus the plans added so far."""

    def __init__(self, directory: DirectorySnapshot) -> None:
        self.directory = directory
        self._reserved: dict[Resource, list[tuple[datetime, datetime]]] = {}
        for rid, ranges in directory.interviewer_busy.items():
            self._reserved[("interviewer", rid)] = [(b.start, b.end) for b in ranges]
        for rid, ranges in directory.room_busy.items():
            self._reserved[("room", rid)] = [(b.start, b.end) for b in ranges]
        self._per_day: dict[str, Counter[date]] = {}
        self._per_week: dict[str, Counter[Week]] = {}

    def _counts(self, interviewer_id: str) -> tuple[Counter[date], Counter[Week]]:
        per_day = self._per_day.get(interviewer_id)
        if per_day is None:
            zone = self.directory.interviewers[interviewer_id].time_zone
            per_day = Counter(
                local_day(s, zone)
                for s in self.directory.interviewer_sessions.get(interviewer_id, ())
            )
            per_week: Counter[Week] = Counter()
            for day, count in per_day.items():
                per_week[iso_week(day)] += count
            self._per_day[interviewer_id] = per_day
            self._per_week[interviewer_id] = per_week
        return per_day, self._per_week[interviewer_id]

    def conflict(self, plan: Plan) -> str | None:
        """Why `plan` cannot be added (first problem found), or None when it fits."""
        for resource, start, end in reservations(plan):
            for s, e in self._reserved.get(resource, ()):
                if s < end and start < e:
                    return f"{resource[0]} {resource[1]} is taken at {start:%Y-%m-%d %H:%M}Z"
        added_day: Counter[tuple[str, date]] = Counter()
        added_week: Counter[tuple[str, Week]] = Counter()
        for session in plan.sessions:
            for interviewer_id in session.interviewer_ids:
                iv = self.directory.interviewers[interviewer_id]
                day = local_day(session.start, iv.time_zone)
                added_day[interviewer_id, day] += 1
                added_week[interviewer_id, iso_week(day)] += 1
        for (interviewer_id, day), count in added_day.items():
            iv = self.directory.interviewers[interviewer_id]
            per_day, _ = self._counts(interviewer_id)
            if iv.max_per_day > 0 and per_day[day] + count > iv.max_per_day:
                return f"interviewer {interviewer_id} is at their daily limit on {day}"
        for (interviewer_id, week), count in added_week.items():
            iv = self.directory.interviewers[interviewer_id]
            _, per_week = self._counts(interviewer_id)
            if iv.max_per_week > 0 and per_week[week] + count > iv.max_per_week:
                return f"interviewer {interviewer_id} is at their weekly limit"
        return None

    def add(self, plan: Plan) -> None:
        for resource, start, end in reservations(plan):
            self._reserved.setdefault(resource, []).append((start, end))
        for session in plan.sessions:
            for interviewer_id in session.interviewer_ids:
                iv = self.directory.interviewers[interviewer_id]
                per_day, per_week = self._counts(interviewer_id)
                day = local_day(session.start, iv.time_zone)
                per_day[day] += 1
                per_week[iso_week(day)] += 1

    def remaining(self, interviewer_id: str) -> tuple[Counter[date], Counter[Week]]:
        """Sessions already counted per local day and ISO week (for the solver's limits)."""
        return self._counts(interviewer_id)
