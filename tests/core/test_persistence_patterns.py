"""UtcDateTime, the outbox relay and request-id idempotency, on SQLite and
PostgreSQL, against a small table set of the tests' own."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from interviews.notifications.v1 import notifications_pb2
from services.core.db import UtcDateTime
from services.core.errors import InvalidArgument
from services.core.idempotency import IdempotencyRecordMixin, run_idempotent
from services.core.outbox import OutboxMessageMixin, OutboxRelay, PermanentDeliveryError, enqueue
from tests.core.conftest import scratch_database


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "events"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Outbox(OutboxMessageMixin, Base):
    __tablename__ = "outbox_messages"


class IdempotencyRecord(IdempotencyRecordMixin, Base):
    __tablename__ = "idempotency_records"


@pytest.fixture
def db(database_urls):
    with scratch_database(database_urls["scheduling"], "core_test", Base.metadata) as database:
        yield database


def test_utc_datetime_round_trip(db):
    local = datetime(2026, 11, 1, 1, 30, tzinfo=ZoneInfo("America/Los_Angeles")).replace(fold=1)  # the second 01:30 (PST)
    with db.transaction() as session:
        session.add(Event(id="e", at=local))
    with db.reader() as session:
        stored = session.get(Event, "e").at
    assert stored.tzinfo is not None
    assert stored == local.astimezone(UTC)  # PEP 495: ambiguous local times never compare equal across zones
    assert stored.astimezone(UTC).hour == 9


def test_naive_datetimes_are_refused(db):
    with pytest.raises(Exception):
        with db.transaction() as session:
            session.add(Event(id="n", at=datetime(2026, 1, 1)))
            session.flush()


def test_outbox_delivers_each_message_with_retries(db):
    with db.transaction() as session:
        for i in range(5):
            assert enqueue(session, Outbox, "topic.ok", f"key-{i}", f"payload-{i}".encode())
        assert not enqueue(session, Outbox, "topic.ok", "key-0", b"duplicate")
        enqueue(session, Outbox, "topic.flaky", "flaky", b"x")
        enqueue(session, Outbox, "topic.bad", "bad", b"x")
    delivered: list[str] = []
    flaky_calls = []

    def ok(message):
        delivered.append(message.idempotency_key)

    def flaky(message):
        flaky_calls.append(message.attempts)
        if len(flaky_calls) == 1:
            raise ConnectionError("try later")
        delivered.append(message.idempotency_key)

    def bad(message):
        raise PermanentDeliveryError("refused")

    relay = OutboxRelay(db, Outbox, {"topic.ok": ok, "topic.flaky": flaky, "topic.bad": bad}, backoff_base=timedelta(milliseconds=1), backoff_cap=timedelta(milliseconds=2))
    relay.run_once()
    assert sorted(delivered) == [f"key-{i}" for i in range(5)]
    # The flaky one waits for its backoff, then succeeds on the second attempt.
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    while "flaky" not in delivered and datetime.now(UTC) < deadline:
        relay.run_once()
    assert delivered.count("flaky") == 1 and flaky_calls == [0, 1]
    with db.reader() as session:
        bad_row = session.scalar(select(Outbox).where(Outbox.idempotency_key == "bad"))
        assert bad_row.failed_time is not None and "refused" in bad_row.last_error
        assert session.scalar(select(Outbox).where(Outbox.delivered_time.is_(None), Outbox.failed_time.is_(None))) is None
    assert relay.run_once() == 0


def test_two_relays_never_claim_the_same_message(db):
    with db.transaction() as session:
        for i in range(60):
            enqueue(session, Outbox, "t", f"k{i}", b"")
    seen: list[str] = []
    lock = threading.Lock()

    def handler(message):
        with lock:
            seen.append(message.idempotency_key)

    relays = [OutboxRelay(db, Outbox, {"t": handler}, batch_size=7) for _ in range(3)]

    def drain(relay):
        while relay.run_once():
            pass

    threads = [threading.Thread(target=drain, args=(r,)) for r in relays]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(f"k{i}" for i in range(60))


def test_request_id_returns_the_first_response(db):
    calls = []

    def produce(session: Session):
        calls.append(1)
        session.add(Event(id=f"e{len(calls)}", at=datetime.now(UTC)))
        return notifications_pb2.Delivery(name=f"deliveries/{len(calls)}")

    request = notifications_pb2.SendMessageRequest(idempotency_key="rid-1")
    first = run_idempotent(db, IdempotencyRecord, "M", request, notifications_pb2.Delivery, produce, request_id_field="idempotency_key")
    again = run_idempotent(db, IdempotencyRecord, "M", request, notifications_pb2.Delivery, produce, request_id_field="idempotency_key")
    assert first == again and len(calls) == 1
    changed = notifications_pb2.SendMessageRequest(idempotency_key="rid-1", template=1)
    with pytest.raises(InvalidArgument):
        run_idempotent(db, IdempotencyRecord, "M", changed, notifications_pb2.Delivery, produce, request_id_field="idempotency_key")
    with db.reader() as session:
        assert len(session.scalars(select(Event)).all()) == 1


def test_concurrent_retries_with_one_request_id_apply_once(db):
    calls = []
    barrier = threading.Barrier(6)

    def produce(session: Session):
        calls.append(1)
        return notifications_pb2.Delivery(name="deliveries/once")

    request = notifications_pb2.SendMessageRequest(idempotency_key="rid-race")
    results = []

    def worker():
        barrier.wait()
        results.append(run_idempotent(db, IdempotencyRecord, "M", request, notifications_pb2.Delivery, produce, request_id_field="idempotency_key"))

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r.name == "deliveries/once" for r in results)
    with db.reader() as session:
        assert session.scalar(select(IdempotencyRecord.method).where(IdempotencyRecord.request_id == "rid-race")) == "M"


def test_a_retry_refused_by_its_own_first_call_returns_the_first_response(db, monkeypatch):
    """Two calls with one request id on two replicas: the second's effect is refused
    because the first took the same resources (it waited for the first to commit);
    it returns the first's response instead of the refusal."""
    from services.core.errors import Aborted

    request = notifications_pb2.SendMessageRequest(idempotency_key="rid-taken")
    first = run_idempotent(db, IdempotencyRecord, "M", request, notifications_pb2.Delivery,
                           lambda s: notifications_pb2.Delivery(name="deliveries/first"), request_id_field="idempotency_key")

    def refused(session: Session):
        raise Aborted("already booked meanwhile", reason="RESOURCE_CONFLICT")

    # As if the first call committed between this call's own look-up and its effect.
    original_get = Session.get
    missed = []

    def get_missing_once(self, model, key, *args, **kwargs):
        if model is IdempotencyRecord and not missed:
            missed.append(key)
            return None
        return original_get(self, model, key, *args, **kwargs)

    monkeypatch.setattr(Session, "get", get_missing_once)
    again = run_idempotent(db, IdempotencyRecord, "M", request, notifications_pb2.Delivery, refused, request_id_field="idempotency_key")
    assert missed and again == first
    other = notifications_pb2.SendMessageRequest(idempotency_key="rid-never")
    with pytest.raises(Aborted):
        run_idempotent(db, IdempotencyRecord, "M", other, notifications_pb2.Delivery, refused, request_id_field="idempotency_key")


def test_database_errors_are_logged_without_row_values(db):
    import logging

    from sqlalchemy.exc import IntegrityError

    from services.core.logs import JsonFormatter

    marker = "marker-5f0c2e91"
    with db.transaction() as session:
        session.add(Event(id=marker, at=datetime.now(UTC)))
    with pytest.raises(IntegrityError) as caught:
        with db.transaction() as session:
            session.execute(Event.__table__.insert().values(id=marker, at=datetime(2026, 1, 1, tzinfo=UTC)))
    assert "parameters hidden" in str(caught.value)  # SQLAlchemy's own rendering
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "unhandled error", (), (IntegrityError, caught.value, caught.tb))
    line = JsonFormatter("test").format(record)
    assert marker not in line  # PostgreSQL's DETAIL repeats the key: withheld too
    assert "IntegrityError" in line and "SQLSTATE" in line
