"""The two edges scheduling calls: accommodations answers that are not
constraints, and notifications refusing an invite for good."""

from __future__ import annotations

from concurrent import futures
from datetime import timedelta

import grpc
import pytest
from sqlalchemy import select

from interviews.accommodations.v1 import accommodations_pb2_grpc
from interviews.scheduling.v1 import scheduling_pb2 as pb
from interviews.scheduling.v1 import scheduling_pb2_grpc
from services.core.clients import ServiceClients
from services.core.db import Database
from services.core.errors import Unavailable
from services.core.server import start_server
from services.scheduling import app, models
from services.scheduling.constraints_source import AccommodationsConstraints
from tests.helpers import wait_until
from tests.scheduling.conftest import MON, NLP, add_candidate, add_interviewer, add_template, find, Scheduling


class _Accommodations(accommodations_pb2_grpc.AccommodationsServiceServicer):
    """Answers GetSchedulingConstraints with a fixed status code."""

    def __init__(self, code: grpc.StatusCode) -> None:
        self.code = code
        self.metadata: list[dict] = []

    def GetSchedulingConstraints(self, request, context):
        self.metadata.append(dict(context.invocation_metadata()))
        context.abort(self.code, "test answer")


@pytest.mark.parametrize(("code", "outcome"), [
    (grpc.StatusCode.NOT_FOUND, "empty"),
    (grpc.StatusCode.PERMISSION_DENIED, "unavailable"),
    (grpc.StatusCode.UNIMPLEMENTED, "unavailable"),
    (grpc.StatusCode.UNAVAILABLE, "unavailable"),
])
def test_constraints_source_reads_not_found_as_none_and_anything_else_as_unknown(settings, code, outcome):
    servicer = _Accommodations(code)
    server = grpc.server(futures.ThreadPoolExecutor(2))
    accommodations_pb2_grpc.add_AccommodationsServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    clients = ServiceClients(settings.with_overrides(ACCOMMODATIONS_ADDRESS=f"127.0.0.1:{port}"), "scheduling")
    try:
        source = AccommodationsConstraints(clients)
        if outcome == "empty":
            constraints = source.fetch("candidates/c")
            assert constraints.candidate == "candidates/c" and not constraints.remote_only
        else:
            with pytest.raises(Unavailable):
                source.fetch("candidates/c")
        # Called as the scheduling service, with its own token.
        assert servicer.metadata[0]["authorization"].startswith("Bearer ")
    finally:
        clients.close()
        server.stop(0)


def test_invites_notifications_refuses_fail_for_good_without_retries(settings, start_service, token, clock, fake_constraints):
    # The organizer address is one notifications will not send from: a permanent refusal.
    notifications = start_service("notifications", settings)
    own = settings.with_overrides(NOTIFICATIONS_ADDRESS=notifications.address, MAIL_FROM="not-an-address",
                                  SCHEDULING_OUTBOX_POLL_SECONDS="0.05")
    running = start_server(app.build(own, constraints=fake_constraints, clock=clock), own, port=0, host="127.0.0.1")
    channel = grpc.insecure_channel(f"127.0.0.1:{running.port}")
    db = Database(own.database_url("scheduling"), "scheduling")
    try:
        s = Scheduling(scheduling_pb2_grpc.SchedulingServiceStub(channel), running, own, clock, fake_constraints, token("recruiter"), token)
        add_interviewer(s, "ana", [NLP])
        add_candidate(s, "cand")
        add_template(s, "one", (60,))
        s.call("BookLoop", pb.BookLoopRequest(plan=find(s, "cand", "one", MON, MON + timedelta(days=1)).plans[0]))

        def failed():
            with db.reader() as session:
                return session.scalars(select(models.OutboxMessage).where(models.OutboxMessage.failed_time.is_not(None))).all()

        rows = wait_until(failed, message="permanent failure recorded")
        assert rows[0].attempts == 1 and "INVALID_ARGUMENT" in rows[0].last_error
    finally:
        db.dispose()
        channel.close()
        running.stop(0.5)
