"""Where emails go: an SMTP server, or .eml files in a folder (the embedded default).

A transport reports each send as done, permanently refused (5xx: retrying cannot help) or
failed for now (4xx, network, timeouts). One connection serves a whole claimed batch.

Exactly once: the file transport writes under the Message-ID with an atomic link, so a
resend after a crash finds the file and does not write a second one. SMTP has no such
handle; see sender.py for the one window that remains there.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
import tempfile
import time
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from services.core.config import SmtpSettings


class PermanentSendError(Exception):
    """The server refused the message for good."""


class TransientSendError(Exception):
    """The send failed now and may work later."""


class Connection(Protocol):
    def send(self, envelope_from: str, recipient: str, message_id: str, raw: bytes) -> None: ...


class Transport(Protocol):
    def connect(self) -> AbstractContextManager[Connection]: ...


# ------------------------------------------------------------------ files

_UNSAFE = re.compile(r"[^A-Za-z0-9@._+-]")


def eml_name(message_id: str) -> str:
    """`<uuid@domain>` -> `uuid@domain.eml`; anything odd becomes `_` (no path tricks)."""
    return _UNSAFE.sub("_", message_id.strip("<>"))[:200] + ".eml"


# Partly written files live here, beside the folder's .eml files (same file system, so the
# final link is atomic) but out of the way of anyone opening the mail folder.
PARTIAL = ".partial"
# A partial file this old belongs to a process that died mid-write; younger ones may be
# another replica's write in progress.
_STALE_SECONDS = 600


class _FolderConnection:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def send(self, envelope_from: str, recipient: str, message_id: str, raw: bytes) -> None:
        final = self.folder / eml_name(message_id)
        if final.exists():
            return  # written before a crash: this delivery is already done
        fd, temp = tempfile.mkstemp(dir=self.folder / PARTIAL, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                # link() fails if the name exists: two racing senders leave one file.
                os.link(temp, final)
            except FileExistsError:
                pass
            dir_fd = os.open(self.folder, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as error:
            raise TransientSendError(f"cannot write {final.name}: {error.strerror}") from error
        finally:
            Path(temp).unlink(missing_ok=True)

    def __enter__(self) -> _FolderConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        return None


class FolderTransport:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def connect(self) -> _FolderConnection:
        partial = self.folder / PARTIAL
        partial.mkdir(parents=True, exist_ok=True)
        cutoff = time.time() - _STALE_SECONDS
        for leftover in partial.glob("*.tmp"):
            try:
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()
            except FileNotFoundError:
                pass  # another sender cleaned it up first
        return _FolderConnection(self.folder)


# ------------------------------------------------------------------ SMTP

def _classify(error: Exception) -> Exception:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentSendError(f"recipient refused ({codes[0]})")
        return TransientSendError(f"recipient deferred ({codes[0] if codes else '?'})")
    if isinstance(error, smtplib.SMTPResponseException):
        kind = PermanentSendError if 500 <= error.smtp_code < 600 else TransientSendError
        return kind(f"SMTP {error.smtp_code}")
    if isinstance(error, smtplib.SMTPException | OSError):
        return TransientSendError(f"{type(error).__name__}")
    return error


class _SmtpConnection:
    def __init__(self, settings: SmtpSettings, ca_file: str | None) -> None:
        self.settings = settings
        self.ca_file = ca_file
        self.client: smtplib.SMTP | None = None

    def __enter__(self) -> _SmtpConnection:
        s = self.settings
        assert s.host is not None
        # Certificates and host names are always verified; SMTP_CA_FILE trusts a private CA.
        context = ssl.create_default_context(cafile=self.ca_file)
        client: smtplib.SMTP | None = None
        try:
            if s.security == "tls":
                client = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=context)
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            client.ehlo()
            if s.security == "starttls":
                client.starttls(context=context)
                client.ehlo()
            if s.username:
                client.login(s.username, s.password or "")
        except (smtplib.SMTPException, OSError) as error:
            if client is not None:
                client.close()
            # Connecting, TLS and login failures say nothing about the message: even a 5xx
            # here (a wrong password) is retried with backoff, never a permanent failure
            # of every queued email at once.
            detail = getattr(error, "smtp_code", None) or type(error).__name__
            raise TransientSendError(f"cannot open SMTP session: {detail}") from error
        self.client = client
        return self

    def send(self, envelope_from: str, recipient: str, message_id: str, raw: bytes) -> None:
        assert self.client is not None
        try:
            self.client.sendmail(envelope_from, [recipient], raw)
        except Exception as error:
            raise _classify(error) from error

    def __exit__(self, *_exc: object) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()


class SmtpTransport:
    def __init__(self, settings: SmtpSettings, ca_file: str | None = None) -> None:
        if not settings.host:
            raise ValueError("SmtpTransport needs SMTP_HOST")
        self.settings = settings
        self.ca_file = ca_file

    def connect(self) -> _SmtpConnection:
        return _SmtpConnection(self.settings, self.ca_file)


def from_settings(smtp: SmtpSettings, mail_dir: Path, ca_file: str | None = None) -> Transport:
    return SmtpTransport(smtp, ca_file) if smtp.host else FolderTransport(mail_dir)
