"""The hold-expiry sweeper: a background worker that marks lapsed holds
expired and frees their reservations. Reads and bookings already ignore lapsed
holds on their own, so a late sweep only delays tidying, never correctness."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from services.core.db import Database
from services.scheduling.booking import Booking

log = logging.getLogger(__name__)


class HoldSweeper:
    def __init__(self, db: Database, booking: Booking, clock: Callable[[], datetime], *, interval: float = 30.0) -> None:
        self.db = db
        self.booking = booking
        self.clock = clock
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        return self.db.run(lambda session: self.booking.expire_holds(session, self.clock()))

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="hold-sweeper", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                expired = self.run_once()
                if expired:
                    log.info("holds expired", extra={"count": expired})
            except Exception:
                log.exception("hold sweep failed")
            self._stop.wait(self.interval)
