"""The services as real processes, as `make run` and Kubernetes start them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.core.config import SERVICES
from tests.conftest import TEST_TOKEN_SECRET
from tests.helpers import wait_until

FULL_NAMES = {
    "scheduling": "interviews.scheduling.v1.SchedulingService",
    "accommodations": "interviews.accommodations.v1.AccommodationsService",
    "notifications": "interviews.notifications.v1.NotificationsService",
}
ROOT = Path(__file__).resolve().parent.parent


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def service_env(tmp_path: Path) -> dict[str, str]:
    ports = dict(zip(SERVICES, free_ports(len(SERVICES)), strict=True))
    env = dict(os.environ)
    env.update(
        INTERVIEWS_DATA_DIR=str(tmp_path / "data"),
        INTERVIEWS_TOKEN_SECRET=TEST_TOKEN_SECRET,
        INTERVIEWS_LISTEN_HOST="127.0.0.1",
        PYTHONUNBUFFERED="1",
    )
    for name, port in ports.items():
        env[f"{name.upper()}_PORT"] = str(port)
        env[f"{name.upper()}_ADDRESS"] = f"127.0.0.1:{port}"
    for key in ("DATABASE_URL", *(f"{s.upper()}_DATABASE_URL" for s in SERVICES)):
        env.pop(key, None)  # the embedded default: SQLite under the data dir
    return env


def health_status(address: str, service: str = "") -> int | None:
    with grpc.insecure_channel(address) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=1).status
        except grpc.RpcError:
            return None


def reflected_services(address: str) -> set[str]:
    with grpc.insecure_channel(address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)
        return {s.name for r in responses for s in r.list_services_response.service}


@pytest.mark.parametrize("service", SERVICES)
def test_service_process_serves_and_stops_cleanly_on_sigterm(service, tmp_path):
    env = service_env(tmp_path)
    address = env[f"{service.upper()}_ADDRESS"]
    log_path = tmp_path / "service.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", f"services.{service}"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: process.poll() is not None or health_status(address) == health_pb2.HealthCheckResponse.SERVING,
                   timeout=60, message=f"{service} to serve")
        assert process.poll() is None, log_path.read_text()[-3000:]
        assert health_status(address, FULL_NAMES[service]) == health_pb2.HealthCheckResponse.SERVING
        assert FULL_NAMES[service] in reflected_services(address)
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0, log_path.read_text()[-3000:]
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_run_all_starts_three_and_ctrl_c_stops_them(tmp_path):
    env = service_env(tmp_path)
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "services.run_all"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        for service in SERVICES:
            address = env[f"{service.upper()}_ADDRESS"]
            wait_until(lambda a=address: process.poll() is not None or health_status(a) == health_pb2.HealthCheckResponse.SERVING,
                       timeout=90, message=f"{service} to serve")
            assert process.poll() is None, log_path.read_text()[-3000:]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0, log_path.read_text()[-3000:]
        for service in SERVICES:
            assert health_status(env[f"{service.upper()}_ADDRESS"]) is None
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
