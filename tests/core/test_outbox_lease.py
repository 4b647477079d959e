"""The outbox relay's claim and finish, row by row, on SQLite and PostgreSQL:
a claimed message is leased to its relay while the handler runs, a delivered
one is marked and its lease cleared, a failed one keeps its attempts and
backoff, and the claim of a relay that died lapses so another relay sends it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import DeclarativeBase

from services.core.db import Database
from tests.core.conftest import scratch_database
from services.core.outbox import OutboxMessageMixin, OutboxRelay, enqueue, enqueue_new


class Base(DeclarativeBase):
    pass


class Outbox(OutboxMessageMixin, Base):
    __tablename__ = "outbox_messages"


@pytest.fixture
def db(database_urls):
    with scratch_database(database_urls["scheduling"], "core_lease_test", Base.metadata) as database:
        yield database


def _rows(db: Database) -> dict[str, Outbox]:
    with db.reader() as session:
        return {r.idempotency_key: r for r in session.scalars(select(Outbox))}


def test_a_claim_leases_the_rows_until_each_is_finished(db):
    with db.transaction() as session:
        enqueue_new(session, Outbox, [("ok", "a", b"1"), ("ok", "b", b"2"), ("flaky", "c", b"3")])
    during: dict[str, tuple] = {}

    def ok(message):
        row = _rows(db)[message.idempotency_key]
        during[message.idempotency_key] = (row.lease_owner, row.lease_expire_time, row.delivered_time)

    def flaky(message):
        raise ConnectionError("try later")

    relay = OutboxRelay(db, Outbox, {"ok": ok, "flaky": flaky}, backoff_base=timedelta(minutes=1))
    started = datetime.now(UTC)
    assert relay.run_once() == 3
    # While its handler ran, each message was leased to this relay and not yet delivered.
    for key in ("a", "b"):
        owner, expires, delivered = during[key]
        assert owner == relay.owner and expires > started + timedelta(seconds=50) and delivered is None
    rows = _rows(db)
    for key in ("a", "b"):
        assert rows[key].delivered_time is not None and rows[key].lease_owner is None and rows[key].lease_expire_time is None
        assert rows[key].attempts == 0 and rows[key].last_error is None
    failed = rows["c"]
    assert failed.delivered_time is None and failed.failed_time is None and failed.lease_owner is None
    assert failed.attempts == 1 and "try later" in failed.last_error
    assert failed.next_attempt_time > started + timedelta(seconds=20)  # backing off: not claimed again yet
    assert relay.run_once() == 0


def test_the_claim_of_a_relay_that_died_lapses_and_another_relay_sends_it(db):
    with db.transaction() as session:
        enqueue(session, Outbox, "ok", "x", b"1")
    # A relay claims it and dies before finishing: its lease stays on the row.
    dead = OutboxRelay(db, Outbox, {"ok": lambda m: None})
    assert [m.idempotency_key for m in dead._claim()] == ["x"]
    sent: list[str] = []
    alive = OutboxRelay(db, Outbox, {"ok": lambda m: sent.append(m.idempotency_key)})
    assert alive.run_once() == 0 and sent == []  # leased to the other relay
    with db.transaction() as session:
        session.execute(update(Outbox).values(lease_expire_time=datetime.now(UTC) - timedelta(seconds=1)))
    assert alive.run_once() == 1 and sent == ["x"]
    row = _rows(db)["x"]
    assert row.delivered_time is not None and row.lease_owner is None
