"""The three services running together, in process or as real processes.

They call each other (scheduling -> accommodations for constraints, both ->
notifications through their outbox relays, accommodations -> scheduling to
revalidate), so each is told the others' addresses. Ports are chosen up
front because the calls go both ways.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from cryptography.fernet import Fernet
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.core.auth import Role, issue_token
from services.core.config import SERVICES, Settings
from services.core.server import RunningServer, start_server
from tests.conftest import TEST_TOKEN_SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def available_services() -> list[str]:
    """Services whose app module exists (all three once each has landed)."""
    return [name for name in SERVICES if (ROOT / "services" / name / "app.py").exists()]


def base_env(data_dir: Path, database_urls: Mapping[str, str], *, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for the three services: test secret, loopback ports and
    addresses, their databases, a fixed encryption key (so tests can decrypt
    what they must find only as ciphertext)."""
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    env = {
        "INTERVIEWS_DATA_DIR": str(data_dir),
        "INTERVIEWS_TOKEN_SECRET": TEST_TOKEN_SECRET,
        "INTERVIEWS_LISTEN_HOST": "127.0.0.1",
        "INTERVIEWS_SHUTDOWN_GRACE_SECONDS": "0.5",
        "INTERVIEWS_RATE_LIMIT_PER_SECOND": "0",
        "ACCOMMODATIONS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "SCHEDULING_OUTBOX_POLL_SECONDS": "0.2",
        "NOTIFICATIONS_POLL_SECONDS": "0.2",
        "PYTHONUNBUFFERED": "1",
    }
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_ADDRESS"] = f"127.0.0.1:{port}"
    for name, url in database_urls.items():
        env[f"{name.upper()}_DATABASE_URL"] = url
    env.update(extra or {})
    return env


def metadata(role: Role | str, subject: str | None = None, **kwargs: object) -> tuple[tuple[str, str], ...]:
    role = Role(role)
    subject = subject or ("services/scheduling" if role is Role.SERVICE else f"{role.value}@example.com")
    return (("authorization", f"Bearer {issue_token(TEST_TOKEN_SECRET, subject, role, **kwargs)}"),)  # type: ignore[arg-type]


def health_status(address: str) -> int | None:
    with grpc.insecure_channel(address) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1).status
        except grpc.RpcError:
            return None


def wait_serving(address: str, *, timeout: float, alive: Callable[[], bool] = lambda: True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"process for {address} exited before serving")
        if health_status(address) == health_pb2.HealthCheckResponse.SERVING:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{address} did not serve within {timeout}s")


# ---------------------------------------------------------------- in process


@dataclass
class InProcessFleet:
    env: dict[str, str]
    services: list[str] = field(default_factory=available_services)
    running: dict[str, RunningServer] = field(default_factory=dict)
    channels: dict[str, grpc.Channel] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def address(self, service: str) -> str:
        return self.env[f"{service.upper()}_ADDRESS"]

    def start(self) -> InProcessFleet:
        from services.core.main import build_spec

        settings = self.settings
        for name in self.services:
            self.running[name] = start_server(build_spec(name, settings), settings, port=settings.ports[name], host="127.0.0.1")
            self.channels[name] = grpc.insecure_channel(self.address(name))
        return self

    def stop(self) -> None:
        for channel in self.channels.values():
            channel.close()
        for running in reversed(list(self.running.values())):
            running.stop(0.5)
        self.running.clear()


# ---------------------------------------------------------------- processes


@dataclass
class ProcessFleet:
    """`python -m services.<name>` per service, logs in `log_dir/<name>.log`
    (appended across restarts)."""

    env: dict[str, str]
    log_dir: Path
    services: list[str] = field(default_factory=lambda: list(SERVICES))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    channels: dict[str, grpc.Channel] = field(default_factory=dict)
    kills: dict[str, int] = field(default_factory=dict)

    def address(self, service: str) -> str:
        return self.env[f"{service.upper()}_ADDRESS"]

    def log_path(self, service: str) -> Path:
        return self.log_dir / f"{service}.log"

    def start(self, *, timeout: float = 90) -> ProcessFleet:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for name in self.services:
            self._spawn(name)
        for name in self.services:
            self._wait(name, timeout)
            self.channels[name] = grpc.insecure_channel(self.address(name))
        return self

    def _spawn(self, name: str) -> None:
        env = dict(os.environ)
        for key in ("DATABASE_URL", *(f"{s.upper()}_DATABASE_URL" for s in SERVICES)):
            env.pop(key, None)
        env.update(self.env)
        with self.log_path(name).open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    def _wait(self, name: str, timeout: float) -> None:
        process = self.processes[name]
        try:
            wait_serving(self.address(name), timeout=timeout, alive=lambda: process.poll() is None)
        except (RuntimeError, TimeoutError) as error:
            tail = self.log_path(name).read_text(errors="replace")[-3000:]
            raise AssertionError(f"{name} did not start: {error}\n{tail}") from None

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hook, no graceful drain, whatever was in flight is cut."""
        process = self.processes[name]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        self.kills[name] = self.kills.get(name, 0) + 1

    def restart(self, name: str, *, timeout: float = 90) -> None:
        self._spawn(name)
        self._wait(name, timeout)

    def alive(self, name: str) -> bool:
        return self.processes[name].poll() is None

    def stop(self) -> None:
        for channel in self.channels.values():
            channel.close()
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def logs(self) -> dict[str, bytes]:
        return {name: self.log_path(name).read_bytes() for name in self.services if self.log_path(name).exists()}


def sqlite_urls(folder: Path, templates: Mapping[str, Path]) -> dict[str, str]:
    """Fresh copies of the migrated SQLite templates (conftest `sqlite_templates`)."""
    import shutil

    urls = {}
    for service in SERVICES:
        path = folder / "db" / f"{service}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(templates[service], path)
        urls[service] = f"sqlite:///{path}"
    return urls
