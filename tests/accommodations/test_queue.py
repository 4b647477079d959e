"""The coordinator queue: sorted by the running SLA deadline, filtered, paged."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.accommodations.domain.lifecycle import State
from services.accommodations.domain.sla import SlaState
from services.accommodations.tickets import TicketFilter
from services.core.db import Database
from services.core.errors import InvalidArgument
from tests.accommodations.desk_helpers import COORDINATOR, RECRUITER, Clock, make_desk, submit


@pytest.fixture
def db(database_urls):
    database = Database(database_urls["accommodations"], "accommodations")
    yield database
    database.dispose()


def listing(db, desk, flt=TicketFilter(), size=50, token="", caller=COORDINATOR):
    with db.reader() as session:
        return desk.list(session, caller, flt, size, token)


def test_sorted_by_deadline_with_filters_and_paging(db):
    clock = Clock()
    desk = make_desk(clock)
    first = submit(db, desk, office="offices/los-gatos")
    clock.advance(hours=1)
    second = submit(db, desk, office="offices/los-angeles")
    clock.advance(hours=1)
    soon = submit(db, desk, office="offices/los-gatos", first_interview_time=clock.now + timedelta(hours=3))
    clock.advance(hours=1)
    paused = submit(db, desk)
    for step in (desk.triage, desk.start_review):
        db.run(lambda s, step=step: step(s, COORDINATOR, paused, ""))
    db.run(lambda s: desk.request_information(s, COORDINATOR, paused, "?", ""))
    db.run(lambda s: desk.assign(s, COORDINATOR, second, "kim@example.com", ""))

    order = [v.name.split("/")[1] for v in listing(db, desk).items]
    assert order == [soon, first, second, paused]  # the interview makes `soon` first; paused last

    pages, token = [], ""
    while True:
        page = listing(db, desk, size=1, token=token)
        pages.extend(v.name.split("/")[1] for v in page.items)
        token = page.next_page_token
        if not token:
            break
    assert pages == order

    office = listing(db, desk, TicketFilter(office="offices/los-gatos")).items
    assert [v.name.split("/")[1] for v in office] == [soon, first]
    assert [v.name.split("/")[1] for v in listing(db, desk, TicketFilter(assignee="kim@example.com")).items] == [second]
    states = listing(db, desk, TicketFilter(states=(State.AWAITING_CANDIDATE,))).items
    assert [v.name.split("/")[1] for v in states] == [paused]
    due = listing(db, desk, TicketFilter(due_before=clock.now + timedelta(hours=3))).items
    assert [v.name.split("/")[1] for v in due] == [soon]

    # Time passes: the interview ticket is overdue, the acknowledgements turn at risk.
    clock.advance(hours=20)
    by_sla = lambda *states: sorted(v.name.split("/")[1] for v in listing(db, desk, TicketFilter(sla_states=states)).items)
    assert by_sla(SlaState.OVERDUE) == [soon]
    assert by_sla(SlaState.AT_RISK) == sorted([first, second])
    assert by_sla(SlaState.PAUSED) == [paused]
    assert by_sla(SlaState.ON_TRACK) == []
    assert by_sla(SlaState.AT_RISK, SlaState.OVERDUE) == sorted([soon, first, second])
    # The SQL filter and the computed state agree.
    for view in listing(db, desk).items:
        assert view.name.split("/")[1] in by_sla(view.sla.state)


def test_token_from_another_filter_is_refused(db):
    clock = Clock()
    desk = make_desk(clock)
    submit(db, desk)
    submit(db, desk)
    token = listing(db, desk, size=1).next_page_token
    assert token
    with pytest.raises(InvalidArgument):
        listing(db, desk, TicketFilter(office="offices/x"), size=1, token=token)
    with pytest.raises(InvalidArgument):
        listing(db, desk, size=1, token=token, caller=RECRUITER)
