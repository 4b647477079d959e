"""A call without a valid bearer token is UNAUTHENTICATED on every RPC of
every service, before anything else is looked at."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import grpc
import jwt
import pytest

from services.core.auth import Role, issue_token
from tests.conftest import TEST_TOKEN_SECRET
from tests.hardening_support.harness import Caller, assert_canonical
from tests.hardening_support.rpcs import NOT_YET_IMPLEMENTED, Rpc, all_rpcs
from tests.security.conftest import MatrixWorld
from tests.security.test_access_matrix import REQUESTS


def _tampered() -> str:
    """A valid coordinator token whose payload was edited to say admin: the signature no longer matches."""
    header, payload, signature = issue_token(TEST_TOKEN_SECRET, "coordinator@example.com", Role.COORDINATOR).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{header}.{forged}.{signature}"


def _claims(**changes: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {"iss": "interviews", "aud": "interviews", "sub": "admin@example.com", "role": "admin",
                                 "iat": int(now.timestamp()), "exp": int((now + timedelta(hours=1)).timestamp())}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


BAD_AUTHORIZATION: dict[str, str | None] = {
    "missing": None,
    "empty": "",
    "basic-scheme": "Basic YWRtaW46YWRtaW4=",
    "bearer-without-token": "Bearer ",
    "not-a-jwt": "Bearer not.a.jwt",
    "expired": "Bearer " + issue_token(TEST_TOKEN_SECRET, "admin@example.com", Role.ADMIN,
                                       now=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1)),
    "tampered": "Bearer " + _tampered(),
    "wrong-secret": "Bearer " + issue_token("another-secret-of-the-same-length-0123456789ab", "admin@example.com", Role.ADMIN),
    "alg-none": "Bearer " + jwt.encode(_claims(), key=None, algorithm="none"),  # type: ignore[arg-type]
    "unknown-role": "Bearer " + jwt.encode(_claims(role="superuser"), TEST_TOKEN_SECRET, algorithm="HS256"),
    "wrong-audience": "Bearer " + jwt.encode(_claims(aud="elsewhere"), TEST_TOKEN_SECRET, algorithm="HS256"),
    "no-expiry": "Bearer " + jwt.encode(_claims(exp=None), TEST_TOKEN_SECRET, algorithm="HS256"),
    "empty-subject": "Bearer " + jwt.encode(_claims(sub=""), TEST_TOKEN_SECRET, algorithm="HS256"),
}


@pytest.mark.parametrize("variant", sorted(BAD_AUTHORIZATION))
@pytest.mark.parametrize("rpc", [r for r in all_rpcs() if str(r) not in NOT_YET_IMPLEMENTED], ids=str)
def test_bad_or_missing_token_is_unauthenticated(rpc: Rpc, variant: str, matrix: MatrixWorld, security_caller: Caller) -> None:
    value = BAD_AUTHORIZATION[variant]
    md = () if value is None else (("authorization", value),)
    request = REQUESTS[rpc.name](matrix)
    outcome = security_caller.call(rpc, request, md)  # type: ignore[arg-type]
    assert outcome.code is grpc.StatusCode.UNAUTHENTICATED, f"{variant} token on {rpc}: {outcome.code.name} {outcome.details}"
    assert_canonical(outcome, request)  # type: ignore[arg-type]
