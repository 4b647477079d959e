"""Names, pagination tokens, backoff and time conversions."""

from datetime import UTC, datetime, timedelta
import random

import pytest
from hypothesis import given, strategies as st

from google.protobuf.timestamp_pb2 import Timestamp
from interviews.common.v1 import common_pb2
from services.core import names, pagination, timeconv
from services.core.backoff import backoff_delay
from services.core.errors import InvalidArgument


def test_parse_name():
    assert names.parse("offices/{office}/rooms/{room}", "offices/los-gatos/rooms/r-1", "name") == {"office": "los-gatos", "room": "r-1"}
    for bad in ["", "offices/Los-Gatos/rooms/r1", "offices/x/rooms/", "offices/x/rooms/r1/extra", "rooms/r1", "offices/-x/rooms/r"]:
        with pytest.raises(InvalidArgument) as caught:
            names.parse("offices/{office}/rooms/{room}", bad, "room.name")
        assert caught.value.violations[0][0] == "room.name"


def test_page_tokens_belong_to_their_query():
    scope = pagination.query_scope("ListRooms", "offices/los-gatos")
    token = pagination.encode_token(scope, ["2026-01-01", "r9"])
    assert pagination.decode_token(token, scope) == ["2026-01-01", "r9"]
    assert pagination.decode_token("", scope) is None
    with pytest.raises(InvalidArgument):
        pagination.decode_token(token, pagination.query_scope("ListRooms", "offices/los-angeles"))
    for garbage in ["%%%", "bm90IGpzb24", "e30"]:
        with pytest.raises(InvalidArgument):
            pagination.decode_token(garbage, scope)


@given(st.integers(min_value=-5, max_value=5000))
def test_page_size_is_bounded(value):
    if value < 0:
        with pytest.raises(InvalidArgument):
            pagination.page_size(value)
    else:
        assert 1 <= pagination.page_size(value) <= pagination.MAX_PAGE_SIZE


@given(st.integers(min_value=1, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_backoff_is_bounded_and_grows(attempt, seed):
    rng = random.Random(seed)
    cap = timedelta(minutes=5)
    delay = backoff_delay(attempt, cap=cap, rng=rng)
    step = min(cap.total_seconds(), 2 ** (attempt - 1))
    assert step / 2 <= delay.total_seconds() <= step
    # The floor of the next attempt is never below this attempt's floor.
    assert min(cap.total_seconds(), 2**attempt) / 2 >= step / 2


@given(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2199, 1, 1), timezones=st.just(UTC)))
def test_timestamp_round_trip(value):
    value = value.replace(microsecond=value.microsecond)
    assert timeconv.to_datetime(timeconv.to_timestamp(value), "t") == value


def test_time_range_validation():
    start = timeconv.to_timestamp(datetime(2026, 12, 3, 17, tzinfo=UTC))
    end = timeconv.to_timestamp(datetime(2026, 12, 3, 18, tzinfo=UTC))
    assert timeconv.time_range(common_pb2.TimeRange(start_time=start, end_time=end), "window")[0].hour == 17
    with pytest.raises(InvalidArgument) as caught:
        timeconv.time_range(common_pb2.TimeRange(start_time=end, end_time=start), "window")
    assert caught.value.violations[0][0] == "window"
    with pytest.raises(InvalidArgument) as caught:
        timeconv.time_range(common_pb2.TimeRange(start_time=start), "window")
    assert caught.value.violations[0][0] == "window.end_time"
    with pytest.raises(InvalidArgument):
        timeconv.to_datetime(Timestamp(seconds=10**13), "t")


@pytest.mark.parametrize("zone", ["", "Mars/Olympus", "../etc/passwd", "/etc/localtime", "x" * 100])
def test_bad_zones_are_invalid_arguments(zone):
    with pytest.raises(InvalidArgument) as caught:
        timeconv.zone(zone, "time_zone")
    assert caught.value.violations[0][0] == "time_zone"


def test_keyset_page_walks_a_list_and_refuses_foreign_tokens():
    items = list(range(7))
    seen, token = [], ""
    while True:
        page = pagination.KeysetPage(3, token, "ListThings", "filter-a")
        start = 0 if page.after is None else page.after[0] + 1
        rows, token = page.finish(items[start:start + page.size + 1], lambda r: [r])
        seen += rows
        if not token:
            break
    assert seen == items
    first_token = pagination.KeysetPage(3, "", "ListThings", "filter-a").finish(items[:4], lambda r: [r])[1]
    with pytest.raises(InvalidArgument):
        pagination.KeysetPage(3, first_token, "ListThings", "filter-b")
