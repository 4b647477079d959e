"""Configuration from environment variables.

Every setting has an embedded default so `make run` works on a fresh machine:
SQLite files and generated secrets under the data folder, mail written to
.eml files. Production sets the variables (see the README's table).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

SERVICES = ("scheduling", "accommodations", "notifications")
# The embedded default sender: a real address shape (notifications refuses
# anything else) in the reserved .localhost domain (RFC 6761), which never
# routes off the machine.
DEFAULT_MAIL_FROM = "interviews@interviews.localhost"
DEFAULT_PORTS = {"scheduling": 50051, "accommodations": 50052, "notifications": 50053}


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"environment variable {key} must be an integer, got {raw!r}") from None


def read_or_create_secret(path: Path, *, nbytes: int = 48) -> str:
    """Returns the secret stored in `path`, creating it atomically on first use.

    Several processes may start at once (`make run` starts three); O_EXCL makes
    exactly one of them write the file and the others read it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(100):
            value = path.read_text().strip()
            if value:
                return value
            import time

            time.sleep(0.01)  # the creator is between open() and write()
        raise RuntimeError(f"secret file {path} is empty")
    value = secrets.token_urlsafe(nbytes)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


@dataclass(frozen=True)
class SmtpSettings:
    host: str | None
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None
    password: str | None
    timeout_seconds: float


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    env: Mapping[str, str] = field(repr=False)
    listen_host: str = "0.0.0.0"
    ports: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    log_level: str = "INFO"
    grpc_max_workers: int = 16
    max_message_bytes: int = 4 * 1024 * 1024
    shutdown_grace_seconds: float = 3.0
    default_call_timeout_seconds: float = 5.0
    mail_from: str = DEFAULT_MAIL_FROM
    mail_from_name: str = "Interview Scheduling"
    # Per-caller limits (calls per second, burst); 0 turns limiting off.
    rate_limit_per_second: float = 100.0
    rate_limit_burst: int = 200
    service_rate_limit_per_second: float = 1000.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        data_dir = Path(env.get("INTERVIEWS_DATA_DIR") or "data").resolve()
        ports = {
            name: _int(env, f"{name.upper()}_PORT", default)
            for name, default in DEFAULT_PORTS.items()
        }
        return cls(
            data_dir=data_dir,
            env=env,
            listen_host=env.get("INTERVIEWS_LISTEN_HOST") or "0.0.0.0",
            ports=ports,
            log_level=(env.get("INTERVIEWS_LOG_LEVEL") or "INFO").upper(),
            grpc_max_workers=_int(env, "INTERVIEWS_GRPC_MAX_WORKERS", 16),
            max_message_bytes=_int(env, "INTERVIEWS_MAX_MESSAGE_BYTES", 4 * 1024 * 1024),
            shutdown_grace_seconds=float(env.get("INTERVIEWS_SHUTDOWN_GRACE_SECONDS") or 3.0),
            default_call_timeout_seconds=float(env.get("INTERVIEWS_CALL_TIMEOUT_SECONDS") or 5.0),
            mail_from=env.get("MAIL_FROM") or DEFAULT_MAIL_FROM,
            mail_from_name=env.get("MAIL_FROM_NAME") or "Interview Scheduling",
            rate_limit_per_second=float(env.get("INTERVIEWS_RATE_LIMIT_PER_SECOND") or 100.0),
            rate_limit_burst=_int(env, "INTERVIEWS_RATE_LIMIT_BURST", 200),
            service_rate_limit_per_second=float(env.get("INTERVIEWS_SERVICE_RATE_LIMIT_PER_SECOND") or 1000.0),
        )

    def get(self, key: str, default: str | None = None) -> str | None:
        """A raw variable, for service-specific settings."""
        value = self.env.get(key)
        return default if value in (None, "") else value

    def database_url(self, service: str) -> str:
        """`<SERVICE>_DATABASE_URL`, else `DATABASE_URL`, else a SQLite file.

        On PostgreSQL each service keeps its tables in a schema of its own
        name, so one database can hold all three without sharing tables.
        """
        explicit = self.get(f"{service.upper()}_DATABASE_URL") or self.get("DATABASE_URL")
        if explicit:
            return explicit
        return f"sqlite:///{self.data_dir / f'{service}.sqlite3'}"

    @property
    def token_secret(self) -> str:
        explicit = self.get("INTERVIEWS_TOKEN_SECRET")
        if explicit:
            return explicit
        return read_or_create_secret(self.data_dir / "secrets" / "token-secret")

    @property
    def token_verification_secrets(self) -> list[str]:
        """The current secret first, then `INTERVIEWS_TOKEN_PREVIOUS_SECRETS`
        (comma-separated), which still verify during a rotation."""
        previous = [s.strip() for s in (self.get("INTERVIEWS_TOKEN_PREVIOUS_SECRETS") or "").split(",") if s.strip()]
        return [self.token_secret, *previous]

    def address(self, service: str) -> str:
        """Where another service listens, `<SERVICE>_ADDRESS` or localhost."""
        return self.get(f"{service.upper()}_ADDRESS") or f"localhost:{self.ports[service]}"

    @property
    def smtp(self) -> SmtpSettings:
        security = (self.get("SMTP_SECURITY") or "none").lower()
        if security not in ("none", "starttls", "tls"):
            raise ValueError(f"SMTP_SECURITY must be none, starttls or tls, got {security!r}")
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        return SmtpSettings(
            host=self.get("SMTP_HOST"),
            port=_int(self.env, "SMTP_PORT", default_port),
            security=security,
            username=self.get("SMTP_USERNAME"),
            password=self.get("SMTP_PASSWORD"),
            timeout_seconds=float(self.get("SMTP_TIMEOUT_SECONDS") or 10.0),
        )

    @property
    def mail_dir(self) -> Path:
        """Where mail goes when no SMTP server is configured."""
        return Path(self.get("MAIL_DIR") or (self.data_dir / "mail"))

    def with_overrides(self, **variables: str) -> Settings:
        """A copy with some environment variables replaced (tests, launchers)."""
        env = dict(self.env)
        env.update(variables)
        return Settings.from_env(env)
