"""Calling another service: its channel, our service token, the request id,
and a deadline derived from the caller's own (Python gRPC does not pass
deadlines on by itself)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from services.core.auth import ServiceTokenSource
from services.core.config import Settings
from services.core.errors import DeadlineExceeded, Unavailable
from services.core.interceptors import current_context
from services.core.logs import request_id_var

R = TypeVar("R")

# Leave the caller this much time to answer after the downstream call returns.
_DEADLINE_MARGIN_SECONDS = 0.05


def outgoing_timeout(default: float) -> float:
    """The caller's remaining time less a margin, at most `default`."""
    context = current_context()
    remaining = context.time_remaining() if context is not None else None
    if remaining is None:
        return default
    budget = min(default, remaining - _DEADLINE_MARGIN_SECONDS)
    if budget <= 0:
        raise DeadlineExceeded("no time left for a downstream call")
    return budget


class ServiceClients:
    """Channels from one service to the others, created on first use."""

    def __init__(self, settings: Settings, caller: str) -> None:
        self.settings = settings
        self._tokens = ServiceTokenSource(settings.token_secret, caller)
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def channel(self, service: str) -> grpc.Channel:
        with self._lock:
            channel = self._channels.get(service)
            if channel is None:
                channel = grpc.insecure_channel(
                    self.settings.address(service),
                    options=[
                        ("grpc.keepalive_time_ms", 30_000),
                        ("grpc.max_receive_message_length", self.settings.max_message_bytes),
                    ],
                )
                self._channels[service] = channel
            return channel

    def metadata(self) -> tuple[tuple[str, str], ...]:
        items = [("authorization", f"Bearer {self._tokens.token()}")]
        request_id = request_id_var.get()
        if request_id:
            items.append(("x-request-id", request_id))
        return tuple(items)

    def call(self, method: Callable[..., R], request: Any, *, timeout: float | None = None) -> R:
        """Calls `method` (a stub method); UNAVAILABLE and DEADLINE_EXCEEDED
        from downstream become our own Unavailable, other errors propagate
        as grpc.RpcError for the caller to interpret."""
        budget = outgoing_timeout(timeout or self.settings.default_call_timeout_seconds)
        try:
            return method(request, timeout=budget, metadata=self.metadata())
        except grpc.RpcError as error:
            code = error.code() if hasattr(error, "code") else None
            if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unavailable(f"a dependency did not answer ({code.name})", reason="DEPENDENCY_UNAVAILABLE") from None
            raise

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()
