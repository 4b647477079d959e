"""Directory resources between protos and table rows.

Writes go proto -> a dict of validated column values (`*_values`), so the
store never sees a proto; reads go row -> proto (`*_proto`). Each field has
one parser, shared by create and update (update applies only masked fields).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message

from interviews.common.v1 import common_pb2
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core import names, timeconv
from services.core.errors import InvalidArgument
from services.scheduling import models

Parser = Callable[[Message, str], tuple[str, Any]]

MAX_LIST = 500  # weekly intervals, holidays, availability windows per resource
_EMAIL_MAX = 320


# ---------------------------------------------------------------- field parsers


def _minutes(value: common_pb2.LocalTime, field: str) -> int:
    if not (0 <= value.hours <= 24 and 0 <= value.minutes < 60) or (value.hours == 24 and value.minutes):
        raise InvalidArgument(field, "hours must be 0-23 (or 24:00) and minutes 0-59")
    return value.hours * 60 + value.minutes


def weekly(items: Iterable[common_pb2.WeeklyInterval], field: str) -> list[list[int]]:
    out = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        if not 1 <= item.day_of_week <= 7:
            raise InvalidArgument(f"{where}.day_of_week", "required (Monday to Sunday)")
        start, end = _minutes(item.start, f"{where}.start"), _minutes(item.end, f"{where}.end")
        if end <= start:
            raise InvalidArgument(where, "end must be after start (split intervals that cross midnight)")
        out.append([item.day_of_week, start, end])
    if len(out) > MAX_LIST:
        raise InvalidArgument(field, f"at most {MAX_LIST} intervals")
    return sorted(out)


def daily(item: common_pb2.DailyWindow, field: str) -> list[int]:
    start, end = _minutes(item.start, f"{field}.start"), _minutes(item.end, f"{field}.end")
    if end <= start:
        raise InvalidArgument(field, "end must be after start")
    return [start, end]


def _text(limit: int, *, required: bool = False) -> Callable[[Message, str, str], str]:
    def parse(message: Message, attr: str, field: str) -> str:
        value = getattr(message, attr).strip()
        if required and not value:
            raise InvalidArgument(field, "required")
        if len(value) > limit:
            raise InvalidArgument(field, f"at most {limit} characters")
        return value

    return parse


def _email(message: Message, attr: str, field: str) -> str:
    value = getattr(message, attr).strip()
    local, at, domain = value.partition("@")
    if not (at and local and "." in domain) or len(value) > _EMAIL_MAX or any(c.isspace() for c in value):
        raise InvalidArgument(field, "a valid email address is required")
    return value


def _zone(message: Message, attr: str, field: str) -> str:
    value = getattr(message, attr)
    timeconv.zone(value, field)
    return value


def _area(required: bool) -> Callable[[Message, str, str], int]:
    def parse(message: Message, attr: str, field: str) -> int:
        value = getattr(message, attr)
        if value not in common_pb2.MlArea.values():
            raise InvalidArgument(field, "unknown ML area")
        if required and value == common_pb2.ML_AREA_UNSPECIFIED:
            raise InvalidArgument(field, "required")
        return value

    return parse


def _areas(message: Message, attr: str, field: str) -> list[int]:
    values = list(getattr(message, attr))
    for value in values:
        if value not in common_pb2.MlArea.values() or value == common_pb2.ML_AREA_UNSPECIFIED:
            raise InvalidArgument(field, "unknown ML area")
    return sorted(set(values))


def _non_negative(message: Message, attr: str, field: str) -> int:
    value = getattr(message, attr)
    if value < 0:
        raise InvalidArgument(field, "must not be negative (0 means no limit)")
    return value


def _bool(message: Message, attr: str, field: str) -> bool:
    return bool(getattr(message, attr))


def _weekly(message: Message, attr: str, field: str) -> list[list[int]]:
    return weekly(getattr(message, attr), field)


def _holidays(message: Message, attr: str, field: str) -> list[str]:
    items = getattr(message, attr)
    if len(items) > MAX_LIST:
        raise InvalidArgument(field, f"at most {MAX_LIST} dates")
    return sorted({timeconv.to_date(d, f"{field}[{i}]").isoformat() for i, d in enumerate(items)})


def _availability(message: Message, attr: str, field: str) -> list[list[Any]]:
    items = getattr(message, attr)
    if len(items) > MAX_LIST:
        raise InvalidArgument(field, f"at most {MAX_LIST} windows")
    out = []
    for i, window in enumerate(items):
        where = f"{field}[{i}]"
        day = timeconv.to_date(window.date, f"{where}.date")
        start, end = _minutes(window.start, f"{where}.start"), _minutes(window.end, f"{where}.end")
        if end <= start:
            raise InvalidArgument(where, "end must be after start")
        out.append([day.isoformat(), start, end])
    return sorted(out)


def _preferred(message: Message, attr: str, field: str) -> list[int] | None:
    if not message.HasField(attr):
        return None
    return daily(getattr(message, attr), field)


def _office_ref(message: Message, attr: str, field: str) -> str:
    value = getattr(message, attr)
    return names.parse_id("offices/{office}", value, field)


def _optional_office_ref(message: Message, attr: str, field: str) -> str:
    value = getattr(message, attr)
    return names.parse_id("offices/{office}", value, field) if value else ""


def _capacity(message: Message, attr: str, field: str) -> int:
    value = getattr(message, attr)
    if not 1 <= value <= 1000:
        raise InvalidArgument(field, "must be 1-1000")
    return value


def _template_sessions(message: Message, attr: str, field: str) -> list[dict[str, Any]]:
    items = getattr(message, attr)
    if not items:
        raise InvalidArgument(field, "a loop needs at least one session")
    if len(items) > 12:
        raise InvalidArgument(field, "at most 12 sessions")
    out = []
    for i, item in enumerate(items):
        where = f"{field}[{i}]"
        title = item.title.strip()
        if not title or len(title) > 200:
            raise InvalidArgument(f"{where}.title", "required, at most 200 characters")
        if item.kind not in pb.SessionKind.values():
            raise InvalidArgument(f"{where}.kind", "unknown session kind")
        duration = timeconv.to_timedelta(item.duration, f"{where}.duration", minimum=timedelta(minutes=5), maximum=timedelta(hours=8))
        if duration % timedelta(minutes=1):
            raise InvalidArgument(f"{where}.duration", "whole minutes only")
        if item.area_rule not in pb.AreaRule.values():
            raise InvalidArgument(f"{where}.area_rule", "unknown area rule")
        needed = item.interviewers_needed or 1
        if not 1 <= needed <= 5:
            raise InvalidArgument(f"{where}.interviewers_needed", "must be 1-5")
        out.append(
            {
                "title": title,
                "kind": item.kind,
                "minutes": int(duration.total_seconds() // 60),
                "area_rule": item.area_rule or pb.AREA_RULE_PRIMARY,
                "interviewers_needed": needed,
            }
        )
    return out


def _buffer(message: Message, attr: str, field: str) -> int:
    duration = timeconv.to_timedelta(getattr(message, attr), field, maximum=timedelta(hours=2))
    if duration % timedelta(minutes=1):
        raise InvalidArgument(field, "whole minutes only")
    return int(duration.total_seconds() // 60)


def _max_days(message: Message, attr: str, field: str) -> int:
    value = getattr(message, attr) or 1
    if not 1 <= value <= 5:
        raise InvalidArgument(field, "must be 1-5")
    return value


# proto field -> (column, parser); the parser gets (message, proto attribute, field path).
OFFICE_FIELDS = {
    "display_name": ("display_name", _text(200, required=True)),
    "time_zone": ("time_zone", _zone),
    "address": ("address", _text(500)),
    "office_hours": ("office_hours", _weekly),
    "holidays": ("holidays", _holidays),
}
ROOM_FIELDS = {
    "display_name": ("display_name", _text(200)),
    "capacity": ("capacity", _capacity),
    "wheelchair_accessible": ("wheelchair_accessible", _bool),
    "video_equipped": ("video_equipped", _bool),
    "quiet": ("quiet", _bool),
    "location_hint": ("location_hint", _text(200)),
}
INTERVIEWER_FIELDS = {
    "display_name": ("display_name", _text(200)),
    "email": ("email", _email),
    "home_office": ("home_office_id", _office_ref),
    "ml_areas": ("ml_areas", _areas),
    "time_zone": ("time_zone", _zone),
    "working_hours": ("working_hours", _weekly),
    "max_interviews_per_day": ("max_per_day", _non_negative),
    "max_interviews_per_week": ("max_per_week", _non_negative),
    "trainee": ("trainee", _bool),
}
CANDIDATE_FIELDS = {
    "display_name": ("display_name", _text(200)),
    "email": ("email", _email),
    "time_zone": ("time_zone", _zone),
    "primary_area": ("primary_area", _area(required=True)),
    "secondary_area": ("secondary_area", _area(required=False)),
    "availability": ("availability", _availability),
    "preferred_hours": ("preferred_hours", _preferred),
    "preferred_office": ("preferred_office_id", _optional_office_ref),
}
TEMPLATE_FIELDS = {
    "display_name": ("display_name", _text(200)),
    "sessions": ("sessions", _template_sessions),
    "buffer_between_sessions": ("buffer_minutes", _buffer),
    "max_days": ("max_days", _max_days),
}


def values(message: Message, fields: dict[str, tuple[str, Any]], prefix: str, mask: FieldMask | None = None) -> dict[str, Any]:
    """Column values for the fields in `mask` (every field when the mask is empty)."""
    paths = list(mask.paths) if mask is not None and mask.paths else list(fields)
    out: dict[str, Any] = {}
    problems = []
    for path in paths:
        if path not in fields:
            problems.append(("update_mask", f"{path!r} cannot be updated"))
            continue
        column, parser = fields[path]
        try:
            out[column] = parser(message, path, f"{prefix}.{path}")
        except InvalidArgument as error:
            problems.extend(error.violations)
    if problems:
        raise InvalidArgument.many(problems)
    return out


# ---------------------------------------------------------------- row -> proto


def _local(minutes: int) -> common_pb2.LocalTime:
    return common_pb2.LocalTime(hours=minutes // 60, minutes=minutes % 60)


def _weekly_proto(items: list[list[int]]) -> list[common_pb2.WeeklyInterval]:
    return [common_pb2.WeeklyInterval(day_of_week=d, start=_local(s), end=_local(e)) for d, s, e in items]


def _date_proto(value: date) -> common_pb2.Date:
    return common_pb2.Date(year=value.year, month=value.month, day=value.day)


def office_proto(row: models.OfficeRow) -> pb.Office:
    return pb.Office(
        name=f"offices/{row.id}",
        display_name=row.display_name,
        time_zone=row.time_zone,
        address=row.address,
        office_hours=_weekly_proto(row.office_hours),
        holidays=[_date_proto(date.fromisoformat(d)) for d in row.holidays],
        etag=row.etag,
        update_time=timeconv.to_timestamp(row.update_time),
    )


def room_proto(row: models.RoomRow) -> pb.Room:
    return pb.Room(
        name=row.name,
        display_name=row.display_name,
        capacity=row.capacity,
        wheelchair_accessible=row.wheelchair_accessible,
        video_equipped=row.video_equipped,
        quiet=row.quiet,
        location_hint=row.location_hint,
        etag=row.etag,
        create_time=timeconv.to_timestamp(row.create_time),
        update_time=timeconv.to_timestamp(row.update_time),
    )


def interviewer_proto(row: models.InterviewerRow) -> pb.Interviewer:
    return pb.Interviewer(
        name=f"interviewers/{row.id}",
        display_name=row.display_name,
        email=row.email,
        home_office=f"offices/{row.home_office_id}",
        ml_areas=row.ml_areas,
        time_zone=row.time_zone,
        working_hours=_weekly_proto(row.working_hours),
        max_interviews_per_day=row.max_per_day,
        max_interviews_per_week=row.max_per_week,
        trainee=row.trainee,
        etag=row.etag,
        create_time=timeconv.to_timestamp(row.create_time),
        update_time=timeconv.to_timestamp(row.update_time),
    )


def busy_block_proto(row: models.BusyBlockRow) -> pb.BusyBlock:
    return pb.BusyBlock(
        name=f"interviewers/{row.interviewer_id}/busyBlocks/{row.id}",
        time_range=common_pb2.TimeRange(
            start_time=timeconv.to_timestamp(row.start_time), end_time=timeconv.to_timestamp(row.end_time)
        ),
        kind=row.kind,
        source=row.source,
        create_time=timeconv.to_timestamp(row.create_time),
    )


def candidate_proto(row: models.CandidateRow) -> pb.Candidate:
    message = pb.Candidate(
        name=f"candidates/{row.id}",
        display_name=row.display_name,
        email=row.email,
        time_zone=row.time_zone,
        primary_area=row.primary_area,
        secondary_area=row.secondary_area,
        availability=[
            common_pb2.LocalDateWindow(date=_date_proto(date.fromisoformat(d)), start=_local(s), end=_local(e))
            for d, s, e in row.availability
        ],
        preferred_office=f"offices/{row.preferred_office_id}" if row.preferred_office_id else "",
        etag=row.etag,
        create_time=timeconv.to_timestamp(row.create_time),
        update_time=timeconv.to_timestamp(row.update_time),
    )
    if row.preferred_hours:
        start, end = row.preferred_hours
        message.preferred_hours.CopyFrom(common_pb2.DailyWindow(start=_local(start), end=_local(end)))
    return message


def template_proto(row: models.LoopTemplateRow) -> pb.LoopTemplate:
    return pb.LoopTemplate(
        name=f"loopTemplates/{row.id}",
        display_name=row.display_name,
        sessions=[
            pb.SessionTemplate(
                title=s["title"],
                kind=s["kind"],
                duration=timeconv.to_duration(timedelta(minutes=s["minutes"])),
                area_rule=s["area_rule"],
                interviewers_needed=s["interviewers_needed"],
            )
            for s in row.sessions
        ],
        buffer_between_sessions=timeconv.to_duration(timedelta(minutes=row.buffer_minutes)),
        max_days=row.max_days,
        etag=row.etag,
        create_time=timeconv.to_timestamp(row.create_time),
        update_time=timeconv.to_timestamp(row.update_time),
    )
