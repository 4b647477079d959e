"""Conversions between protobuf time types and aware UTC datetimes, with
INVALID_ARGUMENT errors that name the field."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp

from services.core.errors import InvalidArgument

# Timestamps outside these years are refused: nothing here plans that far.
_MIN = datetime(1970, 1, 1, tzinfo=UTC)
_MAX = datetime(2200, 1, 1, tzinfo=UTC)


def to_datetime(ts: Timestamp, field: str) -> datetime:
    if not 0 <= ts.nanos < 1_000_000_000:
        raise InvalidArgument(field, "nanos out of range")
    try:
        value = datetime.fromtimestamp(ts.seconds, UTC) + timedelta(microseconds=ts.nanos // 1000)
    except (OverflowError, OSError, ValueError):
        raise InvalidArgument(field, "timestamp out of range") from None
    if not _MIN <= value < _MAX:
        raise InvalidArgument(field, "timestamp out of range (1970-2199)")
    return value


def to_timestamp(value: datetime) -> Timestamp:
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    ts = Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def time_range(message: object, field: str) -> tuple[datetime, datetime]:
    """A common.v1.TimeRange as (start, end), both set and start < end."""
    if not message.HasField("start_time"):  # type: ignore[attr-defined]
        raise InvalidArgument(f"{field}.start_time", "required")
    if not message.HasField("end_time"):  # type: ignore[attr-defined]
        raise InvalidArgument(f"{field}.end_time", "required")
    start = to_datetime(message.start_time, f"{field}.start_time")  # type: ignore[attr-defined]
    end = to_datetime(message.end_time, f"{field}.end_time")  # type: ignore[attr-defined]
    if end <= start:
        raise InvalidArgument(field, "end_time must be after start_time")
    return start, end


def zone(name: str, field: str) -> ZoneInfo:
    if not name:
        raise InvalidArgument(field, "required (an IANA zone such as America/Los_Angeles)")
    if len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise InvalidArgument(field, "not an IANA time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidArgument(field, f"unknown time zone {name[:64]!r}") from None


def to_date(message: object, field: str) -> date:
    try:
        return date(message.year, message.month, message.day)  # type: ignore[attr-defined]
    except ValueError as error:
        raise InvalidArgument(field, f"not a valid date: {error}") from None


def to_time(message: object, field: str) -> time:
    hours, minutes = message.hours, message.minutes  # type: ignore[attr-defined]
    if hours == 24 and minutes == 0:
        return time.max  # end of day
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise InvalidArgument(field, "hours must be 0-23 (or 24:00) and minutes 0-59")
    return time(hours, minutes)


def to_timedelta(value: Duration, field: str, *, minimum: timedelta = timedelta(0), maximum: timedelta | None = None) -> timedelta:
    if value.nanos and (value.seconds > 0) != (value.nanos > 0):
        raise InvalidArgument(field, "seconds and nanos must have the same sign")
    try:
        result = timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)
    except OverflowError:  # past timedelta's range (about 2.7 million years)
        raise InvalidArgument(field, "duration out of range") from None
    if result < minimum:
        raise InvalidArgument(field, f"must be at least {minimum}")
    if maximum is not None and result > maximum:
        raise InvalidArgument(field, f"must be at most {maximum}")
    return result


def to_duration(value: timedelta) -> Duration:
    duration = Duration()
    duration.FromTimedelta(value)
    return duration
