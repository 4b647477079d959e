"""Delivery of this service's outbox: emails through notifications.SendMessage and
revalidation requests through scheduling.RevalidateCandidateLoops.

An answer that retrying cannot change (INVALID_ARGUMENT, PERMISSION_DENIED, ...) fails the
message for good; anything else is retried by the core relay with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable


from interviews.notifications.v1 import notifications_pb2, notifications_pb2_grpc
from interviews.scheduling.v1 import scheduling_pb2, scheduling_pb2_grpc
from services.accommodations import store
from services.core.clients import ServiceClients
from services.core.outbox import ClaimedMessage, call_or_refuse

log = logging.getLogger(__name__)

def handlers(clients: ServiceClients) -> dict[str, Callable[[ClaimedMessage], None]]:
    def send_message(message: ClaimedMessage) -> None:
        request = notifications_pb2.SendMessageRequest.FromString(message.payload)
        stub = notifications_pb2_grpc.NotificationsServiceStub(clients.channel("notifications"))
        call_or_refuse(clients, stub.SendMessage, request)

    def revalidate(message: ClaimedMessage) -> None:
        request = scheduling_pb2.RevalidateCandidateLoopsRequest.FromString(message.payload)
        stub = scheduling_pb2_grpc.SchedulingServiceStub(clients.channel("scheduling"))
        response = call_or_refuse(clients, stub.RevalidateCandidateLoops, request)
        log.info(
            "loops revalidated",
            extra={
                "candidate": request.candidate,
                "checked": response.checked_count,  # type: ignore[attr-defined]
                "violating": len(response.violating_loops),  # type: ignore[attr-defined]
            },
        )

    return {store.TOPIC_SEND_MESSAGE: send_message, store.TOPIC_REVALIDATE: revalidate}
