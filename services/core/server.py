"""The gRPC server bootstrap shared by the three services.

Health (SERVING; NOT_SERVING as soon as SIGTERM arrives, so load balancers
stop sending work), reflection, the common interceptor, bounded message sizes,
background workers, and a graceful stop within the configured grace period.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from services.core.config import Settings
from services.core.interceptors import ServerInterceptor
from services.core.ratelimit import CallerLimits, RateLimiter

log = logging.getLogger(__name__)


class BackgroundWorker(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass
class ServiceSpec:
    """What a service contributes to the bootstrap; built by `services.<name>.app.build`."""

    name: str
    # Fully qualified gRPC service names, for health and reflection.
    service_names: Sequence[str]
    register: Callable[[grpc.Server], None]
    workers: list[BackgroundWorker] = field(default_factory=list)
    on_close: Callable[[], None] | None = None
    # Optional per-caller admission check (rate limits), see ServerInterceptor.
    before_call: Callable[..., None] | None = None


@dataclass
class RunningServer:
    spec: ServiceSpec
    server: grpc.Server
    health: health.HealthServicer
    port: int
    _stopped: bool = False

    def stop(self, grace: float) -> None:
        """NOT_SERVING first, then stop workers, then drain in-flight calls."""
        if self._stopped:
            return
        self._stopped = True
        self.health.enter_graceful_shutdown()
        for worker in self.spec.workers:
            try:
                worker.stop()
            except Exception:
                log.exception("background worker failed to stop")
        self.server.stop(grace).wait(grace + 1)
        if self.spec.on_close is not None:
            self.spec.on_close()


def default_limits(settings: Settings) -> CallerLimits | None:
    if settings.rate_limit_per_second <= 0:
        return None
    return CallerLimits(
        people=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        services=RateLimiter(settings.service_rate_limit_per_second, settings.service_rate_limit_per_second * 2),
    )


def start_server(spec: ServiceSpec, settings: Settings, *, port: int | None = None, host: str | None = None) -> RunningServer:
    options = [
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=settings.grpc_max_workers, thread_name_prefix=spec.name),
        interceptors=[ServerInterceptor(settings.token_verification_secrets, before_call=spec.before_call or default_limits(settings))],
        options=options,
        # Past this many calls in flight new calls get RESOURCE_EXHAUSTED
        # instead of queueing without bound.
        maximum_concurrent_rpcs=settings.grpc_max_workers * 8,
    )
    spec.register(server)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*spec.service_names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )
    bind_port = settings.ports[spec.name] if port is None else port
    bound = server.add_insecure_port(f"{host or settings.listen_host}:{bind_port}")
    if bound == 0:
        raise RuntimeError(f"could not bind {spec.name} to port {bind_port}")
    server.start()
    for worker in spec.workers:
        worker.start()
    for name in ("", *spec.service_names):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving", extra={"port": bound, "services": ",".join(spec.service_names)})
    return RunningServer(spec=spec, server=server, health=health_servicer, port=bound)


def serve(spec: ServiceSpec, settings: Settings) -> int:
    """Runs until SIGTERM or SIGINT, then stops gracefully; returns the exit code."""
    running = start_server(spec, settings)
    stop_requested = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop_requested.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    stop_requested.wait()
    running.stop(settings.shutdown_grace_seconds)
    log.info("stopped")
    return 0
