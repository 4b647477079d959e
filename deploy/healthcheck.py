"""Exits 0 when the gRPC health service on a local port answers SERVING.

Used by the compose healthchecks (`python /opt/interviews/healthcheck.py 50051`).
Kubernetes does not need it: its probes speak grpc.health.v1 natively. The
image has no grpc_health_probe binary, and grpcio-health-checking is already a
runtime dependency, so a few lines of Python do the same job.

Exit codes: 0 SERVING, 1 anything else (NOT_SERVING, unknown service, no
answer within the timeout), 2 bad usage.
"""

from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc


def check(address: str, service: str = "", timeout: float = 2.0) -> tuple[bool, str]:
    """(serving?, what was seen) for one Health/Check call."""
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as error:
            return False, f"{error.code().name}: {error.details()}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
    return response.status == health_pb2.HealthCheckResponse.SERVING, status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int, help="the service's gRPC port on this host")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--service", default="", help="health service name; '' is the whole server")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for an answer")
    args = parser.parse_args(argv)
    serving, seen = check(f"{args.host}:{args.port}", args.service, args.timeout)
    print(seen, file=sys.stdout if serving else sys.stderr)
    return 0 if serving else 1


if __name__ == "__main__":
    raise SystemExit(main())
