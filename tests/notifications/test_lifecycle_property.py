"""The life of one delivery under any sequence of SMTP answers, against a real server:
it ends SENT exactly when a 250 comes before a 5xx and before the attempt limit, FAILED
otherwise, with one attempt counted per answer and at most one email received."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from services.core.config import Settings
from services.core.db import Database
from services.notifications import store
from services.notifications.domain.compose import message_email
from services.notifications.domain.model import Recipient
from services.notifications.domain.templates import Template
from services.notifications.models import DeliveryRow
from services.notifications.sender import Sender
from services.notifications.settings import NotificationsSettings
from services.notifications.transport import from_settings
from tests.helpers import wait_until
from tests.notifications.conftest import FAST
from tests.notifications.servers import SmtpServer

MAX_ATTEMPTS = 4
ANSWERS = {"ok": None, "later": "451 4.3.0 try later", "never": "550 5.1.1 no such user"}


def _expected(script: list[str]) -> tuple[str, int]:
    for attempt, answer in enumerate(itertools.chain(script, itertools.repeat("ok")), start=1):
        if answer == "ok":
            return store.SENT, attempt
        if answer == "never" or attempt >= MAX_ATTEMPTS:
            return store.FAILED, attempt
    raise AssertionError("unreachable")


_counter = itertools.count()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(script=st.lists(st.sampled_from(sorted(ANSWERS)), max_size=6))
def test_delivery_lifecycle(settings: Settings, smtp_server: SmtpServer, script: list[str]) -> None:
    configured = settings.with_overrides(
        SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_server.port),
        **{**FAST, "NOTIFICATIONS_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
           "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.001", "NOTIFICATIONS_RETRY_CAP_SECONDS": "0.002"})
    config = NotificationsSettings.from_settings(configured)
    db = Database(configured.database_url("notifications"), "notifications")
    address = f"life{next(_counter)}@example.com"
    smtp_server.handler.refuse = (
        lambda rcpt, attempt: ANSWERS[script[attempt]] if rcpt == address and attempt < len(script)
        else None
    )
    now = datetime.now(UTC)
    email = message_email(Template.NEW_TICKET, Recipient(address), {"ticket": "tickets/t1"},
                          config.sender, address, now)
    (row,) = db.run(lambda session: store.insert(
        session, key=address, fingerprint="f", kind=store.MESSAGE, emails=[email],
        envelope_from=config.sender.mail_from, due=now))
    sender = Sender(db, from_settings(configured.smtp, configured.mail_dir), config)

    def settled() -> DeliveryRow | None:
        sender.run_once()
        with db.reader() as session:
            current = session.scalar(select(DeliveryRow).where(DeliveryRow.seq == row.seq))
        return current if current is not None and current.state != store.PENDING else None

    final = wait_until(settled, timeout=20, interval=0.002, message="delivery settled")
    assert (final.state, final.attempts) == _expected(script)
    received = smtp_server.handler.for_recipient(address)
    assert len(received) == (1 if final.state == store.SENT else 0)
    db.dispose()
