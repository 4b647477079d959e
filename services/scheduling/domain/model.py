"""Input and output of the loop search, as plain frozen dataclasses.

No proto and no SQL here: the servicer maps protos and rows to these types, calls
`services.scheduling.domain.search.find_plans` / `validate_plan`, and maps the result back.

Conventions used by every type below:
- Instants are aware `datetime`s in UTC; ranges are half-open `[start, end)`.
- Wall-clock times are minutes after local midnight (0..1440, so 24:00 is 1440), in the zone of
  the owner (interviewer, office or candidate). `LocalTime(h, m)` maps to `h * 60 + m`.
- Days of week are ISO numbers, Monday = 1 .. Sunday = 7 (as `common.v1.DayOfWeek`).
- The enums' values equal the proto enum numbers, so mapping is `MlArea(proto_value)`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

MINUTES_PER_DAY = 24 * 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = _EPOCH.toordinal()
_MINUTE = timedelta(minutes=1)


class MlArea(enum.IntEnum):
    """`interviews.common.v1.MlArea`."""

    UNSPECIFIED = 0
    RECOMMENDER_SYSTEMS = 1
    NLP = 2
    COMPUTER_VISION = 3
    REINFORCEMENT_LEARNING = 4
    RELIABLE_ML = 5
    MULTIMODAL = 6
    MODEL_EFFICIENCY = 7
    ML_PLATFORM = 8
    GENERAL_ML_ENGINEERING = 9
    COMPUTER_GRAPHICS = 10

    @property
    def label(self) -> str:
        """Human name used in no-plan messages, e.g. "NLP", "computer vision"."""
        return _AREA_LABELS[self]


_AREA_LABELS = {
    MlArea.UNSPECIFIED: "unspecified-area",
    MlArea.RECOMMENDER_SYSTEMS: "recommender systems",
    MlArea.NLP: "NLP",
    MlArea.COMPUTER_VISION: "computer vision",
    MlArea.REINFORCEMENT_LEARNING: "reinforcement learning",
    MlArea.RELIABLE_ML: "reliable ML",
    MlArea.MULTIMODAL: "multimodal",
    MlArea.MODEL_EFFICIENCY: "model efficiency",
    MlArea.ML_PLATFORM: "ML platform",
    MlArea.GENERAL_ML_ENGINEERING: "general ML engineering",
    MlArea.COMPUTER_GRAPHICS: "computer graphics",
}


class SessionKind(enum.IntEnum):
    """`interviews.scheduling.v1.SessionKind`."""

    UNSPECIFIED = 0
    RESEARCH_TALK = 1
    CODING = 2
    ML_DEPTH = 3
    ML_DESIGN = 4
    BEHAVIORAL = 5
    TEAM_MATCH = 6


class AreaRule(enum.IntEnum):
    """`interviews.scheduling.v1.AreaRule`: which candidate area a session's interviewers need.

    UNSPECIFIED is treated as PRIMARY (the stricter reading) by the search.
    """

    UNSPECIFIED = 0
    PRIMARY = 1
    SECONDARY = 2  # falls back to the primary area when the candidate has no secondary
    PRIMARY_OR_SECONDARY = 3
    ANY = 4


class LocationMode(enum.IntEnum):
    """`interviews.scheduling.v1.LocationMode`."""

    UNSPECIFIED = 0
    ONSITE = 1
    REMOTE = 2


# ---------------------------------------------------------------- time shapes


@dataclass(frozen=True)
class TimeRange:
    """A half-open range of UTC instants `[start, end)`."""

    start: datetime
    end: datetime

    @cached_property
    def minutes(self) -> tuple[int, int]:
        """(start, end) in minutes since the epoch, widened to whole minutes.

        Cached on the object (it is immutable): a directory kept in memory across requests
        hands the same busy blocks to every search, which then converts each one once.
        """
        start, end = self.start, self.end
        if start.tzinfo is UTC:  # from the fields: twice as fast as subtracting datetimes
            first = (start.toordinal() - _EPOCH_DAY) * 1440 + start.hour * 60 + start.minute
        else:
            first = (start - _EPOCH) // _MINUTE
        if end.tzinfo is UTC:
            last = (end.toordinal() - _EPOCH_DAY) * 1440 + end.hour * 60 + end.minute
            if end.second or end.microsecond:
                last += 1
        else:
            last = -((_EPOCH - end) // _MINUTE)
        return first, last


@dataclass(frozen=True)
class WeeklyInterval:
    """Every week on `day_of_week` (ISO, Monday = 1), from `start_minute` to `end_minute` local."""

    day_of_week: int
    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class DailyWindow:
    """Every day from `start_minute` to `end_minute`, local to the owner."""

    start_minute: int
    end_minute: int


@dataclass(frozen=True)
class LocalDateWindow:
    """One local date, from `start_minute` to `end_minute`, local to the owner."""

    date: date
    start_minute: int
    end_minute: int


# ---------------------------------------------------------------- directory


@dataclass(frozen=True)
class Office:
    id: str
    time_zone: str
    # Onsite sessions must lie inside these hours (office zone). Empty: the office never hosts.
    office_hours: tuple[WeeklyInterval, ...]
    holidays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Room:
    id: str
    office_id: str
    capacity: int
    wheelchair_accessible: bool = False
    video_equipped: bool = False
    quiet: bool = False
    # Rooms sharing a hint (e.g. "Building B, floor 2") are close to each other.
    location_hint: str = ""


@dataclass(frozen=True)
class Interviewer:
    id: str
    email: str
    home_office_id: str
    areas: frozenset[MlArea]
    time_zone: str
    # In `time_zone`. Empty: never available.
    working_hours: tuple[WeeklyInterval, ...]
    max_per_day: int = 0  # 0 means no limit
    max_per_week: int = 0  # 0 means no limit; weeks are ISO weeks in the interviewer's zone
    trainee: bool = False  # trainees shadow and never count as qualified


@dataclass(frozen=True)
class DirectorySnapshot:
    """Everything the search reads about the world, as of one moment.

    Busy ranges must already include existing bookings and active holds, each widened by its
    buffer (the reserved range), so the search only has to avoid overlapping them. For a
    reschedule, leave out the loop's own reservations.
    """

    offices: Mapping[str, Office]
    rooms: Mapping[str, Room]
    interviewers: Mapping[str, Interviewer]
    # Per interviewer / room id, in any order.
    interviewer_busy: Mapping[str, Sequence[TimeRange]] = field(default_factory=dict)
    room_busy: Mapping[str, Sequence[TimeRange]] = field(default_factory=dict)
    # Start instants of every booked or held interview session per interviewer; the search
    # counts them per local day and ISO week (interviewer's zone) against the load limits.
    interviewer_sessions: Mapping[str, Sequence[datetime]] = field(default_factory=dict)
    # What the search derives from the snapshot (qualified pools, load counts, free-time
    # bitsets over the windows searched so far), kept so that several
    # searches over one snapshot (a cohort run, a directory cached between calls) derive it
    # once. This is why a snapshot must not be changed in place: make a new one
    # (`dataclasses.replace` starts with an empty memo).
    memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)


# ---------------------------------------------------------------- what is being planned


@dataclass(frozen=True)
class Candidate:
    id: str
    time_zone: str
    primary_area: MlArea
    secondary_area: MlArea = MlArea.UNSPECIFIED
    # When the candidate can interview (candidate zone). Empty: any time.
    availability: tuple[LocalDateWindow, ...] = ()
    # Ranking only (candidate zone).
    preferred_hours: DailyWindow | None = None


@dataclass(frozen=True)
class SessionTemplate:
    title: str
    kind: SessionKind
    duration: timedelta
    area_rule: AreaRule
    interviewers_needed: int = 1


@dataclass(frozen=True)
class LoopTemplate:
    id: str
    sessions: tuple[SessionTemplate, ...]
    # Kept free between consecutive sessions on the same day.
    buffer: timedelta = timedelta(0)
    # The loop may be spread over at most this many days (0 is read as 1).
    max_days: int = 1


@dataclass(frozen=True)
class Constraints:
    """Mirror of `common.v1.SchedulingConstraints` (never carries a reason)."""

    duration_multiplier: float = 1.0  # 0 (unset) and values below 1 leave durations unchanged
    extra_break_minutes: int = 0
    max_sessions_per_day: int = 0  # 0 means no limit
    remote_only: bool = False
    accessible_room: bool = False
    interpreter: bool = False
    captioning: bool = False
    one_interviewer_at_a_time: bool = False
    quiet_room: bool = False
    # Daily windows in the candidate's zone; a session must fit inside one. Empty: no limit.
    allowed_windows: tuple[DailyWindow, ...] = ()
    # Passed verbatim to every session's adjustments.
    interviewer_notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SearchRequest:
    candidate: Candidate
    template: LoopTemplate
    window: TimeRange
    mode: LocationMode
    # Required when `mode` is ONSITE (and the constraints do not force remote).
    office_id: str | None
    # The clock, passed in so the search is deterministic.
    now: datetime
    constraints: Constraints = Constraints()
    max_plans: int = 5
    # Sessions start no earlier than now + min_notice and end no later than now + horizon.
    min_notice: timedelta = timedelta(hours=24)
    horizon: timedelta = timedelta(days=90)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class PlannedSession:
    index: int  # position in the loop template
    title: str
    kind: SessionKind
    start: datetime
    end: datetime
    interviewer_ids: tuple[str, ...]
    room_id: str | None  # None when remote
    remote: bool
    # What the interviewers must know (e.g. "Session extended by 15 minutes"); never a reason.
    adjustments: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    candidate_id: str
    template_id: str
    mode: LocationMode  # REMOTE when the constraints force remote, whatever was asked
    office_id: str | None  # None when remote
    sessions: tuple[PlannedSession, ...]
    score: float = 0.0  # higher is better; formula in `services.scheduling.domain.scoring`
    score_breakdown: Mapping[str, float] = field(default_factory=dict)
    days: int = 1  # distinct dates the loop spans in the candidate's zone
    # Kept free after each session (template buffer + extra break): booking widens each
    # reservation's end by this much so later bookings keep the gap too.
    gap: timedelta = timedelta(0)


@dataclass(frozen=True)
class NoPlanReason:
    # Stable code, e.g. "NO_QUALIFIED_INTERVIEWER", "NO_ACCESSIBLE_ROOM", "OFFICE_CLOSED".
    code: str
    message: str
    date: date | None = None  # the candidate-local date it applies to, None when global


@dataclass(frozen=True)
class SearchResult:
    plans: tuple[Plan, ...]
    # Filled when `plans` is empty: which constraint emptied the search, per day.
    no_plan_reasons: tuple[NoPlanReason, ...] = ()
