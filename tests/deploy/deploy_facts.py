"""What the deployment must provide, written down once for the deploy tests.

The facts come from the services themselves (services/core/config.py,
services/core/main.py, services/accommodations/crypto.py) and from the
architecture notes (who calls whom). The tests compare every deployment form
(compose, Kubernetes base, production overlay) against this table, so a
manifest that forgets a variable, opens a port to the wrong caller, or hands a
secret to a service that has no business with it fails a test.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = {"base": K8S / "base", "production": K8S / "overlays" / "production"}


@dataclass(frozen=True)
class ServiceFacts:
    name: str
    port: int
    # Services (by name) that call this one.
    callers: frozenset[str]
    # Whether people's tools (recruiting tools, coordinators) call it directly.
    external_callers: bool
    # Services this one calls.
    callees: frozenset[str]
    # Variables without which the service misbehaves in a multi-replica deployment.
    required_env: frozenset[str]

    @property
    def module(self) -> str:
        return f"services.{self.name}"

    @property
    def port_variable(self) -> str:
        return f"{self.name.upper()}_PORT"

    @property
    def database_variables(self) -> frozenset[str]:
        return frozenset({"DATABASE_URL", f"{self.name.upper()}_DATABASE_URL"})


# Without INTERVIEWS_TOKEN_SECRET each process generates its own secret in its
# data dir (an emptyDir per pod): a token from one replica fails on another.
# Without ACCOMMODATIONS_ENCRYPTION_KEYS each accommodations pod generates its
# own key: rows written by one pod could not be read by the next. Without the
# callee addresses the services call localhost, which is not where the callee
# runs in a container.
SERVICES: dict[str, ServiceFacts] = {
    "scheduling": ServiceFacts(
        name="scheduling",
        port=50051,
        callers=frozenset({"accommodations"}),
        external_callers=True,
        callees=frozenset({"accommodations", "notifications"}),
        required_env=frozenset(
            {"INTERVIEWS_TOKEN_SECRET", "ACCOMMODATIONS_ADDRESS", "NOTIFICATIONS_ADDRESS", "MAIL_FROM"}
        ),
    ),
    "accommodations": ServiceFacts(
        name="accommodations",
        port=50052,
        callers=frozenset({"scheduling"}),
        external_callers=True,
        callees=frozenset({"notifications", "scheduling"}),
        required_env=frozenset(
            {"INTERVIEWS_TOKEN_SECRET", "ACCOMMODATIONS_ENCRYPTION_KEYS", "NOTIFICATIONS_ADDRESS"}
        ),
    ),
    "notifications": ServiceFacts(
        name="notifications",
        port=50053,
        callers=frozenset({"scheduling", "accommodations"}),
        external_callers=False,
        callees=frozenset(),
        required_env=frozenset({"INTERVIEWS_TOKEN_SECRET", "SMTP_HOST", "MAIL_FROM"}),
    ),
}

# Scheduling writes MAIL_FROM/MAIL_FROM_NAME into each invite as ORGANIZER
# (services/scheduling/planning.py); notifications sends the email From them.
# RFC 6047: the organizer must match the sender, so both must see one value.
MUST_AGREE = (("scheduling", "notifications"), ("MAIL_FROM", "MAIL_FROM_NAME"))

# Secrets only their own service may receive (confidentiality: the reason
# text is readable only inside accommodations; mail credentials only matter
# to notifications; each database belongs to one service).
SECRET_OWNERS: dict[str, str] = {
    "ACCOMMODATIONS_ENCRYPTION_KEYS": "accommodations",
    "SMTP_PASSWORD": "notifications",
    "SMTP_USERNAME": "notifications",
    "SCHEDULING_DATABASE_URL": "scheduling",
    "ACCOMMODATIONS_DATABASE_URL": "accommodations",
    "NOTIFICATIONS_DATABASE_URL": "notifications",
}

MIGRATE_MODULE = "services.core.migrate"
SERVICE_PORTS = {facts.port for facts in SERVICES.values()}


def module_file(module: str) -> Path | None:
    """The file `python -m <module>` would run from this checkout, if it exists."""
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base / "__main__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def python_module_of(command: list[str] | str) -> tuple[str, list[str]]:
    """(module, arguments) of a `python -m <module> ...` command; ValueError otherwise."""
    words = shlex.split(command) if isinstance(command, str) else list(command)
    if len(words) < 3 or Path(words[0]).name not in ("python", "python3", "python3.11") or words[1] != "-m":
        raise ValueError(f"not a `python -m <module>` command: {words}")
    return words[2], words[3:]
