"""One SQLAlchemy engine and session factory per service.

SQLite (the embedded default) serialises writers: the driver's own
transaction handling is switched off and every write transaction starts with
`BEGIN IMMEDIATE` (SQLAlchemy's documented pysqlite recipe). The default
handling double-booked in a 20-process race; this did not (shared/DESIGN.md).

PostgreSQL keeps each service in a schema named after it, and sets
`idle_in_transaction_session_timeout` so a hung worker releases its locks.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
T = TypeVar("T")

# SQLSTATEs worth retrying the whole transaction for.
_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
_READ_ONLY_OPTION = "interviews_read_only"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend.

    SQLite has no time zone type, so values are stored as naive UTC there and
    made aware again when read. Naive values are refused: an instant without
    a zone is a bug waiting for a DST day.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UtcDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def schema_for(service: str) -> str:
    return service.replace("-", "_")


def create_engine_for(url: str | URL, service: str, **kwargs: Any) -> Engine:
    """An engine for one service's database (see the module docstring)."""
    parsed = make_url(url)
    # Statement parameters (names, emails, ciphertext) stay out of exception
    # messages and therefore out of logs.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(parsed, service, **kwargs)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite or postgresql")


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": 30, "check_same_thread": False},
        **kwargs,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Reads may run side by side (WAL); writers queue up here instead of
        # failing later with "database is locked" on lock upgrade.
        if conn.get_execution_options().get(_READ_ONLY_OPTION):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: URL, service: str, **kwargs: Any) -> Engine:
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    schema = schema_for(service)
    options = f"-c search_path={schema},public -c idle_in_transaction_session_timeout=60000"
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, connect_args={"options": options}, **kwargs)


def _is_retryable(error: Exception) -> bool:
    if isinstance(error, DBAPIError):
        sqlstate = getattr(error.orig, "sqlstate", None)
        if sqlstate in _RETRYABLE_SQLSTATES:
            return True
        if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
            return True
    return False


class Database:
    """A service's engine plus transactions with retry."""

    def __init__(self, url: str | URL, service: str, **engine_kwargs: Any) -> None:
        self.service = service
        self.engine = create_engine_for(url, service, **engine_kwargs)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY_OPTION: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One write transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only transaction that does not queue behind SQLite writers."""
        with self._read_sessions.begin() as session:
            yield session

    def after_write(self, callback: Callable[[], None]) -> None:
        """Calls `callback` whenever a write transaction ends, committed or
        rolled back (read transactions never call it): for in-memory copies
        that must not outlive a write made through this process."""
        event.listen(self._sessions, "after_commit", lambda _session: callback())
        event.listen(self._sessions, "after_rollback", lambda _session: callback())

    def run(self, work: Callable[[Session], T], *, attempts: int = 5) -> T:
        """Runs `work` in a write transaction, retrying on deadlock or
        serialization failure (the whole transaction, so nothing is half done)."""
        for attempt in range(1, attempts + 1):
            try:
                with self.transaction() as session:
                    return work(session)
            except DBAPIError as error:
                if attempt == attempts or not _is_retryable(error):
                    raise
                delay = min(0.5, 0.01 * 2**attempt) * (0.5 + random.random())
                log.info("retrying transaction after %s", type(error.orig).__name__)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()
