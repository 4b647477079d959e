"""An SMTP server on loopback (aiosmtpd) that keeps every message it accepts."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class _Collector:
    def __init__(self, sink: MailSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        self.sink._add(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailSink:
    """Start with `start()`; `messages()` is a snapshot. Messages are also written
    to `folder` (one .eml per message) when given, so sweeps can grep files."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder
        self.port = free_port()
        self._lock = threading.Lock()
        self._messages: list[ReceivedMail] = []
        self._controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port)

    def _add(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._messages.append(mail)
            index = len(self._messages)
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{index:06d}.eml").write_bytes(mail.raw)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    def env(self) -> dict[str, str]:
        """Variables that point a service at this server."""
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_SECURITY": "none"}
