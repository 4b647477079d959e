"""The search space of one request: everything precomputed once before the search proper.

Built once per `find_plans` call: the usable window, the candidate's free time, each session's
effective length and qualified pool, and (lazily, only for interviewers and rooms that some
session can use) availability bitsets on the slot grid of `grid.py`. Every stage of the
candidate's free time is kept so that `diagnose.py` can say which rule emptied a day.

What does not depend on the request (pools, load counts, each interviewer's free time over
the windows searched so far, and per slot grid the working hours and possible starts) goes
into the snapshot's `memo`, so that many searches over one snapshot pay for it once.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta

from services.core.errors import InvalidArgument
from services.scheduling.domain import rules
from services.scheduling.domain.grid import (
    SLOT_MINUTES,
    SlotGrid,
    busy_mask,
    run_starts,
    slots_for,
)
from services.scheduling.domain.model import (
    MINUTES_PER_DAY,
    DirectorySnapshot,
    Interviewer,
    LocationMode,
    MlArea,
    Office,
    Room,
    SearchRequest,
    SessionTemplate,
)
from services.scheduling.domain.timeutil import (
    Interval,
    day_starts,
    expand_daily,
    expand_dated,
    expand_weekly,
    intersect,
    local_date,
    local_dates_covering,
    local_to_minutes,
    merge,
    to_minutes,
    to_minutes_ceil,
    whole_days,
)

WEEK_MINUTES = 7 * 1440
# Slot grids whose bitsets a snapshot keeps (`_grid_memo`).
_GRIDS_KEPT = 16


@dataclass(frozen=True)
class SessionSpec:
    """One template session as the search sees it."""

    index: int
    template: SessionTemplate
    minutes: int  # effective length (after the duration multiplier)
    slots: int
    needed: int  # interviewers needed (after one_interviewer_at_a_time)
    areas: frozenset[MlArea] | None  # None: any area qualifies
    pool: tuple[str, ...]  # qualified interviewer ids, sorted
    members: frozenset[str]  # the same ids, for subset tests
    rooms: tuple[str, ...]  # rooms whose features fit this session (onsite), sorted
    adjustments: tuple[str, ...]


class ZoneCalendar:
    """Local dates of one zone around the window, to map instants to dates and ISO weeks."""

    __slots__ = ("dates", "starts")

    def __init__(self, zone_name: str, start: int, end: int) -> None:
        # A week either side, so loads are counted over the whole ISO week of any window day.
        self.dates = local_dates_covering(zone_name, start - WEEK_MINUTES, end + WEEK_MINUTES)
        self.starts = day_starts(zone_name, self.dates)

    def date_of(self, minute: int) -> date | None:
        i = bisect_right(self.starts, minute) - 1
        return self.dates[i] if 0 <= i < len(self.dates) else None


def monday(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


class SearchSpace:
    def __init__(self, request: SearchRequest, directory: DirectorySnapshot) -> None:
        _check_request(request, directory)
        self.request = request
        self.directory = directory
        constraints = request.constraints
        candidate = request.candidate
        self.remote = rules.is_remote(request)
        self.office: Office | None = None if self.remote else directory.offices[request.office_id]
        self.office_id = None if self.office is None else self.office.id

        lo = max(request.window.start, request.now + request.min_notice)
        hi = min(request.window.end, request.now + request.horizon)
        self.earliest = to_minutes_ceil(lo)
        self.latest = to_minutes(hi)
        self.grid = SlotGrid(self.earliest, max(self.earliest, self.latest))
        self.gap = rules.gap_minutes(request.template, constraints)
        self.fewest_days, self.most_days, self.per_day_cap = rules.day_limits(
            request.template, constraints
        )

        # The candidate's free time, stage by stage (diagnose.py reports the stage that emptied
        # a day). Each stage is an interval list in epoch minutes.
        zone = candidate.time_zone
        self.candidate_days: list[date] = (
            local_dates_covering(zone, self.earliest, self.latest)
            if self.latest > self.earliest
            else []
        )
        self.candidate_day_starts = day_starts(zone, self.candidate_days)
        window: list[Interval] = (
            [(self.earliest, self.latest)] if self.latest > self.earliest else []
        )
        self.stage_window = window
        self.stage_office = window
        if self.office is not None:
            office_days = (
                local_dates_covering(self.office.time_zone, self.earliest, self.latest)
                if window
                else []
            )
            hours = expand_weekly(self.office.time_zone, self.office.office_hours, office_days)
            open_days = whole_days(self.office.time_zone, office_days, self.office.holidays)
            self.stage_office = intersect(window, intersect(hours, open_days))
        self.stage_availability = self.stage_office
        if candidate.availability:
            self.stage_availability = intersect(
                self.stage_office, expand_dated(zone, candidate.availability)
            )
        self.stage_allowed = self.stage_availability
        if constraints.allowed_windows:
            self.stage_allowed = intersect(
                self.stage_availability,
                expand_daily(zone, constraints.allowed_windows, self.candidate_days),
            )
        self.candidate_free = self.stage_allowed
        self.candidate_mask = self.grid.mask_inside(self.candidate_free)
        self.preferred: list[Interval] | None = None
        if candidate.preferred_hours is not None:
            self.preferred = expand_daily(
                zone, (candidate.preferred_hours,), self.candidate_days
            )

        self.sessions = tuple(
            self._session_spec(i, s) for i, s in enumerate(request.template.sessions)
        )

        self._per_grid = _grid_memo(directory, self.grid)
        self._zone_calendars: dict[str, ZoneCalendar] = {}
        self._hours_by_person: dict[str, int] = {}
        self._start_bytes: dict[int, dict[str, bytes]] = {}
        self._free: dict[tuple[str, bool], int] = {}
        self._starts: dict[tuple[str, int], int] = {}
        self._room_starts: dict[tuple[str, int], int] = {}
        self._loads: dict[str, tuple[dict[date, int], dict[date, int]]] = {}
        self._same_day: dict[int, int] = {}
        self._session_masks: dict[int, int] = {}
        self._targets: dict[int, int] = {}
        self._reachable: dict[tuple[int, bool], list[str]] = {}
        self._ordered: dict[tuple[int, int], list[str]] = {}
        self._day_loads: dict[int, dict[str, int]] = {}
        self._week_of: dict[tuple[str, int], date | None] = {}
        # (session index, slot) -> first free pool members; owned by assign.py.
        self.free_prefixes: dict[tuple[int, int], list[str]] = {}
        # session index -> the masks diagnose.py compares per day; owned by diagnose.py.
        self.diagnosis_masks: dict[int, tuple[int, int, int, int]] = {}

    # ------------------------------------------------------------ sessions

    def _session_spec(self, index: int, session: SessionTemplate) -> SessionSpec:
        constraints = self.request.constraints
        minutes = rules.session_minutes(session, constraints)
        needed = rules.interviewers_needed(session, constraints)
        areas = rules.required_areas(session.area_rule, self.request.candidate)
        pool = self._pool(areas)
        rooms: tuple[str, ...] = ()
        if self.office_id is not None:
            seats = rules.seats_needed(needed, constraints)
            rooms = tuple(
                sorted(
                    r.id
                    for r in self.directory.rooms.values()
                    if r.office_id == self.office_id
                    and rules.room_problem(r, seats, constraints) is None
                )
            )
        return SessionSpec(
            index=index,
            template=session,
            minutes=minutes,
            slots=slots_for(minutes),
            needed=needed,
            areas=areas,
            pool=pool,
            members=frozenset(pool),
            rooms=rooms,
            adjustments=rules.adjustments(session, constraints, minutes),
        )

    def _pool(self, areas: frozenset[MlArea] | None) -> tuple[str, ...]:
        """Qualified interviewers (and based at the office when onsite), sorted by id."""
        memo = self.directory.memo
        key = ("pool", areas, self.office_id)
        pool = memo.get(key)
        if pool is None:
            pool = memo[key] = tuple(
                sorted(
                    iv.id
                    for iv in self.directory.interviewers.values()
                    if rules.is_qualified(iv, areas)
                    and (self.office_id is None or rules.can_join_onsite(iv, self.office_id))
                )
            )
        return pool

    def offsets(self, first: int, last: int) -> list[int]:
        """Slot offsets of sessions first..last-1 run back to back with the gap, from `first`."""
        out = [0]
        for spec in self.sessions[first : last - 1]:
            out.append(out[-1] + slots_for(spec.minutes + self.gap))
        return out

    # ------------------------------------------------------------ calendars and loads

    def zone_calendar(self, zone_name: str) -> ZoneCalendar:
        cal = self._zone_calendars.get(zone_name)
        if cal is None:
            cal = ZoneCalendar(zone_name, self.grid.base, self.grid.minute(self.grid.size))
            self._zone_calendars[zone_name] = cal
        return cal

    def loads(self, interviewer_id: str) -> tuple[dict[date, int], dict[date, int]]:
        """(sessions per local date, sessions per ISO week keyed by its Monday).

        Counted over every booked session, whatever the window: kept on the snapshot, where
        searches over other windows reuse it.
        """
        cached = self._loads.get(interviewer_id)
        if cached is not None:
            return cached
        memo = self.directory.memo
        key = ("loads", interviewer_id)
        cached = memo.get(key)
        if cached is None:
            zone_name = self.directory.interviewers[interviewer_id].time_zone
            # This request's calendar answers most dates by bisection; zoneinfo the rest.
            calendar = self.zone_calendar(zone_name)
            per_day: dict[date, int] = {}
            per_week: dict[date, int] = {}
            for start in self.directory.interviewer_sessions.get(interviewer_id, ()):
                minute = to_minutes(start)
                day = calendar.date_of(minute) or local_date(zone_name, minute)
                per_day[day] = per_day.get(day, 0) + 1
                week = monday(day)
                per_week[week] = per_week.get(week, 0) + 1
            cached = memo[key] = (per_day, per_week)
        self._loads[interviewer_id] = cached
        return cached

    def week_load(self, interviewer_id: str, minute: int) -> int:
        """Interviews the person already has in the ISO week (their zone) holding `minute`."""
        if not self.directory.interviewer_sessions.get(interviewer_id):
            return 0
        iv = self.directory.interviewers[interviewer_id]
        key = (iv.time_zone, minute)
        week = self._week_of.get(key)
        if week is None:
            day = self.zone_calendar(iv.time_zone).date_of(minute)
            week = monday(day) if day is not None else None
            self._week_of[key] = week
        return self.loads(interviewer_id)[1].get(week, 0)

    # ------------------------------------------------------------ availability bitsets

    def interviewer_free(self, interviewer_id: str, *, with_limits: bool = True) -> int:
        """Slots in which the interviewer could take one more interview.

        Working hours (their zone) minus busy time, minus every local day on which their daily
        limit or weekly limit is already reached (`with_limits=False` skips that last step,
        so diagnose.py can tell "at their limit" from "busy").
        """
        key = (interviewer_id, with_limits)
        mask = self._free.get(key)
        if mask is not None:
            return mask
        if with_limits:
            # The limits only remove whole days: derived from the mask without them, so
            # diagnose.py's second look costs no second pass over the busy time.
            mask = self.interviewer_free(interviewer_id, with_limits=False)
            iv = self.directory.interviewers[interviewer_id]
            if iv.max_per_day > 0 or iv.max_per_week > 0:
                mask &= ~self.grid.mask_touching(self._full_days(iv))
            self._free[key] = mask
            return mask
        # Kept on the snapshot over the union of the windows searched so far; a window
        # inside it is a shift away. Grid bases are all multiples of 15 minutes, so masks of
        # different windows line up slot for slot.
        grid = self.grid
        end = grid.minute(grid.size)
        memo = self.directory.memo
        memo_key = ("free", interviewer_id)
        kept = memo.get(memo_key)
        if kept is None or kept[0] > grid.base or kept[1] < end:
            low = grid.base if kept is None else min(grid.base, kept[0])
            high = end if kept is None else max(end, kept[1])
            kept = memo[memo_key] = (low, high, self._free_between(interviewer_id, low, high))
        mask = (kept[2] >> ((grid.base - kept[0]) // SLOT_MINUTES)) & grid.full
        self._free[key] = mask
        return mask

    def _free_between(self, interviewer_id: str, low: int, high: int) -> int:
        """Working hours minus busy time on a grid of its own over [low, high)."""
        iv = self.directory.interviewers[interviewer_id]
        if (low, high) == (self.grid.base, self.grid.minute(self.grid.size)):
            grid, mask = self.grid, self._hours_mask(iv)  # the usual case: this window only
        else:
            memo = self.directory.memo
            grid = memo.get(("grid", low, high))
            if grid is None:
                grid = memo[("grid", low, high)] = SlotGrid(low, high)
            hours_key = ("hours", iv.time_zone, iv.working_hours, low, high)
            mask = memo.get(hours_key)
            if mask is None:
                days = local_dates_covering(iv.time_zone, low, high + 1)
                mask = memo[hours_key] = grid.mask_inside(
                    expand_weekly(iv.time_zone, iv.working_hours, days)
                )
        busy = self.directory.interviewer_busy.get(interviewer_id)
        if busy:
            mask &= ~busy_mask(grid, busy)
        return mask

    def _hours_mask(self, iv: Interviewer) -> int:
        """Working hours as slots; shared by interviewers with the same zone and hours."""
        mask = self._hours_by_person.get(iv.id)
        if mask is not None:
            return mask
        key = ("hours", iv.time_zone, iv.working_hours)
        mask = self._per_grid.get(key)
        if mask is None:
            days = local_dates_covering(
                iv.time_zone, self.grid.base, self.grid.minute(self.grid.size) + 1
            )
            mask = self._per_grid[key] = self.grid.mask_inside(
                expand_weekly(iv.time_zone, iv.working_hours, days)
            )
        self._hours_by_person[iv.id] = mask
        return mask

    def _full_days(self, iv: Interviewer) -> list[Interval]:
        """Local days on which the interviewer is already at their daily or weekly limit."""
        per_day, per_week = self.loads(iv.id)
        if not per_day:
            return []
        full: set[date] = set()
        if iv.max_per_day > 0:
            full.update(day for day, count in per_day.items() if count >= iv.max_per_day)
        if iv.max_per_week > 0:
            for week, count in per_week.items():
                if count >= iv.max_per_week:
                    full.update(week + timedelta(days=d) for d in range(7))
        if not full:
            return []
        zone_name = iv.time_zone
        # Merged, so a full week is one interval (one bitset operation, not seven).
        return merge(
            (
                local_to_minutes(zone_name, day, 0),
                local_to_minutes(zone_name, day, MINUTES_PER_DAY),
            )
            for day in full
        )

    def interviewer_starts(self, interviewer_id: str, slots: int) -> int:
        """Slots at which the interviewer can start a session of `slots` slots."""
        key = (interviewer_id, slots)
        mask = self._starts.get(key)
        if mask is None:
            shared_key = ("starts", interviewer_id, slots)
            mask = self._per_grid.get(shared_key)
            if mask is None:
                mask = self._per_grid[shared_key] = run_starts(
                    self.interviewer_free(interviewer_id), slots
                )
            self._starts[key] = mask
        return mask

    def starts_lookup(self, interviewer_id: str, slots: int) -> bytes:
        """`interviewer_starts` as little-endian bytes: bit k is byte k >> 3, bit k & 7.

        Testing one bit of a 4,000-bit int costs a shift of the whole int; a byte lookup does
        not, and the exact check tests hundreds of (interviewer, start) pairs.
        """
        tables = self.start_tables(slots)
        table = tables.get(interviewer_id)
        if table is None:
            table = tables[interviewer_id] = self.interviewer_starts(
                interviewer_id, slots
            ).to_bytes((self.grid.size >> 3) + 1, "little")
        return table

    def start_tables(self, slots: int) -> dict[str, bytes]:
        """The `starts_lookup` tables made so far for one session length, by interviewer
        (on the snapshot, per grid, like the masks they are made from)."""
        tables = self._start_bytes.get(slots)
        if tables is None:
            tables = self._start_bytes[slots] = self._per_grid.setdefault(("start bytes", slots), {})
        return tables

    def room_starts(self, room_id: str, slots: int) -> int:
        key = (room_id, slots)
        mask = self._room_starts.get(key)
        if mask is None:
            shared_key = ("room starts", room_id, slots)
            mask = self._per_grid.get(shared_key)
            if mask is None:
                busy = self.directory.room_busy.get(room_id, ())
                free = self.grid.full & ~busy_mask(self.grid, busy)
                mask = self._per_grid[shared_key] = run_starts(free, slots)
            self._room_starts[key] = mask
        return mask

    def ordered_pool(self, spec: SessionSpec, minute: int) -> list[str]:
        """The session's reachable pool, least loaded first, for the candidate day of `minute`.

        Loads are read at the first session start asked for that day: the order is a
        preference, computed once per day because sorting per start would dominate the search.
        """
        day = self.candidate_day_index(minute)
        key = (spec.index, day)
        ordered = self._ordered.get(key)
        if ordered is None:
            loads = self._day_loads.setdefault(day, {})
            pool = self.reachable(spec)
            for i in pool:
                if i not in loads:
                    loads[i] = self.week_load(i, minute)
            ordered = sorted(pool, key=lambda i: (loads[i], i))
            self._ordered[key] = ordered
        return ordered

    def room(self, room_id: str) -> Room:
        return self.directory.rooms[room_id]

    def session_mask(self, spec: SessionSpec) -> int:
        """Start slots at which this session alone fits: candidate, interviewers and a room.

        The interviewer part counts, per start, the pool members free for the whole session
        and keeps starts with at least `needed`. It stops adding members as soon as no start
        still short of people lies in the remaining members' working hours: large pools (an
        ANY session draws on everyone) are usually settled by their first few dozen members,
        so the rest never need their busy time turned into bitsets.
        """
        mask = self._session_masks.get(spec.index)
        if mask is not None:
            return mask
        target = self._target(spec)
        mask = 0
        if target:
            # Members with rare working hours (few share them) first, then the common ones.
            # suffix[k] holds the hours of members k.. : once no start still short of people
            # lies in anyone's remaining hours, the count is final and the rest is skipped.
            pool = self.reachable(spec)
            hours = {i: self._hours_mask(self.directory.interviewers[i]) for i in pool}
            sharing: dict[int, int] = {}
            for h in hours.values():
                sharing[id(h)] = sharing.get(id(h), 0) + 1
            order = sorted(pool, key=lambda i: (sharing[id(hours[i])], i))
            suffix = [0] * (len(order) + 1)
            for k in range(len(order) - 1, -1, -1):
                suffix[k] = suffix[k + 1] | hours[order[k]]
            target &= run_starts(suffix[0], spec.slots)
            levels = [0] * spec.needed  # levels[j]: starts with at least j+1 members free
            top = spec.needed - 1
            for k, interviewer_id in enumerate(order):
                if not target & ~levels[top] & suffix[k]:
                    break
                free = self.interviewer_starts(interviewer_id, spec.slots) & target
                for j in range(top, 0, -1):
                    levels[j] |= levels[j - 1] & free
                levels[0] |= free
            mask = levels[top] & target
        self._session_masks[spec.index] = mask
        return mask

    def _target(self, spec: SessionSpec) -> int:
        """Starts at which the candidate and a suitable room are free for the session."""
        target = self._targets.get(spec.index)
        if target is None:
            target = run_starts(self.candidate_mask, spec.slots)
            if self.office_id is not None and target:
                rooms = 0
                for room_id in spec.rooms:
                    rooms |= self.room_starts(room_id, spec.slots)
                target &= rooms
            self._targets[spec.index] = target
        return target

    def reachable(self, spec: SessionSpec, *, with_rooms: bool = True) -> list[str]:
        """Pool members whose working hours meet some start the candidate and a room allow.

        Decided on working hours alone, which are shared by many people and cheap, so the
        others (say, colleagues asleep during a far-away candidate's allowed hours) never
        have their busy time looked at. `with_rooms=False` ignores rooms (diagnose.py looks
        at interviewers before rooms).
        """
        key = (spec.index, with_rooms)
        found = self._reachable.get(key)
        if found is None:
            target = (
                self._target(spec) if with_rooms else run_starts(self.candidate_mask, spec.slots)
            )
            by_hours: dict[int, bool] = {}
            found = []
            for interviewer_id in spec.pool:
                hours = self._hours_mask(self.directory.interviewers[interviewer_id])
                meets = by_hours.get(id(hours))
                if meets is None:
                    meets = by_hours[id(hours)] = bool(run_starts(hours, spec.slots) & target)
                if meets:
                    found.append(interviewer_id)
            self._reachable[key] = found
        return found

    def same_day_starts(self, span_slots: int) -> int:
        """Start slots from which `span_slots` slots stay within one candidate-local date."""
        mask = self._same_day.get(span_slots)
        if mask is None:
            mask = 0
            bounds = self.candidate_day_starts
            for i in range(len(bounds) - 1):
                first = self.grid.slot_ceil(bounds[i])
                last = self.grid.slot_floor(bounds[i + 1])
                mask |= self.grid.span(first, last - span_slots + 1)
            self._same_day[span_slots] = mask
        return mask

    def candidate_day_index(self, minute: int) -> int:
        return bisect_right(self.candidate_day_starts, minute) - 1


def _grid_memo(directory: DirectorySnapshot, grid: SlotGrid) -> dict:
    """The snapshot's memo of what depends on a request only through its slot grid
    (working hours, and each interviewer's and room's possible starts, as bitsets on that grid).

    Searches over the same window share a grid, so a shared snapshot builds these once
    per window. Only the `_GRIDS_KEPT` most recent grids are kept: grids that start at
    "now + notice" move every minute and must not pile up on a long-lived snapshot.
    """
    grids = directory.memo.get("grids")
    if grids is None:
        grids = directory.memo.setdefault("grids", OrderedDict())
    key = (grid.base, grid.size)
    found = grids.get(key)
    if found is None:
        found = grids[key] = {}
        while len(grids) > _GRIDS_KEPT:
            grids.popitem(last=False)
    return found


def _check_request(request: SearchRequest, directory: DirectorySnapshot) -> None:
    """Structural problems are the caller's error, not an empty search."""
    if not request.template.sessions:
        raise InvalidArgument("loop_template", "has no sessions")
    for i, s in enumerate(request.template.sessions):
        if s.duration <= timedelta(0):
            raise InvalidArgument(f"loop_template.sessions[{i}].duration", "must be positive")
    for name, value in (
        ("window.start_time", request.window.start),
        ("window.end_time", request.window.end),
        ("now", request.now),
    ):
        if value.tzinfo is None:
            raise InvalidArgument(name, "must be an aware datetime (UTC)")
    if request.window.end <= request.window.start:
        raise InvalidArgument("window", "end_time must be after start_time")
    if request.max_plans < 1:
        raise InvalidArgument("max_plans", "must be at least 1")
    if not rules.is_remote(request):
        if request.mode != LocationMode.ONSITE:
            raise InvalidArgument("location_mode", "must be ONSITE or REMOTE")
        if not request.office_id:
            raise InvalidArgument("office", "required when onsite")
        if request.office_id not in directory.offices:
            raise InvalidArgument("office", f"unknown office {request.office_id}")
