"""Data minimisation: rendered emails are kept only while they may still be needed.

A settled delivery (SENT or FAILED) keeps its row for good, but the email text it was
rendered to (names, times, per-interviewer notes) is emptied after
NOTIFICATIONS_KEEP_EMAIL_DAYS. Runs in every replica; the update is idempotent.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from services.core.db import Database, utcnow
from services.notifications import store

log = logging.getLogger(__name__)


class BodySweeper:
    def __init__(self, db: Database, keep: timedelta, interval_seconds: float) -> None:
        self.db = db
        self.keep = keep
        self.interval_seconds = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        forgotten = store.forget_bodies(self.db, utcnow() - self.keep)
        if forgotten:
            log.info("emptied stored emails", extra={"deliveries": forgotten})
        return forgotten

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="body-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("emptying stored emails failed")
            self._stop.wait(self.interval_seconds)
