"""Service settings from the environment, and how the outbox relay treats answers."""

from __future__ import annotations

from concurrent import futures
from datetime import date

import grpc
import pytest

from interviews.notifications.v1 import notifications_pb2_grpc
from services.accommodations import notices, relay, store
from services.accommodations.settings import AccommodationsSettings
from services.core.clients import ServiceClients
from services.core.config import Settings
from services.core.outbox import ClaimedMessage, PermanentDeliveryError


def test_settings_from_environment(tmp_path):
    settings = Settings.from_env({
        "INTERVIEWS_DATA_DIR": str(tmp_path),
        "ACCOMMODATIONS_HOLIDAYS": "2026-11-26, 2026-12-25",
        "ACCOMMODATIONS_COORDINATOR_EMAILS": "a@example.com, b@example.com,",
        "ACCOMMODATIONS_SLA_TIME_ZONE": "Asia/Kolkata",
        "ACCOMMODATIONS_SLA_AT_RISK_FRACTION": "0.4",
    })
    own = AccommodationsSettings.from_settings(settings)
    assert own.coordinator_emails == ("a@example.com", "b@example.com")
    assert own.sla.calendar.holidays == {date(2026, 11, 26), date(2026, 12, 25)}
    assert own.sla.calendar.zone_name == "Asia/Kolkata"
    assert own.sla.at_risk_fraction == 0.4
    assert (tmp_path / "secrets" / "accommodations-encryption-key").exists()


def test_bad_holidays_are_a_clear_error(tmp_path):
    settings = Settings.from_env({"INTERVIEWS_DATA_DIR": str(tmp_path), "ACCOMMODATIONS_HOLIDAYS": "26/11/2026"})
    with pytest.raises(ValueError, match="ACCOMMODATIONS_HOLIDAYS"):
        AccommodationsSettings.from_settings(settings)


class _Refusing(notifications_pb2_grpc.NotificationsServiceServicer):
    def __init__(self, code):
        self.code = code

    def SendMessage(self, request, context):
        context.abort(self.code, "no")


@pytest.mark.parametrize(
    "code, permanent",
    [(grpc.StatusCode.INVALID_ARGUMENT, True), (grpc.StatusCode.PERMISSION_DENIED, True),
     (grpc.StatusCode.ALREADY_EXISTS, True),
     (grpc.StatusCode.INTERNAL, False), (grpc.StatusCode.RESOURCE_EXHAUSTED, False)],
)
def test_refusals_that_retrying_cannot_fix_are_permanent(tmp_path, code, permanent):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    notifications_pb2_grpc.add_NotificationsServiceServicer_to_server(_Refusing(code), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    settings = Settings.from_env({
        "INTERVIEWS_DATA_DIR": str(tmp_path), "INTERVIEWS_TOKEN_SECRET": "s" * 40,
        "NOTIFICATIONS_ADDRESS": f"127.0.0.1:{port}",
    })
    clients = ServiceClients(settings, "accommodations")
    key, payload = notices.decided("tickets/t", "c@example.com", 1, 2)
    message = ClaimedMessage(1, store.TOPIC_SEND_MESSAGE, key, payload, 0)
    try:
        with pytest.raises(PermanentDeliveryError if permanent else grpc.RpcError):
            relay.handlers(clients)[store.TOPIC_SEND_MESSAGE](message)
    finally:
        clients.close()
        server.stop(0)
