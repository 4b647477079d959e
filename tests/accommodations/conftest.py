"""Fixtures for the accommodations service: the service in process, with recording
stand-ins for the two services it calls (notifications and scheduling), so tests see
exactly which emails and revalidation calls leave the service."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass, field

import grpc
import pytest

from interviews.accommodations.v1 import accommodations_pb2_grpc
from interviews.notifications.v1 import notifications_pb2, notifications_pb2_grpc
from interviews.scheduling.v1 import scheduling_pb2, scheduling_pb2_grpc

COORDINATORS = ("coord-one@example.com", "coord-two@example.com")


@dataclass
class Recorder:
    """What the fake downstream services received."""

    emails: list[notifications_pb2.SendMessageRequest] = field(default_factory=list)
    revalidations: list[scheduling_pb2.RevalidateCandidateLoopsRequest] = field(default_factory=list)
    metadata: list[dict[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Notifications(notifications_pb2_grpc.NotificationsServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def SendMessage(self, request, context):
        with self.recorder.lock:
            self.recorder.emails.append(request)
            self.recorder.metadata.append(dict(context.invocation_metadata()))
        return notifications_pb2.Delivery(idempotency_key=request.idempotency_key)


class _Scheduling(scheduling_pb2_grpc.SchedulingServiceServicer):
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def RevalidateCandidateLoops(self, request, context):
        with self.recorder.lock:
            self.recorder.revalidations.append(request)
            self.recorder.metadata.append(dict(context.invocation_metadata()))
        return scheduling_pb2.RevalidateCandidateLoopsResponse(checked_count=0)


@pytest.fixture
def downstream() -> Iterator[tuple[Recorder, str]]:
    """A loopback server standing in for notifications and scheduling."""
    recorder = Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    notifications_pb2_grpc.add_NotificationsServiceServicer_to_server(_Notifications(recorder), server)
    scheduling_pb2_grpc.add_SchedulingServiceServicer_to_server(_Scheduling(recorder), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield recorder, f"127.0.0.1:{port}"
    server.stop(0)


@pytest.fixture
def acc_settings(settings, downstream):
    _, address = downstream
    return settings.with_overrides(
        ACCOMMODATIONS_COORDINATOR_EMAILS=",".join(COORDINATORS),
        NOTIFICATIONS_ADDRESS=address,
        SCHEDULING_ADDRESS=address,
        ACCOMMODATIONS_SWEEP_INTERVAL_SECONDS="3600",
        # The access matrix makes hundreds of calls as one coordinator in a few seconds.
        INTERVIEWS_RATE_LIMIT_PER_SECOND="100000",
        INTERVIEWS_RATE_LIMIT_BURST="100000",
    )


@dataclass
class Acc:
    stub: accommodations_pb2_grpc.AccommodationsServiceStub
    recorder: Recorder
    settings: object
    service: object


@pytest.fixture
def acc(acc_settings, start_service, downstream) -> Acc:
    service = start_service("accommodations", acc_settings)
    return Acc(
        accommodations_pb2_grpc.AccommodationsServiceStub(service.channel), downstream[0], acc_settings, service
    )
