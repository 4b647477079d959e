"""The per-METHOD check refuses calendars that clients would drop or misread."""

from __future__ import annotations

from datetime import UTC, datetime

import icalendar
import pytest

from services.notifications.domain import itip
from services.notifications.domain.invite import build_calendar
from services.notifications.domain.model import Method
from tests.notifications import factories

ORGANIZER = "coordinator@example.com"
RECIPIENT = factories.CANDIDATE.email


def _calendar(method: Method = Method.REQUEST) -> icalendar.Calendar:
    return build_calendar(factories.invite(sequence=1), method, factories.CANDIDATE, ORGANIZER,
                          "text", datetime(2026, 3, 1, tzinfo=UTC))


def _event(cal: icalendar.Calendar) -> icalendar.Event:
    return cal.walk("VEVENT")[0]


@pytest.mark.parametrize("method", list(Method))
def test_built_calendars_pass(method: Method) -> None:
    assert itip.problems(_calendar(method).to_ical(), RECIPIENT, ORGANIZER) == []


@pytest.mark.parametrize(
    ("method", "prop", "message"),
    [
        (Method.REQUEST, "ORGANIZER", "ORGANIZER must occur"),
        (Method.REQUEST, "DTSTART", "DTSTART must occur"),
        (Method.REQUEST, "ATTENDEE", "ATTENDEE must occur"),
        (Method.REQUEST, "DTSTAMP", "DTSTAMP must occur"),
        (Method.REQUEST, "UID", "UID must occur"),
        (Method.CANCEL, "SEQUENCE", "SEQUENCE must occur"),
        (Method.CANCEL, "ORGANIZER", "ORGANIZER must occur"),
    ],
)
def test_missing_required_property_is_refused(method: Method, prop: str, message: str) -> None:
    cal = _calendar(method)
    del _event(cal)[prop]
    with pytest.raises(itip.ItipError, match=message):
        itip.check(cal.to_ical(), RECIPIENT, ORGANIZER)


def test_other_rules() -> None:
    cal = _calendar()
    cal["METHOD"] = icalendar.vText("PUBLISH")
    assert "METHOD must be" in itip.problems(cal.to_ical(), RECIPIENT, ORGANIZER)[0]

    assert any("ORGANIZER must be mailto: the From" in p
               for p in itip.problems(_calendar().to_ical(), RECIPIENT, "other@example.com"))
    assert any("recipient must be an ATTENDEE" in p
               for p in itip.problems(_calendar().to_ical(), "else@example.com", ORGANIZER))

    cancel = _calendar(Method.CANCEL)
    _event(cancel)["STATUS"] = icalendar.vText("CONFIRMED")
    assert "CANCEL: STATUS must be CANCELLED" in itip.problems(cancel.to_ical(), RECIPIENT, ORGANIZER)

    local_stamp = _calendar()
    _event(local_stamp)["DTSTAMP"] = icalendar.vDDDTypes(datetime(2026, 3, 1))
    assert "DTSTAMP must be a UTC date-time" in itip.problems(
        local_stamp.to_ical(), RECIPIENT, ORGANIZER)

    # icalendar's own generator lists transitions as RDATE, which Outlook ignores.
    rdate_only = build_calendar(factories.invite(), Method.REQUEST, factories.INTERVIEWER,
                                ORGANIZER, "text", datetime(2026, 3, 1, tzinfo=UTC))
    rdate_only.subcomponents = [c for c in rdate_only.subcomponents if c.name != "VTIMEZONE"]
    rdate_only.subcomponents.insert(0, icalendar.Timezone.from_tzid("America/Los_Angeles"))
    assert any("RDATE only" in p for p in itip.problems(
        rdate_only.to_ical(), factories.INTERVIEWER.email, ORGANIZER))

    no_tz = _calendar()
    no_tz.subcomponents = [c for c in no_tz.subcomponents if c.name != "VTIMEZONE"]
    assert any("TZID without VTIMEZONE" in p
               for p in itip.problems(no_tz.to_ical(), RECIPIENT, ORGANIZER))

    two = _calendar()
    two.add_component(_event(_calendar()))
    assert "exactly one VEVENT" in itip.problems(two.to_ical(), RECIPIENT, ORGANIZER)[-1]

    assert "not parseable" in itip.problems(b"garbage", RECIPIENT, ORGANIZER)[0]
