"""Merging several active tickets' constraints into the strictest, and validating them."""

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.accommodations.domain.constraints import (
    NOTHING_ALLOWED,
    Constraints,
    InvalidConstraints,
    effective,
    intersect_windows,
    merge,
    validate,
)


def test_merge_takes_the_strictest_of_each():
    a = Constraints(duration_multiplier=1.5, extra_break_minutes=10, max_sessions_per_day=3,
                    remote_only=True, allowed_windows=((9 * 60, 13 * 60),), interviewer_notes=("Captions on",))
    b = Constraints(duration_multiplier=1.25, extra_break_minutes=30, max_sessions_per_day=2,
                    interpreter=True, allowed_windows=((11 * 60, 15 * 60),), interviewer_notes=("Captions on", "One at a time"))
    m = merge([a, b])
    assert m.duration_multiplier == 1.5
    assert m.extra_break_minutes == 30
    assert m.max_sessions_per_day == 2
    assert m.remote_only and m.interpreter and not m.accessible_room
    assert m.allowed_windows == ((11 * 60, 13 * 60),)
    assert m.interviewer_notes == ("Captions on", "One at a time")


def test_zero_cap_means_no_limit():
    assert merge([Constraints(max_sessions_per_day=0), Constraints(max_sessions_per_day=4)]).max_sessions_per_day == 4


def test_disjoint_windows_allow_nothing_rather_than_everything():
    assert intersect_windows([(540, 600)], [(700, 800)]) == NOTHING_ALLOWED
    assert intersect_windows([], [(700, 800)]) == ((700, 800),)


def test_effective_names_its_sources_and_changes_etag():
    t1, t2 = datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc)
    one = effective([("tickets/a", Constraints(remote_only=True), t1)])
    two = effective([("tickets/a", Constraints(remote_only=True), t1), ("tickets/b", Constraints(), t2)])
    assert two.constraints.source_tickets == ("tickets/a", "tickets/b")
    assert two.update_time == t2
    assert one.etag != two.etag
    assert effective([]).constraints.is_empty() and effective([]).update_time is None


@pytest.mark.parametrize(
    "bad, field",
    [
        (Constraints(duration_multiplier=0.5), "duration_multiplier"),
        (Constraints(duration_multiplier=9), "duration_multiplier"),
        (Constraints(extra_break_minutes=-1), "extra_break_minutes"),
        (Constraints(max_sessions_per_day=-2), "max_sessions_per_day"),
        (Constraints(allowed_windows=((600, 600),)), "allowed_windows"),
        (Constraints(allowed_windows=((600, 1500),)), "allowed_windows"),
        (Constraints(interviewer_notes=("",)), "interviewer_notes"),
    ],
)
def test_validation(bad, field):
    with pytest.raises(InvalidConstraints) as err:
        validate(bad)
    assert err.value.field == field


def test_notes_may_not_quote_the_reason():
    reason = "I have a chronic condition ZX-MARKER-42 that makes long sessions hard."
    with pytest.raises(InvalidConstraints):
        validate(Constraints(interviewer_notes=("note: chronic condition zx-marker-42",)), reason)
    ok = validate(Constraints(interviewer_notes=("Allow extra time per session",)), reason)
    assert ok.interviewer_notes == ("Allow extra time per session",)


windows = st.lists(
    st.tuples(st.integers(0, 1439), st.integers(1, 1440)).filter(lambda w: w[0] < w[1]).map(tuple),
    max_size=3,
)
constraints = st.builds(
    Constraints,
    duration_multiplier=st.sampled_from([1.0, 1.25, 1.5, 2.0]),
    extra_break_minutes=st.integers(0, 60),
    max_sessions_per_day=st.integers(0, 6),
    remote_only=st.booleans(),
    accessible_room=st.booleans(),
    interpreter=st.booleans(),
    captioning=st.booleans(),
    one_interviewer_at_a_time=st.booleans(),
    quiet_room=st.booleans(),
    allowed_windows=windows.map(lambda ws: tuple(validate(Constraints(allowed_windows=tuple(ws))).allowed_windows)),
)


def _allows_minute(c, minute):
    return not c.allowed_windows or any(a <= minute < b for a, b in c.allowed_windows)


@given(st.lists(constraints, min_size=1, max_size=4), st.integers(0, 1439))
def test_merged_is_at_least_as_strict_as_each(items, minute):
    m = merge(items)
    for c in items:
        assert m.duration_multiplier >= c.duration_multiplier
        assert m.extra_break_minutes >= c.extra_break_minutes
        assert c.max_sessions_per_day == 0 or 0 < m.max_sessions_per_day <= c.max_sessions_per_day
        for flag in ("remote_only", "accessible_room", "interpreter", "captioning",
                     "one_interviewer_at_a_time", "quiet_room"):
            assert getattr(m, flag) >= getattr(c, flag)
    # A minute is allowed by the merge exactly when every ticket allows it.
    assert _allows_minute(m, minute) == all(_allows_minute(c, minute) for c in items)


@given(st.lists(constraints, max_size=4), st.randoms())
def test_merge_is_order_independent(items, rnd):
    shuffled = list(items)
    rnd.shuffle(shuffled)
    a, b = merge(items), merge(shuffled)
    assert a.to_json() | {"interviewer_notes": sorted(a.interviewer_notes)} == b.to_json() | {
        "interviewer_notes": sorted(b.interviewer_notes)
    }
