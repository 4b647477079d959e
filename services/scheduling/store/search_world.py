"""The world every search of this replica shares: the directory plus all
active reservations from now to the horizon, as one `DirectorySnapshot` per
gap length, kept in memory for a short, bounded time.

Why: reading and converting the reservations around a window cost more than
the search itself, and a snapshot made per call throws away what the search
memoises on it (pools, loads, each interviewer's free time as bitsets). With
one snapshot shared by every search, a search pays only for its candidate.

What it costs, and why that is safe:
- A search sees bookings made through *other* replicas up to `max_age` late
  (default 1 s; `SCHEDULING_SEARCH_STALENESS_SECONDS`, 0 reads afresh every
  time). Plans are proposals: `BookLoop` re-checks every plan against the
  database inside its transaction, and the exclusion constraint has the last
  word, so a stale search can at worst offer a plan that booking then
  refuses with ABORTED ("search again").
- When a reload finds the very same reservations, the old world (and all
  the search memoised on it) is kept: reading rows is cheap, rebuilding the
  snapshot's bitsets is not.
- Every write transaction of this replica (committed or rolled back, so an
  ABORTED booking counts too) drops the world at once: a recruiter who books
  or hits a clash through this replica never searches a world from before it.
- Directory edits bump the directory version, which is read on every search.
- Searches that must leave one loop out (rescheduling it) do not use this:
  they read the reservations afresh (`Searching`).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from services.scheduling.domain import model as dm
from services.scheduling.store import snapshot as snap

# Reservations are read this far past the horizon so that a world built a
# moment ago still covers the horizon of a search made now.
_SPAN_SLACK = timedelta(days=1)


@dataclass
class _World:
    directory: snap.Directory
    rows: list[snap.ReservedRow]
    reserved: snap.Reserved
    start: datetime
    end: datetime
    born: float  # monotonic seconds
    generation: int
    # One snapshot per lead (the gap before each reservation): few distinct values.
    snapshots: dict[timedelta, dm.DirectorySnapshot] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def snapshot(self, lead: timedelta) -> dm.DirectorySnapshot:
        found = self.snapshots.get(lead)
        if found is None:
            with self.lock:
                found = self.snapshots.get(lead)
                if found is None:
                    found = self.snapshots[lead] = snap.snapshot(self.directory, self.reserved, self.start, self.end, lead=lead)
        return found


@dataclass(frozen=True)
class SharedWorld:
    """What one search reads: the snapshot (busy time led by `lead`) and the
    reservations it was built from (for the candidate's own bookings)."""

    snapshot: dm.DirectorySnapshot
    reserved: snap.Reserved
    start: datetime
    end: datetime


class SearchWorlds:
    """This replica's shared search world (see the module docstring)."""

    def __init__(self, directories: snap.DirectoryCache, *, max_age: float = 1.0, min_notice: timedelta, horizon: timedelta,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._directories = directories
        self._max_age = max_age
        self._min_notice = min_notice
        self._horizon = horizon
        self._clock = clock
        self._world: _World | None = None
        # Raised by every local write; `next` on a count is atomic, `+= 1` from
        # several committing threads is not.
        self._generations = itertools.count(1)
        self._generation = 0
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Forget the world: something was written through this replica."""
        self._generation = next(self._generations)

    def get(self, session: Session, now: datetime, lead: timedelta) -> SharedWorld:
        """The shared world, reloaded inside `session` when it is older than
        `max_age`, the directory moved, or this replica wrote since."""
        directory = self._directories.get(session, now)
        world = self._world
        if not self._fresh(world, directory, now):
            with self._lock:  # one reload at a time; the others wait for its result
                world = self._world
                if not self._fresh(world, directory, now):
                    world = self._world = self._load(session, directory, now)
        assert world is not None
        return SharedWorld(world.snapshot(lead), world.reserved, world.start, world.end)

    def _fresh(self, world: _World | None, directory: snap.Directory, now: datetime) -> bool:
        return (
            world is not None
            and world.generation == self._generation
            and world.directory is directory
            and self._clock() - world.born < self._max_age
            and now + self._min_notice >= world.start
            and now + self._horizon <= world.end
        )

    def _load(self, session: Session, directory: snap.Directory, now: datetime) -> _World:
        generation = self._generation  # read first: a write during the load makes this world stale at once
        born = self._clock()
        start = now + self._min_notice
        end = now + self._horizon + _SPAN_SLACK
        rows = snap.reserved_rows(session, start, end, now)
        old = self._world
        if old is not None and old.directory is directory and old.rows == rows and now + self._horizon <= old.end:
            # Nothing changed: keep the old world and what searches memoised on it.
            old.born, old.generation = born, generation
            return old
        reserved = snap.reserved_from_rows(rows, start, end)
        return _World(directory=directory, rows=rows, reserved=reserved, start=start, end=end, born=born, generation=generation)
