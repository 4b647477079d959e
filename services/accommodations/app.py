"""Builds the accommodations service from Settings for the core bootstrap."""

from __future__ import annotations

from interviews.accommodations.v1 import accommodations_pb2, accommodations_pb2_grpc
from services.accommodations import relay
from services.accommodations.models import OutboxMessage
from services.accommodations.servicer import AccommodationsServicer
from services.accommodations.settings import AccommodationsSettings
from services.accommodations.sweeper import SlaSweeper
from services.accommodations.tickets import Desk
from services.core.clients import ServiceClients
from services.core.config import Settings
from services.core.db import Database, utcnow
from services.core.outbox import OutboxRelay
from services.core.server import ServiceSpec

SERVICE_NAME = accommodations_pb2.DESCRIPTOR.services_by_name["AccommodationsService"].full_name


def build(settings: Settings) -> ServiceSpec:
    own = AccommodationsSettings.from_settings(settings)
    db = Database(settings.database_url("accommodations"), "accommodations")
    clients = ServiceClients(settings, "accommodations")
    desk = Desk(own.cipher, own.sla, own.coordinator_emails, clock=utcnow)
    outbox_relay = OutboxRelay(db, OutboxMessage, relay.handlers(clients), name="accommodations-outbox")
    sweeper = SlaSweeper(db, desk, interval_seconds=own.sweep_interval_seconds, after_write=outbox_relay.wake)
    servicer = AccommodationsServicer(db, desk, after_write=outbox_relay.wake)

    def close() -> None:
        clients.close()
        db.dispose()

    return ServiceSpec(
        name="accommodations",
        service_names=[SERVICE_NAME],
        register=lambda server: accommodations_pb2_grpc.add_AccommodationsServiceServicer_to_server(servicer, server),
        workers=[outbox_relay, sweeper],
        on_close=close,
    )
