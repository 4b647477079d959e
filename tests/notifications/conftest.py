"""Fixtures for the notifications tests: SMTP and CalDAV peers, a service on top."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from interviews.notifications.v1 import notifications_pb2_grpc as pb_grpc

from services.core.config import Settings
from tests.notifications.servers import Radicale, SmtpServer


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[Radicale]:
    with Radicale(tmp_path / "radicale") as server:
        yield server


# Fast retries and polling so tests wait milliseconds, not minutes.
FAST = {
    "MAIL_FROM": "scheduling@example.com",
    "NOTIFICATIONS_POLL_SECONDS": "0.05",
    "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.05",
    "NOTIFICATIONS_RETRY_CAP_SECONDS": "0.2",
    "NOTIFICATIONS_MAX_ATTEMPTS": "4",
    "NOTIFICATIONS_LEASE_SECONDS": "30",
    "SMTP_TIMEOUT_SECONDS": "5",
}


@pytest.fixture
def notifications(
    settings: Settings, smtp_server: SmtpServer, start_service: Callable[..., object]
) -> pb_grpc.NotificationsServiceStub:
    """The service on the backend under test, mailing the loopback SMTP server."""
    configured = settings.with_overrides(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port), SMTP_SECURITY="none", **FAST
    )
    service = start_service("notifications", configured)
    channel: grpc.Channel = service.channel  # type: ignore[attr-defined]
    return pb_grpc.NotificationsServiceStub(channel)
