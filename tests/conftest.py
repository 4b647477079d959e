"""Fixtures shared by every test.

Databases: the same test bodies run on SQLite and on PostgreSQL. Use the
`database_urls` fixture (a dict service -> URL of a fresh, migrated database);
it is parametrised over both backends. PostgreSQL comes from testcontainers
when a Docker engine answers, else from TEST_DATABASE_URL (a server where the
tests may create databases); without either, PostgreSQL cases skip with the
reason. Each test gets its own database, copied from a template migrated once
per session, so tests never see each other's rows.

Services: `start_service(name, settings)` runs a service's gRPC server in
process on a free loopback port; `token(role, subject)` gives call metadata.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from services.core.auth import Role, issue_token
from services.core.config import SERVICES, Settings
from services.core.migrate import migrations_dir, upgrade
from services.core.server import RunningServer, start_server

TEST_TOKEN_SECRET = "test-secret-not-for-production-0123456789abcdef"


def migrated_services() -> list[str]:
    """Services that have migrations (all three, once each is built)."""
    found = []
    for service in SERVICES:
        try:
            if (migrations_dir(service) / "env.py").exists():
                found.append(service)
        except ModuleNotFoundError:
            continue
    return found


# ---------------------------------------------------------------- PostgreSQL

def _docker_postgres() -> tuple[str | None, object | None, str]:
    try:
        from testcontainers.postgres import PostgresContainer

        container = PostgresContainer("postgres:16-alpine", driver="psycopg")
        container.start()
    except Exception as error:  # DockerException without an engine, or anything else
        return None, None, f"no Docker engine ({type(error).__name__})"
    return container.get_connection_url(), container, ""


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A PostgreSQL server URL where tests may create and drop databases."""
    url = os.environ.get("TEST_DATABASE_URL")
    container = None
    if not url:
        url, container, why = _docker_postgres()
        if url is None:
            pytest.skip(f"PostgreSQL tests need TEST_DATABASE_URL or a Docker engine: {why}")
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as error:
        pytest.skip(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {type(error).__name__}")
    yield parsed.render_as_string(hide_password=False)
    if container is not None:
        container.stop()


def _admin(server_url: str):
    return create_engine(server_url, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> Iterator[str]:
    """Name of a database migrated for every service, used as a template."""
    name = f"itpl_{uuid.uuid4().hex[:12]}"
    admin = _admin(postgres_server_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    for service in migrated_services():
        upgrade(service, url)
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_database(postgres_server_url: str, postgres_template: str) -> Iterator[str]:
    """URL of a fresh, migrated PostgreSQL database for one test."""
    name = f"itest_{uuid.uuid4().hex[:12]}"
    admin = _admin(postgres_server_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"'))
    yield make_url(postgres_server_url).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# ---------------------------------------------------------------- SQLite

@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("sqlite-templates")
    files = {}
    for service in migrated_services():
        path = folder / f"{service}.sqlite3"
        upgrade(service, f"sqlite:///{path}")
        files[service] = path
    return files


# ---------------------------------------------------------------- both

@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_urls(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """service -> URL of a fresh, migrated database, on the `backend` in use."""
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_database")
        return {service: url for service in SERVICES}  # one database, a schema per service
    templates: dict[str, Path] = request.getfixturevalue("sqlite_templates")
    urls = {}
    for service in SERVICES:
        path = tmp_path / "db" / f"{service}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        if service in templates:
            shutil.copyfile(templates[service], path)
        urls[service] = f"sqlite:///{path}"
    return urls


@pytest.fixture
def settings(tmp_path: Path, database_urls: dict[str, str]) -> Settings:
    """Settings for in-process services: test secret, temp data dir, fresh databases."""
    env = {
        "INTERVIEWS_DATA_DIR": str(tmp_path / "data"),
        "INTERVIEWS_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "INTERVIEWS_LISTEN_HOST": "127.0.0.1",
        "INTERVIEWS_SHUTDOWN_GRACE_SECONDS": "0.5",
        # Tests drive services harder than any one person would; the limiter
        # has tests of its own (tests/core/test_ratelimit.py).
        "INTERVIEWS_RATE_LIMIT_PER_SECOND": "0",
        **{f"{service.upper()}_DATABASE_URL": url for service, url in database_urls.items()},
        # Peers are unreachable unless a test starts them and says where:
        # never a service someone happens to run on the default ports.
        **{f"{service.upper()}_ADDRESS": "127.0.0.1:9" for service in SERVICES},
    }
    return Settings.from_env(env)


@pytest.fixture
def token() -> Callable[..., tuple[tuple[str, str], ...]]:
    """token(role, subject="...") -> call metadata with a valid bearer token."""

    def make(role: Role | str, subject: str | None = None, **kwargs: object) -> tuple[tuple[str, str], ...]:
        role = Role(role)
        subject = subject or ("services/scheduling" if role is Role.SERVICE else f"{role.value}@example.com")
        value = issue_token(TEST_TOKEN_SECRET, subject, role, **kwargs)  # type: ignore[arg-type]
        return (("authorization", f"Bearer {value}"),)

    return make


@dataclass
class RunningService:
    name: str
    running: RunningServer
    channel: grpc.Channel

    @property
    def port(self) -> int:
        return self.running.port

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.running.port}"


@pytest.fixture
def start_service() -> Iterator[Callable[..., RunningService]]:
    """start_service(name, settings) -> a service serving on a free loopback port."""
    from services.core.main import build_spec

    started: list[RunningService] = []

    def start(name: str, settings: Settings) -> RunningService:
        running = start_server(build_spec(name, settings), settings, port=0, host="127.0.0.1")
        service = RunningService(name, running, grpc.insecure_channel(f"127.0.0.1:{running.port}"))
        started.append(service)
        return service

    yield start
    for service in reversed(started):
        service.channel.close()
        service.running.stop(0.5)
