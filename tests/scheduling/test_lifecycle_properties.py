"""Random sequences of booking, holding, rescheduling, replacing and
cancelling through the API keep the invariants that matter (hypothesis):
no two active reservations of one resource overlap; a booked loop holds
exactly its reservations and a cancelled one none; every session's invites
carry its UID with one SEQUENCE per change."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from interviews.common.v1 import common_pb2
from interviews.notifications.v1 import notifications_pb2 as npb
from interviews.scheduling.v1 import scheduling_pb2 as pb
from services.core.db import Database
from services.scheduling import models
from services.scheduling.store.reservations import count_overlaps
from tests.scheduling.conftest import MON, add_candidate, add_interviewer, add_room, add_template, find

OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["book", "hold", "confirm", "release", "reschedule", "replace", "cancel"]),
              st.integers(0, 5), st.integers(0, 4)),
    min_size=3, max_size=12,
)


@pytest.fixture
def world(scheduling):
    s = scheduling
    for name in ("ana", "bo", "cy", "dee"):
        add_interviewer(s, name, [common_pb2.ML_AREA_NLP])
    add_room(s, "r1")
    for i in range(6):
        add_candidate(s, f"c{i}")
    add_template(s, "two", (45, 45), buffer=15)
    return s


def _apply(s, operation: str, who: int, pick: int, loops: list, holds: list) -> None:
    candidate = f"c{who}"
    day = MON + timedelta(days=pick % 3)
    try:
        if operation in ("book", "hold"):
            plans = find(s, candidate, "two", day, day + timedelta(days=2), onsite="los-gatos" if pick % 2 else None).plans
            if not plans:
                return
            plan = plans[pick % len(plans)]
            if operation == "book":
                loops.append(s.call("BookLoop", pb.BookLoopRequest(plan=plan)).name)
            else:
                holds.append(s.call("CreateHold", pb.CreateHoldRequest(plan=plan)).name)
        elif operation in ("confirm", "release") and holds:
            name = holds[pick % len(holds)]
            if operation == "confirm":
                loops.append(s.call("ConfirmHold", pb.ConfirmHoldRequest(name=name)).name)
            else:
                s.call("ReleaseHold", pb.ReleaseHoldRequest(name=name))
        elif operation in ("reschedule", "replace", "cancel") and loops:
            loop = s.call("GetLoop", pb.GetLoopRequest(name=loops[pick % len(loops)]))
            if operation == "cancel":
                s.call("CancelLoop", pb.CancelLoopRequest(name=loop.name, reason="test", etag=loop.etag))
            elif operation == "replace":
                session = loop.sessions[pick % len(loop.sessions)]
                s.call("ReplaceInterviewer", pb.ReplaceInterviewerRequest(
                    name=loop.name, session_id=session.session_id, interviewer=session.session.interviewers[0], etag=loop.etag))
            else:
                candidate = loop.candidate.split("/")[1]
                plans = find(s, candidate, "two", day, day + timedelta(days=2), reschedule=loop.name).plans
                if plans:
                    s.call("RescheduleLoop", pb.RescheduleLoopRequest(name=loop.name, plan=plans[pick % len(plans)], etag=loop.etag))
    except grpc.RpcError as error:
        # Conflicts, lapsed or used holds, cancelled loops, no free replacement: refused cleanly.
        assert error.code() in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION), error


def _check(s) -> None:
    db = Database(s.settings.database_url("scheduling"), "scheduling")
    try:
        with db.reader() as session:
            assert count_overlaps(session) == 0
            active = {}
            for row in session.scalars(select(models.ReservationRow).where(models.ReservationRow.active.is_(True))):
                active.setdefault(row.owner, []).append(row)
            for loop in session.scalars(select(models.LoopRow)):
                rows = active.get(f"loops/{loop.id}", [])
                if loop.state == models.LoopState.CANCELLED:
                    assert not rows
                    continue
                sessions = session.scalars(select(models.LoopSessionRow).where(models.LoopSessionRow.loop_id == loop.id)).all()
                expected = sorted((f"interviewers/{i}", x.id) for x in sessions for i in x.interviewer_ids)
                assert sorted((r.resource, r.session_id) for r in rows if r.resource.startswith("interviewers/")) == expected
                assert len([r for r in rows if r.resource.startswith("candidates/")]) == len(sessions)
            for hold in session.scalars(select(models.HoldRow)):
                assert bool(active.get(f"holds/{hold.id}")) == (hold.state == models.HoldState.ACTIVE)
            sequences: dict[str, set[int]] = {}
            for message in session.scalars(select(models.OutboxMessage)):
                kind = npb.SendInviteRequest if message.topic.endswith("SendInvite") else npb.CancelInviteRequest
                invite = kind.FromString(message.payload).invite
                assert message.idempotency_key.startswith(f"invite:{invite.uid.removesuffix('@interviews')}:{invite.sequence}:")
                sequences.setdefault(invite.uid, set()).add(invite.sequence)
            for row in session.scalars(select(models.LoopSessionRow)):
                # SEQUENCE rises by one per change, and every value was sent.
                assert sequences[f"{row.id}@interviews"] == set(range(row.sequence + 1))
    finally:
        db.dispose()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_lifecycles_keep_the_invariants(world, operations):
    loops: list[str] = []
    holds: list[str] = []
    for operation, who, pick in operations:
        _apply(world, operation, who, pick, loops, holds)
    _check(world)
