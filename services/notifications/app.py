"""Builds the notifications service from Settings for the shared server bootstrap."""

from __future__ import annotations

import grpc
from interviews.notifications.v1 import notifications_pb2 as pb
from interviews.notifications.v1 import notifications_pb2_grpc as pb_grpc

from services.core.config import Settings
from services.core.db import Database
from services.core.server import ServiceSpec
from services.notifications import transport
from services.notifications.retention import BodySweeper
from services.notifications.sender import Sender
from services.notifications.servicer import NotificationsServicer
from services.notifications.settings import NotificationsSettings

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["NotificationsService"].full_name


def build(settings: Settings) -> ServiceSpec:
    config = NotificationsSettings.from_settings(settings)
    db = Database(settings.database_url("notifications"), "notifications")
    sender = Sender(db, transport.from_settings(settings.smtp, settings.mail_dir, config.smtp_ca_file), config)
    sweeper = BodySweeper(db, config.keep_email, config.sweep_seconds)
    servicer = NotificationsServicer(db, config, sender.wake)

    def register(server: grpc.Server) -> None:
        pb_grpc.add_NotificationsServiceServicer_to_server(servicer, server)

    return ServiceSpec(
        name="notifications",
        service_names=[SERVICE_NAME],
        register=register,
        workers=[sender, sweeper],
        on_close=db.dispose,
    )
