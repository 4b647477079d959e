"""Alembic migrations per service, run programmatically on SQLite or PostgreSQL.

Each service keeps its scripts in `services/<service>/migrations/` with an
env.py that calls `run_migrations(Base.metadata)`. On PostgreSQL the
service's schema is created first and an advisory lock makes concurrent runs
(several replicas starting, a Kubernetes Job) wait for each other.

    python -m services.core.migrate --all
    python -m services.core.migrate --service scheduling
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, text

from services.core.config import SERVICES, Settings
from services.core.db import create_engine_for, schema_for


def migrations_dir(service: str) -> Path:
    package = importlib.import_module(f"services.{service}")
    return Path(package.__file__).resolve().parent / "migrations"


def _lock_key(service: str) -> int:
    return int.from_bytes(hashlib.sha256(f"migrate:{service}".encode()).digest()[:8], "big", signed=True)


def upgrade(service: str, url: str, revision: str = "head") -> None:
    engine = create_engine_for(url, service)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(service)})
                connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema_for(service)}"'))
            config = Config()
            config.set_main_option("script_location", str(migrations_dir(service)))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def upgrade_all(settings: Settings) -> None:
    for service in SERVICES:
        upgrade(service, settings.database_url(service))


def run_migrations(target_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online mode only)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through services.core.migrate.upgrade")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run database migrations.")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--service", choices=SERVICES)
    group.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    for service in SERVICES if args.all else (args.service,):
        upgrade(service, settings.database_url(service))
        print(f"{service}: migrated")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
