"""Real peers on loopback for the notifications tests: an SMTP server (aiosmtpd) that
records what it accepts, and a Radicale CalDAV server in a subprocess."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    envelope_from: str
    recipients: list[str]
    raw: bytes

    @cached_property
    def message_id(self) -> str:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        return str(message["Message-ID"])


@dataclass
class RecordingHandler:
    """Accepts every message and keeps it; `refuse` can answer with an SMTP error instead.

    `refuse(rcpt, attempt)` returns a reply such as "451 try later" or None to accept,
    with `attempt` counting earlier DATA commands for that recipient.
    """

    messages: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    refuse: object = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802
        recipients = list(envelope.rcpt_tos)  # type: ignore[attr-defined]
        with self.lock:
            attempt = self.attempts[recipients[0]]
            self.attempts[recipients[0]] += 1
        if callable(self.refuse):
            reply = self.refuse(recipients[0], attempt)
            if reply:
                return str(reply)
        content = envelope.original_content or envelope.content  # type: ignore[attr-defined]
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, recipients, bytes(content))  # type: ignore[attr-defined]
            )
        return "250 Message accepted for delivery"

    def for_recipient(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.recipients]


class SmtpServer:
    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.port = free_port()
        # decode_data=False keeps the bytes exactly as sent (original_content).
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.controller.stop()


class Radicale:
    """A Radicale CalDAV server; anyone may log in (auth none), data in a temp folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> Radicale:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale",
             "--server-hosts", f"127.0.0.1:{self.port}",
             "--storage-filesystem-folder", str(self.folder / "collections"),
             "--auth-type", "none", "--rights-type", "owner_only",
             "--logging-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**os.environ, "RADICALE_CONFIG": ""},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("radicale exited at start") from None
                time.sleep(0.05)
        raise RuntimeError("radicale did not start")

    def __exit__(self, *_exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
