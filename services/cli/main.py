"""`interviews <group> <command>`.

Command groups live in their own modules (`services/cli/*_commands.py`), each
with `register(subparsers)`; a group's commands set `func(args) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from datetime import timedelta

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli.common import CliError, channel_to
from services.core.auth import Role, issue_token
from services.core.config import SERVICES, Settings

# Modules that add command groups; each has register(subparsers).
COMMAND_MODULES = (
    "services.cli.scheduling_commands",
    "services.cli.accommodations_commands",
    "services.cli.notifications_commands",
    "services.cli.cohort_commands",
)


def _token_issue(args: argparse.Namespace) -> int:
    secret = Settings.from_env().token_secret
    print(issue_token(secret, args.subject, Role(args.role), ttl=timedelta(hours=args.hours), email=args.email))
    return 0


def _health(args: argparse.Namespace) -> int:
    failures = 0
    for service in SERVICES if args.service == "all" else (args.service,):
        stub = health_pb2_grpc.HealthStub(channel_to(service))
        try:
            status = stub.Check(health_pb2.HealthCheckRequest(), timeout=args.timeout).status
            text = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        except grpc.RpcError as error:
            text = f"unreachable ({error.code().name})"  # type: ignore[attr-defined]
        failures += text != "SERVING"
        print(f"{service:<15} {text}")
    return 1 if failures else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="interviews", description="Interview scheduling and accommodations.")
    groups = parser.add_subparsers(dest="group", required=True, metavar="GROUP")

    token = groups.add_parser("token", help="development bearer tokens").add_subparsers(dest="command", required=True)
    issue = token.add_parser("issue", help="issue a token signed with the configured secret")
    issue.add_argument("--role", required=True, choices=[r.value for r in Role])
    issue.add_argument("--subject", required=True, help="email, candidates/{id} for a candidate, services/{name} for a service")
    issue.add_argument("--email")
    issue.add_argument("--hours", type=float, default=12)
    issue.set_defaults(func=_token_issue)

    health = groups.add_parser("health", help="check that the services are serving")
    health.add_argument("service", nargs="?", default="all", choices=["all", *SERVICES])
    health.add_argument("--timeout", type=float, default=3.0)
    health.set_defaults(func=_health)

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name == name:
                continue  # that group is not part of this build
            raise
        module.register(groups)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
