"""The server interceptor every service runs: request id, authentication,
structured logging and the one mapping from exceptions to status codes."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable, Collection
from contextvars import ContextVar
from typing import Any

import grpc
from google.protobuf.message import Message
from sqlalchemy.exc import DBAPIError

from services.core import auth
from services.core.errors import DomainError, InvalidArgument, Unavailable
from services.core.logs import method_var, principal_var, request_id_var

log = logging.getLogger(__name__)

# Standard infrastructure services answer without a token (probes, tooling).
PUBLIC_SERVICE_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_current_context: ContextVar[grpc.ServicerContext | None] = ContextVar("grpc_context", default=None)


def current_context() -> grpc.ServicerContext | None:
    """The servicer context of the call being handled on this thread, if any."""
    return _current_context.get()


class ServerInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        token_secrets: str | Collection[str],
        *,
        public_prefixes: Collection[str] = PUBLIC_SERVICE_PREFIXES,
        before_call: Callable[[auth.Principal, str], None] | None = None,
    ) -> None:
        self._secrets = [token_secrets] if isinstance(token_secrets, str) else list(token_secrets)
        self._public = tuple(public_prefixes)
        # Hook for per-caller limits (rate limiting); raises a DomainError to refuse.
        self._before_call = before_call

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None or details.method.startswith(self._public):
            return handler
        metadata = {key: value for key, value in (details.invocation_metadata or ())}
        # gRPC answers INTERNAL when the request bytes do not parse (truncated,
        # invalid UTF-8 in a string); the caller sent them, so it is theirs:
        # parse failures reach the handler wrapper and become INVALID_ARGUMENT.
        deserializer = _tolerant(handler.request_deserializer)
        if handler.unary_unary is not None:
            return handler._replace(
                request_deserializer=deserializer,
                unary_unary=self._wrap(handler.unary_unary, details.method, metadata),
            )
        if handler.unary_stream is not None:
            return handler._replace(
                request_deserializer=deserializer,
                unary_stream=self._wrap(handler.unary_stream, details.method, metadata),
            )
        return handler  # no client-streaming methods in our contracts

    def _wrap(self, behavior: Callable[..., Any], method: str, metadata: dict[str, Any]) -> Callable[..., Any]:
        def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
            given = metadata.get("x-request-id")
            request_id = given if isinstance(given, str) and _REQUEST_ID_RE.match(given) else uuid.uuid4().hex
            tokens = [
                (request_id_var, request_id_var.set(request_id)),
                (method_var, method_var.set(method)),
                (_current_context, _current_context.set(context)),
            ]
            principal_token = None
            started = time.perf_counter()
            outcome = "OK"
            try:
                context.set_trailing_metadata((("x-request-id", request_id),))
                try:
                    principal = auth.verify_token(
                        self._secrets, auth.token_from_metadata(metadata.get("authorization"))
                    )
                    tokens.append((principal_var, principal_var.set(f"{principal.role.value}:{principal.subject}")))
                    principal_token = auth.set_current_principal(principal)
                    if self._before_call is not None:
                        self._before_call(principal, method)
                    if isinstance(request, _Malformed):
                        raise InvalidArgument("request", f"not a valid message: {request.why}")
                    nul = _field_with_nul(request)
                    if nul is not None:
                        # PostgreSQL text cannot hold NUL (the driver raises, the
                        # caller would see INTERNAL) and no field of ours needs it.
                        raise InvalidArgument(nul, "must not contain NUL characters")
                    return behavior(request, context)
                except DomainError as error:
                    outcome = error.code.name
                    context.abort_with_status(error.to_status())
                except Exception as error:
                    # An abort() inside the handler already set the status: keep it.
                    if _has_status(context):
                        outcome = "ABORTED_BY_HANDLER"
                        raise
                    if _database_unreachable(error):
                        # The connection died under the call (database restart,
                        # failover, a killed backend): nothing was committed,
                        # so the caller may retry; UNAVAILABLE says exactly that.
                        outcome = "UNAVAILABLE"
                        log.warning("database connection lost", extra={"error": type(getattr(error, "orig", error)).__name__})
                        context.abort_with_status(
                            Unavailable("the database did not answer; retry", reason="DATABASE_UNAVAILABLE").to_status()
                        )
                    outcome = "INTERNAL"
                    log.exception("unhandled error")
                    context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})")
            finally:
                level = logging.WARNING if outcome == "INTERNAL" else logging.INFO
                log.log(level, "rpc", extra={"outcome": outcome, "ms": round((time.perf_counter() - started) * 1000, 2)})
                if principal_token is not None:
                    auth.reset_current_principal(principal_token)
                for var, token in reversed(tokens):
                    var.reset(token)

        return wrapped


# SQLSTATEs of a connection the server ended: admin shutdown, crash shutdown,
# cannot connect now; class 08 is "connection exception".
_DISCONNECT_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def _database_unreachable(error: BaseException) -> bool:
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return bool(error.connection_invalidated) or sqlstate in _DISCONNECT_SQLSTATES or sqlstate.startswith("08")


def _field_with_nul(message: Any, prefix: str = "") -> str | None:
    """The path of the first string field (at any depth) that holds a NUL character."""
    if not isinstance(message, Message):
        return None
    for field, value in message.ListFields():
        path = f"{prefix}{field.name}"
        if field.type == field.TYPE_STRING:
            items = value if field.is_repeated else [value]
            if any("\x00" in item for item in items):
                return path
        elif field.type == field.TYPE_MESSAGE:
            if field.message_type.GetOptions().map_entry:
                for key, item in value.items():
                    if isinstance(key, str) and "\x00" in key or isinstance(item, str) and "\x00" in item:
                        return path
                    if isinstance(item, Message) and (found := _field_with_nul(item, f"{path}[{key}].")):
                        return found
                continue
            for index, item in enumerate(value if field.is_repeated else [value]):
                found = _field_with_nul(item, f"{path}[{index}]." if field.is_repeated else f"{path}.")
                if found:
                    return found
    return None


class _Malformed:
    """Stands in for a request whose bytes did not parse."""

    def __init__(self, why: str) -> None:
        self.why = why


def _tolerant(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserialize is None:
        return None

    def parse(raw: bytes) -> Any:
        try:
            return deserialize(raw)
        except Exception as error:  # DecodeError, or anything a parser raises
            return _Malformed(type(error).__name__)

    return parse


def _has_status(context: grpc.ServicerContext) -> bool:
    code = getattr(context, "code", None)
    if code is None:
        return False
    try:
        value = code()
    except Exception:  # pragma: no cover - grpc internals differ by version
        return False
    return value is not None and value != grpc.StatusCode.OK
