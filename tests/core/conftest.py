"""Shared pieces of the core tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import MetaData, text

from services.core.db import Database


@contextmanager
def scratch_database(url: str, schema: str, metadata: MetaData) -> Iterator[Database]:
    """A `Database` whose tables are `metadata`'s, in a schema of their own on
    PostgreSQL (the service name is the schema), disposed of afterwards."""
    database = Database(url, schema)
    if database.is_postgres:
        with database.engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    metadata.create_all(database.engine)
    try:
        yield database
    finally:
        database.dispose()
