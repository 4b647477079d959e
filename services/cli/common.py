"""What every CLI command needs: a channel with a token, readable errors, tables."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from services.core.auth import Role, issue_token
from services.core.config import Settings


class CliError(Exception):
    """A message for the user; printed without a traceback."""


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", default=os.environ.get("INTERVIEWS_TOKEN"), help="bearer token (default: $INTERVIEWS_TOKEN)")
    parser.add_argument(
        "--as",
        dest="as_role",
        choices=[r.value for r in Role],
        help="development only: issue a token for this role with the local secret",
    )
    parser.add_argument("--subject", default=os.environ.get("INTERVIEWS_SUBJECT", "dev@localhost"), help="subject for --as")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per call")


def command_group(groups: argparse._SubParsersAction, name: str, help_text: str) -> Callable[..., argparse.ArgumentParser]:  # type: ignore[type-arg]
    """A command group; returns `command(name, help, func)` which adds a
    command with the connection arguments and its handler."""
    commands = groups.add_parser(name, help=help_text).add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(command_name: str, command_help: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        parser = commands.add_parser(command_name, help=command_help)
        add_connection_arguments(parser)
        parser.set_defaults(func=func)
        return parser

    return command


def token_for(args: argparse.Namespace) -> str:
    if args.token:
        return args.token
    if args.as_role:
        return issue_token(Settings.from_env().token_secret, args.subject, Role(args.as_role))
    raise CliError("no token: pass --token, set INTERVIEWS_TOKEN, or use --as ROLE on a development machine")


def channel_to(service: str) -> grpc.Channel:
    return grpc.insecure_channel(Settings.from_env().address(service))


def call(args: argparse.Namespace, method: Callable[..., Any], request: Any) -> Any:
    try:
        return method(request, timeout=args.timeout, metadata=(("authorization", f"Bearer {token_for(args)}"),))
    except grpc.RpcError as error:
        raise CliError(describe_rpc_error(error)) from None


def describe_rpc_error(error: grpc.RpcError) -> str:
    lines = [f"{error.code().name}: {error.details()}"]  # type: ignore[attr-defined]
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines += [f"  {v.field}: {v.description}" for v in bad.field_violations]
    return "\n".join(lines)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, highlight: Callable[[Sequence[Any]], bool] | None = None) -> str:
    """A plain text table; rows for which `highlight` is true are marked (and bold on a terminal)."""
    rows = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    bold = sys.stdout.isatty()
    out = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)).rstrip()]
    out.append("  ".join("-" * w for w in widths))
    for row in rows:
        line = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip()
        if highlight is not None and highlight(row):
            line = f"\033[1;31m{line} !\033[0m" if bold else f"{line} !"
        out.append(line)
    return "\n".join(out)


def local_time(value: datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M %Z")
