"""Scheduling constraints: what approved accommodations mean for scheduling.

Several active tickets for one candidate merge into the strictest combination: the
longest duration multiplier, the longest extra break, the lowest per-day session cap, any
boolean requirement that any ticket sets, and only the daily time windows that every
ticket allows. Constraints never carry the reason for an accommodation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

MINUTES_PER_DAY = 24 * 60
MAX_DURATION_MULTIPLIER = 4.0
MAX_EXTRA_BREAK_MINUTES = 240
MAX_SESSIONS_PER_DAY = 20
MAX_INTERVIEWER_NOTE_CHARS = 200
# A note that repeats this much of the reason verbatim is refused: notes go to
# interviewers, the reason must not.
REASON_OVERLAP_CHARS = 16

# The one window that allows nothing. Windows that do not overlap at all intersect to
# this (rather than to an empty list, which would mean "no limit").
NOTHING_ALLOWED: tuple[tuple[int, int], ...] = ((0, 0),)


class InvalidConstraints(ValueError):
    def __init__(self, field_name: str, why: str) -> None:
        super().__init__(f"{field_name}: {why}")
        self.field = field_name
        self.why = why


@dataclass(frozen=True)
class Constraints:
    """Adjustments for one candidate; windows are (start, end) minutes after local midnight."""

    duration_multiplier: float = 1.0
    extra_break_minutes: int = 0
    max_sessions_per_day: int = 0  # 0: no limit
    remote_only: bool = False
    accessible_room: bool = False
    interpreter: bool = False
    captioning: bool = False
    one_interviewer_at_a_time: bool = False
    quiet_room: bool = False
    allowed_windows: tuple[tuple[int, int], ...] = ()  # empty: no limit
    interviewer_notes: tuple[str, ...] = ()
    source_tickets: tuple[str, ...] = field(default=(), compare=False)

    def is_empty(self) -> bool:
        return self == Constraints()

    def to_json(self) -> dict[str, object]:
        return {
            "duration_multiplier": self.duration_multiplier,
            "extra_break_minutes": self.extra_break_minutes,
            "max_sessions_per_day": self.max_sessions_per_day,
            "remote_only": self.remote_only,
            "accessible_room": self.accessible_room,
            "interpreter": self.interpreter,
            "captioning": self.captioning,
            "one_interviewer_at_a_time": self.one_interviewer_at_a_time,
            "quiet_room": self.quiet_room,
            "allowed_windows": [list(w) for w in self.allowed_windows],
            "interviewer_notes": list(self.interviewer_notes),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Constraints:
        windows = data.get("allowed_windows") or []
        notes = data.get("interviewer_notes") or []
        assert isinstance(windows, list) and isinstance(notes, list)
        return cls(
            duration_multiplier=float(data.get("duration_multiplier", 1.0)),  # type: ignore[arg-type]
            extra_break_minutes=int(data.get("extra_break_minutes", 0)),  # type: ignore[call-overload]
            max_sessions_per_day=int(data.get("max_sessions_per_day", 0)),  # type: ignore[call-overload]
            remote_only=bool(data.get("remote_only", False)),
            accessible_room=bool(data.get("accessible_room", False)),
            interpreter=bool(data.get("interpreter", False)),
            captioning=bool(data.get("captioning", False)),
            one_interviewer_at_a_time=bool(data.get("one_interviewer_at_a_time", False)),
            quiet_room=bool(data.get("quiet_room", False)),
            allowed_windows=tuple((int(a), int(b)) for a, b in windows),
            interviewer_notes=tuple(str(n) for n in notes),
        )

    def etag(self) -> str:
        body = dict(self.to_json(), source_tickets=sorted(self.source_tickets))
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        return digest[:20]


def normalize_windows(windows: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, with overlapping or touching windows joined."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(windows):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def intersect_windows(
    a: Sequence[tuple[int, int]], b: Sequence[tuple[int, int]]
) -> tuple[tuple[int, int], ...]:
    if not a:
        return tuple(b)
    if not b:
        return tuple(a)
    out = []
    for a_start, a_end in a:
        for b_start, b_end in b:
            lo, hi = max(a_start, b_start), min(a_end, b_end)
            if lo < hi:
                out.append((lo, hi))
    return normalize_windows(out) or NOTHING_ALLOWED


def _min_cap(a: int, b: int) -> int:
    if a == 0:
        return b
    if b == 0:
        return a
    return min(a, b)


def merge_two(a: Constraints, b: Constraints) -> Constraints:
    notes = tuple(dict.fromkeys(a.interviewer_notes + b.interviewer_notes))
    return Constraints(
        duration_multiplier=max(a.duration_multiplier, b.duration_multiplier),
        extra_break_minutes=max(a.extra_break_minutes, b.extra_break_minutes),
        max_sessions_per_day=_min_cap(a.max_sessions_per_day, b.max_sessions_per_day),
        remote_only=a.remote_only or b.remote_only,
        accessible_room=a.accessible_room or b.accessible_room,
        interpreter=a.interpreter or b.interpreter,
        captioning=a.captioning or b.captioning,
        one_interviewer_at_a_time=a.one_interviewer_at_a_time or b.one_interviewer_at_a_time,
        quiet_room=a.quiet_room or b.quiet_room,
        allowed_windows=intersect_windows(a.allowed_windows, b.allowed_windows),
        interviewer_notes=notes,
        source_tickets=tuple(sorted(set(a.source_tickets) | set(b.source_tickets))),
    )


def merge(items: Iterable[Constraints]) -> Constraints:
    result = Constraints()
    for item in items:
        result = merge_two(result, item)
    return result


def validate(c: Constraints, reason: str = "") -> Constraints:
    """Checks a coordinator's constraints; returns them with windows normalized.

    `reason` is the ticket's reason text: interviewer notes may not repeat it.
    """
    if not 1.0 <= c.duration_multiplier <= MAX_DURATION_MULTIPLIER:
        raise InvalidConstraints(
            "duration_multiplier", f"must be between 1.0 and {MAX_DURATION_MULTIPLIER} (or unset)"
        )
    if not 0 <= c.extra_break_minutes <= MAX_EXTRA_BREAK_MINUTES:
        raise InvalidConstraints(
            "extra_break_minutes", f"must be between 0 and {MAX_EXTRA_BREAK_MINUTES}"
        )
    if not 0 <= c.max_sessions_per_day <= MAX_SESSIONS_PER_DAY:
        raise InvalidConstraints(
            "max_sessions_per_day", f"must be between 0 and {MAX_SESSIONS_PER_DAY}"
        )
    for start, end in c.allowed_windows:
        if not 0 <= start < end <= MINUTES_PER_DAY:
            raise InvalidConstraints("allowed_windows", "each window needs start < end within one day")
    for note in c.interviewer_notes:
        if not note.strip() or len(note) > MAX_INTERVIEWER_NOTE_CHARS:
            raise InvalidConstraints(
                "interviewer_notes", f"each note needs 1-{MAX_INTERVIEWER_NOTE_CHARS} characters"
            )
        if repeats_reason(note, reason):
            raise InvalidConstraints(
                "interviewer_notes", "a note for interviewers may not quote the candidate's reason"
            )
    return replace(c, allowed_windows=normalize_windows(c.allowed_windows))


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def repeats_reason(note: str, reason: str) -> bool:
    """True when the note contains any REASON_OVERLAP_CHARS-long stretch of the reason."""
    note_f, reason_f = _fold(note), _fold(reason)
    if len(reason_f) < REASON_OVERLAP_CHARS:
        return bool(reason_f) and reason_f in note_f
    return any(
        reason_f[i : i + REASON_OVERLAP_CHARS] in note_f
        for i in range(len(reason_f) - REASON_OVERLAP_CHARS + 1)
    )


@dataclass(frozen=True)
class EffectiveConstraints:
    """The merged constraints of a candidate's active tickets, as served to scheduling."""

    constraints: Constraints
    update_time: datetime | None

    @property
    def etag(self) -> str:
        return self.constraints.etag()


def effective(active: Iterable[tuple[str, Constraints, datetime]]) -> EffectiveConstraints:
    """Merges (ticket name, constraints, activation time) of a candidate's active tickets."""
    items = list(active)
    merged = merge(replace(c, source_tickets=(name,)) for name, c, _ in items)
    latest = max((t for _, _, t in items), default=None)
    return EffectiveConstraints(merged, latest)
