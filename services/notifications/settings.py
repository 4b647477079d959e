"""The notifications service's own settings, read from the shared Settings' environment.

SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME, SMTP_PASSWORD   see services/core/config.py;
    without SMTP_HOST mail is written to $INTERVIEWS_DATA_DIR/mail/*.eml (or MAIL_DIR)
SMTP_CA_FILE                            PEM file of the CA that signs the SMTP server's
                                        certificate, when it is not a public one
MAIL_FROM, MAIL_FROM_NAME                the envelope sender and default organizer
NOTIFICATIONS_SENDERS                   sender threads (2)
NOTIFICATIONS_BATCH_SIZE                deliveries one sender claims at a time (20)
NOTIFICATIONS_LEASE_SECONDS             how long a claim lasts before another sender may
                                        retry it (120; must exceed a stuck SMTP call)
NOTIFICATIONS_POLL_SECONDS              idle poll interval (0.5)
NOTIFICATIONS_RETRY_BASE_SECONDS        first retry delay ceiling (30)
NOTIFICATIONS_RETRY_CAP_SECONDS         largest retry delay (3600)
NOTIFICATIONS_MAX_ATTEMPTS              attempts before a delivery is FAILED (8)
NOTIFICATIONS_KEEP_EMAIL_DAYS           days a settled delivery keeps its rendered email (30)
NOTIFICATIONS_SWEEP_SECONDS             how often old emails are emptied (3600)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from services.core.config import Settings
from services.notifications.domain.backoff import RetryPolicy
from services.notifications.domain.compose import Sender

# Looser than attendee addresses, so a local relay name also works as the sender.
_MAILBOX = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9.-]+$")


def _number(settings: Settings, key: str, default: float) -> float:
    raw = settings.get(key)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{key} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{key} must be positive, got {raw!r}")
    return value


@dataclass(frozen=True)
class NotificationsSettings:
    sender: Sender
    senders: int
    batch_size: int
    lease: timedelta
    poll_seconds: float
    retry: RetryPolicy
    smtp_ca_file: str | None
    keep_email: timedelta
    sweep_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> NotificationsSettings:
        if not _MAILBOX.match(settings.mail_from):
            raise ValueError(f"MAIL_FROM must be an email address, got {settings.mail_from!r}")
        smtp = settings.smtp
        lease = timedelta(seconds=_number(settings, "NOTIFICATIONS_LEASE_SECONDS", 120))
        if smtp.host and lease.total_seconds() <= 2 * smtp.timeout_seconds:
            # One claimed email can hold a sender for a connect plus a send timeout; a
            # shorter lease lets a second sender send it again meanwhile.
            raise ValueError("NOTIFICATIONS_LEASE_SECONDS must exceed twice SMTP_TIMEOUT_SECONDS")
        return cls(
            sender=Sender(settings.mail_from, settings.mail_from_name),
            senders=int(_number(settings, "NOTIFICATIONS_SENDERS", 2)),
            batch_size=int(_number(settings, "NOTIFICATIONS_BATCH_SIZE", 20)),
            lease=lease,
            poll_seconds=_number(settings, "NOTIFICATIONS_POLL_SECONDS", 0.5),
            retry=RetryPolicy(
                base=timedelta(seconds=_number(settings, "NOTIFICATIONS_RETRY_BASE_SECONDS", 30)),
                cap=timedelta(seconds=_number(settings, "NOTIFICATIONS_RETRY_CAP_SECONDS", 3600)),
                max_attempts=int(_number(settings, "NOTIFICATIONS_MAX_ATTEMPTS", 8)),
            ),
            smtp_ca_file=settings.get("SMTP_CA_FILE"),
            keep_email=timedelta(days=_number(settings, "NOTIFICATIONS_KEEP_EMAIL_DAYS", 30)),
            sweep_seconds=_number(settings, "NOTIFICATIONS_SWEEP_SECONDS", 3600),
        )
