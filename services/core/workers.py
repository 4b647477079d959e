"""Background workers: one thread that repeats a pass until stopped.

Every service runs a few (outbox relays, sweepers); they share the thread
handling here so each worker is just its `run_once`.
"""

from __future__ import annotations

import abc
import logging
import threading

log = logging.getLogger(__name__)


class PeriodicWorker(abc.ABC):
    """Calls `run_once()` in a thread. A pass that did work (returned a truthy
    count) is followed at once by another, to drain a backlog; an idle pass
    waits `interval` seconds, or until `wake()`."""

    def __init__(self, *, interval: float, name: str) -> None:
        self.interval = interval
        self.name = name
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @abc.abstractmethod
    def run_once(self) -> int:
        """One pass; returns how much it did (0 when idle)."""

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def wake(self) -> None:
        """Run the next pass now rather than after the interval."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() > 0
            except Exception:
                log.exception("background pass failed", extra={"worker": self.name})
                busy = False
            if not busy:
                self._wake.wait(self.interval)
                self._wake.clear()
