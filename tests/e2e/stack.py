"""The product as it is deployed, on loopback: each service a separate OS process
(`python -m services.<name>`), two scheduling replicas on one PostgreSQL database,
a real SMTP server (aiosmtpd) that keeps every message, and the `interviews` CLI
run as a subprocess. Nothing here reaches past 127.0.0.1.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
from aiosmtpd.controller import Controller
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (held together so none repeats)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def poll(predicate: Callable[[], Any], *, timeout: float, message: str, interval: float = 0.1) -> Any:
    """Polls until `predicate()` is truthy; a deadline, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


# ---------------------------------------------------------------- SMTP


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server received it, for one envelope recipient."""

    mail_from: str
    recipient: str
    raw: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        self.sink._add([Mail(envelope.mail_from, rcpt.lower(), raw) for rcpt in envelope.rcpt_tos])
        return "250 Message accepted for delivery"


class SmtpSink:
    """An SMTP server on 127.0.0.1 that records every message it accepts."""

    def __init__(self) -> None:
        (self.port,) = free_ports(1)
        self._lock = threading.Lock()
        self._mail: list[Mail] = []
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def _add(self, mail: list[Mail]) -> None:
        with self._lock:
            self._mail.extend(mail)

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def mail(self) -> list[Mail]:
        with self._lock:
            return list(self._mail)


# ---------------------------------------------------------------- processes


def health(address: str) -> int | None:
    with grpc.insecure_channel(address) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1).status
        except grpc.RpcError:
            return None


@dataclass
class Process:
    name: str  # e.g. "scheduling-a"
    module: str  # e.g. "services.scheduling"
    port: int
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"


@dataclass
class Stack:
    """Starts the processes with `env` (plus each one's port) and stops them."""

    env: dict[str, str]
    log_dir: Path
    processes: dict[str, Process] = field(default_factory=dict)
    channels: dict[str, grpc.Channel] = field(default_factory=dict)

    def add(self, name: str, module: str, port: int) -> Process:
        process = Process(name, module, port, self.log_dir / f"{name}.log")
        self.processes[name] = process
        return process

    def start(self, *, timeout: float) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for process in self.processes.values():  # all at once: the two replicas migrate concurrently
            service = process.module.rsplit(".", 1)[1]
            env = {**self.env, f"{service.upper()}_PORT": str(process.port)}
            with process.log_path.open("wb") as log:
                process.popen = subprocess.Popen([sys.executable, "-m", process.module], env=env, cwd=ROOT,
                                                 stdout=log, stderr=subprocess.STDOUT)
        for process in self.processes.values():
            popen = process.popen
            assert popen is not None
            try:
                poll(lambda: popen.poll() is not None or health(process.address) == health_pb2.HealthCheckResponse.SERVING,
                     timeout=timeout, message=f"{process.name} to serve", interval=0.1)
            except AssertionError as error:
                raise AssertionError(f"{error}\n--- {process.name} log ---\n{process.tail()}") from None
            if popen.poll() is not None:
                raise AssertionError(f"{process.name} exited with {popen.returncode}\n{process.tail()}")
            self.channels[process.name] = grpc.insecure_channel(process.address)

    def channel(self, name: str) -> grpc.Channel:
        return self.channels[name]

    def address(self, name: str) -> str:
        return self.processes[name].address

    def stop(self, grace: float = 10.0) -> dict[str, int | None]:
        for channel in self.channels.values():
            channel.close()
        for process in self.processes.values():
            if process.popen is not None and process.popen.poll() is None:
                process.popen.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for process in self.processes.values():
            if process.popen is None:
                continue
            try:
                codes[process.name] = process.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait()
                codes[process.name] = None
        return codes

    def tails(self) -> str:
        return "\n".join(f"--- {p.name} ({p.log_path}) ---\n{p.tail()}" for p in self.processes.values())


# ---------------------------------------------------------------- CLI


def cli_command() -> list[str]:
    """The installed console script when there is one (`.venv/bin/interviews`)."""
    script = Path(sys.executable).parent / "interviews"
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli.main"]


@dataclass
class Cli:
    """`interviews ...` as a subprocess, pointed at chosen service addresses."""

    addresses: Mapping[str, str]
    transcript: list[str] = field(default_factory=list)

    def __call__(self, *args: str, token: str, scheduling: str | None = None, stdin: str | None = None,
                 expect: int = 0, timeout: float = 60) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("INTERVIEWS_TOKEN", "SCHEDULING_", "ACCOMMODATIONS_",
                                                                          "NOTIFICATIONS_"))}
        env.update({f"{service.upper()}_ADDRESS": address for service, address in self.addresses.items()})
        if scheduling is not None:
            env["SCHEDULING_ADDRESS"] = scheduling
        env["PYTHONUNBUFFERED"] = "1"
        # --token goes after the command (each subcommand takes the connection options).
        argv = [*cli_command(), *args[:2], "--token", token, *args[2:]]
        started = time.monotonic()
        done = subprocess.run(argv, env=env, cwd=ROOT, input=stdin, capture_output=True, text=True, timeout=timeout)
        shown = " ".join(a for a in args)
        self.transcript.append(f"$ interviews {shown}  [{time.monotonic() - started:.1f}s, exit {done.returncode}]\n"
                               f"{done.stdout}{done.stderr}")
        assert done.returncode == expect, f"interviews {shown} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done.stdout
