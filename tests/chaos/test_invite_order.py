"""Invites delivered out of order, deterministically: what a killed relay (its
claimed rows wait out their lease while the restarted relay sends newer
ones) or one transient failure (the row backs off, the next row goes) does.

A reschedule that replaces an interviewer writes, in one transaction,
REQUEST(seq n) to the candidate and the new interviewer and CANCEL(seq n) to
the interviewer taken off. Whatever order these and the messages of a later
change reach notifications in, every attendee's calendar must end in the
final state: the people of the session invited at its current time, the
people taken off it cancelled.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from interviews.scheduling.v1 import scheduling_pb2 as spb
from sqlalchemy import text

from services.core.outbox import OutboxRelay
from tests.chaos.test_kills import expected_mailbox, judge, read_mailbox
from tests.hardening_support import invariants
from tests.hardening_support.fleet import (
    InProcessFleet,
    base_env,
    metadata,
    sqlite_urls,
)
from tests.hardening_support.mail import MailSink
from tests.hardening_support.world import (
    Clients,
    World,
    as_recruiter,
    book_first,
    build_directory,
    find_plans,
)
from tests.helpers import wait_until


@pytest.fixture
def mail() -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def fleet(tmp_path: Path, sqlite_templates: dict[str, Path], mail: MailSink) -> Iterator[InProcessFleet]:
    env = base_env(tmp_path / "data", sqlite_urls(tmp_path, sqlite_templates),
                   extra={**mail.env(), "MAIL_FROM": "scheduling@interviews.example.com"})
    running = InProcessFleet(env).start()
    yield running
    running.stop()


def _relay(fleet: InProcessFleet) -> OutboxRelay:
    return next(w for w in fleet.running["scheduling"].spec.workers if isinstance(w, OutboxRelay))


def _outbox(fleet: InProcessFleet) -> list[tuple[int, str, object, object]]:
    engine = invariants.engine_for(fleet.env["SCHEDULING_DATABASE_URL"], "scheduling")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT id, idempotency_key, delivered_time, failed_time FROM outbox_messages ORDER BY id"))]
    finally:
        engine.dispose()


def _hold_back(fleet: InProcessFleet, key_suffix: str, until: datetime) -> None:
    engine = invariants.engine_for(fleet.env["SCHEDULING_DATABASE_URL"], "scheduling")
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE outbox_messages SET next_attempt_time = :t WHERE delivered_time IS NULL "
                              "AND idempotency_key LIKE :k"), {"t": until.replace(tzinfo=None), "k": f"%{key_suffix}"})
    finally:
        engine.dispose()


def _assert_final_state(mail: MailSink, expected: dict, timeout: float) -> None:  # type: ignore[type-arg]
    """Polls the mailbox until every attendee's latest message matches the final state."""
    try:
        wait_until(lambda: (v := judge(read_mailbox(mail), expected)) and not v.lost and not v.stale and v.delivered == v.expected,
                   timeout=timeout, message="every attendee's calendar to show the final state")
    except AssertionError:
        verdict = judge(read_mailbox(mail), expected)
        raise AssertionError(f"calendars left wrong: {verdict.lost + verdict.stale}") from None


def _replacing_plan(c: Clients, world: World, loop: spb.Loop, *, avoid: set[str] | None = None, first_day: int = 1) -> spb.LoopPlan:
    """A plan for the same candidate whose first session has other interviewers."""
    current = avoid if avoid is not None else set(loop.sessions[0].session.interviewers)
    for day in range(first_day, first_day + 10):
        for plan in find_plans(c, world, loop.candidate, day_offset=day, days=1, k=10, reschedule=loop.name).plans:
            if not current & set(plan.sessions[0].interviewers):
                return plan
    raise AssertionError("no plan with other interviewers")


def test_reschedule_delivered_cancel_first_still_updates_every_attendee(fleet: InProcessFleet, mail: MailSink) -> None:
    c = Clients.over(fleet.channels)
    world = World()
    build_directory(c, world, interviewers=4, candidates=1, prefix="ord")
    loop = book_first(c, world, world.candidates[0], request_id="ord-book")
    assert loop is not None
    wait_until(lambda: all(row[2] is not None for row in _outbox(fleet)), timeout=20, message="first invites delivered")
    relay = _relay(fleet)
    relay.stop()  # from here on the test decides what is delivered when
    plan = _replacing_plan(c, world, loop)
    c.scheduling.RescheduleLoop(spb.RescheduleLoopRequest(name=loop.name, plan=plan, etag=loop.etag, request_id="ord-move"),
                                metadata=as_recruiter(), timeout=30)
    # The REQUESTs wait (a claim of a killed relay, or a backoff); the CANCEL goes first.
    _hold_back(fleet, ":request", datetime.now(UTC) + timedelta(hours=1))
    while relay.run_once():
        pass
    _hold_back(fleet, ":request", datetime.now(UTC) - timedelta(seconds=1))
    while relay.run_once():
        pass
    assert all(row[2] is not None or row[3] is not None for row in _outbox(fleet))
    loops = c.scheduling.ListLoops(spb.ListLoopsRequest(), metadata=metadata("admin"), timeout=30).loops
    emails = {**dict(zip(world.interviewers, world.interviewer_emails, strict=True)), **world.candidate_emails}
    expected = expected_mailbox(list(loops), emails)
    _assert_final_state(mail, expected, timeout=10)


def test_reschedule_delivered_in_order_updates_every_attendee(fleet: InProcessFleet, mail: MailSink) -> None:
    """The same reschedule, delivered in the order it was written: correct (the control for the test above)."""
    c = Clients.over(fleet.channels)
    world = World()
    build_directory(c, world, interviewers=4, candidates=1, prefix="ord")
    loop = book_first(c, world, world.candidates[0], request_id="ord-book")
    assert loop is not None
    plan = _replacing_plan(c, world, loop)
    c.scheduling.RescheduleLoop(spb.RescheduleLoopRequest(name=loop.name, plan=plan, etag=loop.etag, request_id="ord-move"),
                                metadata=as_recruiter(), timeout=30)
    loops = c.scheduling.ListLoops(spb.ListLoopsRequest(), metadata=metadata("admin"), timeout=30).loops
    emails = {**dict(zip(world.interviewers, world.interviewer_emails, strict=True)), **world.candidate_emails}
    expected = expected_mailbox(list(loops), emails)
    _assert_final_state(mail, expected, timeout=20)


def test_cancel_for_a_removed_interviewer_survives_a_later_change_delivered_first(fleet: InProcessFleet, mail: MailSink) -> None:
    c = Clients.over(fleet.channels)
    world = World()
    build_directory(c, world, interviewers=5, candidates=1, prefix="ord")
    loop = book_first(c, world, world.candidates[0], request_id="ord-book")
    assert loop is not None
    wait_until(lambda: all(row[2] is not None for row in _outbox(fleet)), timeout=20, message="first invites delivered")
    removed = set(loop.sessions[0].session.interviewers)
    relay = _relay(fleet)
    relay.stop()
    # Change 1 takes the first interviewer off (CANCEL seq 1 to them); change 2
    # moves the session again without them (REQUEST seq 2 to the others).
    plan = _replacing_plan(c, world, loop)
    loop = c.scheduling.RescheduleLoop(spb.RescheduleLoopRequest(name=loop.name, plan=plan, etag=loop.etag, request_id="ord-move-1"),
                                       metadata=as_recruiter(), timeout=30)
    plan = _replacing_plan(c, world, loop, avoid=removed, first_day=5)
    c.scheduling.RescheduleLoop(spb.RescheduleLoopRequest(name=loop.name, plan=plan, etag=loop.etag, request_id="ord-move-2"),
                                metadata=as_recruiter(), timeout=30)
    # Change 1's messages wait (a dead relay's claim, a backoff); change 2's go first.
    _hold_back(fleet, ":1:request", datetime.now(UTC) + timedelta(hours=1))
    _hold_back(fleet, ":1:cancel", datetime.now(UTC) + timedelta(hours=1))
    while relay.run_once():
        pass
    _hold_back(fleet, ":1:request", datetime.now(UTC) - timedelta(seconds=1))
    _hold_back(fleet, ":1:cancel", datetime.now(UTC) - timedelta(seconds=1))
    while relay.run_once():
        pass
    loops = c.scheduling.ListLoops(spb.ListLoopsRequest(), metadata=metadata("admin"), timeout=30).loops
    emails = {**dict(zip(world.interviewers, world.interviewer_emails, strict=True)), **world.candidate_emails}
    expected = expected_mailbox(list(loops), emails)
    _assert_final_state(mail, expected, timeout=10)
