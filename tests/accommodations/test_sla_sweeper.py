"""The SLA sweeper: coordinators hear once per ticket, deadline and state, even with
several replicas sweeping at the same time."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from interviews.notifications.v1 import notifications_pb2
from services.accommodations.models import OutboxMessage
from services.accommodations.sweeper import SlaSweeper
from services.core.db import Database
from tests.accommodations.desk_helpers import COORDINATOR, Clock, make_desk, submit


@pytest.fixture
def db(database_urls):
    database = Database(database_urls["accommodations"], "accommodations")
    yield database
    database.dispose()


def sla_alerts(db):
    with db.reader() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.idempotency_key.contains(":sla:"))).all()
    return sorted(
        (notifications_pb2.SendMessageRequest.FromString(r.payload) for r in rows),
        key=lambda m: m.idempotency_key,
    )


def test_alerts_once_per_state_and_not_while_paused(db):
    clock = Clock()
    desk = make_desk(clock, coordinators=("a@example.com", "b@example.com"))
    sweeper = SlaSweeper(db, desk, interval_seconds=3600)
    ticket = submit(db, desk)

    assert sweeper.run_once() == 0  # on track
    clock.advance(hours=19)  # 5 business hours left of the 24-hour acknowledgement window
    assert sweeper.run_once() == 2
    assert sweeper.run_once() == 0  # the same state is not announced twice
    alerts = sla_alerts(db)
    assert {a.recipient.email for a in alerts} == {"a@example.com", "b@example.com"}
    assert all(a.idempotency_key.endswith(("acknowledge:at_risk:a@example.com", "acknowledge:at_risk:b@example.com")) for a in alerts)
    assert all(a.parameters["due_time"] == "2026-11-03T18:00:00+00:00" for a in alerts)
    assert all(a.template == notifications_pb2.MESSAGE_TEMPLATE_SLA_AT_RISK for a in alerts)

    clock.advance(hours=6)
    assert sweeper.run_once() == 2  # now overdue
    assert {a.idempotency_key.split(":")[3] for a in sla_alerts(db)} == {"at_risk", "overdue"}

    # Triaged (late), reviewed, then waiting for the candidate: the clock is stopped.
    db.run(lambda s: desk.triage(s, COORDINATOR, ticket, ""))
    db.run(lambda s: desk.start_review(s, COORDINATOR, ticket, ""))
    db.run(lambda s: desk.request_information(s, COORDINATOR, ticket, "When?", ""))
    clock.advance(days=30)
    assert sweeper.run_once() == 0


def test_two_replicas_sweeping_at_once_send_each_alert_once(db):
    clock = Clock()
    desk = make_desk(clock, coordinators=("a@example.com",))
    for i in range(5):
        submit(db, desk, candidate=f"candidates/c-{i}")
    clock.advance(hours=20)
    sweepers = [SlaSweeper(db, desk, interval_seconds=3600) for _ in range(2)]
    barrier = threading.Barrier(2)
    counts = []

    def run(sweeper):
        barrier.wait()
        counts.append(sweeper.run_once())

    threads = [threading.Thread(target=run, args=(s,)) for s in sweepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(counts) == 5
    assert len(sla_alerts(db)) == 5


def test_first_interview_makes_a_ticket_overdue_before_five_days(db):
    clock = Clock()
    desk = make_desk(clock)
    interview = clock.now.replace(hour=23)  # Monday 15:00 LA, same day
    ticket = submit(db, desk, first_interview_time=interview)
    db.run(lambda s: desk.triage(s, COORDINATOR, ticket, ""))
    clock.now = interview
    SlaSweeper(db, desk, interval_seconds=3600).run_once()
    alerts = sla_alerts(db)
    assert [tuple(a.idempotency_key.split(":")[2:4]) for a in alerts] == [("decide", "overdue")]
